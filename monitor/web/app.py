"""The ASGI application served by ``monitor run``: ``/healthz``, ``/metrics`` and the console.

Paths (each console page also as JSON at the same path plus ``.json``;
``/`` as ``/index.json``)::

    GET /healthz                 200 "ok" or 503 with the reason (always open)
    GET /metrics                 Prometheus text (always open)
    GET /                        recent alerts; ?rule=ID &severity=high|normal|low &after=CURSOR
    GET /stories/<id>            one story, its sightings, cluster and rules
    GET /feeds                   feed health, failing and stale first
    GET /rules                   rules, matches per day over 30 days, last match
    GET /search?q=QUERY          stored stories matching QUERY; &before=ID pages
    GET|POST /login              the sign-in form (only when a token is set)
    GET /static/console.css|js   the console's style sheet and script

Security, for every response: a Content-Security-Policy allowing scripts and
styles from this origin only (no inline script), ``nosniff``, no referrer, no
framing; only GET and HEAD (and POST on ``/login``), else 405. Console pages
(not ``/healthz``, ``/metrics``, ``/static``) need the token when one is set:
``Authorization: Bearer TOKEN``, or the HttpOnly, SameSite=Strict cookie the
login form sets (an HMAC of the token, never the token). Comparisons are
constant-time; the token is never logged or written into a page. With no
token on an address that is not loopback, console pages answer 403.

Database reads run in Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlencode

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.clock import Clock, SystemClock
from monitor.config import OpsConfig
from monitor.model import Rule
from monitor.web.counts import FeedCounts
from monitor.web.metrics import Metrics
from monitor.web.reads import Cursor, alerts_page, feeds_page, rules_page, story_page
from monitor.web.render import environment, to_json
from monitor.web.search import search

__all__ = ["CSP", "Console", "build_app"]

log = logging.getLogger("monitor.web")

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
COOKIE = "monitor_session"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
MAX_FORM_BYTES = 8192
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@dataclass
class Console:
    """What the console pages read: the database, the running rules (a callable, so a reload shows),
    the clock, the feed-health thresholds, and the access token (None: open on loopback only)."""

    engine: Engine
    rules: Callable[[], Sequence[Rule]]
    clock: Clock = field(default_factory=SystemClock)
    ops: OpsConfig = field(default_factory=OpsConfig)
    token: str | None = field(default=None, repr=False)
    counts: FeedCounts | None = field(default=None, repr=False)  # built from ``engine`` when not given

    def __post_init__(self) -> None:
        if self.counts is None:
            self.counts = FeedCounts(self.engine)


def session_value(token: str) -> str:
    """The login cookie's value for ``token``: an HMAC of it, so the cookie never carries the token."""
    return hmac.new(token.encode("utf-8"), b"monitor console session v1", hashlib.sha256).hexdigest()


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, whoever produced it (404s and 500s too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _not_allowed(allow: str = "GET, HEAD") -> Response:
    return PlainTextResponse("method not allowed: use GET\n", 405, headers={"Allow": allow})


def build_app(metrics: Metrics, health: HealthCheck, console: Console | None = None, *, exposed: bool = False) -> ASGIApp:
    """The ASGI app. ``exposed``: the server listens on an address that is not loopback."""
    env = environment()
    locked = console is not None and not console.token and exposed
    if locked:
        log.warning("http: console pages answer 403: the address is not loopback and MONITOR_WEB_TOKEN is not set "
                    "(set a token, or listen on 127.0.0.1); /healthz and /metrics stay open")

    async def healthz(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed()
        try:
            ok, reason = await health()
        except Exception as exc:  # noqa: BLE001 - a crashing check is an unhealthy answer
            ok, reason = False, f"health check failed: {type(exc).__name__}"
        if ok:
            return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})
        return PlainTextResponse(f"unhealthy: {reason}\n", 503, headers={"Cache-Control": "no-store"})

    async def metrics_page(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed()
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed()
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found\n", 404)
        body = files("monitor.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"})

    def page(template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("q", "")
        context.setdefault("json_url", "")
        body = env.get_template(template).render(**context)
        return Response(body, status, media_type=HTML, headers={"Cache-Control": "no-store"})

    def authorised(request: Request) -> bool:
        assert console is not None
        token = console.token
        if not token:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode("utf-8", "replace"), session_value(token).encode("utf-8"))

    def guard(request: Request, as_json: bool) -> Response | None:
        """The answer when this request may not see console pages, else None."""
        if request.method not in ("GET", "HEAD"):
            return _not_allowed()
        if locked:
            msg = "the console is off: this server listens beyond loopback and no MONITOR_WEB_TOKEN is set"
            if as_json:
                return Response(to_json({"error": msg}), 403, media_type=JSON)
            return page("message.html.j2", 403, heading="Forbidden", message=msg, page="")
        if authorised(request):
            return None
        if as_json:
            return Response(to_json({"error": "authentication required: Authorization: Bearer TOKEN"}), 401,
                            media_type=JSON, headers={"WWW-Authenticate": 'Bearer realm="monitor"'})
        return page("login.html.j2", 401, failed=False, next_path=_local_path(request.url.path, request.url.query),
                    page="")

    async def read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert console is not None

        def work() -> Any:
            with console.engine.connect() as conn:
                return fn(conn, *args, **kwargs)

        return await run_in_threadpool(work)

    def rules_by_id() -> dict[str, Rule]:
        assert console is not None
        return {r.id: r for r in console.rules()}

    def answer(request: Request, as_json: bool, template: str, data: dict[str, Any], **extra: Any) -> Response:
        if as_json:
            return Response(to_json(data), media_type=JSON, headers={"Cache-Control": "no-store"})
        json_path = request.url.path.rstrip("/") + ".json" if request.url.path != "/" else "/index.json"
        json_url = json_path + (f"?{request.url.query}" if request.url.query else "")
        return page(template, **data, **extra, json_url=json_url)

    def endpoint(as_json: bool, handler: Callable[[Request, bool], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            refused = guard(request, as_json)
            if refused is not None:
                return refused
            return await handler(request, as_json)

        return run

    async def alerts(request: Request, as_json: bool) -> Response:
        assert console is not None
        p = request.query_params
        severity = p.get("severity") or None
        if severity not in (None, "high", "normal", "low"):
            severity = None
        data = await read(alerts_page, rules_by_id(), rule=p.get("rule") or None, severity=severity,
                          after=Cursor.parse(p.get("after")))
        next_url = None
        if data["next"]:
            keep = {k: v for k, v in (("rule", data["rule"]), ("severity", severity)) if v}
            next_url = "/?" + urlencode({**keep, "after": data["next"]})
        return answer(request, as_json, "alerts.html.j2", data, page="alerts", next_url=next_url)

    async def story(request: Request, as_json: bool) -> Response:
        data = await read(story_page, int(request.path_params["story_id"]), rules_by_id())
        if data is None:
            if as_json:
                return Response(to_json({"error": "no such story"}), 404, media_type=JSON)
            return page("message.html.j2", 404, heading="Not found", message="There is no story with this id.", page="")
        terms = sorted({t for m in data["matches"] for t in m["terms"]})
        return answer(request, as_json, "story.html.j2", {"story": data}, page="", terms=terms)

    async def feeds_view(request: Request, as_json: bool) -> Response:
        assert console is not None
        assert console.counts is not None
        counts = await run_in_threadpool(console.counts.get)
        data = await read(feeds_page, console.clock.now(), console.ops, counts, console.counts.counted_at)
        return answer(request, as_json, "feeds.html.j2", data, page="feeds")

    async def rules_view(request: Request, as_json: bool) -> Response:
        assert console is not None
        data = await read(rules_page, list(console.rules()), console.clock.now())
        return answer(request, as_json, "rules.html.j2", data, page="rules")

    async def search_view(request: Request, as_json: bool) -> Response:
        q = request.query_params.get("q", "")[:2000]
        before_text = request.query_params.get("before", "")
        before = min(int(before_text), 2**31 - 1) if before_text.isdigit() else None  # ids are 32-bit on PostgreSQL
        if not q.strip():
            data: dict[str, Any] = {"query": q, "results": [], "error": None, "error_column": None, "method": "",
                                    "examined": 0, "next": None, "words": []}
        else:
            found = await read(search, q, before=before)
            data = {"query": q, "results": found.results, "error": found.error, "error_column": found.error_column,
                    "method": found.method, "examined": found.examined, "next": found.next_before, "words": found.words}
        next_url = "/search?" + urlencode({"q": q, "before": data["next"]}) if data["next"] else None
        return answer(request, as_json, "search.html.j2", data, page="search", q=q, next_url=next_url)

    async def login(request: Request) -> Response:
        if console is None or not console.token:
            return RedirectResponse("/", 303)
        if request.method == "GET" or request.method == "HEAD":
            return page("login.html.j2", 200, failed=False, next_path=_local_path(request.query_params.get("next", "/")), page="")
        if request.method != "POST":
            return _not_allowed("GET, HEAD, POST")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return PlainTextResponse("form too large\n", 413)
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        given = (form.get("token") or [""])[0]
        target = _local_path((form.get("next") or ["/"])[0])
        if not hmac.compare_digest(given.encode("utf-8"), console.token.encode("utf-8")):
            log.warning("http: console sign-in refused (wrong token) from %s", request.client.host if request.client else "?")
            return page("login.html.j2", 401, failed=True, next_path=target, page="")
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, session_value(console.token), httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    routes = [
        Route("/healthz", healthz, methods=ALL_METHODS),
        Route("/metrics", metrics_page, methods=ALL_METHODS),
    ]
    if console is not None:
        routes += [
            Route("/static/{name}", static, methods=ALL_METHODS),
            Route("/login", login, methods=ALL_METHODS),
            Route("/", endpoint(False, alerts), methods=ALL_METHODS),
            Route("/index.json", endpoint(True, alerts), methods=ALL_METHODS),
            Route("/.json", endpoint(True, alerts), methods=ALL_METHODS),
            Route("/stories/{story_id:int}.json", endpoint(True, story), methods=ALL_METHODS),
            Route("/stories/{story_id:int}", endpoint(False, story), methods=ALL_METHODS),
            Route("/feeds", endpoint(False, feeds_view), methods=ALL_METHODS),
            Route("/feeds.json", endpoint(True, feeds_view), methods=ALL_METHODS),
            Route("/rules", endpoint(False, rules_view), methods=ALL_METHODS),
            Route("/rules.json", endpoint(True, rules_view), methods=ALL_METHODS),
            Route("/search", endpoint(False, search_view), methods=ALL_METHODS),
            Route("/search.json", endpoint(True, search_view), methods=ALL_METHODS),
        ]

    async def not_found(request: Request, exc: Exception) -> Response:
        hint = "try /, /feeds, /rules, /search, /healthz or /metrics" if console is not None else "try /healthz or /metrics"
        return PlainTextResponse(f"not found: {hint}\n", 404)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("http: %s %s crashed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
        return PlainTextResponse("internal error: the log says more\n", 500)

    app = Starlette(routes=routes, exception_handlers={404: not_found, Exception: crashed})
    return SecurityHeaders(app)


def _local_path(path: str, query: str = "") -> str:
    """A same-site path to return to after signing in (anything else becomes ``/``)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path + (f"?{query}" if query else "")
