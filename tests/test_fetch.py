"""The fetch step against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gzip
import socket
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import aiohttp
import pytest
from feedserver import FeedServer

from monitor.clock import FrozenClock
from monitor.errors import FetchError
from monitor.reader import AddressGuard
from monitor.reader.fetch import (
    Fetcher,
    FetchLimits,
    FetchResult,
    Validators,
    parse_max_age,
    parse_retry_after,
)

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"
FAST = FetchLimits(connect_timeout=2.0, read_timeout=2.0, deadline=5.0, max_bytes=1 << 20)
NOW = datetime(2016, 10, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


def fetch(
    url: str,
    validators: Validators = Validators(),
    limits: FetchLimits = FAST,
    **kwargs: object,
) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(limits, **kwargs) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(url, validators)

    return asyncio.run(go())


def fetch_error(url: str, limits: FetchLimits = FAST, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, limits=limits, **kwargs)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- conditional GET ------------------------------------------------------


def test_it_returns_the_body_and_validators_then_a_304_when_the_etag_matches(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)
    first = fetch(server.url("/feed.xml"))
    assert (first.status, first.body, first.not_modified) == (200, FEED, False)
    assert first.etag and first.last_modified

    second = fetch(server.url("/feed.xml"), Validators(etag=first.etag))
    assert (second.status, second.body, second.not_modified) == (304, b"", True)
    assert server.requests_to("/feed.xml")[1]["if-none-match"] == first.etag


def test_it_sends_if_modified_since_from_the_stored_last_modified(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)
    first = fetch(server.url("/feed.xml"))
    second = fetch(server.url("/feed.xml"), Validators(last_modified=first.last_modified))
    assert second.not_modified
    sent = server.requests_to("/feed.xml")[1]
    assert sent["if-modified-since"] == first.last_modified
    assert "if-none-match" not in sent


def test_it_gets_the_new_body_when_the_feed_changed_between_polls(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)
    first = fetch(server.url("/feed.xml"))
    server.set_route("/feed.xml", FEED + b"<!-- new -->")
    second = fetch(server.url("/feed.xml"), Validators(first.etag, first.last_modified))
    assert second.status == 200 and second.body.endswith(b"<!-- new -->")
    assert second.etag != first.etag


def test_it_keeps_the_sent_validators_when_a_304_carries_none(server: FeedServer) -> None:
    server.set_route("/bare", b"", status=304, validators=False)
    result = fetch(server.url("/bare"), Validators(etag='"v1"', last_modified="Fri, 07 Oct 2016 12:00:00 GMT"))
    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"v1"', "Fri, 07 Oct 2016 12:00:00 GMT")


def test_it_announces_itself_and_the_formats_and_encodings_it_accepts(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)
    fetch(server.url("/feed.xml"))
    sent = server.requests_to("/feed.xml")[0]
    assert sent["user-agent"] == FAST.user_agent
    assert "application/rss+xml" in sent["accept"] and "application/atom+xml" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"


def test_it_reports_cache_control_max_age_and_lower_cased_headers(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED, headers={"Cache-Control": "public, max-age=600", "X-Thing": "1"})
    result = fetch(server.url("/feed.xml"))
    assert result.max_age == 600.0
    assert result.headers["x-thing"] == "1"
    assert result.headers["content-type"].startswith("application/rss+xml")


# -- content encodings ----------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("name", "encoding", "encode"),
    [
        ("gzip", "gzip", gzip.compress),
        ("x-gzip alias", "x-gzip", gzip.compress),
        ("gzip of two members", "gzip", lambda d: gzip.compress(d[:10]) + gzip.compress(d[10:])),
        ("zlib-wrapped deflate", "deflate", zlib.compress),
        ("raw deflate some servers send", "deflate", _raw_deflate),
        ("identity", "identity", lambda d: d),
    ],
)
def test_it_decodes_compressed_bodies(server: FeedServer, name: str, encoding: str, encode) -> None:  # type: ignore[no-untyped-def]
    body = FEED * 50
    server.set_route("/z", encode(body), headers={"Content-Encoding": encoding})
    assert fetch(server.url("/z")).body == body


def test_it_rejects_an_encoding_it_did_not_ask_for(server: FeedServer) -> None:
    server.set_route("/br", b"\x0b\x00\x80", headers={"Content-Encoding": "br"})
    err = fetch_error(server.url("/br"))
    assert str(err).startswith("fetch: unsupported content-encoding 'br'")


def test_it_reports_a_corrupt_gzip_body(server: FeedServer) -> None:
    server.set_route("/bad", b"\x1f\x8b\x08\x00garbage-garbage", headers={"Content-Encoding": "gzip"})
    assert str(fetch_error(server.url("/bad"))).startswith("fetch: corrupt compressed body")


# -- redirects ------------------------------------------------------------


@pytest.mark.parametrize(
    ("chain", "permanent_to"),
    [
        ([301], "/hop1"),
        ([308], "/hop1"),
        ([302], None),
        ([307], None),
        ([303], None),
        ([301, 301], "/hop2"),
        ([301, 302], "/hop1"),  # only the leading permanent run is worth storing
        ([302, 301], None),
    ],
)
def test_it_follows_redirects_and_reports_where_a_permanent_one_leads(
    server: FeedServer, chain: list[int], permanent_to: str | None
) -> None:
    paths = ["/start"] + [f"/hop{i}" for i in range(1, len(chain) + 1)]
    for here, there, status in zip(paths, paths[1:], chain):
        server.redirect(here, there, status)
    server.set_route(paths[-1], FEED)
    result = fetch(server.url("/start"))
    assert result.body == FEED
    assert result.url == server.url(paths[-1])
    assert result.permanent_redirect_to == (server.url(permanent_to) if permanent_to else None)


def test_it_resolves_a_relative_location_against_the_current_url(server: FeedServer) -> None:
    server.redirect("/a/feed", "../b/feed?x=1", 302)
    server.set_route("/b/feed", FEED)
    assert fetch(server.url("/a/feed")).url == server.url("/b/feed?x=1")


def test_it_follows_exactly_max_redirects(server: FeedServer) -> None:
    server.redirect_chain("/five", hops=5, to="/end")
    server.set_route("/end", FEED)
    assert fetch(server.url("/five")).body == FEED


@pytest.mark.parametrize(
    ("name", "setup", "message"),
    [
        ("six redirects", lambda s: s.redirect_chain("/r", hops=6, to="/end"), "fetch: too many redirects (6) starting at "),
        ("a loop", lambda s: s.redirect_loop("/r", "/other"), "fetch: redirect loop at "),
        ("a self loop", lambda s: s.redirect("/r", "/r", 302), "fetch: redirect loop at "),
        ("a local file", lambda s: s.redirect("/r", "file:///etc/passwd"), "fetch: redirect to unsupported scheme 'file'"),
        ("gopher", lambda s: s.redirect("/r", "gopher://example.org/"), "fetch: redirect to unsupported scheme 'gopher'"),
        ("the metadata service", lambda s: s.redirect("/r", "http://169.254.169.254/latest/"),
         "fetch: refusing to connect to link-local address 169.254.169.254"),
    ],
)
def test_it_refuses_bad_redirects(server: FeedServer, name: str, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    setup(server)
    server.set_route("/end", FEED)
    err = fetch_error(server.url("/r"))
    assert str(err).startswith(message)
    assert server.hits["/end"] == 0


def test_a_redirect_without_location_is_an_error(server: FeedServer) -> None:
    server.set_route("/r", b"", status=302, validators=False)
    err = fetch_error(server.url("/r"))
    assert err.status == 302 and "without a usable Location" in str(err)


# -- HTTP errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "permanent", "expected_retry"),
    [
        (404, None, True, None),
        (410, None, True, None),
        (401, None, True, None),
        (403, None, True, None),
        (408, None, False, None),
        (429, "120", False, 120.0),
        (429, format_datetime(NOW + timedelta(seconds=90), usegmt=True), False, 90.0),
        (429, format_datetime(NOW - timedelta(hours=1), usegmt=True), False, 0.0),
        (429, "soon", False, None),
        (503, "30", False, 30.0),
        (503, None, False, None),
        (500, None, False, None),
        (502, None, False, None),
    ],
)
def test_it_turns_error_statuses_into_fetch_errors(
    server: FeedServer, status: int, retry_after: str | None, permanent: bool, expected_retry: float | None
) -> None:
    server.error("/e", status, retry_after)
    err = fetch_error(server.url("/e"), clock=FrozenClock(NOW))
    assert (err.status, err.permanent, err.retry_after) == (status, permanent, expected_retry)
    assert str(err).startswith(f"fetch: HTTP {status} ")
    assert server.url("/e") in str(err)


def test_error_messages_never_carry_the_response_body(server: FeedServer) -> None:
    server.set_route("/e", b"SECRET-INTERNAL-TRACE", status=500, validators=False)
    assert "SECRET" not in str(fetch_error(server.url("/e")))


def test_error_messages_mask_a_password_in_the_url(server: FeedServer) -> None:
    server.error("/e", 500)
    err = fetch_error(f"http://user:hunter2@127.0.0.1:{server.port}/e")
    assert "hunter2" not in str(err) and "user:***@" in str(err)


def test_credentials_in_the_url_are_sent_as_basic_auth(server: FeedServer) -> None:
    server.set_route("/private.xml", FEED)
    assert fetch(f"http://user:hunter2@127.0.0.1:{server.port}/private.xml").body == FEED
    sent = server.requests_to("/private.xml")[0]
    assert sent["authorization"] == "Basic " + base64.b64encode(b"user:hunter2").decode()


# -- limits ---------------------------------------------------------------


def test_a_slow_drip_ends_at_the_deadline(server: FeedServer) -> None:
    server.drip("/drip", interval=0.2, size=10_000)
    err = fetch_error(server.url("/drip"), limits=FetchLimits(read_timeout=5.0, deadline=1.5))
    assert str(err) == f"fetch: deadline of 1.5s exceeded for {server.url('/drip')}"
    assert not err.permanent


def test_a_server_silent_past_the_read_timeout_gives_a_read_timeout(server: FeedServer) -> None:
    server.sleep_before_headers("/slow", 3.0)
    err = fetch_error(server.url("/slow"), limits=FetchLimits(read_timeout=0.3, deadline=5.0))
    assert str(err) == f"fetch: read timeout after 0.3s from {server.url('/slow')}"


def test_a_body_stalling_past_the_read_timeout_gives_a_read_timeout(server: FeedServer) -> None:
    server.drip("/stall", interval=2.0, size=100)
    err = fetch_error(server.url("/stall"), limits=FetchLimits(read_timeout=0.3, deadline=5.0))
    assert str(err) == f"fetch: read timeout after 0.3s from {server.url('/stall')}"
    assert not err.permanent


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        ("endless chunked body", lambda s: s.endless("/big")),
        ("gzip bomb of 4 GiB", lambda s: s.gzip_bomb("/big")),
        ("huge body with its length declared", lambda s: s.huge("/big", 50 << 20)),
        ("huge body ended by closing", lambda s: s.huge("/big", 50 << 20, declare_length=False)),
    ],
)
def test_big_bodies_stop_at_max_bytes_with_memory_bounded(server: FeedServer, name: str, setup) -> None:  # type: ignore[no-untyped-def]
    setup(server)
    limits = FetchLimits(read_timeout=5.0, deadline=10.0, max_bytes=1 << 20)
    tracemalloc.start()
    try:
        err = fetch_error(server.url("/big"), limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err) == f"fetch: body larger than 1.0 MB limit at {server.url('/big')}"
    assert peak < 8 << 20, f"peak {peak / 1048576:.1f} MiB"


def test_a_body_exactly_at_max_bytes_is_accepted(server: FeedServer) -> None:
    body = b"x" * 4096
    server.set_route("/exact", gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert fetch(server.url("/exact"), limits=FetchLimits(max_bytes=4096)).body == body
    assert "larger than" in str(fetch_error(server.url("/exact"), limits=FetchLimits(max_bytes=4095)))


# -- network failures and the address guard -------------------------------


def test_a_refused_connection_names_host_and_port() -> None:
    port = closed_port()
    err = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert str(err) == f"fetch: connection refused by 127.0.0.1:{port}"
    assert not err.permanent


def test_an_unresolvable_host_says_so() -> None:
    err = fetch_error("http://nonexistent.invalid/feed.xml")
    assert str(err) == "fetch: cannot resolve host 'nonexistent.invalid'"


def _raw(data: bytes):  # type: ignore[no-untyped-def]
    """A route that writes ``data`` as the whole response (status line included) and hangs up."""

    def behaviour(handler) -> None:  # type: ignore[no-untyped-def]
        handler.wfile.write(data)
        handler.wfile.flush()
        handler.close_connection = True

    return behaviour


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("no response at all", b"", "fetch: protocol error from {url}: server disconnected without a response: "),
        ("a malformed status line", b"HTTP/1.1 twohundred OK\r\n\r\n", "fetch: protocol error from {url}: "),
        ("a body cut short", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>", "fetch: protocol error from {url}: "),
    ],
)
def test_broken_responses_are_protocol_errors_naming_the_url(server: FeedServer, name: str, data: bytes, message: str) -> None:
    server.set_handler("/broken", _raw(data))
    err = fetch_error(server.url("/broken"))
    assert str(err).startswith(message.format(url=server.url("/broken"))), str(err)
    assert not err.permanent and err.status is None


def test_https_to_a_plain_http_port_is_a_tls_error(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)
    err = fetch_error(f"https://127.0.0.1:{server.port}/feed.xml")
    assert str(err).startswith("fetch: TLS error with host '127.0.0.1'")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/feed", "fetch: unsupported scheme 'ftp'"),
        ("file:///etc/passwd", "fetch: unsupported scheme 'file'"),
        ("http://", "fetch: "),
    ],
)
def test_it_refuses_urls_it_cannot_fetch(url: str, message: str) -> None:
    err = fetch_error(url)
    assert str(err).startswith(message) and err.permanent


@pytest.mark.parametrize("injected_client", [False, True], ids=["own client", "injected client"])
def test_the_guard_refuses_the_metadata_service_without_connecting(injected_client: bool) -> None:
    async def go() -> FetchError:
        client = aiohttp.ClientSession(auto_decompress=False) if injected_client else None
        async with Fetcher(FAST, client=client) as fetcher:
            try:
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch("http://169.254.169.254/latest/meta-data/")
            finally:
                if client is not None:
                    await client.close()
        return caught.value

    err = asyncio.run(go())
    assert str(err) == "fetch: refusing to connect to link-local address 169.254.169.254 (host '169.254.169.254')"
    assert err.permanent


@pytest.mark.parametrize("injected_client", [False, True], ids=["own client", "injected client"])
def test_a_guard_blocking_loopback_never_reaches_the_server(server: FeedServer, injected_client: bool) -> None:
    server.set_route("/feed.xml", FEED)

    async def go() -> FetchError:
        client = aiohttp.ClientSession(auto_decompress=False) if injected_client else None
        async with Fetcher(FAST, client=client, guard=AddressGuard(block_loopback=True)) as fetcher:
            try:
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch(server.url("/feed.xml"))
            finally:
                if client is not None:
                    await client.close()
        return caught.value

    err = asyncio.run(go())
    assert str(err).startswith("fetch: refusing to connect to loopback address 127.0.0.1")
    assert server.hits["/feed.xml"] == 0


def test_an_injected_client_is_used_and_left_open(server: FeedServer) -> None:
    server.set_route("/feed.xml", FEED)

    async def go() -> tuple[bytes, bool]:
        async with aiohttp.ClientSession(auto_decompress=False) as client:
            async with Fetcher(FAST, client=client) as fetcher:
                body = (await fetcher.fetch(server.url("/feed.xml"))).body
            return body, client.closed

    assert asyncio.run(go()) == (FEED, False)


@pytest.mark.parametrize(
    ("guard", "address", "refusal"),
    [
        (AddressGuard(), "127.0.0.1", None),
        (AddressGuard(), "10.1.2.3", None),
        (AddressGuard(), "93.184.216.34", None),
        (AddressGuard(), "169.254.169.254", "link-local"),
        (AddressGuard(), "fe80::1", "link-local"),
        (AddressGuard(), "::ffff:169.254.169.254", "link-local"),
        (AddressGuard(), "0.0.0.0", "unspecified"),
        (AddressGuard(), "::", "unspecified"),
        (AddressGuard(), "224.0.0.251", "multicast"),
        (AddressGuard(), "240.0.0.1", "reserved"),
        (AddressGuard(block_link_local=False), "169.254.169.254", None),
        (AddressGuard(block_loopback=True), "127.0.0.1", "loopback"),
        (AddressGuard(block_loopback=True), "::1", "loopback"),
        (AddressGuard(block_loopback=True), "::ffff:127.0.0.1", "loopback"),
        (AddressGuard(block_private=True), "10.1.2.3", "private"),
        (AddressGuard(block_private=True), "192.168.1.1", "private"),
        (AddressGuard(block_private=True), "fd00::1", "private"),
        (AddressGuard(block_private=True), "93.184.216.34", None),
    ],
)
def test_the_guard_classifies_addresses(guard: AddressGuard, address: str, refusal: str | None) -> None:
    assert guard.refusal(address) == refusal


# -- concurrency ----------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrency", "per_host", "limit"),
    [(3, 10, 3), (10, 2, 2)],
    ids=["global limit", "per-host limit"],
)
def test_concurrent_fetches_stay_within_the_limits(
    server: FeedServer, concurrency: int, per_host: int, limit: int
) -> None:
    for i in range(12):
        server.set_route(f"/f{i}", FEED, delay=0.05)

    async def go() -> list[FetchResult]:
        async with Fetcher(FAST, concurrency=concurrency, per_host=per_host) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(server.url(f"/f{i}")) for i in range(12)))

    results = asyncio.run(go())
    assert all(r.body == FEED for r in results)
    assert server.max_in_flight == limit


def test_many_feeds_are_fetched_at_once_over_a_shared_pool(server: FeedServer) -> None:
    for i in range(200):
        server.set_route(f"/feed{i}.xml", FEED + str(i).encode())

    async def go() -> list[FetchResult]:
        async with Fetcher(FAST, concurrency=50, per_host=50) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(server.url(f"/feed{i}.xml")) for i in range(200)))

    results = asyncio.run(go())
    assert [r.body for r in results] == [FEED + str(i).encode() for i in range(200)]
    assert server.connections <= 50  # connections are pooled and reused


# -- header parsing -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=300", 300.0),
        ("public, max-age=60, must-revalidate", 60.0),
        ('MAX-AGE="45"', 45.0),
        ("no-cache", None),
        ("max-age=-1", None),
        ("max-age=soon", None),
    ],
)
def test_it_reads_max_age_from_cache_control(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0.0),
        (" 3600 ", 3600.0),
        ("Fri, 07 Oct 2016 12:02:00 GMT", 120.0),
        ("Fri, 07 Oct 2016 11:00:00 GMT", 0.0),
        ("-5", None),
        ("tomorrow", None),
    ],
)
def test_it_reads_retry_after_as_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, FrozenClock(NOW)) == expected
