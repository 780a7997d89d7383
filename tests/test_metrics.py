"""Metrics: counters fed by poll outcomes and delivery summaries, gauges read from a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update

from monitor.config import FeedConfig
from monitor.db import make_engine, sync_feeds
from monitor.db.schema import Cluster, DeliveryRow, DigestRow, Feed, MatchRow, StoryRow
from monitor.delivery import DeliverySummary
from monitor.pipeline import FeedOutcome
from monitor.web.metrics import DatabaseCollector, Metrics

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by (sample name, sorted labels); parsed as Prometheus would."""
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def families(metrics: Metrics) -> set[str]:
    return {f.name for f in text_string_to_metric_families(metrics.render().decode())}


def add_story(conn, n: int) -> tuple[int, int, int]:
    """A cluster, a story and a match for rule r1; returns their ids."""
    cluster = conn.execute(insert(Cluster.__table__).values(created_at=T0)).inserted_primary_key[0]
    story = conn.execute(
        insert(StoryRow.__table__).values(
            url_key=f"example.org/{n}", url=f"https://example.org/{n}", title=f"Story {n}", summary="",
            source="Example", published_at=T0, first_seen_at=T0, cluster_id=cluster,
        )
    ).inserted_primary_key[0]
    match = conn.execute(
        insert(MatchRow.__table__).values(rule_id="r1", cluster_id=cluster, story_id=story, terms=[], matched_at=T0)
    ).inserted_primary_key[0]
    return cluster, story, match


def add_delivery(conn, n: int, status: str) -> None:
    cluster, story, match = add_story(conn, n)
    conn.execute(
        insert(DeliveryRow.__table__).values(
            rule_id="r1", cluster_id=cluster, story_id=story, match_id=match, destination="console",
            status=status, attempts=0, next_attempt_at=T0, created_at=T0,
        )
    )


def add_digest(conn, day: str, status: str, sent_at: datetime | None) -> None:
    conn.execute(
        insert(DigestRow.__table__).values(
            day=day, recipients="desk@example.org", status=status, attempts=1, entries=3, created_at=T0, sent_at=sent_at
        )
    )


# ---- counters ------------------------------------------------------------------------------


def test_it_counts_every_poll_outcome_and_starts_each_at_zero():
    m = Metrics()
    for status in ("ok", "ok", "not_modified", "failed"):
        m.observe_feed(FeedOutcome(name="f", status=status))
    got = samples(m)
    assert got[("monitor_polls_total", (("outcome", "ok"),))] == 2
    assert got[("monitor_polls_total", (("outcome", "not_modified"),))] == 1
    assert got[("monitor_polls_total", (("outcome", "unchanged"),))] == 0
    assert got[("monitor_polls_total", (("outcome", "failed"),))] == 1


def test_it_records_fetch_time_only_when_there_was_a_response():
    m = Metrics()
    m.observe_feed(FeedOutcome(name="a", status="ok", fetch_seconds=0.2))
    m.observe_feed(FeedOutcome(name="b", status="ok", fetch_seconds=3.0))
    m.observe_feed(FeedOutcome(name="c", status="failed", fetch_seconds=None))
    got = samples(m)
    assert got[("monitor_fetch_seconds_count", ())] == 2
    assert got[("monitor_fetch_seconds_sum", ())] == pytest.approx(3.2)
    assert got[("monitor_fetch_seconds_bucket", (("le", "0.25"),))] == 1
    assert got[("monitor_fetch_seconds_bucket", (("le", "5.0"),))] == 2


def test_it_counts_new_stories_and_matches_per_rule():
    m = Metrics()
    m.observe_feed(FeedOutcome(name="a", status="ok", new_stories=3, matches=2, matched_rules=["syria", "pentagon"]))
    m.observe_feed(FeedOutcome(name="b", status="ok", new_stories=1, matches=1, matched_rules=["syria"]))
    got = samples(m)
    assert got[("monitor_stories_total", ())] == 4
    assert got[("monitor_matches_total", (("rule", "syria"),))] == 2
    assert got[("monitor_matches_total", (("rule", "pentagon"),))] == 1


def test_it_counts_delivery_results_from_each_summary():
    m = Metrics()
    m.observe_delivery(DeliverySummary(sent=3, retried=1, failed=0, summaries=1, followups=2))
    m.observe_delivery(DeliverySummary(sent=1, failed=2))
    got = samples(m)
    assert got[("monitor_alerts_total", (("result", "sent"),))] == 4
    assert got[("monitor_alerts_total", (("result", "retried"),))] == 1
    assert got[("monitor_alerts_total", (("result", "failed"),))] == 2
    assert got[("monitor_storm_summaries_total", ())] == 1
    assert got[("monitor_followups_total", ())] == 2


