"""Pacing shared by every worker on one database: one channel gets about one message a second.

Three deliverers, each in its own thread with its own engine and owner id (as
three ``monitor run`` processes would be), drain one busy channel of the fake
Slack on PostgreSQL and on SQLite. The channel must receive every alert once,
in the order the alerts were stored, never two within the channel interval.
The storm guard holds across them too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fakeslack import FakeSlack
from sqlalchemy import Engine, select, text

from monitor.clock import SystemClock
from monitor.config import FeedConfig
from monitor.db import DeliveryRow, Feed, IngestOptions, ingest, make_engine, sync_feeds, upgrade
from monitor.dedup import Fingerprinter
from monitor.delivery import Deliverer, DeliveryOptions
from monitor.model import Rule, RuleMatch, Story
from monitor.notify import build_notifier

pytestmark = pytest.mark.timeout(90)

TOKEN = "xoxb-test-0123456789-pacing"
CHANNEL = "busy"
RULES = {"watch": Rule(id="watch", name="Watch", query="x", channel=CHANNEL)}
WORKERS = 3
ALERTS = 7
INTERVAL = 1.0

_SYLLABLES = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]


def _words(rng, n: int) -> str:
    """Pseudo-words from a vocabulary of ~500,000: unrelated stories share almost none (no near-copies)."""
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(n))


def story(n: int) -> Story:
    import random

    rng = random.Random(n)
    return Story(
        entry_key=f"e{n}", title=f"Alert {n:03d}: {_words(rng, 6)}", summary=_words(rng, 30),
        url=f"https://news.example/{n}", published=datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc),
        source="Feed", feed="Feed",
    )


def store(engine: Engine, stories: list[Story]) -> None:
    """Store stories that all match, routed to the one busy channel (no storm folding at ingest)."""
    now = SystemClock().now()
    with engine.begin() as conn:
        sync_feeds(conn, [FeedConfig("Feed", "http://feed.example/", 600)], now)
        feed_id = conn.execute(select(Feed.id)).scalar_one()
        ingest(
            conn, feed_id=feed_id, stories=stories, now=now, fingerprinter=Fingerprinter(),
            matcher=lambda s: [RuleMatch("watch", ("x",))], router=lambda rule_id: [(f"slack:{CHANNEL}", CHANNEL)],
            options=IngestOptions(storm_limit=100_000, followups="silent"),
        )


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels=(CHANNEL,)) as fake:
        yield fake


def drain(url: str, slack: FakeSlack, *, until: int, options: DeliveryOptions, timeout: float = 40.0) -> list[str]:
    """Run ``WORKERS`` deliverers in threads until ``until`` rows are done; returns any thread's error."""
    errors: list[str] = []
    done = threading.Event()

    def worker(n: int) -> None:
        engine = make_engine(url)
        try:
            notifier = build_notifier(bot_token=TOKEN, default_channel=CHANNEL, webhook_url=None, api_url=slack.url, timeout=5)
            deliverer = Deliverer(
                engine=engine, notifier=notifier, rules=RULES, clock=SystemClock(), owner=f"worker{n}", options=options,
            )
            end = time.monotonic() + timeout
            while not done.is_set() and time.monotonic() < end:
                deliverer.run_once()
                with engine.connect() as conn:
                    finished = conn.execute(
                        select(DeliveryRow.id).where(DeliveryRow.status.in_(("sent", "folded", "summarized")))
                    ).all()
                if len(finished) >= until:
                    done.set()
                time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(f"worker{n}: {type(exc).__name__}: {exc}")
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return request.getfixturevalue("pg_url")


def test_three_workers_send_one_busy_channel_about_one_message_a_second_in_order_none_lost(url, slack) -> None:
    engine = make_engine(url)
    upgrade(engine)
    store(engine, [story(0)])

    def arrive() -> None:  # matches keep arriving while the workers send, so each worker claims some
        for n in range(1, ALERTS):
            time.sleep(0.3)
            store(engine, [story(n)])

    producer = threading.Thread(target=arrive)
    producer.start()
    errors = drain(url, slack, until=ALERTS, options=DeliveryOptions(channel_interval=INTERVAL, storm_limit=20))
    producer.join()
    assert errors == []

    with engine.connect() as conn:
        rows = conn.execute(select(DeliveryRow.status, DeliveryRow.lease_owner).order_by(DeliveryRow.id)).all()
        holders = conn.execute(text("SELECT count(*) FROM delivery_pacing WHERE owner IS NOT NULL")).scalar_one()
    engine.dispose()
    assert [r.status for r in rows] == ["sent"] * ALERTS
    assert all(r.lease_owner is None for r in rows) and holders == 0, "leases left behind"
    messages = [m for m in slack.messages if m["channel"] and not m.get("thread_ts")]
    titles = [next(b for b in m["blocks"] if b["type"] == "header")["text"]["text"] for m in messages]
    assert titles == [story(n).title for n in range(ALERTS)], "lost, doubled or out of order"
    posted = [float(m["ts"]) for m in messages]  # the fake's arrival time of each message
    gaps = [b - a for a, b in zip(posted, posted[1:], strict=False)]
    # the slot is taken before the request goes out; its arrival can come a little later or earlier
    assert min(gaps) > INTERVAL - 0.15, gaps
    assert slack.violations == []


def test_the_storm_guard_holds_across_workers_even_when_ingest_let_too_many_through(url, slack) -> None:
    engine = make_engine(url)
    upgrade(engine)
    store(engine, [story(n) for n in range(6)])  # as if concurrent ingests all saw an hour below the limit
    errors = drain(
        url, slack, until=6, options=DeliveryOptions(channel_interval=0, storm_limit=3, storm_summary_after=3600),
    )
    assert errors == []
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(DeliveryRow.status).order_by(DeliveryRow.id))]
    engine.dispose()
    assert statuses == ["sent"] * 3 + ["folded"] * 3
    assert len([m for m in slack.messages if not m.get("thread_ts")]) == 3
