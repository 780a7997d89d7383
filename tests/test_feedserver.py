"""The loopback feed server itself, checked with the standard library's client."""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from feedserver import FeedServer, wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FeedServer]:
    (tmp_path / "feed.xml").write_bytes(b"<rss version='2.0'/>")
    with FeedServer(directory=tmp_path) as srv:
        yield srv


def get(server: FeedServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_it_serves_files_with_validators_and_answers_304_to_them(server: FeedServer) -> None:
    status, headers, body = get(server, "/feed.xml")
    assert (status, body) == (200, b"<rss version='2.0'/>")
    assert headers["content-type"] == "application/rss+xml"
    assert get(server, "/feed.xml", {"If-None-Match": headers["etag"]})[0] == 304
    assert get(server, "/feed.xml", {"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert get(server, "/missing.xml")[0] == 404
    assert get(server, "/../etc/passwd")[0] == 404


@pytest.mark.parametrize(
    ("name", "sent", "status"),
    [
        ("matching etag", {"If-None-Match": "ETAG"}, 304),
        ("one of several etags", {"If-None-Match": '"other", ETAG'}, 304),
        ("any etag", {"If-None-Match": "*"}, 304),
        ("stale etag", {"If-None-Match": '"stale"'}, 200),
        # RFC 9110 §13.2.2: If-None-Match decides alone when present.
        ("stale etag beats a fresh date", {"If-None-Match": '"stale"', "If-Modified-Since": "LM"}, 200),
        ("same date", {"If-Modified-Since": "LM"}, 304),
        ("older date", {"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"}, 200),
        ("unreadable date", {"If-Modified-Since": "yesterday"}, 200),
    ],
)
def test_routes_answer_conditional_requests(server: FeedServer, name: str, sent: dict[str, str], status: int) -> None:
    server.set_route("/r", b"<rss/>")
    _, headers, _ = get(server, "/r")
    sent = {k: v.replace("ETAG", headers["etag"]).replace("LM", headers["last-modified"]) for k, v in sent.items()}
    assert get(server, "/r", sent)[0] == status


def test_changing_a_route_changes_its_validators(server: FeedServer) -> None:
    server.set_route("/r", b"one")
    _, first, _ = get(server, "/r")
    server.set_route("/r", b"two")
    status, second, body = get(server, "/r", {"If-None-Match": first["etag"]})
    assert (status, body) == (200, b"two")
    assert second["etag"] != first["etag"] and second["last-modified"] != first["last-modified"]


def test_it_counts_hits_and_records_request_headers(server: FeedServer) -> None:
    server.set_route("/r", b"x")
    get(server, "/r?a=1", {"X-Probe": "1"})
    get(server, "/r")
    assert server.hits["/r"] == 2
    assert server.requests[0][0] == "/r?a=1"
    assert server.requests_to("/r")[0]["x-probe"] == "1"
    server.reset_counters()
    assert server.hits["/r"] == 0 and server.requests == []


def test_redirects_point_where_they_were_told(server: FeedServer) -> None:
    server.redirect("/old", "/new", 301)
    server.redirect("/passwd", "file:///etc/passwd", 302)
    server.redirect_chain("/c", hops=3, to="/end")
    status, headers, _ = get(server, "/old")
    assert (status, headers["location"]) == (301, "/new")
    assert get(server, "/passwd")[1]["location"] == "file:///etc/passwd"
    assert [get(server, p)[1]["location"] for p in ("/c", "/c/hop1", "/c/hop2")] == ["/c/hop1", "/c/hop2", "/end"]


def test_errors_carry_retry_after(server: FeedServer) -> None:
    server.error("/busy", 429, retry_after=120)
    status, headers, _ = get(server, "/busy")
    assert (status, headers["retry-after"]) == (429, "120")


def test_a_small_gzip_bomb_is_a_valid_gzip_stream_of_the_stated_size(server: FeedServer) -> None:
    server.gzip_bomb("/bomb", size=8 << 20)
    status, headers, body = get(server, "/bomb")
    assert headers["content-encoding"] == "gzip"
    assert len(body) < 16 * 1024 and int(headers["content-length"]) == len(body)
    assert gzip.decompress(body) == bytes(8 << 20)


def test_a_huge_body_has_the_size_asked_for(server: FeedServer) -> None:
    server.huge("/huge", 3_000_001)
    assert len(get(server, "/huge")[2]) == 3_000_001


def test_it_serves_many_connections_at_once(server: FeedServer) -> None:
    server.set_route("/r", b"x", delay=0.2)
    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(lambda _: get(server, "/r")[0], range(100)))
    assert statuses == [200] * 100
    assert server.max_in_flight > 50


def test_it_keeps_connections_alive(server: FeedServer) -> None:
    server.set_route("/r", b"x")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/r")
            assert conn.getresponse().read() == b"x"
    finally:
        conn.close()
    assert server.connections == 1


@pytest.mark.parametrize("behaviour", ["endless", "drip"])
def test_stop_ends_responses_still_streaming(tmp_path: Path, behaviour: str) -> None:
    server = FeedServer().start()
    server.endless("/s") if behaviour == "endless" else server.drip("/s", interval=0.5, size=100)
    done = threading.Event()

    def read_forever() -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/s")
            response = conn.getresponse()
            while response.read(1024):
                pass
        except (OSError, http.client.HTTPException):
            pass
        finally:
            done.set()

    reader = threading.Thread(target=read_forever, daemon=True)
    reader.start()
    assert wait_until(lambda: server.hits["/s"] == 1)
    server.stop()
    assert done.wait(5)