def test_two_metrics_objects_keep_separate_counts():
    a, b = Metrics(), Metrics()
    a.observe_feed(FeedOutcome(name="f", status="ok"))
    assert samples(a)[("monitor_polls_total", (("outcome", "ok"),))] == 1
    assert samples(b)[("monitor_polls_total", (("outcome", "ok"),))] == 0


def test_without_an_engine_there_are_no_database_gauges():
    assert "monitor_db_up" not in families(Metrics())


# ---- database gauges -----------------------------------------------------------------------


def test_it_reads_outbox_feeds_stories_and_last_digest_from_the_database(engine):
    with engine.begin() as conn:
        sync_feeds(
            conn,
            [FeedConfig("a", "https://a.example/rss", 600), FeedConfig("b", "https://b.example/rss", 600),
             FeedConfig("c", "https://c.example/rss", 600, enabled=False)],
            T0,
        )
        conn.execute(update(Feed.__table__).where(Feed.__table__.c.name == "b").values(error_count=2))
        conn.execute(update(Feed.__table__).where(Feed.__table__.c.name == "c").values(error_count=5))
        for n, status in enumerate(["pending", "pending", "sent", "failed", "folded"]):
            add_delivery(conn, n, status)
        add_story(conn, 99)
        add_digest(conn, "2026-11-18", "sent", T0 - timedelta(days=2))
        add_digest(conn, "2026-11-19", "sent", T0 - timedelta(days=1))
        add_digest(conn, "2026-11-20", "failed", None)
    got = samples(Metrics(engine))
    expected = {
        ("monitor_db_up", ()): 1,
        ("monitor_deliveries", (("status", "pending"),)): 2,
        ("monitor_deliveries", (("status", "sending"),)): 0,
        ("monitor_deliveries", (("status", "sent"),)): 1,
        ("monitor_deliveries", (("status", "failed"),)): 1,
        ("monitor_deliveries", (("status", "folded"),)): 1,
        ("monitor_feeds", (("state", "enabled"),)): 2,
        ("monitor_feeds", (("state", "disabled"),)): 1,
        ("monitor_feeds", (("state", "failing"),)): 1,  # c fails too, but it is disabled
        ("monitor_feeds_failing", ()): 1,
        ("monitor_stories_stored", ()): 6,
        ("monitor_last_digest_timestamp_seconds", ()): (T0 - timedelta(days=1)).timestamp(),
    }
    assert {k: got.get(k) for k in expected} == expected


def test_an_empty_database_reports_zeros_and_no_digest(engine):
    got = samples(Metrics(engine))
    assert got[("monitor_db_up", ())] == 1
    assert got[("monitor_stories_stored", ())] == 0
    assert got[("monitor_last_digest_timestamp_seconds", ())] == 0
    assert got[("monitor_deliveries", (("status", "pending"),))] == 0


def test_it_reuses_the_database_answer_within_the_cache_period(engine):
    now = [100.0]
    collector = DatabaseCollector(engine, cache_seconds=5.0, monotonic=lambda: now[0])
    first = collector.snapshot()
    with engine.begin() as conn:
        add_story(conn, 1)
    assert collector.snapshot() is first  # cached
    now[0] += 5.0
    assert collector.snapshot().stories == 1


def test_collect_survives_a_broken_database_and_reports_db_down(tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")  # the folder does not exist
    m = Metrics(engine)
    m.observe_feed(FeedOutcome(name="f", status="ok"))
    got = samples(m)
    assert got[("monitor_db_up", ())] == 0
    assert ("monitor_deliveries", (("status", "pending"),)) not in got
    assert got[("monitor_polls_total", (("outcome", "ok"),))] == 1  # the counters still answer
    assert "metrics: database query failed" in caplog.text


def test_collect_survives_an_unmigrated_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert samples(Metrics(engine))[("monitor_db_up", ())] == 0
    engine.dispose()


def test_collect_survives_a_disposed_engine_whose_database_was_removed(engine, db_url):
    m = Metrics(engine, cache_seconds=0)
    assert samples(m)[("monitor_db_up", ())] == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE followups")
        conn.exec_driver_sql("DROP TABLE deliveries")
    engine.dispose()
    assert samples(m)[("monitor_db_up", ())] == 0
