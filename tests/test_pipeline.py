"""The polling half end to end: a local feed server → fetch → parse → store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer
from sqlalchemy import func, select

from monitor.config import FeedConfig
from monitor.db import (
    DeliveryRow,
    Feed,
    IngestOptions,
    MatchRow,
    Sighting,
    StoryRow,
    feed_health,
    ingest,
    sync_feeds,
)
from monitor.dedup import FINGERPRINT_VERSION, Fingerprinter
from monitor.model import RuleMatch, Story
from monitor.pipeline import Poller
from monitor.reader import Fetcher, FetchLimits

FEEDS = Path(__file__).parent / "testdata" / "feeds"


def rss(items: list[tuple[str, str, str]], *, ttl: int | None = None) -> str:
    """A small RSS 2.0 document from (guid, title, link) triples."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>{l}</link>"
        f"<description>{t} — a report with enough words to fingerprint it properly for the test.</description>"
        f"<pubDate>Mon, 16 Nov 2026 10:00:00 GMT</pubDate></item>"
        for g, t, l in items
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://x/</link>{ttl_tag}{body}</channel></rss>'


def keyword_matcher(word: str, rule_id: str = "r1"):
    def match(story: Story) -> list[RuleMatch]:
        return [RuleMatch(rule_id, (word,))] if word.lower() in story.title.lower() else []

    return match


@pytest.fixture
def server():
    with FeedServer(directory=FEEDS) as s:
        yield s


def make_poller(engine, clock, matcher=None, **kw) -> tuple[Poller, Fetcher]:
    fetcher = Fetcher(FetchLimits(deadline=5, connect_timeout=2, read_timeout=3), concurrency=20, per_host=20, clock=clock)
    poller = Poller(
        engine=engine, fetcher=fetcher, fingerprinter=Fingerprinter(), matcher=matcher or (lambda s: []),
        router=lambda rule_id: [("console", None)], options=IngestOptions(**kw), clock=clock, owner="test",
    )
    return poller, fetcher


def run_poll(poller: Poller, fetcher: Fetcher, **kw):
    async def go():
        try:
            return await poller.poll(**kw)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def add_feeds(engine, clock, feeds: list[FeedConfig]) -> None:
    with engine.begin() as conn:
        sync_feeds(conn, feeds, clock.now())


def test_a_second_poll_sends_if_none_match_gets_304_and_stores_nothing_new(engine, clock, server):
    server.set_route("/a.xml", rss([("g1", "One", "http://e.com/1"), ("g2", "Two", "http://e.com/2")]))
    add_feeds(engine, clock, [FeedConfig("A", server.url("/a.xml"), 600)])
    poller, fetcher = make_poller(engine, clock)
    first = run_poll(poller, fetcher)
    assert first.count("ok") == 1 and first.new_stories == 2
    clock.advance(timedelta(minutes=11))
    poller, fetcher = make_poller(engine, clock)
    second = run_poll(poller, fetcher)
    assert second.count("not_modified") == 1
    assert server.requests_to("/a.xml")[-1].get("if-none-match")
    assert count(engine, StoryRow) == 2


def test_a_changed_feed_adds_exactly_its_new_entries(engine, clock, server):
    server.set_route("/a.xml", rss([("g1", "One", "http://e.com/1")]))
    add_feeds(engine, clock, [FeedConfig("A", server.url("/a.xml"), 600)])
    poller, fetcher = make_poller(engine, clock)
    run_poll(poller, fetcher)
    server.set_route("/a.xml", rss([("g2", "Two", "http://e.com/2"), ("g1", "One", "http://e.com/1")]))
    clock.advance(timedelta(minutes=11))
    poller, fetcher = make_poller(engine, clock)
    summary = run_poll(poller, fetcher)
    assert summary.new_stories == 1
    assert count(engine, StoryRow) == 2 and count(engine, Sighting) == 2


