"""The operator's HTTP endpoints, served for real on 127.0.0.1 and asked with httpx."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from monitor.errors import ListenError, MonitorError
from monitor.pipeline import FeedOutcome
from monitor.web import Metrics
from monitor.web.server import MAX_HEAD_BYTES, OpsServer, parse_address, service_health


class Health:
    """A health answer the test can change."""

    def __init__(self) -> None:
        self.answer: tuple[bool, str] = (True, "ok")

    async def __call__(self) -> tuple[bool, str]:
        return self.answer


def serve(
    metrics: Metrics, health: Callable[[], Awaitable[tuple[bool, str]]], scenario: Callable[[OpsServer], Awaitable[Any]]
) -> Any:
    """Start a server on a free port, run ``scenario`` against it, stop the server."""

    async def go() -> Any:
        server = OpsServer("127.0.0.1:0", metrics, health)
        await server.start()
        try:
            return await scenario(server)
        finally:
            await server.stop()

    return asyncio.run(go())


async def get(server: OpsServer, path: str, method: str = "GET") -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        return await client.request(method, path)


async def raw(server: OpsServer, data: bytes) -> bytes:
    """Send raw bytes, read the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


# ---- address parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:8787", ("::1", 8787)),
        (" 127.0.0.1:8787 ", ("127.0.0.1", 8787)),
    ],
)
def test_it_parses_host_and_port(value, expected):
    assert parse_address(value) == expected


@pytest.mark.parametrize("value", ["8787", ":8787", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "::1:8787", "[::1]8787", "[::1", ""])
def test_a_bad_address_is_refused_with_the_variable_and_value_named(value):
    with pytest.raises(MonitorError) as err:
        parse_address(value)
    assert str(err.value).startswith("http: MONITOR_HTTP_ADDRESS must be host:port")
    assert repr(value.strip()) in str(err.value)


# ---- endpoints -----------------------------------------------------------------------------


def test_healthz_says_ok_then_503_with_the_reason_when_health_turns_bad():
    health = Health()

    async def scenario(server: OpsServer) -> list[httpx.Response]:
        first = await get(server, "/healthz")
        health.answer = (False, "scheduler not running")
        return [first, await get(server, "/healthz")]

    ok, bad = serve(Metrics(), health, scenario)
    assert (ok.status_code, ok.text) == (200, "ok\n")
    assert "script-src 'self'" in ok.headers["content-security-policy"]
    assert ok.headers["content-type"].startswith("text/plain")
    assert (bad.status_code, bad.text) == (503, "unhealthy: scheduler not running\n")


def test_a_crashing_health_check_is_a_503_not_a_dropped_connection():
    async def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    async def scenario(server: OpsServer) -> httpx.Response:
        return await get(server, "/healthz")

    response = serve(Metrics(), broken, scenario)
    assert response.status_code == 503
    assert "RuntimeError" in response.text


def test_metrics_serves_the_prometheus_text_with_database_gauges(engine):
    metrics = Metrics(engine)
    metrics.observe_feed(FeedOutcome(name="a", status="ok", fetch_seconds=0.1, new_stories=2, matched_rules=["syria"]))
    metrics.observe_feed(FeedOutcome(name="b", status="failed"))

    async def scenario(server: OpsServer) -> httpx.Response:
        return await get(server, "/metrics")

    response = serve(metrics, Health(), scenario)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    found = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {"monitor_polls", "monitor_fetch_seconds", "monitor_stories", "monitor_matches", "monitor_alerts",
            "monitor_deliveries", "monitor_feeds", "monitor_feeds_failing", "monitor_stories_stored",
            "monitor_last_digest_timestamp_seconds", "monitor_db_up"} <= set(found)
    polls = {s.labels["outcome"]: s.value for s in found["monitor_polls"].samples if s.name == "monitor_polls_total"}
    assert polls == {"ok": 1, "not_modified": 0, "unchanged": 0, "failed": 1}
    assert [s.value for s in found["monitor_db_up"].samples] == [1]


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/", 404),
        ("GET", "/healthz/extra", 404),
        ("GET", "/metrics?name[]=x", 200),
        ("POST", "/metrics", 405),
        ("PUT", "/healthz", 405),
        ("DELETE", "/healthz", 405),
        ("POST", "/nowhere", 404),
    ],
)
def test_it_answers_unknown_paths_with_404_and_other_methods_with_405(method, path, status):
    async def scenario(server: OpsServer) -> httpx.Response:
        return await get(server, path, method)

    response = serve(Metrics(), Health(), scenario)
    assert response.status_code == status
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_head_gets_the_headers_without_a_body():
    async def scenario(server: OpsServer) -> bytes:
        return await raw(server, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    answer = serve(Metrics(), Health(), scenario)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 3\r\n" in answer.lower()
    assert answer.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "request_bytes, status_line",
    [
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET /healthz SPDY/3\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES * 2) + b"\r\n\r\n",
         b"HTTP/1.1 400 Bad Request"),
    ],
)
def test_malformed_or_oversized_requests_get_a_clear_4xx(request_bytes, status_line):
    async def scenario(server: OpsServer) -> bytes:
        return await raw(server, request_bytes)

    answer = serve(Metrics(), Health(), scenario)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:100]


def test_a_client_that_never_finishes_its_request_does_not_block_others():
    async def scenario(server: OpsServer) -> tuple[int, bytes]:
        _, stalled = await asyncio.open_connection("127.0.0.1", server.port)
        stalled.write(b"GET /healthz HTTP/1.1\r\n")  # and nothing more
        await stalled.drain()
        response = await get(server, "/healthz")
        stalled.close()
        return response.status_code, b""

    assert serve(Metrics(), Health(), scenario)[0] == 200


