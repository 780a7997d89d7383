"""Several ``monitor run`` processes sharing one PostgreSQL database, end to end.

Three real worker processes poll 300 feeds from one loopback feed server and
alert to a loopback Slack. The test drives polling cycles by making every
feed due (``UPDATE feeds SET next_poll_at = now()``) and checks, after each,
that every feed was fetched exactly once, and at the end that nothing was
stored, matched or alerted twice. One cycle kills a worker with SIGKILL in
the middle of its work: its leased feeds must be picked up by the others
once the lease lapses, and nothing may be doubled.

A last test checks that SQLite refuses a second worker.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from feedserver import FeedServer
from sqlalchemy import Engine, text

pytestmark = pytest.mark.timeout(180)

FEEDS = 300
WORKERS = 3
FEED_LEASE = 15.0
CHANNEL = "alerts"
RULE_QUERY = "Pentagon OR Kremlin"
ROUTE_DELAY = 0.05  # each feed answers after 50 ms: a cycle lasts long enough to interrupt

# ---- generated feeds ---------------------------------------------------------------------

_SYLLABLES = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]


def _words(rng: random.Random, n: int) -> list[str]:
    """``n`` pseudo-words from a vocabulary of ~500,000: unrelated stories share almost none."""
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(n)]


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    summary: str


def rss(items: list[Item]) -> bytes:
    body = "".join(
        f"<item><guid isPermaLink='false'>{i.guid}</guid><title>{i.title}</title><link>{i.link}</link>"
        f"<description>{i.summary}</description><pubDate>Tue, 14 Feb 2017 09:30:00 GMT</pubDate></item>"
        for i in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Outlet</title>"
        f"<link>http://outlet.example/</link><description>news</description>{body}</channel></rss>"
    ).encode()


def story(rng: random.Random, key: str, *, matching: bool) -> Item:
    """A distinct story; a matching one names the Pentagon or the Kremlin."""
    title_words = _words(rng, 9)
    if matching:
        title_words.insert(rng.randint(0, 8), rng.choice(["Pentagon", "Kremlin"]))
    title = " ".join(title_words).capitalize()
    return Item(guid=key, title=title, link=f"https://news.example/{key}", summary=" ".join(_words(rng, 40)))


def cycle_contents(cycle: int, seed: int = 7) -> dict[int, list[Item]]:
    """Feed index → items for polling cycle ``cycle`` (3–5 items a feed).

    Every feed carries its own stories (one in four matching the rule) and one
    wire story shared by URL with 14 other feeds (one wire story in three
    matches). From cycle 1 on, 10 feeds also carry a near-copy of one agency
    story: a new URL and guid each, one word of the summary edited, which
    must form one cluster and alert once.
    """
    rng = random.Random(seed * 1000 + cycle)
    wire = [story(rng, f"c{cycle}-wire{w}", matching=w % 3 == 0) for w in range(FEEDS // 15)]
    agency = story(rng, f"c{cycle}-agency", matching=True)
    out: dict[int, list[Item]] = {}
    for i in range(FEEDS):
        own = [story(rng, f"c{cycle}-f{i}-s{k}", matching=rng.random() < 0.25) for k in range(rng.randint(2, 3))]
        items = own + [wire[i % len(wire)]]
        if cycle >= 1 and i % 30 == cycle % 30:
            words = agency.summary.split()
            words[i % len(words)] = "reportedly"
            items.append(
                Item(f"c{cycle}-f{i}-copy", agency.title, f"https://outlet{i}.example/{cycle}/copy", " ".join(words))
            )
        out[i] = items
    return out


def serve_cycle(server: FeedServer, cycle: int) -> None:
    for i, items in cycle_contents(cycle).items():
        server.set_route(f"/feed{i}.xml", rss(items), delay=ROUTE_DELAY)


# ---- the workers ---------------------------------------------------------------------------


def write_config(folder: Path, server: FeedServer) -> Path:
    feeds = "".join(f'[[feeds]]\nname = "feed{i}"\nurl = "{server.url(f"/feed{i}.xml")}"\n' for i in range(FEEDS))
    config = folder / "feeds.toml"
    config.write_text(
        "[defaults]\n"
        'interval = "1h"\ndeadline = "5s"\ntimeout = "5s"\nlease = "15s"\nconcurrency = 10\nper_host = 10\n\n'
        "[alerts]\n"
        'lease = "15s"\nchannel_interval = 0\nstorm_limit = 100000\n\n' + feeds
    )
    rules = folder / "rules"
    rules.mkdir()
    (rules / "watch.toml").write_text(f"name = \"Watch\"\nquery = '{RULE_QUERY}'\n")
    return config


@dataclass
class Workers:
    """The worker processes, their ids and their standard error files."""

    folder: Path
    config: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, worker_id: str) -> None:
        err = open(self.folder / f"{worker_id}.stderr", "wb")  # noqa: SIM115 - closed with the process
        self.procs[worker_id] = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(self.config), "run"],
            cwd=self.folder, env={**self.env, "MONITOR_WORKER_ID": worker_id},
            stdout=subprocess.DEVNULL, stderr=err,
        )
        err.close()

    def kill(self, worker_id: str) -> None:
        proc = self.procs[worker_id]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def tails(self, lines: int = 25) -> str:
        out = []
        for worker_id in self.procs:
            path = self.folder / f"{worker_id}.stderr"
            text_ = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            out.append(f"---- {worker_id} (exit {self.procs[worker_id].poll()}) ----\n" + "\n".join(text_))
        return "\n".join(out)

    def assert_alive(self, *except_: str) -> None:
        dead = [w for w, p in self.procs.items() if w not in except_ and p.poll() is not None]
        assert not dead, f"workers died: {dead}\n{self.tails()}"


def worker_env(pg_url: str, slack: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
    env.update(
        MONITOR_DATABASE_URL=pg_url, MONITOR_SLACK_BOT_TOKEN=slack.token, MONITOR_SLACK_API_URL=slack.url,
        MONITOR_SLACK_CHANNEL=CHANNEL, MONITOR_HTTP_ADDRESS="off",
    )
    return env


def wait_for(what: str, predicate: Callable[[], bool], workers: Workers, timeout: float, *dead: str) -> None:
    """Poll ``predicate`` every 50 ms; fail with the workers' stderr when ``timeout`` passes."""
    end = time.monotonic() + timeout
    while not predicate():
        workers.assert_alive(*dead)
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{workers.tails()}")
        time.sleep(0.05)


