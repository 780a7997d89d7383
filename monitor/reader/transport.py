"""The fetcher's connections: one guarded aiohttp session, and what its errors mean.

Why aiohttp, driven directly: a steady polling pass is mostly conditional
GETs answered 304. httpx's own pool (httpcore over anyio) costs several times
aiohttp's CPU for each, and even over aiohttp connections httpx's request and
response objects (URL and header models, the client's send machinery) cost
more than the network work. So ``Fetcher`` sends through ``new_session()``
itself and reads aiohttp's responses as they come.

Contracts of ``new_session``:

- The address guard at connect time: ``GuardedConnector`` checks every
  address the host resolved to (and IP literals) just before connecting,
  so DNS rebinding cannot slip past; a refusal raises ``FetchError``.
- No decompression (``auto_decompress=False``): the fetcher decodes with
  its own bounded decoder, so a gzip bomb stops at the size cap.
- No cookies kept, no proxy or certificate settings from the environment;
  TLS verified with httpx's default context (certifi's roots), as before.
- No overall timeout on the session: the fetcher passes its connect and
  read timeouts per request and bounds each fetch with its own deadline.

``connection_error`` turns an aiohttp error into the ``FetchError`` that
names what failed and where (refused, TLS, timeout, protocol, lost).
"""

from __future__ import annotations

import errno
import functools
import ssl
from collections.abc import Sequence
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import ResolveResult

from monitor.errors import FetchError
from monitor.reader.netguard import AddressGuard


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


def new_session(guard: AddressGuard, *, max_connections: int, keepalive_expiry: float = 30.0) -> aiohttp.ClientSession:
    """A session whose connections go through ``guard``; call it inside the event loop that will use it."""
    connector = GuardedConnector(
        guard, limit=max_connections, limit_per_host=0, keepalive_timeout=keepalive_expiry,
        ssl=_tls_context(), ttl_dns_cache=10,
    )
    return aiohttp.ClientSession(
        connector=connector, auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context for the process: loading the roots costs milliseconds a session."""
    return httpx.create_ssl_context(trust_env=False)


def connection_error(
    exc: aiohttp.ClientError, url: httpx.URL, shown: str, *, connect_timeout: float, read_timeout: float, reading: bool
) -> FetchError:
    """The ``FetchError`` for an aiohttp error while sending to ``url`` (``reading``: while reading its body).

    ``shown`` is the URL as messages may print it (password masked).
    """
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(f"fetch: cannot resolve host '{host}'")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FetchError(f"fetch: connect timeout after {connect_timeout:g}s to host '{host}'")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return FetchError(f"fetch: read timeout after {read_timeout:g}s from {shown}")
    causes = _causes(exc)
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        detail = getattr(tls, "reason", None) or type(tls).__name__
        return FetchError(f"fetch: TLS error with host '{host}': {detail}")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        if not reading and not isinstance(exc, aiohttp.ClientResponseError):
            message = f"server disconnected without a response: {message}"
        return FetchError(f"fetch: protocol error from {shown}: {message}")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"fetch: invalid request for {shown}: invalid URL: {message}", permanent=True)
    if reading:
        return FetchError(f"fetch: connection lost with {host}:{port}: {message}")
    if any(_is_refused(c) for c in causes):
        return FetchError(f"fetch: connection refused by {host}:{port}")
    return FetchError(f"fetch: cannot connect to {host}:{port}: {message}")


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


def _is_refused(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionRefusedError):
        return True
    return isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED
