"""The fetch step: bytes from the network with a conditional GET and hard limits.

``Fetcher.fetch(url, validators)`` returns a ``FetchResult`` (200 with a body,
or 304 with none) or raises ``FetchError``. It never parses the body.

Limits, all from ``FetchLimits``:

* connect and read timeouts per network operation, and an overall deadline per
  fetch (a server dripping one byte a second cannot hold a fetch past it);
* a body size cap enforced while streaming *after* decompression, with the
  decompressor itself bounded, so a small gzip bomb cannot balloon in memory;
* at most ``max_redirects`` redirects, followed by hand so each hop can be
  counted, checked for loops and non-HTTP schemes, and checked by the address
  guard.

One shared ``aiohttp.ClientSession`` serves every fetch, driven directly
(``monitor.reader.transport`` says why: a 304 through httpx's objects cost
more than the network work): the address guard checked at connect time, no
decompression below the fetcher's own bounded decoder, no redirects followed
by aiohttp. URLs are parsed, joined and shown with ``httpx.URL``, as before,
so stored and reported URLs keep their form. A global semaphore caps fetches
in flight and a per-host semaphore keeps one site from taking every slot. The
deadline starts once a fetch holds its slots, so waiting in line is not
counted against it.
"""

from __future__ import annotations

import asyncio
import functools
import time
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType

import aiohttp
import httpx

from monitor.clock import Clock, SystemClock
from monitor.errors import FetchError
from monitor.reader.netguard import AddressGuard
from monitor.reader.transport import connection_error, new_session

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
# br is not offered: the size cap needs a decompressor whose output can be bounded.
ACCEPT_ENCODING = "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Hard limits for one fetch. Times are seconds; ``max_bytes`` counts decoded bytes."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 45.0  # overall per fetch, including a slow drip
    max_bytes: int = 10 * 1024 * 1024  # enforced while streaming, after decompression
    max_redirects: int = 5
    user_agent: str = "media-monitor/0.1 (+https://github.com/media-monitor)"


@dataclass(frozen=True)
class Validators:
    """What the last successful response said, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of a successful fetch.

    ``status`` is 304 (``not_modified``, empty body) or a 2xx, normally 200.
    ``etag`` and ``last_modified`` are the validators to store for the next
    conditional GET (on a 304 without them, the ones sent are kept).
    ``permanent_redirect_to`` is the URL reached through the leading run of
    permanent redirects (301/308), which the caller should store in place of
    the configured URL; it is None when the first hop was not permanent.
    """

    status: int
    url: str
    body: bytes
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    permanent_redirect_to: str | None
    elapsed: float
    not_modified: bool
    max_age: float | None
    retry_after: float | None