# ---- database views --------------------------------------------------------------------------


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(engine: Engine, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def polled_since(engine: Engine, mark: object | None) -> int:
    """Feeds polled at or after ``mark`` (None: ever); 0 while the workers are still migrating."""
    if scalar(engine, "SELECT to_regclass('feeds') IS NOT NULL") == 0:
        return 0
    if mark is None:
        return scalar(engine, "SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL")
    return scalar(engine, "SELECT count(*) FROM feeds WHERE last_polled_at >= :m", m=mark)


def make_all_due(engine: Engine) -> object:
    """Make every feed due now; returns the database's ``now()`` (the cycle's start mark)."""
    with engine.begin() as conn:
        mark = conn.execute(text("SELECT now()")).scalar_one()
        conn.execute(text("UPDATE feeds SET next_poll_at = now()"))
    return mark


def hits_per_feed(server: FeedServer) -> Counter[int]:
    return Counter({int(p.removeprefix("/feed").removesuffix(".xml")): n for p, n in server.hits.items()})


def message_titles(slack: FakeSlack) -> Counter[str]:
    """Titles of the top-level alerts in Slack (thread replies are follow-ups, left out)."""
    titles: Counter[str] = Counter()
    for m in slack.messages:
        if m.get("thread_ts"):
            continue
        header = next(b for b in m["blocks"] if b["type"] == "header")
        titles[header["text"]["text"]] += 1
    return titles


def sent_titles(engine: Engine) -> Counter[str]:
    return Counter(
        r[0] for r in rows(engine, "SELECT s.title FROM deliveries d JOIN stories s ON s.id = d.story_id WHERE d.status = 'sent'")
    )


def assert_nothing_doubled(engine: Engine) -> None:
    checks = {
        "stories per url_key": "SELECT url_key FROM stories GROUP BY url_key HAVING count(*) > 1",
        "stories per url": "SELECT url FROM stories GROUP BY url HAVING count(*) > 1",
        "sightings per (feed, entry_key)": "SELECT feed_id, entry_key FROM sightings GROUP BY 1, 2 HAVING count(*) > 1",
        "matches per (rule, cluster)": "SELECT rule_id, cluster_id FROM matches GROUP BY 1, 2 HAVING count(*) > 1",
        "deliveries per (rule, cluster, destination)":
            "SELECT rule_id, cluster_id, destination FROM deliveries GROUP BY 1, 2, 3 HAVING count(*) > 1",
        "deliveries per (rule, story)": "SELECT rule_id, story_id FROM deliveries GROUP BY 1, 2 HAVING count(*) > 1",
    }
    for what, sql in checks.items():
        assert rows(engine, sql) == [], f"doubled {what}"


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    from monitor.db import make_engine

    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(channels=(CHANNEL,)) as fake:
        yield fake


# ---- the tests -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_it_shares_polling_among_three_workers_and_survives_one_killed_mid_cycle(
    tmp_path: Path, pg_url: str, pg_engine: Engine, feed_server: FeedServer, slack: FakeSlack
) -> None:
    config = write_config(tmp_path, feed_server)
    serve_cycle(feed_server, 0)
    env = worker_env(pg_url, slack)
    # No `monitor db upgrade` first: the workers migrate and sync concurrently on start.
    workers = Workers(tmp_path, config, env)
    try:
        for n in range(WORKERS):
            workers.start(f"w{n}")

        # Cycle 0: the backlog (first poll of every feed, stored silently).
        wait_for("the backlog poll of every feed", lambda: polled_since(pg_engine, None) == FEEDS, workers, 40)
        hits = hits_per_feed(feed_server)
        assert sorted(hits) == list(range(FEEDS)) and set(hits.values()) == {1}, hits
        assert scalar(pg_engine, "SELECT count(*) FROM deliveries") == 0, "the backlog alerted"
        owners = rows(pg_engine, "SELECT DISTINCT lease_owner FROM feeds WHERE lease_owner IS NOT NULL")
        assert owners == [], "leases left behind"

        # Cycles 1 and 2: new contents, every feed made due from outside.
        for cycle in (1, 2):
            serve_cycle(feed_server, cycle)
            mark = make_all_due(pg_engine)
            wait_for(f"cycle {cycle}", lambda: polled_since(pg_engine, mark) == FEEDS, workers, 30)
            hits = hits_per_feed(feed_server)
            assert set(hits.values()) == {cycle + 1}, {i: n for i, n in hits.items() if n != cycle + 1}
            assert scalar(pg_engine, "SELECT count(*) FROM feeds WHERE last_status <> 'ok'") == 0
        delivered = scalar(pg_engine, "SELECT count(*) FROM deliveries")
        assert delivered > 0
        # The near-copies of one agency story (10 feeds, 10 URLs) form one cluster a cycle.
        assert rows(
            pg_engine,
            "SELECT count(DISTINCT cluster_id), count(*) FROM stories WHERE url LIKE 'https://outlet%/copy' GROUP BY split_part(url, '/', 4)",
        ) == [(1, 10), (1, 10)]

        # Cycle 3: kill the busiest worker once it has fetched part of its batch.
        serve_cycle(feed_server, 3)
        before = hits_per_feed(feed_server)
        mark = make_all_due(pg_engine)
        busiest: list[str] = []

        def a_worker_is_mid_batch() -> bool:
            fetched = sum(hits_per_feed(feed_server).values()) - sum(before.values())
            if fetched < 20:
                return False
            busiest[:] = [r[0] for r in rows(
                pg_engine,
                "SELECT lease_owner FROM feeds WHERE lease_owner IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            )]
            return bool(busiest)

        wait_for("a worker holding leases after fetching some of them", a_worker_is_mid_batch, workers, 20)
        victim = busiest[0]
        workers.kill(victim)
        time.sleep(0.2)  # the server notices the closed connections; their open transactions roll back
        orphaned = {
            int(r[0].removeprefix("feed"))
            for r in rows(pg_engine, "SELECT name FROM feeds WHERE lease_owner = :w", w=victim)
        }
        assert orphaned, "the victim held no lease when killed: the kill was not mid-cycle"
        wait_for(
            "the survivors to poll every feed, the orphaned ones after their lease lapses",
            lambda: polled_since(pg_engine, mark) == FEEDS, workers, FEED_LEASE + 25, victim,
        )
        after = hits_per_feed(feed_server)
        this_cycle = {i: after[i] - before[i] for i in range(FEEDS)}
        for i, n in this_cycle.items():
            if i in orphaned:
                assert 1 <= n <= 2, f"feed{i} (leased by the dead worker) fetched {n} times"
            else:
                assert n == 1, f"feed{i} fetched {n} times"
        assert rows(pg_engine, "SELECT name FROM feeds WHERE lease_owner IS NOT NULL") == []
        refetched = sum(1 for i in orphaned if this_cycle[i] == 2)
        print(f"killed {victim} holding {len(orphaned)} leases; {refetched} of those feeds had been fetched by it")

        # Every alert goes out exactly once, from whichever worker claims it.
        wait_for(
            "every delivery to be sent",
            lambda: scalar(pg_engine, "SELECT count(*) FROM deliveries WHERE status <> 'sent'") == 0,
            workers, FEED_LEASE + 25, victim,
        )
        assert_nothing_doubled(pg_engine)
        assert message_titles(slack) == sent_titles(pg_engine)
        assert sum(message_titles(slack).values()) == scalar(pg_engine, "SELECT count(*) FROM deliveries") > delivered
        assert slack.violations == []
        print(f"{sum(message_titles(slack).values())} alerts, {len(slack.messages)} Slack messages with follow-ups")
        workers.assert_alive(victim)
    except BaseException:
        print(workers.tails(60))
        raise
    finally:
        workers.stop_all()


def test_it_refuses_a_second_worker_on_the_same_sqlite_database(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.set_route("/feed.xml", rss([]))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "watch.toml").write_text(f"name = \"Watch\"\nquery = '{RULE_QUERY}'\n")
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feeds]]\nname = "feed"\nurl = "{feed_server.url("/feed.xml")}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
    env.update(MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'monitor.db'}", MONITOR_HTTP_ADDRESS="off")
    workers = Workers(tmp_path, config, env)
    try:
        workers.start("first")
        lock = tmp_path / "monitor.db.lock"
        wait_for("the first worker's lock", lambda: lock.exists() and lock.read_text().startswith("pid"), workers, 20)
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
        )
        assert second.returncode != 0
        assert "SQLite" in second.stderr and "PostgreSQL" in second.stderr, second.stderr
        workers.assert_alive()
    finally:
        workers.stop_all()


