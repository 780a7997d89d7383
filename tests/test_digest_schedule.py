"""The digest goes out once a day, on time in the reader's zone: real SMTP server, real databases."""

from __future__ import annotations

import email
import html as html_lib
import re
import threading
from datetime import date, datetime, time, timedelta, timezone
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
from smtpserver import SmtpServer
from sqlalchemy import select

from monitor.clock import FrozenClock
from monitor.config import DigestConfig, FeedConfig
from monitor.db import DigestRow, Feed, IngestOptions, ingest, sync_feeds
from monitor.dedup import Fingerprinter
from monitor.digest import SmtpSender, SmtpSettings
from monitor.digest.runner import DigestRunner, due_day, scheduled_at
from monitor.model import Rule, RuleMatch, Story

SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
SEED_URL = "https://geoplotics.example/russia-syria-airstrikes"
RULES = {"syria": Rule(id="syria", name="Russia and the US in Syria", query="x", severity="high")}
NY = DigestConfig(to=("desk@example.org",), sender="monitor@example.org", time=time(8, 0), timezone="America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2026, 3, 7), utc(2026, 3, 7, 13, 0)),  # EST, the day before the spring change
        (date(2026, 3, 8), utc(2026, 3, 8, 12, 0)),  # EDT from 02:00 that morning
        (date(2026, 10, 31), utc(2026, 10, 31, 12, 0)),
        (date(2026, 11, 1), utc(2026, 11, 1, 13, 0)),  # back to EST
    ],
)
def test_the_scheduled_instant_follows_daylight_saving_changes(day: date, expected_utc: datetime) -> None:
    assert scheduled_at(day, NY) == expected_utc


def test_the_apscheduler_trigger_fires_at_local_eight_across_the_change() -> None:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger(hour=8, minute=0, timezone=ZoneInfo("America/New_York"))
    fire = trigger.get_next_fire_time(None, datetime(2026, 3, 7, 9, tzinfo=ZoneInfo("America/New_York")))
    following = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert fire.astimezone(timezone.utc) == utc(2026, 3, 8, 12, 0)
    assert following.astimezone(timezone.utc) == utc(2026, 3, 9, 12, 0)
    assert following - fire == timedelta(hours=24)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (utc(2026, 3, 8, 11, 59), None),
        (utc(2026, 3, 8, 12, 0), date(2026, 3, 8)),
        (utc(2026, 3, 9, 3, 0), date(2026, 3, 8)),  # 23:00 local, still the 8th: a late start catches up the same day
    ],
)
def test_due_day_is_today_once_the_local_time_has_passed(now: datetime, due: date | None) -> None:
    assert due_day(now, NY) == due


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def seeded(engine):
    """A feed, the seed story and two others matched at 2026-03-08 09:00 UTC."""
    clock = FrozenClock(utc(2026, 3, 8, 9, 0))
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("Geoplotics", "http://g/", 600)], clock.now())
        feed_id = conn.execute(select(Feed.id)).scalar_one()
        stories = [
            Story(entry_key="s1", title=SEED_TITLE, summary="Russia said its air force struck targets with the US-led coalition; the Pentagon denied it.", url=SEED_URL, published=clock.now(), source="Geoplotics"),
            Story(entry_key="s2", title="<img src=x onerror=alert(1)> Kremlin hotline claim", summary="A hostile <script>alert(2)</script> summary about an entirely different matter in Aleppo.", url="https://evil.example/2", published=clock.now(), source="Geoplotics"),
            Story(entry_key="s3", title="Coalition spokesman calls Moscow's account rubbish", summary="Colonel John Dorrian said reports of joint strikes near al-Bab were false, speaking in Baghdad.", url="https://wire.example/3", published=clock.now(), source="Geoplotics"),
        ]
        ingest(
            conn, feed_id=feed_id, stories=stories, now=clock.now(), fingerprinter=Fingerprinter(),
            matcher=lambda s: [RuleMatch("syria", ("Pentagon",))], router=lambda r: [("console", None)],
            options=IngestOptions(),
        )
    return engine