def test_the_first_poll_is_a_silent_backlog_and_later_stories_match(engine, clock, server):
    server.set_route("/a.xml", rss([("g1", "Pentagon one", "http://e.com/1")]))
    add_feeds(engine, clock, [FeedConfig("A", server.url("/a.xml"), 600)])
    poller, fetcher = make_poller(engine, clock, keyword_matcher("pentagon"))
    run_poll(poller, fetcher)
    assert count(engine, MatchRow) == 0
    server.set_route("/a.xml", rss([("g2", "Pentagon denies Russian claim", "http://e.com/2"), ("g1", "Pentagon one", "http://e.com/1")]))
    clock.advance(timedelta(minutes=11))
    poller, fetcher = make_poller(engine, clock, keyword_matcher("pentagon"))
    summary = run_poll(poller, fetcher)
    assert summary.matches == 1
    assert count(engine, MatchRow) == 1 and count(engine, DeliveryRow) == 1


def test_the_same_url_from_a_second_feed_is_a_sighting_not_a_new_story(engine, clock, server):
    server.set_route("/a.xml", rss([("a1", "Shared story", "http://e.com/s?utm_source=a")]))
    server.set_route("/b.xml", rss([("b1", "Shared story (B)", "http://E.com/s?utm_campaign=b#top")]))
    add_feeds(engine, clock, [FeedConfig("A", server.url("/a.xml"), 600), FeedConfig("B", server.url("/b.xml"), 600)])
    poller, fetcher = make_poller(engine, clock)
    run_poll(poller, fetcher)
    assert count(engine, StoryRow) == 1
    assert count(engine, Sighting) == 2
    with engine.connect() as conn:
        health = {h.name: h for h in feed_health(conn)}
    assert health["A"].entries == 1 and health["B"].entries == 1
    assert health["A"].stories + health["B"].stories == 1


def test_a_failing_feed_is_recorded_with_backoff_while_the_others_complete(engine, clock, server):
    server.set_route("/ok.xml", rss([("g1", "Fine", "http://e.com/1")]))
    server.error("/down.xml", 503, retry_after=3600)
    server.set_route("/html.xml", "<html><body>Not a feed</body></html>", content_type="text/html")
    add_feeds(
        engine, clock,
        [FeedConfig("ok", server.url("/ok.xml"), 600), FeedConfig("down", server.url("/down.xml"), 600),
         FeedConfig("html", server.url("/html.xml"), 600), FeedConfig("refused", "http://127.0.0.1:9/feed", 600)],
    )
    poller, fetcher = make_poller(engine, clock)
    summary = run_poll(poller, fetcher)
    assert summary.count("ok") == 1 and len(summary.failed) == 3
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(Feed.__table__))}
    assert rows["down"].error_count == 1 and "503" in rows["down"].last_error
    assert rows["down"].next_poll_at >= clock.now() + timedelta(seconds=3600)
    assert rows["html"].last_error.startswith("parse:")
    assert rows["refused"].last_error.startswith("fetch:")
    assert rows["ok"].error_count == 0


def test_a_feed_that_fails_again_backs_off_further_but_is_never_given_up(engine, clock, server):
    server.error("/down.xml", 500)
    add_feeds(engine, clock, [FeedConfig("down", server.url("/down.xml"), 600)])
    delays = []
    for _ in range(12):
        poller, fetcher = make_poller(engine, clock)
        run_poll(poller, fetcher, due_only=False)
        with engine.connect() as conn:
            row = conn.execute(select(Feed.__table__)).one()
        delays.append((row.next_poll_at - clock.now()).total_seconds())
        clock.advance(timedelta(seconds=delays[-1] + 1))
    assert delays[1] > delays[0]
    assert max(delays) <= 6 * 3600
    assert row.error_count == 12 and row.enabled


def test_poll_all_reaches_97_percent_of_entries_in_the_real_world_corpus(engine, clock, server):
    import feedparser

    manifest = json.loads((FEEDS / "manifest.json").read_text())
    good = [m for m in manifest if m.get("kind") == "realworld" and m["expect"] == "ok"]
    assert len(good) >= 15
    add_feeds(engine, clock, [FeedConfig(m["file"], server.url("/" + m["file"]), 600) for m in good])
    expected = 0
    for m in good:
        parsed = feedparser.parse((FEEDS / m["file"]).read_bytes())
        expected += len({e.get("id") or e.get("link") for e in parsed.entries if e.get("id") or e.get("link")})
    poller, fetcher = make_poller(engine, clock)
    summary = run_poll(poller, fetcher, due_only=False)
    assert not summary.failed, summary.failed
    stored = count(engine, Sighting)
    assert stored >= 0.97 * expected, (stored, expected)