# ---- three workers on one host, default settings ------------------------------------------------

HOST_FEEDS = 60
HOST_INTERVAL = 6.0  # seconds (feed i: HOST_INTERVAL + i % 6, so feeds fall due at different times)
HOST_TICK = 5.0 * 1.5  # the service looks for due feeds every 5 s, each look up to 2.5 s late


def host_items(i: int, round_: int) -> list[Item]:
    """Feed ``i``'s items after ``round_`` rounds of news: one new story a round, every tenth one matching
    (12 alerts in two rounds: under the default storm limit of 20 a rule an hour)."""
    return [story(random.Random(i * 100 + r), f"h{i}-r{r}", matching=(i + r) % 10 == 0) for r in range(round_ + 1)]


@pytest.mark.postgres
@pytest.mark.slow
def test_three_monitor_runs_on_one_host_with_default_settings_all_poll_and_alert_once(
    tmp_path: Path, pg_url: str, pg_engine: Engine, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """What an operator first tries: three ``monitor run`` on one machine, one PostgreSQL, nothing else set.

    Only one can have the default HTTP address; the others warn once and poll
    anyway. Each feed is fetched about once per interval (not three times),
    and every matching story alerts once, paced at the default one message
    a second to the channel.
    """
    for i in range(HOST_FEEDS):
        feed_server.set_route(f"/feed{i}.xml", rss(host_items(i, 0)))
    feeds = "".join(
        f'[[feeds]]\nname = "feed{i}"\nurl = "{feed_server.url(f"/feed{i}.xml")}"\ninterval = "{HOST_INTERVAL + i % 6:g}s"\n'
        for i in range(HOST_FEEDS)
    )
    config = tmp_path / "feeds.toml"
    config.write_text(feeds)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "watch.toml").write_text(f"name = \"Watch\"\nquery = '{RULE_QUERY}'\n")
    env = worker_env(pg_url, slack)
    del env["MONITOR_HTTP_ADDRESS"]  # the default, 127.0.0.1:8787, for all three
    workers = Workers(tmp_path, config, env)
    try:
        for n in range(WORKERS):
            workers.start(f"w{n}")
        wait_for("the backlog poll of every feed", lambda: polled_since(pg_engine, None) == HOST_FEEDS, workers, 40)
        start, before = time.monotonic(), hits_per_feed(feed_server)

        # two rounds of news, HOST_INTERVAL apart; the new matching stories must each alert once
        for round_ in (1, 2):
            for i in range(HOST_FEEDS):
                feed_server.set_route(f"/feed{i}.xml", rss(host_items(i, round_)))
            time.sleep(HOST_INTERVAL)
        expected = {host_items(i, 2)[r].title for i in range(HOST_FEEDS) for r in (1, 2) if (i + r) % 10 == 0}
        assert len(expected) == 12
        wait_for(
            "every new matching story to alert",
            lambda: set(message_titles(slack)) >= expected, workers, 4 * HOST_INTERVAL + 30,
        )
        time.sleep(2 * HOST_INTERVAL)  # a few more polling cycles, all 304s, before counting who polled
        elapsed, after = time.monotonic() - start, hits_per_feed(feed_server)
        workers.assert_alive()

        # every story alerted once; nothing from the backlog
        assert message_titles(slack) == Counter({t: 1 for t in expected}), message_titles(slack)
        assert_nothing_doubled(pg_engine)
        assert slack.violations == []
        # each feed about once per interval: at most one fetch per interval, and none skipped for long
        for i in range(HOST_FEEDS):
            n = after[i] - before[i]
            interval = HOST_INTERVAL + i % 6  # a feed is due after its interval, found at the next tick
            assert elapsed / (interval + HOST_TICK) - 1 <= n <= elapsed / interval + 1, (i, n, elapsed)
        # all three polled (feeds fall due at different times and each tick takes what is due),
        # and all but (at most) one run without the endpoint they could not have
        logs = {w: (tmp_path / f"{w}.stderr").read_text(errors="replace") for w in workers.procs}
        for w, log_text in logs.items():
            assert "polled feed=" in log_text or "poll: " in log_text, f"{w} never polled\n{workers.tails()}"
        warned = [w for w, log_text in logs.items() if "127.0.0.1:8787 is taken" in log_text]
        assert len(warned) >= WORKERS - 1, workers.tails()
        assert all(logs[w].count("is taken") == 1 for w in warned)
    except BaseException:
        print(workers.tails(60))
        raise
    finally:
        workers.stop_all()


