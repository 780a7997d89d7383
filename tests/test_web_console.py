"""The web console in process: the ASGI app on a database filled by polling the seed story, hostile stories and noise."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from consoledb import HOSTILE_ERROR, SEED_TITLE, Filled, fill
from starlette.testclient import TestClient

from monitor.config import OpsConfig
from monitor.db import make_engine
from monitor.query import load_rules
from monitor.web import Console, Metrics, build_app

TOKEN = "console-test-token-0123456789"
PAGES = ["/", "/feeds", "/rules", "/search?q=Pentagon", "/search?q=Pentagon+AND+Syria*"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    work = tmp_path_factory.mktemp("console")
    return fill(work, f"sqlite:///{work / 'monitor.db'}")


async def healthy() -> tuple[bool, str]:
    return True, "ok"


def client_for(
    filled: Filled, *, token: str | None = None, exposed: bool = False, ops: OpsConfig | None = None
) -> Iterator[TestClient]:
    engine = make_engine(filled.db_url)
    rules, problems = load_rules(filled.workdir / "rules")
    assert not problems
    console = Console(engine, lambda: rules, token=token, ops=ops or OpsConfig())
    app = build_app(Metrics(engine), healthy, console, exposed=exposed)
    with TestClient(app, base_url="http://127.0.0.1:8787") as client:
        yield client
    engine.dispose()


@pytest.fixture
def client(filled: Filled) -> Iterator[TestClient]:
    yield from client_for(filled)


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def text_of(html: str) -> str:
    """The page without its tags (titles carry <mark> around matched terms)."""
    return re.sub(r"<[^>]+>", "", html)


def assert_inert(html: str) -> None:
    """No markup from a feed: one script element (ours, external), no frames, no handlers, no script links."""
    tags = elements(html)
    scripts = [a for t, a in tags if t == "script"]
    assert scripts == [{"src": "/static/console.js", "defer": None}]
    assert not [t for t, _ in tags if t in ("iframe", "svg", "img", "object", "embed", "b")] or all(
        t == "svg" and a.get("class") == "bars" for t, a in tags if t in ("iframe", "svg", "img", "object", "embed", "b")
    )
    for tag, attrs in tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        href = attrs.get("href") or ""
        if tag == "a":
            assert href.startswith(("/", "http://", "https://", "?")), href
            if href.startswith("http"):
                assert attrs.get("rel") == "noopener noreferrer", attrs
    assert "javascript:window" not in html.replace("&#34;", '"') or "href=\"javascript" not in html.lower()


# ---- pages ----------------------------------------------------------------------------------


def test_the_alerts_page_shows_the_seed_story_under_its_rule_linking_to_its_story_page(client, filled):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert SEED_TITLE in text_of(html)
    assert f'href="/stories/{filled.seed_id}"' in html
    text = text_of(html)
    block = text[text.index(SEED_TITLE) - 400: text.index(SEED_TITLE)]
    assert "Russia" in block and ("sent" in block or "pending" in block)
    assert "also in 1 outlet" in html  # the wire copy joined the seed's cluster
    assert "<mark>" in html


def test_every_page_carries_a_csp_without_inline_script_and_the_other_security_headers(client):
    for path in PAGES + ["/stories/1", "/healthz", "/nowhere"]:
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_every_page_has_a_json_twin(client, filled):
    for path, key in (("/index.json", "alerts"), ("/.json", "alerts"), ("/feeds.json", "feeds"), ("/rules.json", "rules"),
                      ("/search.json?q=Pentagon", "results"), (f"/stories/{filled.seed_id}.json", "story")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/json")
        assert key in response.json(), path
    story = client.get(f"/stories/{filled.seed_id}.json").json()["story"]
    assert story["title"] == SEED_TITLE
    assert {m["rule"] for m in story["matches"]} >= {"russia-us-syria"}
    assert sorted(s["feed"] for s in story["sightings"]) == ["Geoplotics"]
    assert len(story["cluster_stories"]) == 2 and story["outlets"] == ["Geoplotics", "Wire"]
    assert story["content"] is None  # no content kept on this store


def test_the_story_page_shows_outlets_sightings_rules_and_why(client, filled):
    html = client.get(f"/stories/{filled.seed_id}").text
    assert "Rules matched" in html and "because of:" in html
    assert "Geoplotics" in html and "Wire" in html
    assert "<mark>" in html
    assert client.get("/stories/99999999").status_code == 404
    assert client.get("/stories/99999999.json").status_code == 404


def test_feeds_lists_the_failing_feed_first_and_marked(client):
    html = client.get("/feeds").text
    names = re.findall(r"<td class=\"name\"><strong>([^<]+)</strong>", html)
    assert names[0] == "Broken" and set(names) == {"Broken", "Geoplotics", "Wire", "Totally Legit News", "Valley Weather"}
    first_row = html[html.index("<tbody>"): html.index("</tr>", html.index("<tbody>"))]
    assert 'class="erroring' in first_row and "500" in first_row
    feeds = client.get("/feeds.json").json()["feeds"]
    assert feeds[0]["name"] == "Broken" and feeds[0]["error_count"] >= 1
    assert {"name", "url", "last_status", "last_error", "error_count", "next_poll_at", "last_success_at", "entries",
            "stories"} <= set(feeds[0])


def test_a_feed_failing_longer_than_the_ops_threshold_is_flagged_failing_and_comes_first(filled):
    for client in client_for(filled, ops=OpsConfig(failing_after=0)):
        feeds = client.get("/feeds.json").json()["feeds"]
        assert (feeds[0]["name"], feeds[0]["flag"]) == ("Broken", "failing")
        assert [f["flag"] for f in feeds[1:]] == [None] * 4
        html = client.get("/feeds").text
        assert '<tr class="flag-failing">' in html and "1 failing" in html


def test_rules_shows_each_query_and_a_30_day_chart(client):
    html = client.get("/rules").text
    assert html.count('<svg class="bars"') == 5
    assert "Pentagon watch" in html
    rules = {r["id"]: r for r in client.get("/rules.json").json()["rules"]}
    assert rules["pentagon-watch"]["total_30d"] >= 2 and len(rules["pentagon-watch"]["per_day"]) == 30
    assert rules["pentagon-watch"]["last_match"] is not None
    assert rules["cyberattack"]["total_30d"] == 0


def test_filters_by_rule_and_severity(client):
    by_rule = client.get("/index.json?rule=russia-us-syria").json()["alerts"]
    assert by_rule and {a["rule"] for a in by_rule} == {"russia-us-syria"}
    high = client.get("/index.json?severity=high").json()["alerts"]
    assert high and {a["severity"] for a in high} == {"high"}
    assert client.get("/index.json?severity=bogus").status_code == 200


def test_alert_pages_are_keyset_pages_that_cover_every_alert_once(filled):
    from monitor.web.reads import Cursor, alerts_page

    engine = make_engine(filled.db_url)
    rules = {r.id: r for r in load_rules(filled.workdir / "rules")[0]}
    with engine.connect() as conn:
        everything = [a["match_id"] for a in alerts_page(conn, rules, limit=1000)["alerts"]]
        walked, after = [], None
        while True:
            page = alerts_page(conn, rules, after=Cursor.parse(after), limit=2)
            walked += [a["match_id"] for a in page["alerts"]]
            after = page["next"]
            if after is None:
                break
    engine.dispose()
    assert len(everything) >= 4 and walked == everything
    assert Cursor.parse("garbage") is None and Cursor.parse("1.5_x") is None


# ---- search ---------------------------------------------------------------------------------


def test_search_finds_the_seed_story_with_the_rule_language_and_highlights_the_terms(client, filled):
    html = client.get("/search", params={"q": "Pentagon AND Syria*"}).text
    assert SEED_TITLE in text_of(html) and f'href="/stories/{filled.seed_id}"' in html
    assert "<mark>Pentagon</mark>" in html and "<mark>Syria" in html
    data = client.get("/search.json", params={"q": "Pentagon AND Syria*"}).json()
    assert data["method"] == "index" and data["error"] is None
    assert {r["title"] for r in data["results"]} == {SEED_TITLE}
    assert len(data["results"]) == 2  # the seed and its wire copy (a story of its own, in the seed's cluster)


def test_search_results_are_what_the_rule_matcher_says(client):
    both = {r["id"] for r in client.get("/search.json", params={"q": "Pentagon"}).json()["results"]}
    narrowed = {r["id"] for r in client.get("/search.json", params={"q": "Pentagon NOT hostile"}).json()["results"]}
    assert narrowed < both
    scan = client.get("/search.json", params={"q": "NOT Pentagon"}).json()
    assert scan["method"] == "scan" and scan["results"] and not (both & {r["id"] for r in scan["results"]})
    frost = client.get("/search.json", params={"q": "frost AND valley"}).json()["results"]
    assert len(frost) == 20


@pytest.mark.parametrize("query", ["Pentagon NEAR5 Syria", "Pentagon AND (Kremlin", "\"unclosed", "AND", "NEAR/x a b"])
def test_a_broken_query_is_explained_in_place_with_its_position_not_a_500(client, query):
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    assert "cannot be read" in response.text and "at column" in response.text and "^" in response.text
    data = client.get("/search.json", params={"q": query}).json()
    assert data["error"] and isinstance(data["error_column"], int) and 1 <= data["error_column"] <= len(query) + 1


def test_search_pages_backwards_by_story_id(filled):
    from monitor.web.search import search

    engine = make_engine(filled.db_url)
    with engine.connect() as conn:
        whole = [r["id"] for r in search(conn, "frost", limit=100).results]
        pages, before = [], None
        while True:
            page = search(conn, "frost", before=before, limit=6)
            pages += [r["id"] for r in page.results]
            before = page.next_before
            if before is None:
                break
        scanned = search(conn, "NOT pentagon", limit=100, scan_limit=5)
    engine.dispose()
    assert pages == whole and whole == sorted(whole, reverse=True) and len(whole) == 20
    assert scanned.method == "scan" and scanned.examined == 5 and scanned.next_before is not None


# ---- hostile content ------------------------------------------------------------------------


def test_hostile_titles_summaries_sources_and_links_render_as_text(client, filled):
    for path in ["/", f"/stories/{filled.hostile_id}", "/search?q=Pentagon", "/search?q=hostile", "/feeds", "/rules"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text)
    html = client.get(f"/stories/{filled.hostile_id}").text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;iframe src=//evil.example&gt;&lt;/iframe&gt;Evil Source" in html
    assert "link not shown" in html  # the javascript: URL is shown as text, never as a link
    alerts = client.get("/").text
    assert "&lt;script&gt;window.__pwned=8&lt;/script&gt; slack said no" in alerts  # the failed delivery's reason
    assert "failed" in alerts
    assert HOSTILE_ERROR not in alerts


def test_only_get_and_head_reach_the_pages(client):
    for path in ["/", "/feeds", "/rules", "/search", "/stories/1", "/feeds.json"]:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
    assert client.head("/").status_code == 200


# ---- access -----------------------------------------------------------------------------------


def test_with_a_token_pages_need_it_and_the_token_never_shows(filled, caplog):
    caplog.set_level(logging.DEBUG)
    for client in client_for(filled, token=TOKEN):
        for path in PAGES + ["/index.json", "/feeds.json"]:
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert TOKEN not in refused.text
        assert client.get("/index.json").headers["www-authenticate"].startswith("Bearer")
        assert 'name="token"' in client.get("/").text  # the sign-in form
        bodies = []
        for path in PAGES + ["/index.json", f"/stories/{filled.seed_id}"]:
            allowed = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200, path
            bodies.append(allowed.text)
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/healthz").status_code == 200 and client.get("/metrics").status_code == 200
        wrong = client.post("/login", data={"token": "nope", "next": "/feeds"}, follow_redirects=False)
        assert wrong.status_code == 401 and "not right" in wrong.text
        signed = client.post("/login", data={"token": TOKEN, "next": "/feeds"}, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/feeds"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("SameSite=Strict", "SameSite=strict")
        assert TOKEN not in cookie
        bodies.append(client.get("/feeds").text)  # the cookie jar now carries the session
        assert client.get("/feeds").status_code == 200
        evil = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
        assert evil.headers["location"] == "/"
        assert all(TOKEN not in b for b in bodies)
    assert TOKEN not in caplog.text
    assert "sign-in refused" in caplog.text


def test_beyond_loopback_without_a_token_console_pages_answer_403_and_the_log_says_why(filled, caplog):
    caplog.set_level(logging.INFO)
    for client in client_for(filled, exposed=True):
        for path in PAGES + ["/index.json", "/stories/1"]:
            assert client.get(path).status_code == 403, path
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200
    assert "console pages answer 403" in caplog.text and "MONITOR_WEB_TOKEN" in caplog.text


def test_beyond_loopback_with_a_token_the_console_works(filled):
    for client in client_for(filled, token=TOKEN, exposed=True):
        assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_token_comes_from_the_environment_or_a_file_and_is_a_secret(tmp_path: Path):
    from monitor.config import Settings

    assert Settings.from_env({"MONITOR_WEB_TOKEN": TOKEN}, cwd=tmp_path).web_token == TOKEN
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    settings = Settings.from_env({"MONITOR_WEB_TOKEN_FILE": str(tmp_path / "token")}, cwd=tmp_path)
    assert settings.web_token == TOKEN and TOKEN in settings.secrets() and TOKEN not in repr(settings)


# ---- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_console_and_its_search_on_postgresql(pg_url, tmp_path):
    filled = fill(tmp_path, pg_url)
    for client in client_for(filled):
        for path in PAGES + [f"/stories/{filled.seed_id}", f"/stories/{filled.hostile_id}"]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert_inert(response.text)
        data = client.get("/search.json", params={"q": "Pentagon AND Syria*"}).json()
        assert data["method"] == "index" and {r["title"] for r in data["results"]} == {SEED_TITLE}
        assert len(client.get("/search.json", params={"q": "frost AND valley"}).json()["results"]) == 20
        assert SEED_TITLE in text_of(client.get("/").text)


# ---- feed counts ------------------------------------------------------------------------------


def test_feed_counts_are_served_from_memory_and_recounted_in_the_background_when_stale(engine):
    import time as _time
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from monitor.db import Feed, Sighting, StoryRow
    from monitor.web.counts import FeedCounts

    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(Feed.__table__).values(id=1, name="A", url="https://a.test/", config_url="https://a.test/",
                                                   enabled=True, interval=60.0, tags=[], next_poll_at=now, error_count=0,
                                                   backlog_done=True, created_at=now))

    def add(n: int) -> None:
        with engine.begin() as conn:
            sid = conn.execute(insert(StoryRow.__table__).values(
                url_key=f"https://a.test/{n}", url=f"https://a.test/{n}", title="t", summary="s", source="A",
                published_at=now, first_seen_at=now, feed_id=1, backlog=False).returning(StoryRow.id)).scalar_one()
            conn.execute(insert(Sighting.__table__).values(feed_id=1, entry_key=str(n), story_id=sid, seen_at=now))

    clock = [0.0]
    counts = FeedCounts(engine, ttl=10, monotonic=lambda: clock[0])
    add(1)
    assert counts.get() == {"A": (1, 1)}
    add(2)
    assert counts.get() == {"A": (1, 1)}  # fresh enough: from memory
    clock[0] = 11
    assert counts.get() == {"A": (1, 1)}  # stale: the old counts at once, a recount started
    for _ in range(200):
        if counts.get() == {"A": (2, 2)}:
            break
        _time.sleep(0.02)
    assert counts.get() == {"A": (2, 2)}


def test_the_story_page_shows_the_kept_article_text_escaped_and_a_failed_fetch_with_its_reason(filled):
    from sqlalchemy import update

    from monitor.db import StoryRow

    engine = make_engine(filled.db_url)
    with engine.begin() as conn:
        before = conn.execute(
            StoryRow.__table__.select().where(StoryRow.id.in_([filled.seed_id, filled.hostile_id]))
        ).mappings().all()
        conn.execute(update(StoryRow).where(StoryRow.id == filled.seed_id).values(
            content="The Pentagon denied it.\n\n<script>window.__pwned=1</script> Second paragraph.", article_status="ok"))
        conn.execute(update(StoryRow).where(StoryRow.id == filled.hostile_id).values(
            article_status="failed", article_reason="http: 404 <b>Not Found</b>"))
    try:
        for client in client_for(filled):
            html = client.get(f"/stories/{filled.seed_id}").text
            assert "Full text" in html and "<p>The <mark>Pentagon</mark> denied it.</p>" in html
            assert "&lt;script&gt;window.__pwned=1&lt;/script&gt; Second paragraph." in html
            assert_inert(html)
            assert client.get(f"/stories/{filled.seed_id}.json").json()["story"]["article_status"] == "ok"
            failed = client.get(f"/stories/{filled.hostile_id}").text
            assert "Article text: failed (http: 404 &lt;b&gt;Not Found&lt;/b&gt;)" in failed
            assert_inert(failed)
    finally:
        with engine.begin() as conn:
            for row in before:
                conn.execute(update(StoryRow).where(StoryRow.id == row["id"]).values(
                    content=row["content"], article_status=row["article_status"], article_reason=row["article_reason"]))
        engine.dispose()
