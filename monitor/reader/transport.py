"""httpx's API over aiohttp's connection handling: the fetcher's transport.

Why: a steady polling pass is mostly conditional GETs answered 304, and
httpx's own connection pool (httpcore over anyio) costs several times the
CPU of aiohttp's for each of them. ``AiohttpTransport`` keeps httpx's request
and response objects for the fetcher (streamed bodies, headers, the same
error types) and hands the network work to one ``aiohttp.ClientSession``.
The ``httpx-aiohttp`` package does the same, but maps a refused connection
or a dropped one to ``ConnectTimeout``; our errors name what happened.

Contracts kept from the httpx transport it replaces:

- The address guard at connect time: ``GuardedConnector`` checks every
  address the host resolved to (and IP literals) just before connecting,
  so DNS rebinding cannot slip past; a refusal raises ``FetchError``.
- No decompression here (``auto_decompress=False``): the fetcher decodes
  with its own bounded decoder, so a gzip bomb stops at the size cap.
- No redirects followed, no cookies kept, no proxy or certificate settings
  from the environment; TLS verified with httpx's default context.
- httpx's per-request ``connect`` and ``read`` timeouts apply to connecting
  and to each socket read; the fetcher's overall deadline is separate.
- aiohttp's errors become the httpx errors the fetcher translates:
  ``ConnectTimeout``, ``ReadTimeout``, ``ConnectError`` (refused, TLS,
  DNS; the original exception is the ``__cause__``), ``RemoteProtocolError``,
  ``ReadError``.

Use one transport per event loop; the session is made on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import ResolveResult

from monitor.errors import FetchError
from monitor.reader.netguard import AddressGuard

_READ_CHUNK = 64 * 1024


class GuardedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that connects only to addresses the guard allows.

    aiohttp resolves (or takes the IP literal) in ``_resolve_host`` right
    before it connects to exactly those addresses; the check runs on that
    result every time, cached or not.
    """

    def __init__(self, guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard

    async def _resolve_host(self, host: str, port: int, traces: Sequence[Any] | None = None) -> list[ResolveResult]:
        hosts = await super()._resolve_host(host, port, traces=traces)  # type: ignore[arg-type]
        self._guard.check_addresses(host, [h["host"] for h in hosts])
        return hosts


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request through one guarded aiohttp session."""

    def __init__(self, guard: AddressGuard, *, max_connections: int, keepalive_expiry: float = 30.0) -> None:
        self._guard = guard
        self._max_connections = max_connections
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = GuardedConnector(
                self._guard, limit=self._max_connections, limit_per_host=0, keepalive_timeout=self._keepalive,
                ssl=httpx.create_ssl_context(trust_env=False), ttl_dns_cache=10,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        body = request.content or None  # the fetcher only sends GETs; a body would be bytes already read
        # httpx already turned a URL's user:password into an Authorization header; aiohttp refuses both at once
        url = str(request.url.copy_with(userinfo=b"")) if request.url.userinfo else str(request.url)
        try:
            response = await self._get_session().request(
                request.method, url, headers=headers, data=body, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout.get("connect"), sock_read=timeout.get("read")),
            )
        except aiohttp.ClientConnectorDNSError as exc:
            raise FetchError(f"fetch: cannot resolve host '{request.url.host}'") from exc
        except aiohttp.ClientError as exc:
            raise _translate(exc, request, reading=False) from exc
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            if isinstance(exc, aiohttp.ServerTimeoutError):
                raise _translate(exc, request, reading=False) from exc
            raise
        return httpx.Response(
            status_code=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1", "replace")},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """The response body as raw (still encoded) chunks; closing it releases the connection."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_READ_CHUNK):
                yield chunk
        except aiohttp.ClientError as exc:
            raise _translate(exc, self._request, reading=True) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise _translate(exc, self._request, reading=True) from exc

    async def aclose(self) -> None:
        self._response.release()


def _translate(exc: BaseException, request: httpx.Request, *, reading: bool) -> httpx.HTTPError:
    """aiohttp's error as the httpx error the fetcher understands (the original stays the ``__cause__``)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        if reading:
            return httpx.RemoteProtocolError(message, request=request)
        return httpx.RemoteProtocolError(f"server disconnected without a response: {message}", request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or header
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(f"invalid URL: {message}", request=request)
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(message, request=request) if reading else httpx.ConnectError(message, request=request)
    return httpx.ReadError(message, request=request) if reading else httpx.ConnectError(message, request=request)