def test_sync_adds_updates_and_disables_feeds_but_keeps_their_history(engine, clock):
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("a", "http://h/a", 600), FeedConfig("b", "http://h/b", 600)], clock.now())
        report = sync_feeds(conn, [FeedConfig("a", "http://h/a2", 900, tags=("x",))], clock.now())
    assert report.updated == ["a"] and report.disabled == ["b"]
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(Feed.__table__))}
    assert rows["a"].url == "http://h/a2" and rows["a"].interval == 900 and rows["a"].tags == ["x"]
    assert rows["b"].enabled is False


def test_a_permanent_redirect_updates_the_stored_url_and_a_restart_keeps_it(engine, clock, server):
    server.set_route("/new.xml", rss([("g1", "One", "http://e.com/1")]))
    server.redirect("/old.xml", server.url("/new.xml"), status=301)
    configured = [FeedConfig("A", server.url("/old.xml"), 600)]
    add_feeds(engine, clock, configured)
    poller, fetcher = make_poller(engine, clock)
    run_poll(poller, fetcher)
    add_feeds(engine, clock, configured)  # the service restarts with the same feeds.toml
    with engine.connect() as conn:
        row = conn.execute(select(Feed.__table__)).one()
    assert row.url == server.url("/new.xml") and row.config_url == server.url("/old.xml")
    clock.advance(timedelta(minutes=11))
    poller, fetcher = make_poller(engine, clock)
    assert run_poll(poller, fetcher).count("not_modified") == 1
    assert server.hits["/old.xml"] == 1


SEED_BODY = (
    "Russia said that its air force had administered airstrikes against the Islamic State targets along with "
    "the US-led coalition. They said that they had received intelligence from the coalition command center. "
    "However, the U.S. military denied it completely."
)


def test_near_copies_and_repeated_links_within_one_feed_body_are_one_cluster(engine, clock):
    from monitor.db.schema import Cluster

    def item(key: str, title: str, url: str, summary: str = SEED_BODY) -> Story:
        return Story(entry_key=key, title=title, summary=summary, url=url, published=clock.now(), source="A")

    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("A", "http://a/", 600)], clock.now())
        feed_id = conn.execute(select(Feed.id)).scalar_one()
        result = ingest(
            conn, feed_id=feed_id, now=clock.now(), fingerprinter=Fingerprinter(), matcher=None,
            router=lambda r: [("console", None)], options=IngestOptions(),
            stories=[
                item("1", "Russia says it coordinated Syria strikes with US", "https://a.example/1"),
                item("2", "Pentagon denies Russian claim of joint strikes", "https://b.example/2", "MOSCOW (Wire) - " + SEED_BODY),
                item("3", "Russia says it coordinated Syria strikes with US (updated)", "https://a.example/1"),  # normalize has already dropped the tracking
                item("4", "Weather service warns of early frost", "https://a.example/4", "Farmers across the northern plains were told to cover their crops tonight as temperatures fall well below freezing for the first time this season."),
            ],
        )
    assert result.new_entries == 4 and result.new_stories == 3 and result.clustered == 1
    assert count(engine, Sighting) == 4 and count(engine, Cluster) == 2
    with engine.connect() as conn:
        clusters = dict(conn.execute(select(StoryRow.url, StoryRow.cluster_id)).all())
    assert clusters["https://a.example/1"] == clusters["https://b.example/2"] != clusters["https://a.example/4"]


