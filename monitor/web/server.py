"""The HTTP server of ``monitor run``: the ASGI app of ``monitor.web.app`` on uvicorn.

uvicorn runs inside the service's event loop (``Server.serve()`` as a task)
with its own signal handling switched off: the service owns SIGTERM and
SIGINT. The socket is bound here, before any work starts, so a bad address or
a port in use is a ``ListenError`` at start-up rather than a log line later.
Database reads of every endpoint run in threads, so a slow database never
stalls polling.

Limits: request heads up to ``MAX_HEAD_BYTES`` (larger ones get a 4xx),
idle keep-alive connections closed after ``KEEP_ALIVE`` seconds, at most
``MAX_CONNECTIONS`` at once (more get a 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from sqlalchemy import Engine, text

from monitor.errors import ListenError, MonitorError
from monitor.web.app import Console, build_app
from monitor.web.metrics import Metrics

log = logging.getLogger("monitor.httpd")

MAX_HEAD_BYTES = 8192
KEEP_ALIVE = 5
MAX_CONNECTIONS = 64
STOP_TIMEOUT = 5.0

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


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may reach beyond this machine


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the service decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """Serves ``/healthz``, ``/metrics`` and, with ``console`` given, the web console on ``address``
    (``host:port``) until ``stop()``."""

    def __init__(self, address: str, metrics: Metrics, health: HealthCheck, console: Console | None = None) -> None:
        self.address = address
        self.host, self._port = parse_address(address)
        self.metrics = metrics
        self.health = health
        self.console = console
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when the address asked for port 0)."""
        if self._sock is not None:
            return int(self._sock.getsockname()[1])
        return self._port

    def _bind(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self.host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise ListenError(self.address, str(exc.strerror), in_use=False) from None
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ListenError(self.address, reason, in_use=exc.errno == errno.EADDRINUSE) from None
        return sock

    async def start(self) -> None:
        """Bind, listen and serve; raises ``ListenError`` when the address cannot be bound (in use, not local, ...)."""
        sock = self._bind()
        app = build_app(self.metrics, self.health, self.console, exposed=not is_loopback(self.host))
        config = uvicorn.Config(
            app, log_config=None, log_level="warning", access_log=False, lifespan="off", server_header=False,
            proxy_headers=False, http="h11", ws="none", interface="asgi3", timeout_keep_alive=KEEP_ALIVE,
            limit_concurrency=MAX_CONNECTIONS, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=STOP_TIMEOUT,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="monitor-http")
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            sock.close()
            exc = task.exception() if not task.cancelled() else None
            raise MonitorError(f"http: the server on {self.address} did not start: {exc!r}")
        self._sock, self._server, self._task = sock, server, task
        what = "/healthz, /metrics and the console" if self.console is not None else "/healthz and /metrics"
        log.info("http: serving %s on %s:%d", what, self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections. Safe to call twice."""
        server, task, sock = self._server, self._task, self._sock
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT + 2)
        except TimeoutError:
            server.force_exit = True
            with contextlib.suppress(BaseException):
                await task
        except BaseException:  # noqa: BLE001 - a server that crashed is stopped too
            pass
        if sock is not None:
            sock.close()
        self._sock = None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
