"""The article step of full_text feeds, through the real poller, fetcher and feed server, on both engines.

Hostile pages end as failures recorded on their stories (with a reason, in
``/metrics``), never as a stuck worker or a crash, and the stories still
alert on their titles. Also: the per-poll cap, the per-host limit, text that
comes after the wait, and a worker that died mid-fetch.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from xml.sax.saxutils import escape

import pytest
from articlepages import load_pages
from feedserver import FeedServer
from sqlalchemy import select

from monitor.config import FeedConfig
from monitor.db import DeliveryRow, Feed, IngestOptions, MatchRow, StoryRow, ingest, sync_feeds
from monitor.db.ingest import ArticlePlan
from monitor.dedup import Fingerprinter
from monitor.model import RuleMatch, Story
from monitor.pipeline import ArticleOptions, Poller
from monitor.reader import Fetcher, FetchLimits
from monitor.web.metrics import Metrics

MAX_BODY = 2 * 1024 * 1024
LIMITS = FetchLimits(deadline=3.0, connect_timeout=1.0, read_timeout=2.0, max_bytes=MAX_BODY)
GOOD = next(p for p in load_pages() if p.id == "en-wire-seed")


def rss(items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<item><guid>{escape(g)}</guid><title>{escape(t)}</title><link>{escape(l)}</link>"
        "<pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate></item>"
        for g, t, l in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://x/</link>{body}</channel></rss>'


def title_rule(word: str, rule_id: str):
    def match(story: Story) -> list[RuleMatch]:
        return [RuleMatch(rule_id, (word,))] if word in story.title.lower() else []

    return match


def content_rule(word: str, rule_id: str):
    def match(story: Story) -> list[RuleMatch]:
        return [RuleMatch(rule_id, (word,))] if word in (story.content or "").lower() else []

    return match


def both(*matchers):
    return lambda story: [m for f in matchers for m in f(story)]


def make_poller(engine, clock, matcher, articles: ArticleOptions, metrics: Metrics | None = None, limits=LIMITS):
    fetcher = Fetcher(limits, concurrency=20, per_host=20, clock=clock)
    poller = Poller(
        engine=engine, fetcher=fetcher, fingerprinter=Fingerprinter(), matcher=matcher,
        router=lambda rule_id: [("console", None)], options=IngestOptions(), clock=clock, owner="test",
        articles=articles, on_feed_done=metrics.observe_feed if metrics else None,
    )
    return poller, fetcher


def poll(engine, clock, matcher, articles: ArticleOptions, metrics: Metrics | None = None, limits=LIMITS):
    poller, fetcher = make_poller(engine, clock, matcher, articles, metrics, limits)

    async def go():
        try:
            return await poller.poll(due_only=False)
        finally:
            await fetcher.aclose()
            poller.close()

    return asyncio.run(go())


def stories_by_title(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["title"]: dict(r) for r in conn.execute(select(StoryRow.__table__)).mappings()}


def alerts_for(engine, story_id: int) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(DeliveryRow.rule_id).where(DeliveryRow.story_id == story_id)).scalars()
        )


def backlog_then(engine, clock, server, items, matcher, articles, metrics=None, limits=LIMITS):
    """Poll the feed once holding one old item (the silent backlog), then with ``items`` added."""
    old = [("old", "An old story", server.url("/old.html"))]
    server.set_route("/feed.xml", rss(old))
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("wire", server.url("/feed.xml"), 600, full_text=True)], clock.now())
    poll(engine, clock, matcher, articles, limits=limits)
    assert server.hits["/old.html"] == 0  # the backlog fetches no article
    server.set_route("/feed.xml", rss(old + items))
    clock.advance(timedelta(minutes=11))
    return poll(engine, clock, matcher, articles, metrics, limits)


HOSTILE = {
    # name: (path, words one of which the reason must hold)
    "drip": ("/drip.html", ("deadline", "timeout")),
    "endless": ("/endless.html", ("larger than", "deadline")),
    "bomb": ("/bomb.html", ("larger than",)),
    "to-file": ("/to-file", ("unsupported scheme 'file'",)),
    "to-metadata": ("/to-metadata", ("169.254.169.254",)),
    "missing": ("/missing.html", ("404",)),
    "pdf": ("/paper.pdf", ("application/pdf",)),
    "nested": ("/nested.html", ("larger than",)),
}


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


def test_hostile_pages_end_as_recorded_failures_and_still_alert(engine, clock, server) -> None:
    html = "text/html; charset=utf-8"
    server.set_route("/good.html", GOOD.html, content_type=html)
    server.drip("/drip.html", interval=1.0, size=1000, byte=b"<", content_type=html)
    server.endless("/endless.html", content_type=html)
    server.gzip_bomb("/bomb.html", size=1 << 30, content_type=html)
    server.redirect("/to-file", "file:///etc/passwd")
    server.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    server.set_route("/paper.pdf", b"%PDF-1.7\n" + b"\0" * 4096, content_type="application/pdf")
    server.huge("/nested.html", 50 * 1024 * 1024, declare_length=False, content_type=html, filler=b"<div>")
    # deep nesting under the size cap: extracted (or refused) without harm
    server.set_route("/deep.html", b"<html><body>" + b"<div>" * 200_000 + b"<p>deep</p>", content_type=html)
    items = [(name, f"Hostile case {name}", server.url(path)) for name, (path, _) in HOSTILE.items()]
    items += [("deep", "Hostile case deep", server.url("/deep.html")), ("good", "Hostile case good", server.url("/good.html"))]
    metrics = Metrics()
    summary = backlog_then(
        engine, clock, server, items, title_rule("hostile", "r-title"),
        ArticleOptions(wait=10, per_poll=20, per_host=10, pause=0), metrics,
    )
    assert summary.count("ok") == 1 and summary.new_stories == len(items)

    stored = stories_by_title(engine)
    for name, (_, words) in HOSTILE.items():
        row = stored[f"Hostile case {name}"]
        assert row["article_status"] == "failed", (name, row["article_reason"])
        assert any(w in row["article_reason"] for w in words), (name, row["article_reason"])
        assert row["content"] is None and not row["match_pending"]
        assert alerts_for(engine, row["id"]) == ["r-title"], name  # it still alerts on its title
    deep = stored["Hostile case deep"]
    assert deep["article_status"] in ("ok", "failed") and not deep["match_pending"]
    good = stored["Hostile case good"]
    assert good["article_status"] == "ok" and "al-Bab" in good["content"]
    assert "root:x:0:0" not in repr(stored)

    text = metrics.render().decode()
    failed = sum(1 for r in stored.values() if r["article_status"] == "failed")
    assert f'monitor_articles_total{{outcome="failed"}} {failed:.1f}' in text
    assert 'monitor_article_failures_total{kind="not_html"} 1.0' in text
    assert 'monitor_article_failures_total{kind="refused"} 1.0' in text

    # the worker is not stuck: the next poll works and fetches no page again
    hits = sum(server.hits.values())
    clock.advance(timedelta(minutes=11))
    again = poll(engine, clock, title_rule("hostile", "r-title"), ArticleOptions(wait=10, per_host=10, pause=0))
    assert again.count("ok") + again.count("not_modified") + again.count("unchanged") == 1
    assert sum(server.hits.values()) == hits + 1  # only the feed


def test_the_cap_per_poll_skips_the_rest_and_matches_them_at_once(engine, clock, server) -> None:
    for i in range(6):
        server.set_route(f"/a{i}.html", GOOD.html.replace(b"al-Bab", f"al-Bab{i}".encode()), content_type="text/html", delay=0.2)
    items = [(f"g{i}", f"Capped story {i} about a thing", server.url(f"/a{i}.html")) for i in range(6)]
    backlog_then(engine, clock, server, items, title_rule("capped", "r"), ArticleOptions(wait=10, per_poll=3, per_host=2, pause=0))
    stored = stories_by_title(engine)
    statuses = sorted(stored[f"Capped story {i} about a thing"]["article_status"] for i in range(6))
    assert statuses == ["ok"] * 3 + ["skipped"] * 3
    skipped = [r for r in stored.values() if r["article_status"] == "skipped"]
    assert all("cap of 3" in r["article_reason"] and alerts_for(engine, r["id"]) == ["r"] for r in skipped)
    assert sum(server.hits[f"/a{i}.html"] for i in range(6)) == 3
    assert server.max_in_flight <= 2  # at most article_per_host pages of one host at once


def test_text_after_the_wait_is_stored_and_matched_late(engine, clock, server) -> None:
    page = GOOD.html.replace(b"Pentagon", b"Pentagon zebracrossing")
    server.set_route("/late.html", page, content_type="text/html", delay=1.5)
    items = [("late", "A late story", server.url("/late.html"))]
    matcher = both(title_rule("late", "r-title"), content_rule("zebracrossing", "r-body"))
    slow_ok = replace(LIMITS, deadline=20.0, read_timeout=10.0)  # the page comes after the wait, well within the deadline
    backlog_then(engine, clock, server, items, matcher, ArticleOptions(wait=0.3, per_host=2, pause=0), limits=slow_ok)
    row = stories_by_title(engine)["A late story"]
    assert row["article_status"] == "ok" and "zebracrossing" in row["content"], row["article_reason"]
    assert alerts_for(engine, row["id"]) == ["r-body", "r-title"]
    with engine.connect() as conn:
        title_match, body_match = (
            conn.execute(select(MatchRow.matched_at).where(MatchRow.rule_id == r)).scalar_one() for r in ("r-title", "r-body")
        )
    assert title_match <= body_match


def test_a_story_claimed_by_a_worker_that_died_is_matched_and_never_fetched_again(engine, clock, server) -> None:
    server.set_route("/feed.xml", rss([]))
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("wire", server.url("/feed.xml"), 600, full_text=True)], clock.now())
    with engine.connect() as conn:
        feed_id = conn.execute(select(Feed.id)).scalar_one()
    story = Story(
        entry_key="g1", title="Orphaned story", summary="", url=server.url("/orphan.html"),
        published=clock.now(), source="wire", feed="wire",
    )
    with engine.begin() as conn:  # the worker stores and claims the story, then dies before fetching
        got = ingest(
            conn, feed_id=feed_id, stories=[story], now=clock.now(), fingerprinter=Fingerprinter(),
            matcher=title_rule("orphaned", "r"), router=lambda r: [("console", None)], options=IngestOptions(),
            articles=ArticlePlan(limit=5, lease=60),
        )
    assert len(got.pending) == 1 and got.matches == 0
    row = stories_by_title(engine)["Orphaned story"]
    assert row["article_status"] == "fetching" and row["match_pending"]

    clock.advance(timedelta(seconds=30))  # the lease still holds: left alone
    poll(engine, clock, title_rule("orphaned", "r"), ArticleOptions())
    assert stories_by_title(engine)["Orphaned story"]["article_status"] == "fetching"

    clock.advance(timedelta(seconds=60))
    poll(engine, clock, title_rule("orphaned", "r"), ArticleOptions())
    row = stories_by_title(engine)["Orphaned story"]
    assert row["article_status"] == "failed" and "interrupted" in row["article_reason"]
    assert not row["match_pending"] and alerts_for(engine, row["id"]) == ["r"]
    assert server.hits["/orphan.html"] == 0


def test_a_feed_without_full_text_fetches_no_page(engine, clock, server) -> None:
    server.set_route("/p.html", GOOD.html, content_type="text/html")
    server.set_route("/feed.xml", rss([("a", "Plain story", server.url("/p.html"))]))
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("plain", server.url("/feed.xml"), 600)], clock.now())
    poll(engine, clock, title_rule("plain", "r"), ArticleOptions())
    server.set_route("/feed.xml", rss([("a", "Plain story", server.url("/p.html")), ("b", "Plain two", server.url("/p.html?2"))]))
    clock.advance(timedelta(minutes=11))
    poll(engine, clock, title_rule("plain", "r"), ArticleOptions())
    assert server.hits["/p.html"] == 0
    row = stories_by_title(engine)["Plain two"]
    assert row["article_status"] is None and alerts_for(engine, row["id"]) == ["r"]



def test_the_pages_date_and_title_fill_in_what_the_feed_lacks(engine, clock, server) -> None:
    server.set_route("/dated.html", GOOD.html, content_type="text/html")
    undated = '<item><guid>u1</guid><title>Undated story</title><link>%s</link></item>' % server.url("/dated.html")
    old = [("old", "An old story", server.url("/old.html"))]
    server.set_route("/feed.xml", rss(old))
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("wire", server.url("/feed.xml"), 600, full_text=True)], clock.now())
    poll(engine, clock, title_rule("x", "r"), ArticleOptions())
    server.set_route("/feed.xml", rss(old).replace("</channel>", undated + "</channel>"))
    clock.advance(timedelta(minutes=11))
    poll(engine, clock, title_rule("x", "r"), ArticleOptions(pause=0))
    row = stories_by_title(engine)["Undated story"]
    assert row["article_status"] == "ok"
    assert row["published_at"].date().isoformat() == GOOD.published[:10] and row["published_at"] != row["first_seen_at"]
    assert row["author"] and "Vostrikova" in row["author"]