def test_a_pass_of_304s_records_every_feed_in_one_batch_and_clears_the_leases(engine, clock, server):
    from monitor.db import Feed as FeedRow

    for i in range(30):
        server.set_route(f"/b{i}.xml", rss([(f"g{i}", f"Story {i}", f"http://e.com/{i}")]))
    add_feeds(engine, clock, [FeedConfig(f"B{i}", server.url(f"/b{i}.xml"), 600) for i in range(30)])
    poller, fetcher = make_poller(engine, clock)
    assert run_poll(poller, fetcher).count("ok") == 30
    clock.advance(timedelta(minutes=11))
    second_at = clock.now()
    poller, fetcher = make_poller(engine, clock)
    statements: list[str] = []
    from sqlalchemy import event

    listener = lambda conn, cursor, stmt, params, context, many: statements.append(stmt)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        second = run_poll(poller, fetcher)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert second.count("not_modified") == 30
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE FEEDS")]
    assert len(updates) == 2, updates  # the lease, then one batched statement for the 30 outcomes
    with engine.connect() as conn:
        rows = conn.execute(select(FeedRow.last_status, FeedRow.lease_owner, FeedRow.last_polled_at, FeedRow.next_poll_at)).all()
    assert {r.last_status for r in rows} == {"not_modified"}
    assert all(r.lease_owner is None for r in rows)
    assert all(r.last_polled_at == second_at and r.next_poll_at == second_at + timedelta(seconds=600) for r in rows)


ARTICLE = Path(__file__).parent / "testdata" / "rules" / "seed-article.txt"


def _store(engine, clock, stories: list[Story], matcher=None):
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("A", "http://a/", 600)], clock.now())
        feed_id = conn.execute(select(Feed.id)).scalar_one()
        results = [
            ingest(
                conn, feed_id=feed_id, now=s.published, fingerprinter=Fingerprinter(), matcher=matcher,
                router=lambda r: [("console", None)], options=IngestOptions(), stories=[s],
            )
            for s in stories
        ]
    with engine.connect() as conn:
        clusters = dict(conn.execute(select(StoryRow.url, StoryRow.cluster_id)).all())
    return results, clusters


def test_ten_different_stories_made_of_one_articles_words_give_ten_alerts(engine, clock):
    # The false merge of the three-worker test: a shared marker word and random
    # words of one article make stories that look alike to a word-set estimate.
    import random
    import re

    vocabulary = re.findall(r"\w+", ARTICLE.read_text(encoding="utf-8"))
    rng = random.Random(12)
    stories = [
        Story(
            entry_key=f"s{k}", title="Zanzibarx " + " ".join(rng.choices(vocabulary, k=9)),
            summary=" ".join(rng.choices(vocabulary, k=40)), url=f"https://n.example/{k}",
            published=clock.now() + timedelta(minutes=k), source="A",
        )
        for k in range(10)
    ]
    results, clusters = _store(engine, clock, stories, matcher=keyword_matcher("zanzibarx"))
    assert len(set(clusters.values())) == 10
    assert sum(r.matches for r in results) == 10
    assert count(engine, DeliveryRow) == 10


def test_a_story_joins_its_clusters_first_story_never_a_chain_of_members(engine, clock):
    words = [f"word{i}" for i in range(40)]

    def variant(changed: range) -> str:
        return " ".join(f"other{i}" if i in changed else w for i, w in enumerate(words))

    first = Story("a", "Harbour crane collapses at the container port", variant(range(0)), "https://n.example/a",
                  clock.now(), "A")
    # a quarter of the words changed: a copy of the first story
    copy = Story("b", "Harbour crane collapses at the container port", variant(range(0, 10)), "https://n.example/b",
                 clock.now() + timedelta(hours=5), "B")
    # another quarter changed: close to the copy, far from the first story
    drift = Story("c", "Harbour crane collapses at the container port", variant(range(0, 20)), "https://n.example/c",
                  clock.now() + timedelta(hours=6), "C")
    _, clusters = _store(engine, clock, [first, copy, drift])
    assert clusters["https://n.example/b"] == clusters["https://n.example/a"]
    assert clusters["https://n.example/c"] != clusters["https://n.example/a"]