class Fetcher:
    """Fetches feeds over HTTP(S) within ``FetchLimits``.

    Pass ``client`` to share an existing ``aiohttp.ClientSession`` (it is not
    closed by ``aclose``; it must be made with ``auto_decompress=False``, as
    decoding is the fetcher's, bounded); then the address guard runs as a
    check before each hop. Without one, the fetcher makes a session on first use
    (``transport.new_session``) whose connections go through the guard at
    connect time (no DNS-rebinding window), with a pool sized to
    ``concurrency``, HTTP/1.1, and no proxy, cookie or certificate settings
    taken from the environment. ``guard`` defaults to ``AddressGuard()``
    (link-local addresses refused). ``clock`` turns an HTTP-date
    ``Retry-After`` into seconds. Use one fetcher per event loop.
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        client: aiohttp.ClientSession | None = None,
        concurrency: int = 50,
        per_host: int = 4,
        guard: AddressGuard | None = None,
        clock: Clock | None = None,
    ) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("fetch: concurrency and per_host must be at least 1")
        self.limits = limits
        self._guard = guard if guard is not None else AddressGuard()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._owns_client = client is None
        self._precheck = client is not None
        self._client = client
        self._concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
        )
        self._global = asyncio.Semaphore(concurrency)
        self._per_host = per_host
        self._hosts: dict[str, _HostSlot] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session if this fetcher made it."""
        if self._owns_client and self._client is not None:
            await self._client.close()
            self._client = None

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None:
            self._client = new_session(self._guard, max_connections=self._concurrency, keepalive_expiry=30.0)
        return self._client

    async def fetch(
        self,
        url: str,
        validators: Validators = Validators(),
        *,
        accept: str = ACCEPT,
        content_types: frozenset[str] | None = None,
    ) -> FetchResult:
        """GET ``url`` conditionally; return the final response or raise ``FetchError``.

        ``accept`` is the Accept header sent (feed types by default). With
        ``content_types``, a 2xx whose media type (Content-Type without its
        parameters) is given and not among them is refused before its body is
        read (permanent). ``FetchError.status`` is the HTTP status when there was one;
        ``permanent`` is set for 4xx answers other than 408/429, for invalid
        URLs and for refused destinations; ``retry_after`` carries the
        server's Retry-After in seconds. Messages never include response bodies.
        """
        target = _parse_url(url)
        host = _host_key(target)
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self._per_host))
        slot.users += 1
        try:
            async with slot.semaphore, self._global:
                started = time.perf_counter()
                deadline = asyncio.timeout(self.limits.deadline)
                try:
                    async with deadline:
                        return await self._follow(target, validators, started, accept, content_types)
                except TimeoutError:
                    if deadline.expired():
                        raise FetchError(
                            f"fetch: deadline of {self.limits.deadline:g}s exceeded for {_show(target)}"
                        ) from None
                    raise
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._hosts[host]

    async def _follow(
        self,
        start: httpx.URL,
        validators: Validators,
        started: float,
        accept: str = ACCEPT,
        content_types: frozenset[str] | None = None,
    ) -> FetchResult:
        headers = _request_headers(self.limits, validators, accept)
        current = start
        url = str(start)
        seen = {url}
        redirects = 0
        permanent_to: str | None = None
        still_permanent = True
        session = self._session()
        while True:
            if self._precheck:
                await self._guard.check(url)
            try:
                # aiohttp makes the Authorization header from a URL's user:password itself
                response = await session.request(
                    "GET", url, headers=headers, allow_redirects=False, timeout=self._timeout
                )
            except aiohttp.ClientError as exc:
                raise self._connection_error(exc, current, reading=False) from exc
            try:
                status = response.status
                headers_in = _lower_headers(response.raw_headers)
                location = headers_in.get("location") if status in REDIRECT_STATUSES else None
                if location is None:
                    return await self._finish(
                        response, status, headers_in, current, url, validators, permanent_to, started, content_types
                    )
            finally:
                response.release()
            redirects += 1
            nxt = _redirect_target(current, location)
            url = str(nxt)
            if url in seen:
                raise FetchError(
                    f"fetch: redirect loop at {_show(nxt)} starting at {_show(start)}",
                    status=status,
                )
            if redirects > self.limits.max_redirects:
                raise FetchError(
                    f"fetch: too many redirects ({redirects}) starting at {_show(start)}",
                    status=status,
                )
            seen.add(url)
            if still_permanent and status in PERMANENT_REDIRECTS:
                permanent_to = url
            else:
                still_permanent = False
            current = nxt

    def _connection_error(self, exc: aiohttp.ClientError, url: httpx.URL, *, reading: bool) -> FetchError:
        return connection_error(
            exc, url, _show(url), connect_timeout=self.limits.connect_timeout,
            read_timeout=self.limits.read_timeout, reading=reading,
        )

    async def _finish(
        self,
        response: aiohttp.ClientResponse,
        status: int,
        headers: dict[str, str],
        url: httpx.URL,
        url_text: str,
        validators: Validators,
        permanent_to: str | None,
        started: float,
        content_types: frozenset[str] | None = None,
    ) -> FetchResult:
        retry_after = parse_retry_after(headers.get("retry-after"), self._clock)
        if status == 304:
            body = b""
        elif 200 <= status < 300:
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_types is not None and media and media not in content_types:
                raise FetchError(f"fetch: content type '{media[:100]}' refused at {_show(url)}", status=status, permanent=True)
            try:
                body = await _read_body(response.content, headers, url, self.limits.max_bytes)
            except aiohttp.ClientError as exc:
                raise self._connection_error(exc, url, reading=True) from exc
        else:
            raise _status_error(status, response.reason or "", url, retry_after)
        return FetchResult(
            status=status,
            url=url_text,
            body=body,
            headers=headers,
            etag=headers.get("etag") or (validators.etag if status == 304 else None),
            last_modified=headers.get("last-modified")
            or (validators.last_modified if status == 304 else None),
            permanent_redirect_to=permanent_to,
            elapsed=time.perf_counter() - started,
            not_modified=status == 304,
            max_age=parse_max_age(headers.get("cache-control")),
            retry_after=retry_after,
        )


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


def _request_headers(limits: FetchLimits, validators: Validators, accept: str = ACCEPT) -> dict[str, str]:
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": accept,
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


