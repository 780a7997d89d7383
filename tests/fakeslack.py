"""A loopback fake of the Slack Web API and of an incoming webhook.

``FakeSlack`` is a threaded HTTP server on 127.0.0.1 (a free port) that the
real ``slack_sdk`` clients talk to. It implements ``chat.postMessage``,
``chat.update`` and ``auth.test`` (JSON or form bodies, as ``WebClient``
sends them: JSON for the chat methods, form-encoded for ``auth.test``) and
one incoming-webhook path.

Behaviour worth knowing:

- The bearer token must equal ``token`` (missing → ``not_authed``, wrong →
  ``invalid_auth``). Channels are known by name (with or without ``#``) or id;
  answers carry the id, like Slack.
- Every posted message is checked against Slack's limits; what breaks a limit
  is appended to ``violations`` and, like Slack, answered ``invalid_blocks``
  (``msg_too_long`` / ``no_text`` for the text).
- Failures are scriptable: ``fail_next``, ``rate_limit_next``, ``error_next``
  apply to the next requests (API or webhook) in order; ``down``/``up``
  switch the whole server off (connection refused) or to 500s; ``delay``
  holds each answer back.
- ``requests`` records every request; ``messages`` every message that landed
  (``via`` is ``"api"`` or ``"webhook"``); ``updates`` every accepted
  ``chat.update``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from monitor.model import Alert

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
CONTEXT_ELEMENTS = 10
BLOCKS_LIMIT = 50
TEXT_LIMIT = 40000
BLOCK_ID_LIMIT = 255


SEED_ALERT = Alert(
    delivery_id=1,
    rule_id="syria-strikes",
    rule_name="Syria airstrikes",
    severity="high",
    title="Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim",
    summary=(
        "Russia said that its air force had administered airstrikes against the Islamic State targets "
        "along with the US-led coalition. However, the U.S. military denied it completely."
    ),
    url="https://news.example/world/russia-syria-airstrikes-pentagon",
    source="Example Wire",
    published=datetime(2017, 2, 14, 9, 30, tzinfo=timezone.utc),
    terms=("Pentagon", "airstrikes"),
    channel="alerts",
    also_seen_in=("Daily Example", "Example Times"),
)


def sample_alert(**changes: Any) -> Alert:
    """The seed story as an alert, with ``changes`` applied (for tests)."""
    return replace(SEED_ALERT, **changes)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the strictest reading of Slack's limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None = None


def validate_message(payload: dict[str, Any]) -> list[str]:
    """Return what in ``payload`` breaks Slack's message limits (empty when valid)."""
    problems: list[str] = []
    text = payload.get("text")
    blocks = payload.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks: not JSON"]
    if not isinstance(text, str) or not text.strip():
        problems.append("text: missing or empty (needed for notifications and accessibility)")
    elif utf16_len(text) > TEXT_LIMIT:
        problems.append(f"text: {utf16_len(text)} units > {TEXT_LIMIT}")
    if blocks is None:
        return problems
    if not isinstance(blocks, list):
        return problems + ["blocks: not a list"]
    if len(blocks) > BLOCKS_LIMIT:
        problems.append(f"blocks: {len(blocks)} > {BLOCKS_LIMIT}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: not an object")
            continue
        if len(str(block.get("block_id", ""))) > BLOCK_ID_LIMIT:
            problems.append(f"{where}.block_id: longer than {BLOCK_ID_LIMIT}")
        kind = block.get("type")
        if kind == "header":
            problems += _check_text(block.get("text"), f"{where}.text", HEADER_LIMIT, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: needs text or fields")
            if "text" in block:
                problems += _check_text(block["text"], f"{where}.text", SECTION_LIMIT)
            for j, field in enumerate(block.get("fields", [])):
                problems += _check_text(field, f"{where}.fields[{j}]", FIELD_LIMIT)
            if len(block.get("fields", [])) > 10:
                problems.append(f"{where}.fields: more than 10")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > CONTEXT_ELEMENTS:
                problems.append(f"{where}.elements: {len(elements)} (1..{CONTEXT_ELEMENTS} allowed)")
            for j, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") in ("mrkdwn", "plain_text"):
                    problems += _check_text(element, f"{where}.elements[{j}]", FIELD_LIMIT)
        elif kind in ("divider", "actions", "image", "rich_text"):
            pass
        else:
            problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def _check_text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"{where}: not a text object"]
    problems = []
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn") or (plain_only and kind != "plain_text"):
        problems.append(f"{where}.type: {kind!r} not allowed")
    if "verbatim" in obj and kind != "mrkdwn":
        problems.append(f"{where}.verbatim: only for mrkdwn")
    if "emoji" in obj and kind != "plain_text":
        problems.append(f"{where}.emoji: only for plain_text")
    text = obj["text"]
    if not text.strip():
        problems.append(f"{where}.text: empty")
    if utf16_len(text) > limit:
        problems.append(f"{where}.text: {utf16_len(text)} units > {limit}")
    return problems


