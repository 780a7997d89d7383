"""A local HTTP server that plays every kind of feed host, good and bad.

``FeedServer`` listens on 127.0.0.1 (a free port), speaks HTTP/1.1 with
keep-alive, and serves many connections at once (a thread each). It serves
files from a directory with ETag and Last-Modified, and routes registered at
run time: plain bodies that can change between polls, redirects and redirect
loops, error statuses with Retry-After, a slow drip, an endless body, a gzip
bomb, a huge body, and a response that sleeps before its headers.

Every request is recorded: ``hits[path]`` counts them (path without query),
``requests`` lists ``(path, headers)`` in arrival order, ``connections``
counts accepted TCP connections (keep-alive reuses them), and
``max_in_flight`` is the most requests handled at the same moment. All of it
is thread-safe.

    with FeedServer(directory=FEEDS) as server:
        server.set_route("/feed.xml", body=b"<rss/>")
        fetch(server.url("/feed.xml"))

``stop()`` returns promptly even while a drip or endless body is streaming.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import mimetypes
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

# Routes get the request handler and return nothing; they write the response themselves.
Behaviour = Callable[["_Handler"], None]

_BASE_TIME = 1_475_000_000  # 2016-09-27: Last-Modified dates count up from here
_MIB = 1 << 20
FEED_TYPE = "application/rss+xml"


@dataclass
class _Resource:
    """A body with validators; ``version`` moves on every change."""

    body: bytes
    status: int
    headers: dict[str, str]
    content_type: str
    validators: bool
    version: int
    delay: float = 0.0
    etag: str = field(init=False)
    last_modified: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.body + str(self.version).encode()).hexdigest()[:16]
        self.etag = f'"{digest}"'
        self.last_modified = email.utils.formatdate(_BASE_TIME + self.version, usegmt=True)


class FeedServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 for fetch, poll and benchmark tests."""

    def __init__(self, directory: str | Path | None = None, *, host: str = "127.0.0.1") -> None:
        self.directory = Path(directory) if directory is not None else None
        self.host = host
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._routes: dict[str, Behaviour] = {}
        self._versions: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------

    def start(self) -> FeedServer:
        """Bind a free port and serve in a background thread; returns self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self.host, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("feedserver: not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def reset_counters(self) -> None:
        """Forget hits, recorded requests, connections and the in-flight high-water mark."""
        with self._lock:
            self.hits.clear()
            self.requests.clear()
            self.connections = 0
            self.max_in_flight = self.in_flight

    def requests_to(self, path: str) -> list[dict[str, str]]:
        """Headers (lower-cased names) of every request to ``path``, in order."""
        with self._lock:
            return [headers for p, headers in self.requests if urlsplit(p).path == path]

    # -- routes ----------------------------------------------------------

    def set_handler(self, path: str, behaviour: Behaviour) -> None:
        """Serve ``path`` with a custom behaviour (it writes the whole response)."""
        with self._lock:
            self._routes[path] = behaviour

    def remove_route(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def set_route(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        validators: bool = True,
        delay: float = 0.0,
    ) -> None:
        """Serve a fixed body. Calling again changes it (and its ETag and Last-Modified).

        With ``validators`` the response carries an ETag and a Last-Modified and
        answers 304 to a matching If-None-Match (which, when present, decides
        alone, RFC 9110 §13.2.2) or a not-older If-Modified-Since. ``headers``
        are added last and may override anything. ``delay`` sleeps before
        answering (useful to overlap requests).
        """
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._versions[path] += 1
            resource = _Resource(
                data, status, dict(headers or {}), content_type, validators, self._versions[path], delay
            )
            self._routes[path] = lambda h: h.send_resource(resource)

    def error(self, path: str, status: int, retry_after: str | int | None = None) -> None:
        """Answer ``status`` (e.g. 429, 500, 503), with Retry-After if given."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.set_route(path, body=f"error {status}\n", status=status, headers=headers,
                       content_type="text/plain", validators=False)

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Redirect ``path`` to ``to`` (a path on this server or any URL, even file:///)."""
        self.set_handler(path, lambda h: h.send_redirect(status, to))

    def redirect_chain(self, path: str, hops: int, to: str, status: int = 302) -> None:
        """``path`` redirects through ``hops`` redirects in all before reaching ``to``."""
        names = [path] + [f"{path}/hop{i}" for i in range(1, hops)]
        for here, there in zip(names, names[1:] + [to]):
            self.redirect(here, there, status)

    def redirect_loop(self, a: str, b: str, status: int = 302) -> None:
        """``a`` redirects to ``b`` and ``b`` back to ``a``."""
        self.redirect(a, b, status)
        self.redirect(b, a, status)

    def drip(self, path: str, interval: float, size: int = 1000, byte: bytes = b" ",
             content_type: str = FEED_TYPE) -> None:
        """Declare ``size`` bytes, then send one byte every ``interval`` seconds."""
        self.set_handler(path, lambda h: h.send_drip(interval, size, byte, content_type))

    def endless(self, path: str, chunk: int = 64 * 1024, content_type: str = FEED_TYPE) -> None:
        """A chunked body that never ends (until the client leaves or the server stops)."""
        self.set_handler(path, lambda h: h.send_endless(chunk, content_type))

    def gzip_bomb(self, path: str, size: int = 4 << 30, content_type: str = FEED_TYPE) -> None:
        """A gzip body (Content-Encoding: gzip) of about size/1000 bytes that
        decompresses to ``size`` zero bytes (default 4 GiB); ``size`` is
        rounded up to whole MiB."""
        self.set_handler(path, lambda h: h.send_gzip_bomb(size, content_type))

    def huge(self, path: str, size: int, *, declare_length: bool = True, content_type: str = FEED_TYPE,
             filler: bytes | None = None) -> None:
        """``size`` bytes of feed-like filler (or ``filler`` repeated), generated while sending."""
        self.set_handler(path, lambda h: h.send_huge(size, declare_length, content_type, filler))

    def sleep_before_headers(self, path: str, seconds: float, body: bytes = b"<rss/>") -> None:
        """Wait ``seconds`` before answering anything, then send ``body``."""
        self.set_route(path, body=body, delay=seconds)

    # -- used by the handler ---------------------------------------------

    def _route(self, path: str) -> Behaviour | None:
        with self._lock:
            return self._routes.get(path)

    def _enter(self, raw_path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.hits[urlsplit(raw_path).path] += 1
            self.requests.append((raw_path, headers))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: FeedServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.add(request)
        with self.owner._lock:
            self.owner.connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-response are expected here


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end after this
    server_version = "feedserver/1"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def owner(self) -> FeedServer:
        return self.server.owner

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    def _dispatch(self, send_body: bool) -> None:
        self.send_body = send_body
        self.owner._enter(self.path, {k.lower(): v for k, v in self.headers.items()})
        try:
            path = urlsplit(self.path).path
            route = self.owner._route(path)
            if route is not None:
                route(self)
            elif self.owner.directory is not None and (file := self._file(path)) is not None:
                self.send_resource(file)
            else:
                self.send_simple(404, b"not found\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        finally:
            self.owner._leave()

    def _file(self, path: str) -> _Resource | None:
        assert self.owner.directory is not None
        root = self.owner.directory.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not target.is_file() or root not in target.parents:
            return None
        stat = target.stat()
        resource = _Resource(target.read_bytes(), 200, {}, _guess_type(target), True, 0)
        resource.etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        resource.last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        return resource

    # -- response writers --------------------------------------------------

    def send_simple(self, status: int, body: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.send_body:
            self.wfile.write(body)

    def send_resource(self, res: _Resource) -> None:
        if res.delay and self.owner._stopping.wait(res.delay):
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        if res.validators:
            headers = {"ETag": res.etag, "Last-Modified": res.last_modified}
            if res.status == 200 and self._not_modified(res):
                self.send_response(304)
                for name, value in {**headers, **res.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                return
        self.send_simple(res.status, res.body, res.content_type, {**headers, **res.headers})

    def _not_modified(self, res: _Resource) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or res.etag.removeprefix("W/") in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(ims)
            modified = email.utils.parsedate_to_datetime(res.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since

    def send_redirect(self, status: int, to: str) -> None:
        self.send_simple(status, b"moved\n", "text/plain", {"Location": to})

    def send_drip(self, interval: float, size: int, byte: bytes, content_type: str = FEED_TYPE) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.flush()
        for _ in range(size):
            self.wfile.write(byte[:1])
            self.wfile.flush()
            if self.owner._stopping.wait(interval):
                break
        self.close_connection = True

    def send_endless(self, chunk: int, content_type: str = FEED_TYPE) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        frame = f"{chunk:x}\r\n".encode() + b"<item/>".ljust(chunk, b" ") + b"\r\n"
        while not self.owner._stopping.is_set():
            self.wfile.write(frame)
        self.close_connection = True

    def send_gzip_bomb(self, size: int, content_type: str = FEED_TYPE) -> None:
        blocks = max(1, -(-size // _MIB))
        total = _bomb_length(blocks)
        parts = _bomb_parts(blocks)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        for part in parts:
            if self.owner._stopping.is_set():
                break
            self.wfile.write(part)
        self.close_connection = True

    def send_huge(self, size: int, declare_length: bool, content_type: str = FEED_TYPE,
                  filler: bytes | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if declare_length:
            self.send_header("Content-Length", str(size))
        else:
            self.close_connection = True  # the body ends when the connection does
        self.end_headers()
        filler = (filler or b"<item><title>filler</title></item>\n") * 2000
        sent = 0
        while sent < size and not self.owner._stopping.is_set():
            piece = filler[: size - sent]
            self.wfile.write(piece)
            sent += len(piece)


def _guess_type(path: Path) -> str:
    if path.suffix in (".xml", ".rss"):
        return "application/rss+xml"
    if path.suffix == ".atom":
        return "application/atom+xml"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


_bomb_cache: dict[str, bytes] = {}


def _bomb_pieces() -> tuple[bytes, bytes, bytes]:
    """(first block with gzip header, every further block, final empty block).

    After a full flush the compressor's dictionary is reset, so each further
    MiB of zeros compresses to the same bytes: the stream is assembled, not
    computed, whatever its size.
    """
    if not _bomb_cache:
        block = bytes(_MIB)
        c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        _bomb_cache["first"] = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
        _bomb_cache["next"] = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
        _bomb_cache["end"] = c.flush()[:-8]  # the trailer is written for the real size
    return _bomb_cache["first"], _bomb_cache["next"], _bomb_cache["end"]


def _bomb_length(blocks: int) -> int:
    first, nxt, end = _bomb_pieces()
    return len(first) + len(nxt) * (blocks - 1) + len(end) + 8


def _bomb_parts(blocks: int) -> Iterator[bytes]:
    """The gzip stream of ``blocks`` MiB of zeros; the CRC is computed only if
    the stream is read to its end."""
    first, nxt, end = _bomb_pieces()
    yield first
    batch = 64
    for start in range(1, blocks, batch):
        yield nxt * min(batch, blocks - start)
    crc = 0
    zeros = bytes(_MIB)
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    yield end + struct.pack("<II", crc, (blocks * _MIB) & 0xFFFFFFFF)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` passes; returns its last value."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True