# ---- monitor run --workers N -------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int, path: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def polls_total(text_: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        s.value for f in text_string_to_metric_families(text_) for s in f.samples if s.name == "monitor_polls_total"
    )


@pytest.mark.postgres
def test_monitor_run_workers_starts_n_workers_behind_one_endpoint_with_summed_metrics(
    tmp_path: Path, pg_url: str, feed_server: FeedServer
) -> None:
    import re

    feeds_n = 20
    for i in range(feeds_n):
        feed_server.set_route(f"/feed{i}.xml", rss([story(random.Random(i), f"w{i}", matching=False)]), delay=0.05)
    config = tmp_path / "feeds.toml"
    config.write_text(
        "[defaults]\nconcurrency = 2\nper_host = 2\n\n"
        + "".join(f'[[feeds]]\nname = "feed{i}"\nurl = "{feed_server.url(f"/feed{i}.xml")}"\n' for i in range(feeds_n))
    )
    (tmp_path / "rules").mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(MONITOR_DATABASE_URL=pg_url, MONITOR_HTTP_ADDRESS=f"127.0.0.1:{port}")
    err_path = tmp_path / "parent.stderr"
    with open(err_path, "wb") as err:
        parent = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run", "--workers", "2"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )

    def log_text() -> str:
        return err_path.read_text(errors="replace")

    def worker_pids() -> dict[int, int]:
        return {int(n): int(p) for n, p in re.findall(r"worker (\d+) running \(pid (\d+)\)", log_text())}

    def wait(what: str, predicate: Callable[[], bool], timeout: float = 40) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            assert parent.poll() is None, f"the parent exited ({parent.returncode})\n{log_text()[-3000:]}"
            if time.monotonic() > end:
                pytest.fail(f"timed out waiting for {what}\n{log_text()[-3000:]}")
            time.sleep(0.1)

    try:
        wait("every feed polled, counted in the parent's /metrics", lambda: polls_total(scrape(port, "/metrics")[1]) == feeds_n)
        pids = worker_pids()
        assert sorted(pids) == [0, 1] and len(set(pids.values())) == 2
        assert scrape(port, "/healthz") == (200, "ok\n")
        # the database gauges, read by the parent (cached for 5 s)
        wait("the database gauges", lambda: 'monitor_feeds{state="enabled"} 20.0' in scrape(port, "/metrics")[1], 15)
        assert "monitor_db_up 1.0" in scrape(port, "/metrics")[1]
        assert "is taken" not in log_text()  # the workers serve nothing, so nothing clashes

        # a worker that dies is started again
        os.kill(pids[1], signal.SIGKILL)
        wait("worker 1 started again", lambda: worker_pids().get(1) not in (None, pids[1]))
        wait("healthy again", lambda: scrape(port, "/healthz")[0] == 200)

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0, log_text()[-3000:]
        for pid in worker_pids().values():
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def test_monitor_run_workers_refuses_sqlite(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "feeds.toml").write_text("# none\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'monitor.db'}", MONITOR_HTTP_ADDRESS="off")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(tmp_path / "feeds.toml"), "run", "--workers", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "--workers 3 needs PostgreSQL" in done.stderr
