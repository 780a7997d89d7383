"""The operator's endpoints, ``GET /healthz`` and ``GET /metrics``, on a tiny asyncio HTTP server.

Deliberately small: HTTP/1.1, one request per connection (``Connection:
close``), request head bounded to ``MAX_HEAD_BYTES``, ``READ_TIMEOUT``
seconds to send it, at most ``MAX_CONNECTIONS`` at once. It runs on the
service's event loop; the metrics rendering (which queries the database) and
the health check's database ping run in threads so a slow database never
stalls polling.

- ``GET /healthz``: 200 ``ok`` when ``health()`` says ok, else 503 with the reason.
- ``GET /metrics``: 200, Prometheus text format.
- ``HEAD`` is answered like ``GET`` without a body; other methods get 405, other paths 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from monitor.errors import ListenError, MonitorError
from monitor.web.metrics import Metrics

log = logging.getLogger("monitor.httpd")

MAX_HEAD_BYTES = 8192
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 10.0
MAX_CONNECTIONS = 64
TEXT = "text/plain; charset=utf-8"

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]


def parse_address(value: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` → (host, port). Port 0 picks a free port.

    Raises MonitorError naming the variable and the bad value.
    """
    bad = MonitorError(f"http: MONITOR_HTTP_ADDRESS must be host:port (or off); got {value!r}")
    value = value.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise bad
        port_text = rest[1:]
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            raise bad
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise bad
    return host, int(port_text)


def service_health(running: Callable[[], bool], engine: Engine, *, timeout: float = 3.0) -> HealthCheck:
    """The service's health: the scheduler runs and the database answers ``SELECT 1`` within ``timeout``."""

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def check() -> tuple[bool, str]:
        if not running():
            return False, "scheduler not running"
        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout)
        except TimeoutError:
            return False, f"database did not answer within {timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure is an unhealthy answer
            return False, f"database: {type(exc).__name__}: {_first_line(exc)}"
        return True, "ok"

    return check


class OpsServer:
    """Serves ``/healthz`` and ``/metrics`` on ``address`` (``host:port``) until ``stop()``."""

    def __init__(self, address: str, metrics: Metrics, health: HealthCheck) -> None:
        self.address = address
        self.host, self._port = parse_address(address)
        self.metrics = metrics
        self.health = health
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The bound port (the real one when the address asked for port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        """Bind and listen; raises ListenError when the address cannot be bound (in use, not local, ...)."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self._port, limit=MAX_HEAD_BYTES)
        except OSError as exc:
            # asyncio wraps bind errors in a long message; the errno's own text is clearer
            reason = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno else os.strerror(exc.errno)
            raise ListenError(self.address, reason, in_use=exc.errno == errno.EADDRINUSE) from None
        log.info("http: serving /healthz and /metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections. Safe to call twice."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    # ---- one connection ----

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if len(self._writers) > MAX_CONNECTIONS:
                await self._respond(writer, HTTPStatus.SERVICE_UNAVAILABLE, b"busy\n")
                return
            status, body, ctype, head_only = await self._answer(reader)
            await self._respond(writer, status, body, ctype, head_only=head_only)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away or stalled: nothing to answer
        except Exception:  # noqa: BLE001 - one bad request must not stop the server
            log.exception("http: request crashed")
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[HTTPStatus, bytes, str, bool]:
        """Read the request head and decide the answer: (status, body, content type, head only)."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except asyncio.LimitOverrunError:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"request head too large\n", TEXT, False
        except TimeoutError:
            return HTTPStatus.REQUEST_TIMEOUT, b"request not received in time\n", TEXT, False
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return HTTPStatus.BAD_REQUEST, b"bad request line\n", TEXT, False
        method, target, _ = parts
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/metrics"):
            return HTTPStatus.NOT_FOUND, b"not found: try /healthz or /metrics\n", TEXT, method == "HEAD"
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed: use GET\n", TEXT, False
        head_only = method == "HEAD"
        if path == "/healthz":
            try:
                ok, reason = await self.health()
            except Exception as exc:  # noqa: BLE001 - a crashing check is an unhealthy answer
                ok, reason = False, f"health check failed: {type(exc).__name__}"
            if ok:
                return HTTPStatus.OK, b"ok\n", TEXT, head_only
            return HTTPStatus.SERVICE_UNAVAILABLE, f"unhealthy: {reason}\n".encode(), TEXT, head_only
        body = await asyncio.to_thread(self.metrics.render)
        return HTTPStatus.OK, body, CONTENT_TYPE_LATEST, head_only

    async def _respond(
        self, writer: asyncio.StreamWriter, status: HTTPStatus, body: bytes, ctype: str = TEXT, *, head_only: bool = False
    ) -> None:
        headers = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            headers.append("Allow: GET, HEAD")
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            writer.write(body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