class FakeSlack:
    """The fake server. Use as a context manager, or call ``start``/``close``."""

    def __init__(
        self,
        *,
        token: str = "xoxb-fake-token",
        channels: dict[str, str] | tuple[str, ...] = ("alerts", "news"),
        webhook_path: str = "/services/T000/B000/XXXX",
    ) -> None:
        self.token = token
        if isinstance(channels, dict):
            self.channels = dict(channels)
        else:
            self.channels = {name: f"C{i:08d}" for i, name in enumerate(channels, start=1)}
        self.webhook_path = webhook_path
        self.requests: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.history_calls = 0
        self._faults: deque[_Fault] = deque()
        self._delay = 0.0
        self._down_mode: str | None = None
        self._lock = threading.Lock()
        self._release = threading.Event()  # set on close: frees delayed handlers
        self._ts = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> FakeSlack:
        """Listen on 127.0.0.1 (a free port the first time, the same port after ``up``)."""
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _QuietServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop listening and release any handler held by ``delay``."""
        self._release.set()
        self._stop_server()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The Web API base URL, e.g. ``http://127.0.0.1:PORT/api/``."""
        return f"http://127.0.0.1:{self._port}/api/"

    @property
    def webhook_url(self) -> str:
        """The URL of the one incoming webhook this fake knows."""
        return f"http://127.0.0.1:{self._port}{self.webhook_path}"

    # -- scripting -----------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, error: str = "internal_error") -> None:
        """Answer the next ``n`` requests with HTTP ``status``."""
        with self._lock:
            self._faults.extend(_Fault(status, error) for _ in range(n))

    def rate_limit_next(self, n: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``n`` requests 429 with ``Retry-After`` and ``ratelimited``."""
        with self._lock:
            self._faults.extend(_Fault(429, "ratelimited", retry_after) for _ in range(n))

    def error_next(self, error: str, n: int = 1, status: int | None = None) -> None:
        """Answer the next ``n`` requests with Slack error ``error``.

        The API answers HTTP 200 ``{"ok": false, "error": error}`` unless
        ``status`` says otherwise; the webhook answers the status Slack uses
        for that error (404 ``no_service``/``channel_not_found``, 403
        ``invalid_token``, 410 ``channel_is_archived``, else 400).
        """
        with self._lock:
            self._faults.extend(_Fault(status or 0, error) for _ in range(n))

    def down(self, mode: str = "refuse") -> None:
        """Take the service down: ``"refuse"`` closes the socket, ``"500"`` answers 500."""
        if mode not in ("refuse", "500"):
            raise ValueError("mode must be 'refuse' or '500'")
        self._down_mode = mode
        if mode == "refuse":
            self._stop_server()

    def up(self) -> None:
        """Bring the service back on the same port."""
        mode, self._down_mode = self._down_mode, None
        if mode == "refuse":
            self.start()

    def delay(self, seconds: float) -> None:
        """Hold every answer back by ``seconds`` (0 to stop); ``close`` releases them."""
        self._delay = seconds

    # -- state ---------------------------------------------------------------

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _next_ts(self) -> str:
        """Like Slack's: the posting time in seconds with microseconds, strictly increasing."""
        with self._lock:
            self._ts = max(self._ts + 1, int(time.time() * 1_000_000))
            return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _channel_id(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return None
        name = channel.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        if channel in self.channels.values():
            return channel
        return None


def _webhook_status(error: str) -> int:
    return {"no_service": 404, "channel_not_found": 404, "invalid_token": 403, "channel_is_archived": 410}.get(
        error, 400
    )


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-answer (a killed worker) is not an error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSlack
    server_version = "FakeSlack/1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing ------------------------------------------------------------

    def _read_payload(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            data = json.loads(raw.decode("utf-8") or "{}")
            return data if isinstance(data, dict) else {}
        payload: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        if isinstance(payload.get("blocks"), str):
            try:
                payload["blocks"] = json.loads(payload["blocks"])
            except ValueError:
                pass
        return payload

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            ctype = "application/json; charset=utf-8"
        else:
            data = str(body).encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - slack-sdk sends conversations.history as a GET
        parts = urlsplit(self.path)
        self._handle(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)))

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        try:
            payload = self._read_payload()
        except (ValueError, UnicodeDecodeError):
            payload = {"_unreadable": True}
        self._handle(urlsplit(self.path).path, payload)

    def _handle(self, path: str, payload: dict[str, Any]) -> None:
        fake = self.owner
        auth = self.headers.get("Authorization") or ""
        with fake._lock:
            fake.requests.append({"path": path, "payload": payload, "authorization": auth})
        if fake._delay:
            fake._release.wait(fake._delay)
        is_webhook = not path.startswith("/api/")
        if fake._down_mode == "500":
            self._send(500, "internal_error" if is_webhook else {"ok": False, "error": "internal_error"})
            return
        fault = fake._take_fault()
        if fault is not None:
            self._answer_fault(fault, is_webhook)
            return
        if is_webhook:
            self._webhook(path, payload)
        else:
            self._api(path.removeprefix("/api/"), payload, auth)

    def _answer_fault(self, fault: _Fault, is_webhook: bool) -> None:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if is_webhook:
            status = fault.status or _webhook_status(fault.error)
            self._send(status, fault.error, headers)
        else:
            self._send(fault.status or 200, {"ok": False, "error": fault.error}, headers)

    # -- incoming webhook ----------------------------------------------------

    def _webhook(self, path: str, payload: dict[str, Any]) -> None:
        fake = self.owner
        if path != fake.webhook_path:
            self._send(404, "no_service")
            return
        if payload.get("_unreadable"):
            self._send(400, "invalid_payload")
            return
        problems = validate_message(payload)
        if problems:
            with fake._lock:
                fake.violations.extend(problems)
            self._send(400, "no_text" if not payload.get("text") else "invalid_blocks")
            return
        with fake._lock:
            fake.messages.append({**payload, "via": "webhook", "channel": None, "ts": None})
        self._send(200, "ok")

    # -- Web API -------------------------------------------------------------

    def _api(self, method: str, payload: dict[str, Any], auth: str) -> None:
        fake = self.owner
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else payload.get("token", "")
        if method not in ("chat.postMessage", "chat.update", "auth.test", "conversations.history"):
            self._send(404, {"ok": False, "error": "unknown_method"})
            return
        if not token:
            self._send(200, {"ok": False, "error": "not_authed"})
            return
        if token != fake.token:
            self._send(200, {"ok": False, "error": "invalid_auth"})
            return
        if method == "auth.test":
            self._send(
                200,
                {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "monitor",
                 "team_id": "T000", "user_id": "U000", "bot_id": "B000"},
            )
            return
        channel_id = fake._channel_id(payload.get("channel"))
        if channel_id is None:
            self._send(200, {"ok": False, "error": "channel_not_found"})
            return
        if method == "conversations.history":
            self._history(channel_id, payload)
            return
        problems = validate_message(payload)
        if problems:
            with fake._lock:
                fake.violations.extend(problems)
            text = payload.get("text")
            if not isinstance(text, str) or not text.strip():
                error = "no_text"
            elif utf16_len(text) > TEXT_LIMIT:
                error = "msg_too_long"
            else:
                error = "invalid_blocks"
            self._send(200, {"ok": False, "error": error})
            return
        if method == "chat.postMessage":
            self._post(channel_id, payload)
        else:
            self._update(channel_id, payload)

    def _post(self, channel_id: str, payload: dict[str, Any]) -> None:
        fake = self.owner
        thread_ts = payload.get("thread_ts")
        if thread_ts and not any(m.get("ts") == thread_ts for m in fake.messages):
            self._send(200, {"ok": False, "error": "thread_not_found"})
            return
        ts = fake._next_ts()
        message = {**payload, "via": "api", "channel": channel_id, "ts": ts, "thread_ts": thread_ts}
        with fake._lock:
            fake.messages.append(message)
        self._send(200, {"ok": True, "channel": channel_id, "ts": ts, "message": _public(message)})

    def _history(self, channel_id: str, payload: dict[str, Any]) -> None:
        """Newest first, top-level messages since ``oldest``; metadata only with ``include_all_metadata``."""
        fake = self.owner
        oldest = float(payload.get("oldest") or 0)
        with_metadata = str(payload.get("include_all_metadata", "")).lower() in ("1", "true")
        with fake._lock:
            fake.history_calls += 1
            found = [
                m for m in fake.messages
                if m.get("channel") == channel_id and not m.get("thread_ts") and float(m["ts"]) >= oldest
            ]
        out = []
        for m in reversed(found):
            item = _public(m)
            metadata = m.get("metadata")
            if with_metadata and metadata:
                item["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            out.append(item)
        self._send(200, {"ok": True, "messages": out, "has_more": False})

    def _update(self, channel_id: str, payload: dict[str, Any]) -> None:
        fake = self.owner
        ts = payload.get("ts")
        with fake._lock:
            target = next(
                (m for m in fake.messages if m.get("ts") == ts and m.get("channel") == channel_id), None
            )
            if target is not None:
                target.update({k: v for k, v in payload.items() if k in ("text", "blocks")})
                fake.updates.append({**payload, "channel": channel_id})
        if target is None:
            self._send(200, {"ok": False, "error": "message_not_found"})
            return
        self._send(200, {"ok": True, "channel": channel_id, "ts": ts, "text": payload.get("text", ""),
                         "message": _public(target)})


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "text": message.get("text", ""), "blocks": message.get("blocks", []),
            "ts": message.get("ts"), "thread_ts": message.get("thread_ts")}
