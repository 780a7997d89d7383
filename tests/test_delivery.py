"""The outbox: stories stored with their deliveries, sent through the real slack-sdk to a fake Slack."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from fakeslack import FakeSlack
from sqlalchemy import select, update

from monitor.config import FeedConfig
from monitor.db import DeliveryRow, Feed, FollowupRow, IngestOptions, ingest, sync_feeds
from monitor.dedup import Fingerprinter
from monitor.delivery import Deliverer, DeliveryOptions
from monitor.model import Rule, RuleMatch, Story
from monitor.notify import build_notifier

TOKEN = "xoxb-test-0123456789-secret"
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
SEED_SUMMARY = (
    "Russia said that its air force had administered airstrikes against the Islamic State targets along with "
    "the US-led coalition. They said that they had received intelligence from the coalition command center. "
    "However, the U.S. military denied it completely."
)
RULES = {"syria": Rule(id="syria", name="Russia–US coordination in Syria", query="x", severity="high", channel="alerts")}


WORDS = (
    "harbour council budget river festival bridge election drought vaccine museum railway orchestra "
    "glacier tariff stadium library satellite vineyard pipeline monsoon parliament airline telescope "
    "bakery lawsuit marathon reactor volcano orchard ferry strike summit refinery canal opera"
).split()


def distinct_text(n: int, length: int) -> str:
    """Words that no other ``n`` shares in the same order: stories that are not near-copies."""
    import random

    rng = random.Random(n)
    return " ".join(rng.sample(WORDS, length))


def story(n: int, *, title: str | None = None, summary: str | None = None, url: str | None = None) -> Story:
    return Story(
        entry_key=f"e{n}", title=title or f"Story number {n}: {distinct_text(n, 6)}",
        summary=summary or distinct_text(n + 1000, 14),
        url=url or f"https://news.example/{n}", published=datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc),
        source="Feed A", feed="Feed A",
    )


def match_all(s: Story) -> list[RuleMatch]:
    return [RuleMatch("syria", ("Pentagon", "airstrikes"))]


@pytest.fixture
def slack():
    with FakeSlack(token=TOKEN, channels=("alerts", "ops")) as fake:
        yield fake


@pytest.fixture
def feed_ids(engine, clock):
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("Feed A", "http://a/", 600), FeedConfig("Feed B", "http://b/", 600)], clock.now())
        rows = conn.execute(select(Feed.id, Feed.name)).all()
    return {r.name: r.id for r in rows}


def store(engine, clock, feed_id: int, stories: list[Story], *, storm_limit: int = 20, matcher=match_all, followups="thread"):
    with engine.begin() as conn:
        return ingest(
            conn, feed_id=feed_id, stories=stories, now=clock.now(), fingerprinter=Fingerprinter(), matcher=matcher,
            router=lambda rule_id: [("slack:alerts", "alerts")],
            options=IngestOptions(storm_limit=storm_limit, followups=followups),
        )


def deliverer(engine, clock, slack: FakeSlack, **options) -> Deliverer:
    notifier = build_notifier(bot_token=TOKEN, default_channel="alerts", webhook_url=None, api_url=slack.url, timeout=2)
    return Deliverer(
        engine=engine, notifier=notifier, rules=RULES, clock=clock, owner="t",
        options=DeliveryOptions(channel_interval=0, **options), sleep=lambda s: None,
    )


def statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(DeliveryRow.status).order_by(DeliveryRow.id))]


def test_one_match_gives_one_message_with_title_link_and_terms(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1, title=SEED_TITLE, summary=SEED_SUMMARY, url="https://geo.example/russia-syria")])
    result = deliverer(engine, clock, slack).run_once()
    assert result.sent == 1
    assert len(slack.messages) == 1 and not slack.violations
    payload = json.dumps(slack.messages[0])
    assert SEED_TITLE in payload and "https://geo.example/russia-syria" in payload and "*Pentagon*" in payload
    assert slack.messages[0]["unfurl_links"] is False
    with engine.connect() as conn:
        row = conn.execute(select(DeliveryRow.__table__)).one()
    assert row.status == "sent" and row.ts and row.channel
    assert deliverer(engine, clock, slack).run_once().sent == 0
    assert len(slack.messages) == 1


def test_slack_down_for_a_while_delivers_afterwards_once_and_in_order(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1), story(2), story(3)])
    slack.down()
    d = deliverer(engine, clock, slack)
    first = d.run_once()
    assert first.sent == 0 and first.retried == 1  # the rows behind the failed one wait with it
    assert statuses(engine) == ["pending"] * 3
    slack.up()
    clock.advance(timedelta(hours=2))
    assert d.run_once().sent == 3
    titles = [m["text"] for m in slack.messages]
    assert len(titles) == 3 and "number 1:" in titles[0] and "number 3:" in titles[2]
    assert d.run_once().sent == 0 and len(slack.messages) == 3


def test_a_429_waits_for_retry_after_then_delivers(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1)])
    slack.rate_limit_next(1, retry_after=120)
    d = deliverer(engine, clock, slack)
    assert d.run_once().retried == 1
    with engine.connect() as conn:
        row = conn.execute(select(DeliveryRow.__table__)).one()
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=60))
    assert d.run_once().sent == 0
    clock.advance(timedelta(seconds=200))
    assert d.run_once().sent == 1 and len(slack.messages) == 1


def test_a_permanent_error_is_marked_and_never_retried(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1)])
    slack.error_next("channel_not_found")
    d = deliverer(engine, clock, slack)
    assert d.run_once().failed == 1
    with engine.connect() as conn:
        row = conn.execute(select(DeliveryRow.__table__)).one()
    assert row.status == "failed" and "channel_not_found" in row.last_error
    clock.advance(timedelta(days=1))
    assert d.run_once().sent == 0 and not slack.messages


def test_hostile_feed_text_reaches_slack_escaped(engine, clock, slack, feed_ids):
    title = "<!channel> Breaking <https://evil.example|Pentagon statement> <@U123ABC> & more"
    store(engine, clock, feed_ids["Feed A"], [story(1, title=title)])
    deliverer(engine, clock, slack).run_once()
    payload = json.dumps(slack.messages[0])
    assert "<!channel>" not in payload and "<@U123ABC>" not in payload
    assert "<https://evil.example|" not in payload


def test_a_restart_with_pending_and_crashed_rows_delivers_each_once(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1), story(2)])
    # row 1 was being sent when the process died: its lease lapses
    with engine.begin() as conn:
        first = conn.execute(select(DeliveryRow.id).order_by(DeliveryRow.id)).scalars().first()
        conn.execute(
            update(DeliveryRow.__table__).where(DeliveryRow.__table__.c.id == first)
            .values(status="sending", lease_until=clock.now() + timedelta(seconds=60))
        )
    # the leased one waits, and the one behind it waits with it: one channel's alerts keep their order
    assert deliverer(engine, clock, slack).run_once().sent == 0
    clock.advance(timedelta(seconds=61))
    assert deliverer(engine, clock, slack).run_once().sent == 2
    assert deliverer(engine, clock, slack).run_once().sent == 0
    assert len(slack.messages) == 2
    assert [m["text"] for m in slack.messages] == [m["text"] for m in sorted(slack.messages, key=lambda m: m["ts"])]


def test_the_storm_guard_folds_matches_past_the_hourly_limit_into_one_summary(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(i) for i in range(10)], storm_limit=3)
    d = deliverer(engine, clock, slack, storm_summary_after=600)
    assert d.run_once().sent == 3
    clock.advance(timedelta(minutes=11))
    result = d.run_once()
    assert result.summaries == 1
    assert len(slack.messages) == 4
    assert "7 more matches" in slack.messages[-1]["text"]
    assert statuses(engine).count("summarized") == 7
    clock.advance(timedelta(hours=1))
    assert d.run_once().summaries == 0 and len(slack.messages) == 4


def test_a_near_copy_from_another_outlet_adds_a_threaded_reply_not_an_alert(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1, title=SEED_TITLE, summary=SEED_SUMMARY, url="https://a.example/1")])
    d = deliverer(engine, clock, slack)
    d.run_once()
    copy = story(
        2, title="Pentagon denies Russia's claim of joint Syria airstrikes",
        summary="MOSCOW (Wire) - " + SEED_SUMMARY, url="https://b.example/2",
    )
    result = store(engine, clock, feed_ids["Feed B"], [copy])
    assert result.new_stories == 1 and result.clustered == 1 and result.deliveries == 0 and result.followups == 1
    d.run_once()
    assert len(slack.messages) == 2
    reply = slack.messages[-1]
    assert reply.get("thread_ts") == slack.messages[0]["ts"] or reply.get("thread_ts")
    assert "Feed B" in reply["text"]
    with engine.connect() as conn:
        assert conn.execute(select(FollowupRow.status)).scalar_one() == "sent"


def test_the_same_link_from_the_same_outlet_again_adds_nothing(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1, url="https://a.example/x")])
    deliverer(engine, clock, slack).run_once()
    repost = replace(story(1, url="https://a.example/x"), entry_key="new-guid")
    result = store(engine, clock, feed_ids["Feed A"], [repost])
    assert result.new_stories == 0 and result.followups == 0
    deliverer(engine, clock, slack).run_once()
    assert len(slack.messages) == 1


SEED_COPY = dict(
    title="Pentagon denies Russia's claim of joint Syria airstrikes",
    summary="MOSCOW (Wire) - " + SEED_SUMMARY, url="https://b.example/2",
)


def test_in_update_mode_a_near_copy_updates_the_alert_with_its_outlet(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1, title=SEED_TITLE, summary=SEED_SUMMARY, url="https://a.example/1")], followups="update")
    d = deliverer(engine, clock, slack, followups="update")
    d.run_once()
    store(engine, clock, feed_ids["Feed B"], [story(2, **SEED_COPY)], followups="update")
    d.run_once()
    assert len(slack.messages) == 1 and len(slack.updates) == 1
    assert slack.updates[0]["ts"] == slack.messages[0]["ts"]
    assert "Feed B" in json.dumps(slack.updates[0])


def test_in_silent_mode_a_near_copy_sends_nothing(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1, title=SEED_TITLE, summary=SEED_SUMMARY, url="https://a.example/1")], followups="silent")
    d = deliverer(engine, clock, slack, followups="silent")
    d.run_once()
    result = store(engine, clock, feed_ids["Feed B"], [story(2, **SEED_COPY)], followups="silent")
    assert result.deliveries == 0
    d.run_once()
    assert len(slack.messages) == 1 and not slack.updates


def test_after_a_crash_between_slacks_answer_and_the_commit_the_alert_is_found_not_posted_again(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1), story(2)])
    d = deliverer(engine, clock, slack)
    assert d.run_once().sent == 2
    # the process died after Slack answered for row 1 but before the commit: it is still 'sending'
    table = DeliveryRow.__table__
    with engine.begin() as conn:
        first = conn.execute(select(table.c.id).order_by(table.c.id)).scalars().first()
        conn.execute(
            update(table).where(table.c.id == first)
            .values(status="sending", ts=None, lease_until=clock.now() + timedelta(seconds=30))
        )
    clock.advance(timedelta(seconds=31))
    result = deliverer(engine, clock, slack).run_once()
    assert result.recovered == 1 and result.sent == 0
    assert len(slack.messages) == 2 and slack.history_calls == 1
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == first)).one()
    assert row.status == "sent" and row.ts == slack.messages[0]["ts"]


def test_after_a_crash_before_slack_got_the_message_it_is_sent_once(engine, clock, slack, feed_ids):
    store(engine, clock, feed_ids["Feed A"], [story(1)])
    table = DeliveryRow.__table__
    with engine.begin() as conn:
        conn.execute(update(table).values(status="sending", lease_until=clock.now() + timedelta(seconds=30)))
    clock.advance(timedelta(seconds=31))
    result = deliverer(engine, clock, slack).run_once()
    assert result.recovered == 0 and result.sent == 1 and len(slack.messages) == 1