# ---- lifecycle -----------------------------------------------------------------------------


def test_a_port_in_use_is_a_clear_error():
    async def scenario(server: OpsServer) -> ListenError:
        second = OpsServer(f"127.0.0.1:{server.port}", Metrics(), Health())
        with pytest.raises(ListenError) as err:
            await second.start()
        return err.value

    error = serve(Metrics(), Health(), scenario)
    assert str(error).startswith("http: cannot listen on 127.0.0.1:")
    assert "in use" in str(error)
    assert error.in_use is True and error.address.startswith("127.0.0.1:") and error.reason == "Address already in use"


def test_an_address_not_on_this_machine_is_a_listen_error_not_in_use():
    async def go() -> ListenError:
        with pytest.raises(ListenError) as err:
            await OpsServer("192.0.2.1:0", Metrics(), Health()).start()  # TEST-NET-1: never local
        return err.value

    error = asyncio.run(go())
    assert error.in_use is False
    assert str(error) == f"http: cannot listen on 192.0.2.1:0: {error.reason}"


def test_after_stop_the_port_refuses_connections():
    async def go() -> int:
        server = OpsServer("127.0.0.1:0", Metrics(), Health())
        await server.start()
        port = server.port
        await server.stop()
        await server.stop()  # twice is fine
        return port

    port = asyncio.run(go())
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_the_port_property_reports_the_bound_port_for_port_0():
    async def scenario(server: OpsServer) -> int:
        return server.port

    assert serve(Metrics(), Health(), scenario) > 0


# ---- the service's health check -------------------------------------------------------------


def test_service_health_needs_a_running_scheduler_and_a_database_that_answers(engine, tmp_path):
    from monitor.db import make_engine

    running = [False]
    broken = make_engine(f"sqlite:///{tmp_path / 'no' / 'such.db'}")

    async def go() -> list[tuple[bool, str]]:
        return [
            await service_health(lambda: running[0], engine)(),
            await service_health(lambda: True, engine)(),
            await service_health(lambda: True, broken)(),
        ]

    stopped, ok, db_down = asyncio.run(go())
    assert stopped == (False, "scheduler not running")
    assert ok == (True, "ok")
    assert db_down[0] is False and db_down[1].startswith("database: OperationalError")


# ---- wired into the service ------------------------------------------------------------------


def test_the_running_service_serves_health_and_counts_its_polls_in_metrics(tmp_path):
    from feedserver import FeedServer

    from monitor.config import Settings
    from monitor.notify import ConsoleNotifier
    from monitor.service import Service, build_app

    feeds_dir = Path(__file__).parent / "testdata" / "feeds"
    (tmp_path / "rules").mkdir()
    with FeedServer(directory=feeds_dir) as feeds:
        (tmp_path / "feeds.toml").write_text(
            f'[[feeds]]\nname = "BBC"\nurl = "{feeds.url("/bbc_middle_east.rss")}"\n', encoding="utf-8"
        )
        settings = Settings.from_env(
            {"MONITOR_HTTP_ADDRESS": "127.0.0.1:0", "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"},
            cwd=tmp_path,
        )
        app = build_app(settings, notifier=ConsoleNotifier(io.StringIO()))
        service = Service(app, tick=0.2, deliver_every=0.2)

        async def scenario() -> tuple[httpx.Response, str, list[httpx.Response]]:
            run = asyncio.create_task(service.run())
            try:
                while getattr(service, "ops", None) is None or not service.healthy:  # bounded by the test timeout
                    await asyncio.sleep(0.05)
                health = await get(service.ops, "/healthz")
                while True:
                    text = (await get(service.ops, "/metrics")).text
                    if 'monitor_polls_total{outcome="ok"} 1.0' in text:
                        pages = [await get(service.ops, p) for p in ("/", "/feeds", "/search?q=Syria+NEAR5+Russia")]
                        return health, text, pages
                    await asyncio.sleep(0.05)
            finally:
                service.stop()
                await run

        health, text, pages = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert (health.status_code, health.text) == (200, "ok\n")
    assert [p.status_code for p in pages] == [200, 200, 200]  # the console, served by the same server
    assert "BBC" in pages[1].text and "cannot be read" in pages[2].text
    assert all("script-src 'self'" in p.headers["content-security-policy"] for p in pages)
    values = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}
    assert values["monitor_fetch_seconds_count"] == 1
    assert values["monitor_stories_total"] > 0
    assert values["monitor_db_up"] == 1


def test_monitor_http_address_off_runs_the_service_without_a_server(tmp_path):
    from monitor.config import Settings
    from monitor.notify import ConsoleNotifier
    from monitor.service import Service, build_app

    (tmp_path / "rules").mkdir()
    (tmp_path / "feeds.toml").write_text("# no feeds\n", encoding="utf-8")
    settings = Settings.from_env(
        {"MONITOR_HTTP_ADDRESS": "off", "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"}, cwd=tmp_path
    )
    service = Service(build_app(settings, notifier=ConsoleNotifier(io.StringIO())), tick=0.2)

    async def scenario() -> None:
        run = asyncio.create_task(service.run())
        while not service.healthy:  # bounded by the test timeout
            await asyncio.sleep(0.05)
        service.stop()
        await run

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert service.ops is None