@functools.lru_cache(maxsize=16384)
def _parse_url(url: str) -> httpx.URL:
    """``url`` parsed, or a permanent ``FetchError``. Cached: a feed's URL comes back every
    pass and parsing it is a good share of a 304's cost; bounded, as article links do not repeat."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"fetch: invalid URL {url!r}: {exc}", permanent=True) from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"fetch: unsupported scheme '{parsed.scheme}' in {url!r}", permanent=True)
    if not parsed.host:
        raise FetchError(f"fetch: no host in URL {url!r}", permanent=True)
    return parsed


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        nxt = current.join(location.strip())
    except httpx.InvalidURL:
        raise FetchError(
            f"fetch: invalid redirect location from {_show(current)}", permanent=True
        ) from None
    if nxt.scheme not in ("http", "https"):
        raise FetchError(
            f"fetch: redirect to unsupported scheme '{nxt.scheme}' from {_show(current)}",
            permanent=True,
        )
    if not nxt.host:
        raise FetchError(f"fetch: redirect without a host from {_show(current)}", permanent=True)
    return nxt.copy_with(fragment=None)


def _host_key(url: httpx.URL) -> str:
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _show(url: httpx.URL) -> str:
    """The URL for messages, with any password masked."""
    if url.password:
        url = url.copy_with(userinfo=url.userinfo.split(b":", 1)[0] + b":***")
    return str(url)


def _lower_headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    """Response headers as sent (latin-1), names lower-cased, repeated ones joined with ", "."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), or None.

    An HTTP-date is measured from ``clock.now()``; a date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - clock.now()).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The ``max-age`` directive of a Cache-Control value in seconds, or None."""
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            value = value.strip().strip('"')
            if value.isdigit():
                return float(int(value))
    return None


def _status_error(status: int, reason: str, url: httpx.URL, retry_after: float | None) -> FetchError:
    if 300 <= status < 400:
        what = f"HTTP {status} {reason} without a usable Location"
    else:
        what = f"HTTP {status} {reason}".rstrip()
    permanent = 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS
    return FetchError(
        f"fetch: {what} from {_show(url)}",
        status=status,
        retry_after=retry_after,
        permanent=permanent,
    )


async def _read_body(stream: aiohttp.StreamReader, headers: dict[str, str], url: httpx.URL, max_bytes: int) -> bytes:
    """Read and decode the body, stopping as soon as it would pass ``max_bytes``."""
    too_large = FetchError(f"fetch: body larger than {max_bytes / 1048576:.1f} MB limit at {_show(url)}")
    decoder = _decoder_for(headers.get("content-encoding", ""), url)
    declared = headers.get("content-length", "")
    if isinstance(decoder, _Identity) and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for raw in stream.iter_chunked(_READ_CHUNK):
        for piece in decoder.feed(raw, max_bytes - len(body) + 1):
            body += piece
            if len(body) > max_bytes:
                raise too_large
    body += decoder.flush()
    if len(body) > max_bytes:
        raise too_large
    return bytes(body)


class _Identity:
    def feed(self, data: bytes, budget: int) -> list[bytes]:
        return [data]

    def flush(self) -> bytes:
        return b""


class _Inflate:
    """gzip or deflate decoding whose output per call never exceeds ``budget``.

    Multi-member gzip streams are decoded in full; "deflate" accepts both the
    zlib wrapping the RFC asks for and the raw stream some servers send.
    """

    def __init__(self, encoding: str, url: httpx.URL) -> None:
        self._gzip = encoding == "gzip"
        self._url = url
        self._pending = b""  # deflate: bytes held until the wrapping can be told
        self._obj: zlib._Decompress | None = (
            zlib.decompressobj(zlib.MAX_WBITS | 16) if self._gzip else None
        )

    def feed(self, data: bytes, budget: int) -> list[bytes]:
        if self._obj is None:
            self._pending += data
            if len(self._pending) < 2:
                return []
            cmf, flg = self._pending[0], self._pending[1]
            wrapped = cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._pending = self._pending, b""
        out: list[bytes] = []
        produced = 0
        while data and produced < budget:
            try:
                piece = self._obj.decompress(data, budget - produced)
            except zlib.error as exc:
                raise FetchError(f"fetch: corrupt compressed body from {_show(self._url)}: {exc}") from None
            out.append(piece)
            produced += len(piece)
            data = self._obj.unconsumed_tail
            if self._obj.eof:
                data = self._obj.unused_data
                if not (self._gzip and data):
                    break  # trailing junk after a deflate stream is ignored
                self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
        return out

    def flush(self) -> bytes:
        if self._obj is None:
            return b""
        return self._obj.flush()


def _decoder_for(content_encoding: str, url: httpx.URL) -> _Identity | _Inflate:
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        return _Identity()
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflate("deflate" if encodings[0] == "deflate" else "gzip", url)
    raise FetchError(f"fetch: unsupported content-encoding '{content_encoding}' from {_show(url)}")