def runner(engine, smtp: SmtpServer, clock: FrozenClock, owner: str = "w1") -> DigestRunner:
    sender = SmtpSender(SmtpSettings(host=smtp.host, port=smtp.port, security="none", timeout=5))
    return DigestRunner(engine=engine, config=NY, rules=RULES, clock=clock, sender=sender, owner=owner, domain="monitor.test")


def test_the_digest_goes_out_once_on_the_day_with_both_parts(seeded, smtp) -> None:
    clock = FrozenClock(utc(2026, 3, 8, 11, 0))
    r = runner(seeded, smtp, clock)
    assert r.send_due() == []  # 07:00 in New York: not yet
    clock.set(utc(2026, 3, 8, 12, 0, 30))
    outcomes = r.send_due()
    assert [o.status for o in outcomes] == ["sent"]
    assert [o.status for o in r.send_due()] == ["taken"]
    assert len(smtp.messages) == 1
    msg = email.message_from_bytes(smtp.messages[0].data, policy=default)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    html_text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", html)).split())  # highlights split the title
    assert SEED_TITLE in text and SEED_URL in text
    assert SEED_TITLE in html_text and f'href="{SEED_URL}"' in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert msg["Auto-Submitted"] == "auto-generated" and msg["List-Id"] and msg["Message-ID"] and msg["Date"]


def test_a_restart_after_the_scheduled_time_sends_the_same_day_and_only_once(seeded, smtp) -> None:
    clock = FrozenClock(utc(2026, 3, 8, 20, 0))  # the service was down at 08:00 local
    assert [o.status for o in runner(seeded, smtp, clock).send_due()] == ["sent"]
    # a second restart later the same day sends nothing more
    assert [o.status for o in runner(seeded, smtp, clock, owner="w2").send_due()] == ["taken"]
    assert len(smtp.messages) == 1
    with seeded.connect() as conn:
        row = conn.execute(select(DigestRow.__table__)).one()
    assert row.day == "2026-03-08" and row.status == "sent" and row.entries == 3


def test_two_workers_racing_for_the_same_digest_send_it_once(seeded, smtp) -> None:
    clock = FrozenClock(utc(2026, 3, 8, 12, 1))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def work(owner: str) -> None:
        r = runner(seeded, smtp, clock, owner)
        barrier.wait()
        results.extend(o.status for o in r.send_due())

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["sent", "taken", "taken", "taken"]
    assert len(smtp.messages) == 1


def test_an_smtp_failure_is_recorded_and_retried_with_backoff(seeded) -> None:
    clock = FrozenClock(utc(2026, 3, 8, 12, 1))
    with SmtpServer(mode="tempfail") as failing:
        r = runner(seeded, failing, clock)
        assert [o.status for o in r.send_due()] == ["retry"]
        assert [o.status for o in r.send_due()] == ["taken"]  # not before its retry time
        failing.mode = "accept"
        clock.advance(timedelta(minutes=5))
        assert [o.status for o in r.send_due()] == ["sent"]
        assert len(failing.messages) == 1
    with seeded.connect() as conn:
        row = conn.execute(select(DigestRow.__table__)).one()
    assert row.status == "sent" and row.attempts == 2


def test_the_next_digest_covers_matches_since_the_previous_one(seeded, smtp) -> None:
    clock = FrozenClock(utc(2026, 3, 8, 12, 1))
    r = runner(seeded, smtp, clock)
    r.send_due()
    clock.set(utc(2026, 3, 9, 12, 5))
    outcomes = r.send_due()
    assert [o.status for o in outcomes] == ["skipped"]  # nothing new, and empty = "skip"
    with seeded.connect() as conn:
        days = [row.day for row in conn.execute(select(DigestRow.day).order_by(DigestRow.day))]
    assert days == ["2026-03-08", "2026-03-09"]
    assert len(smtp.messages) == 1
