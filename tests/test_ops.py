"""Feed health reaches the ops channel once per episode, not every poll."""

from __future__ import annotations

from datetime import timedelta

from fakeslack import FakeSlack
from sqlalchemy import select

from monitor.config import FeedConfig, OpsConfig
from monitor.db import Feed
from monitor.db import feeds as feeds_db
from monitor.delivery import report_feed_health
from monitor.notify import build_notifier

TOKEN = "xoxb-ops-test-token"


def test_a_feed_failing_for_a_day_is_reported_once_and_its_recovery_once(engine, clock):
    ops = OpsConfig(channel="ops", failing_after=24 * 3600)
    with engine.begin() as conn:
        feeds_db.sync_feeds(conn, [FeedConfig("Broken <!here>", "http://b/", 600), FeedConfig("Fine", "http://f/", 600)], clock.now())
        broken = conn.execute(select(Feed.id).where(Feed.name == "Broken <!here>")).scalar_one()
    with FakeSlack(token=TOKEN, channels=("ops",)) as slack:
        notifier = build_notifier(bot_token=TOKEN, default_channel=None, webhook_url=None, api_url=slack.url, timeout=2)
        for hour in range(30):
            with engine.begin() as conn:
                feeds_db.record_error(conn, broken, now=clock.now(), next_poll_at=clock.now(), message="fetch: HTTP 500", http_status=500)
            report_feed_health(engine, notifier, ops, clock)
            clock.advance(timedelta(hours=1))
        assert len(slack.messages) == 1
        assert "failed for" in slack.messages[0]["text"] and "<!here>" not in slack.messages[0]["text"]
        with engine.begin() as conn:
            feeds_db.record_success(
                conn, broken, now=clock.now(), next_poll_at=clock.now(), http_status=200, not_modified=False,
                etag=None, last_modified=None, body_hash=None,
            )
        report_feed_health(engine, notifier, ops, clock)
        report_feed_health(engine, notifier, ops, clock)
        assert len(slack.messages) == 2 and "healthy again" in slack.messages[1]["text"]


def test_nothing_is_sent_without_an_ops_channel(engine, clock):
    class Boom:
        name = "console"

        def send_text(self, channel, text):  # pragma: no cover - must not be called
            raise AssertionError("sent")

    assert report_feed_health(engine, Boom(), OpsConfig(channel=None), clock) == []
