"""Crash safety: ``monitor run`` killed with SIGKILL again and again loses no alert.

The service runs as a subprocess on SQLite against local feeds (``FeedServer``)
and a local Slack (``FakeSlack``). After the feeds' first (silent, backlog)
poll, new stories keep appearing while the service is killed at seeded random
moments and restarted. At the end it runs cleanly until every alert is out and
stops on SIGTERM. Every matching story must then be stored with exactly one
delivery row, marked sent, and Slack must hold a message for each; a message
may be doubled only by a kill that landed between Slack's answer and the
commit, so doubles never outnumber kills.
"""

from __future__ import annotations

import email.utils
import os
import random
import signal
import sqlite3
import string
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from feedserver import FeedServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SEED = 20261120
KILLS = 20
FEED_NAMES = ("wire", "daily", "times")
CHANNEL = "alerts"


@dataclass
class Published:
    """The stories each feed serves, growing while the test runs."""

    server: FeedServer
    rng: random.Random
    items: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # feed → (key, title, summary)
    matching: set[str] = field(default_factory=set)  # keys of stories the rule must catch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def words(self, n: int) -> str:
        return " ".join("".join(self.rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(n))

    def add(self, feed: str, *, matching: bool) -> str:
        with self.lock:
            key = f"K{sum(len(v) for v in self.items.values()):04d}{feed}"
            topic = "Pentagon" if matching else "Weather"
            title = f"{topic} {key} {self.words(6)}"
            self.items.setdefault(feed, []).append((key, title, self.words(30)))
            if matching:
                self.matching.add(key)
            self.serve(feed)
            return key

    def serve(self, feed: str) -> None:
        date = email.utils.formatdate(usegmt=True)
        body = "".join(
            f"<item><guid>https://news.example/{feed}/{key}</guid><title>{title}</title>"
            f"<link>https://news.example/{feed}/{key}</link><description>{summary}</description>"
            f"<pubDate>{date}</pubDate></item>"
            for key, title, summary in reversed(self.items.get(feed, []))
        )
        self.server.set_route(
            f"/{feed}.xml",
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{feed}</title>'
            f"<link>https://news.example/{feed}/</link>{body}</channel></rss>",
        )


class Service:
    """One ``monitor run`` subprocess at a time, its stderr kept in a numbered log file."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None

    def start(self) -> None:
        self.runs += 1
        self.log = self.cwd / f"run-{self.runs:02d}.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run"], cwd=self.cwd, env=self.env,
                stdout=subprocess.DEVNULL, stderr=err,
            )

    def text(self) -> str:
        assert self.log is not None
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_started(self, timeout: float = 30) -> None:
        assert wait_for(lambda: "service started" in self.text() or self.proc.poll() is not None, timeout), self.text()
        assert self.proc is not None and self.proc.poll() is None, self.text()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def stop_quietly(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the service's database while it runs (a short read transaction)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FeedServer, FakeSlack, Service, Path]]:
    with FeedServer() as server, FakeSlack(token="xoxb-crash-test", channels=(CHANNEL,)) as slack:
        feeds = "\n".join(
            f'[[feeds]]\nname = "{name}"\nurl = "{server.url(f"/{name}.xml")}"\n' for name in FEED_NAMES
        )
        (tmp_path / "feeds.toml").write_text(
            '[defaults]\ninterval = "10s"\ndeadline = "2s"\ntimeout = "2s"\nlease = "3s"\n\n'
            '[alerts]\nlease = "15s"\nchannel_interval = 0\nstorm_limit = 100000\nfollowups = "silent"\n\n' + feeds,
            encoding="utf-8",
        )
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "pentagon.toml").write_text(
            'name = "Pentagon"\nquery = \'Pentagon OR Kremlin\'\n', encoding="utf-8"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
        env.update(
            MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'monitor.db'}", MONITOR_HTTP_ADDRESS="off",
            MONITOR_SLACK_BOT_TOKEN=slack.token, MONITOR_SLACK_API_URL=slack.url, MONITOR_SLACK_CHANNEL=CHANNEL,
        )
        service = Service(tmp_path, env)
        try:
            yield server, slack, service, tmp_path / "monitor.db"
        finally:
            service.stop_quietly()


def test_it_loses_no_alert_when_killed_at_random_moments(world: tuple[FeedServer, FakeSlack, Service, Path]) -> None:
    server, slack, service, db = world
    # Slack takes a message, then answers 0.15 s later: a kill in between is the
    # crash window (the message stays posted, the answer is lost, the row is resent)
    slack.delay(0.15)
    rng = random.Random(SEED)
    published = Published(server, random.Random(SEED + 1))
    for name in FEED_NAMES:  # the backlog: stored on the first poll, never alerted
        for _ in range(3):
            published.add(name, matching=True)
    backlog = set(published.matching)
    began = time.monotonic()

    service.start()
    service.wait_started()
    assert wait_for(
        lambda: query(db, "SELECT count(*) FROM feeds WHERE backlog_done")[0][0] == len(FEED_NAMES), 60
    ), service.text()

    stop_publishing = threading.Event()

    def publish() -> None:
        n = 0
        while not stop_publishing.wait(0.7):
            published.add(FEED_NAMES[n % len(FEED_NAMES)], matching=n % 4 != 3)
            n += 1

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        for _ in range(KILLS):
            if service.proc is not None and service.proc.poll() is None:
                service.kill()
            service.start()
            service.wait_started()
            time.sleep(rng.uniform(0.1, 3.5))
        service.kill()
    finally:
        stop_publishing.set()
        publisher.join(timeout=10)

    service.start()
    service.wait_started()
    expected = published.matching - backlog

    def all_sent() -> bool:
        rows = query(
            db,
            "SELECT s.url, d.status FROM deliveries d JOIN stories s ON s.id = d.story_id",
        )
        sent = {url.rsplit("/", 1)[1] for url, status in rows if status == "sent"}
        return sent >= expected and all(status == "sent" for _, status in rows)

    assert wait_for(all_sent, 90, step=0.5), service.text()
    code = service.terminate()
    assert code == 0, service.text()
    assert "service stopped" in service.text()

    # ---- every matching story stored, with exactly one delivery, sent ----
    stories = {url.rsplit("/", 1)[1]: sid for sid, url in query(db, "SELECT id, url FROM stories")}
    all_keys = {key for items in published.items.values() for key, _, _ in items}
    assert all_keys <= set(stories), sorted(all_keys - set(stories))
    deliveries = query(db, "SELECT story_id, status, ts FROM deliveries")
    per_story = Counter(story_id for story_id, _, _ in deliveries)
    by_id = {sid: key for key, sid in stories.items()}
    delivered = {by_id[story_id] for story_id in per_story}
    assert delivered == expected, (sorted(expected - delivered), sorted(delivered - expected))
    assert max(per_story.values()) == 1
    assert {status for _, status, _ in deliveries} == {"sent"}

    # ---- Slack got each alert, doubled at most once per kill ----
    titles = Counter()
    for message in slack.messages:
        found = [key for key in expected if key in str(message.get("text", ""))]
        assert len(found) == 1, message.get("text")
        titles[found[0]] += 1
    assert set(titles) == expected
    duplicates = sum(n - 1 for n in titles.values())
    assert duplicates <= KILLS
    assert not slack.violations
    runtime = time.monotonic() - began
    print(
        f"\ncrash test: {KILLS} kills, {service.runs} starts, {len(expected)} alerts, "
        f"{len(slack.messages)} Slack messages, {duplicates} duplicates, {runtime:.0f}s"
    )