def test_a_copy_joins_a_story_stored_within_the_window_not_one_stored_before_it(engine, clock):
    frost = ("Weather service warns of early frost", "Farmers across the northern plains were told to cover their crops "
             "tonight as temperatures fall well below freezing for the first time this season, the weather service said.")
    texts = {"a": ("Russia says it coordinated Syria strikes with US", SEED_BODY)}
    texts["b"] = texts["a"]
    texts["x"] = texts["y"] = frost

    def story(key: str, when) -> Story:
        return Story(key, *texts[key], f"https://n.example/{key}", when, "A")

    start = clock.now()
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("A", "http://a/", 600)], start)
        feed_id = conn.execute(select(Feed.id)).scalar_one()

        def store(key: str, now) -> int:  # published at the start, stored ``now``
            ingest(conn, feed_id=feed_id, now=now, fingerprinter=Fingerprinter(), matcher=None,
                   router=lambda r: [], options=IngestOptions(window=72 * 3600.0), stories=[story(key, start)])
            return conn.execute(select(StoryRow.cluster_id).where(StoryRow.url == f"https://n.example/{key}")).scalar_one()

        a, x = store("a", start), store("x", start)
        assert store("b", start + timedelta(hours=71)) == a
        assert store("y", start + timedelta(hours=73)) != x  # x was stored before the window: not a candidate


def test_the_band_lookup_reads_the_newest_stories_of_a_band_key_and_keys_up_to_a_bigint(engine, clock):
    from monitor.db.ingest import PER_BAND_KEY, newest_sharing
    from monitor.db.schema import StoryBand

    bands = StoryBand.__table__
    top = 2**63 - 1
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("A", "http://a/", 600)], clock.now())
        feed_id = conn.execute(select(Feed.id)).scalar_one()
        stories = [Story(f"s{k}", f"Story number {k}", f"Words of story {k}.", f"https://n.example/{k}", clock.now(), "A")
                   for k in range(PER_BAND_KEY + 6)]
        ingest(conn, feed_id=feed_id, now=clock.now(), fingerprinter=Fingerprinter(), matcher=None,
               router=lambda r: [], options=IngestOptions(), stories=stories)
        ids = sorted(conn.execute(select(StoryRow.id)).scalars())
        conn.execute(bands.insert(), [{"band": 3, "key": top, "story_id": i, "seen_at": clock.now()} for i in ids])
        conn.execute(bands.insert(), [{"band": 5, "key": 7, "story_id": ids[0], "seen_at": clock.now()}])
        found = newest_sharing(conn, [(3, top), (5, 7), (5, 8)], clock.now() - timedelta(hours=1))
        assert [(band, key, sorted(got)) for band, key, got in sorted(found)] == [
            (3, top, ids[-PER_BAND_KEY:]), (5, 7, [ids[0]])
        ]
        assert newest_sharing(conn, [(3, top)], clock.now() + timedelta(hours=1)) == []  # nothing stored since


def test_refingerprint_rewrites_old_fingerprints_and_their_bands_so_copies_join_again(engine, clock):
    from monitor.db import refingerprint, stale_count
    from monitor.db.schema import StoryBand

    original = Story("a", "Russia says it coordinated Syria strikes with US", SEED_BODY, "https://n.example/a", clock.now(), "A")
    _store(engine, clock, [original])
    st, bands = StoryRow.__table__, StoryBand.__table__
    with engine.begin() as conn:  # as stored before 0002: format 1, no version, old band keys
        old = conn.execute(select(st.c.fingerprint)).scalar_one()
        conn.execute(st.update().values(fingerprint=b"\x01" + old[1:12] + old[12 : 12 + 256], fingerprint_version=None))
        conn.execute(bands.update().values(key=bands.c.key + 1))
    assert stale_count(engine) == 1
    seen: list[int] = []
    assert refingerprint(engine, Fingerprinter(), batch=1, progress=seen.append) == 1
    assert seen == [1] and stale_count(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(st.c.fingerprint_version)).scalar_one() == FINGERPRINT_VERSION
        assert conn.execute(select(func.count()).select_from(bands)).scalar_one() == Fingerprinter().band_count
    copy = Story("b", "Pentagon denies Russian claim of joint strikes", "MOSCOW (Wire) - " + SEED_BODY,
                 "https://n.example/b", clock.now() + timedelta(minutes=30), "B")
    _, clusters = _store(engine, clock, [copy])
    assert clusters["https://n.example/b"] == clusters["https://n.example/a"]
    assert refingerprint(engine, Fingerprinter()) == 0  # nothing left to do
