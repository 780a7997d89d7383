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

One shared ``httpx.AsyncClient`` serves every fetch, over aiohttp's connection
handling (``monitor.reader.transport``: the address guard checked at connect
time, no decompression below the fetcher's own bounded decoder); a global semaphore caps
fetches in flight and a per-host semaphore keeps one site from taking every
slot. The deadline starts once a fetch holds its slots, so waiting in line is
not counted against it.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

from monitor.clock import Clock, SystemClock
from monitor.errors import FetchError
from monitor.reader.netguard import AddressGuard
from monitor.reader.transport import AiohttpTransport

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

    Pass ``client`` to share an existing ``httpx.AsyncClient`` (it is not closed
    by ``aclose``); then the address guard runs as a check before each hop.
    Without one, the fetcher builds a client on the aiohttp transport whose
    connections go through the guard at connect time (no DNS-rebinding
    window), with a pool sized to ``concurrency``, HTTP/1.1, and no proxy,
    cookie or certificate settings taken from the environment. ``guard`` defaults to ``AddressGuard()`` (link-local
    addresses refused). ``clock`` turns an HTTP-date ``Retry-After`` into
    seconds. Use one fetcher per event loop.
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        client: httpx.AsyncClient | None = None,
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
        self._client = client if client is not None else _build_client(limits, concurrency, self._guard)
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
        """Close the HTTP client if this fetcher built it."""
        if self._owns_client:
            await self._client.aclose()

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
        async with self._slot(_host_key(target)):
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

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self._per_host))
        slot.users += 1
        try:
            async with slot.semaphore, self._global:
                yield
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
        seen = {str(start)}
        redirects = 0
        permanent_to: str | None = None
        still_permanent = True
        while True:
            if self._precheck:
                await self._guard.check(str(current))
            try:
                async with self._client.stream("GET", current, headers=headers) as response:
                    status = response.status_code
                    if status in REDIRECT_STATUSES and "location" in response.headers:
                        redirects += 1
                        nxt = _redirect_target(current, response.headers["location"])
                        if str(nxt) in seen:
                            raise FetchError(
                                f"fetch: redirect loop at {_show(nxt)} starting at {_show(start)}",
                                status=status,
                            )
                        if redirects > self.limits.max_redirects:
                            raise FetchError(
                                f"fetch: too many redirects ({redirects}) starting at {_show(start)}",
                                status=status,
                            )
                        seen.add(str(nxt))
                        if still_permanent and status in PERMANENT_REDIRECTS:
                            permanent_to = str(nxt)
                        else:
                            still_permanent = False
                        current = nxt
                        continue
                    return await self._finish(response, current, validators, permanent_to, started, content_types)
            except httpx.HTTPError as exc:
                raise _transport_error(exc, current, self.limits) from exc

    async def _finish(
        self,
        response: httpx.Response,
        url: httpx.URL,
        validators: Validators,
        permanent_to: str | None,
        started: float,
        content_types: frozenset[str] | None = None,
    ) -> FetchResult:
        status = response.status_code
        headers = _lower_headers(response.headers)
        retry_after = parse_retry_after(headers.get("retry-after"), self._clock)
        if status == 304:
            body = b""
        elif 200 <= status < 300:
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_types is not None and media and media not in content_types:
                raise FetchError(f"fetch: content type '{media[:100]}' refused at {_show(url)}", status=status, permanent=True)
            body = await _read_body(response, url, self.limits.max_bytes)
        else:
            raise _status_error(status, response.reason_phrase, url, retry_after)
        return FetchResult(
            status=status,
            url=str(url),
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


def _build_client(limits: FetchLimits, concurrency: int, guard: AddressGuard) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=limits.connect_timeout,
        read=limits.read_timeout,
        write=limits.read_timeout,
        pool=None,  # the deadline bounds waiting for a connection
    )
    return httpx.AsyncClient(
        transport=AiohttpTransport(guard, max_connections=concurrency, keepalive_expiry=30.0),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


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


def _parse_url(url: str) -> httpx.URL:
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


def _lower_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
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


async def _read_body(response: httpx.Response, url: httpx.URL, max_bytes: int) -> bytes:
    """Read and decode the body, stopping as soon as it would pass ``max_bytes``."""
    too_large = FetchError(f"fetch: body larger than {max_bytes / 1048576:.1f} MB limit at {_show(url)}")
    decoder = _decoder_for(response.headers.get("content-encoding", ""), url)
    declared = response.headers.get("content-length", "")
    if isinstance(decoder, _Identity) and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for raw in response.aiter_raw(_READ_CHUNK):
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


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from, including exception-group members."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return found


def _transport_error(exc: httpx.HTTPError, url: httpx.URL, limits: FetchLimits) -> FetchError:
    """Translate an httpx error into a FetchError that names what failed and where."""
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    causes = _causes(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(f"fetch: connect timeout after {limits.connect_timeout:g}s to host '{host}'")
    if isinstance(exc, httpx.ReadTimeout):
        return FetchError(f"fetch: read timeout after {limits.read_timeout:g}s from {_show(url)}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"fetch: timeout ({type(exc).__name__}) for {_show(url)}")
    if any(isinstance(c, ssl.SSLError) for c in causes):
        reason = next(c for c in causes if isinstance(c, ssl.SSLError))
        detail = getattr(reason, "reason", None) or type(reason).__name__
        return FetchError(f"fetch: TLS error with host '{host}': {detail}")
    if isinstance(exc, httpx.ConnectError):
        if any(_is_refused(c) for c in causes):
            return FetchError(f"fetch: connection refused by {host}:{port}")
        return FetchError(f"fetch: cannot connect to {host}:{port}: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"fetch: protocol error from {_show(url)}: {exc}")
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return FetchError(f"fetch: connection lost with {host}:{port}: {str(exc) or type(exc).__name__}")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)):
        return FetchError(f"fetch: invalid request for {_show(url)}: {exc}", permanent=True)
    return FetchError(f"fetch: {type(exc).__name__} for {_show(url)}: {exc}")


def _is_refused(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionRefusedError):
        return True
    return isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED
