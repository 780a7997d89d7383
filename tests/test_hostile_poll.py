"""One ``monitor poll --once --all`` over healthy feeds and every kind of hostile host.

The command runs as a subprocess (as an operator runs it) against a local
``FeedServer`` and a few raw sockets on 127.0.0.1. One pass must finish within
the deadline's bounds, store the healthy feeds' stories, record a clear error
on every hostile feed, keep every file and internal address out of what it
prints and stores, and stay within a modest amount of memory.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer

FEEDS = Path(__file__).parent / "testdata" / "feeds"
DEADLINE = 3.0
MAX_BODY = 2 * 1024 * 1024
PASSWD_MARK = "root:x:0:0"
METADATA = "169.254.169.254"

HEALTHY = {
    "rt": "/rt_news.rss",
    "guardian": "/guardian_world.rss",
    "dw": "/dw_news.rdf",
    "warontherocks": "/warontherocks.json",
    "ria": "/ria_windows1251.rss",
}


@dataclass(frozen=True)
class Hostile:
    """A hostile feed: its name, URL, and words its ``last_error`` must contain (any one of each tuple)."""

    name: str
    url: str
    expect: tuple[tuple[str, ...], ...]


@dataclass
class PollRun:
    hostile: list[Hostile]
    out: str
    err: str
    code: int
    wall: float
    peak_rss_mb: float
    feeds: dict[str, dict[str, object]]
    feeds_out: str
    stories: list[tuple[object, ...]]


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _monitor(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


_PEAK_WRAPPER = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def _peak():
    with open("/proc/self/status") as status, open(out, "w") as f:
        f.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
sys.argv[0] = "monitor"
runpy.run_module("monitor", run_name="__main__")
"""


def _monitor_peak(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``monitor ARGS`` and return its result with the peak RSS (KiB) of that process alone.

    ``getrusage``'s ``ru_maxrss`` is no measure here: Linux carries the forking
    process's high-water mark across ``fork`` and ``exec``, so a child of a test
    process that has grown reports the test process's size. ``VmHWM`` in
    ``/proc/self/status`` belongs to the child's own address space; the child
    writes it at exit."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peak"
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_WRAPPER, str(out), *args], cwd=cwd, env=env, capture_output=True,
            text=True, timeout=timeout,
        )
        return done, int(out.read_text()) if out.exists() else 0


def _feeds_toml(feeds: dict[str, str]) -> str:
    lines = [
        "[defaults]",
        f'deadline = "{DEADLINE:g}s"',
        'timeout = "2s"',
        f"max_body_size = {MAX_BODY}",
        "per_host = 30",
        "",
    ]
    for name, url in feeds.items():
        lines += ["[[feeds]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def poll_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PollRun]:
    """Run the hostile poll once for the whole module; every test reads its results."""
    tmp = tmp_path_factory.mktemp("hostile")
    silent = socket.socket()  # accepts connections (in the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with FeedServer(directory=FEEDS) as server:
        # windows-1251 bytes served as UTF-8 (links moved so its stories are its own)
        windows_1251 = (FEEDS / "ria_windows1251.rss").read_bytes().replace(b"https://ria.ru/", b"https://ria.example/")
        server.set_route("/charset-lie.rss", body=windows_1251, content_type="application/rss+xml; charset=utf-8")
        server.error("/e500", 500)
        server.error("/e429", 429, retry_after=120)
        server.redirect_loop("/loop-a", "/loop-b")
        server.redirect("/to-file", "file:///etc/passwd")
        server.redirect("/to-metadata", f"http://{METADATA}/latest/meta-data/")
        server.drip("/drip", interval=1.0, size=1000)
        server.endless("/endless")
        server.gzip_bomb("/bomb", size=1 << 30)
        server.huge("/huge", size=50 * 1024 * 1024, declare_length=False)
        silent_port = silent.getsockname()[1]
        hostile = [
            Hostile("dns", "http://nonexistent.invalid/feed.xml", (("resolve",), ("nonexistent.invalid",))),
            Hostile("refused", f"http://127.0.0.1:{_closed_port()}/feed.xml", (("refused",),)),
            Hostile("silent", f"http://127.0.0.1:{silent_port}/feed.xml", (("timeout", "deadline"),)),
            Hostile("drip", server.url("/drip"), (("deadline", "timeout"),)),
            Hostile("e500", server.url("/e500"), (("500",),)),
            Hostile("e429", server.url("/e429"), (("429",),)),
            Hostile("loop", server.url("/loop-a"), (("redirect loop",),)),
            Hostile("to-file", server.url("/to-file"), (("scheme",), ("file",))),
            Hostile("to-metadata", server.url("/to-metadata"), (("refusing",), ("link-local",))),
            Hostile("endless", server.url("/endless"), (("larger than", "deadline"),)),
            Hostile("bomb", server.url("/bomb"), (("larger than",),)),
            Hostile("huge", server.url("/huge"), (("larger than", "deadline"),)),
            Hostile("html", server.url("/html_page.html"), (("parse",),)),
            Hostile("garbage", server.url("/garbage.bin"), (("parse",),)),
            Hostile("empty", server.url("/empty.xml"), (("parse",),)),
            Hostile("metadata", f"http://{METADATA}/latest/meta-data/", (("refusing",), ("link-local",))),
        ]
        # hostile bodies that parse without harm: they must end "ok" with nothing leaked
        harmless = {
            "billion-laughs": server.url("/billion_laughs.xml"),
            "xxe": server.url("/xxe_passwd.xml"),
            "charset-lie": server.url("/charset-lie.rss"),
            "encoding-lie": server.url("/encoding_lie.rss"),
            "hostile-titles": server.url("/hostile_titles.rss"),
        }
        feeds = {name: server.url(path) for name, path in HEALTHY.items()}
        feeds.update(harmless)
        feeds.update({h.name: h.url for h in hostile})
        (tmp / "feeds.toml").write_text(_feeds_toml(feeds), encoding="utf-8")
        (tmp / "rules").mkdir()
        (tmp / "rules" / "pentagon.toml").write_text('name = "Pentagon"\nquery = \'Pentagon OR Kremlin\'\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
        env.update(MONITOR_DATABASE_URL=f"sqlite:///{tmp / 'monitor.db'}", MONITOR_HTTP_ADDRESS="off")
        started = time.monotonic()
        done, peak_kb = _monitor_peak(["poll", "--once", "--all"], tmp, env)
        wall = time.monotonic() - started
    silent.close()
    listing = _monitor(["feeds", "--json"], tmp, env)
    assert listing.returncode == 0, listing.stderr
    rows = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    with sqlite3.connect(tmp / "monitor.db") as conn:
        stories = conn.execute("SELECT * FROM stories").fetchall()
    yield PollRun(
        hostile=hostile, out=done.stdout, err=done.stderr, code=done.returncode, wall=wall,
        peak_rss_mb=peak_kb / 1024, feeds={r["name"]: r for r in rows},
        feeds_out=listing.stdout + listing.stderr, stories=stories,
    )


def test_it_exits_0_although_many_feeds_failed(poll_run: PollRun) -> None:
    assert poll_run.code == 0, poll_run.err[-3000:]
    assert f"{len(poll_run.hostile)} failed" in poll_run.out


@pytest.mark.parametrize("name", [*HEALTHY, "billion-laughs", "xxe", "charset-lie", "encoding-lie", "hostile-titles"])
def test_it_completes_every_healthy_feed(poll_run: PollRun, name: str) -> None:
    row = poll_run.feeds[name]
    assert row["last_status"] == "ok", row
    # a body feedparser had to repair keeps its entries and says so, as a warning
    assert row["last_error"] is None or row["last_error"].startswith("parse warning (entries kept)"), row
    assert row["entries"] >= 1 and row["stories"] >= 1, row


def test_it_records_a_clear_error_on_every_hostile_feed(poll_run: PollRun) -> None:
    unclear = {}
    for h in poll_run.hostile:
        row = poll_run.feeds[h.name]
        error = str(row["last_error"] or "")
        ok = row["last_status"] == "error" and error.startswith(("fetch: ", "parse: ")) and row["error_count"] == 1
        ok = ok and all(any(word in error.lower() for word in group) for group in h.expect)
        if not ok:
            unclear[h.name] = (row["last_status"], error)
    assert not unclear, unclear


def test_it_waits_as_long_as_retry_after_asks(poll_run: PollRun) -> None:
    row = poll_run.feeds["e429"]
    polled = datetime.fromisoformat(str(row["last_polled_at"]))
    next_poll = datetime.fromisoformat(str(row["next_poll_at"]))
    assert next_poll - polled >= timedelta(seconds=120)


def test_it_names_each_failed_feed_in_the_summary(poll_run: PollRun) -> None:
    failed = {line.split(": ", 2)[1] for line in poll_run.out.splitlines() if line.startswith("  failed: ")}
    assert failed == {h.name for h in poll_run.hostile}


def test_it_never_leaks_file_contents(poll_run: PollRun) -> None:
    assert PASSWD_MARK not in poll_run.out
    assert PASSWD_MARK not in poll_run.err
    assert PASSWD_MARK not in poll_run.feeds_out
    assert not [s for s in poll_run.stories if PASSWD_MARK in repr(s)]


def test_it_never_mentions_the_metadata_address_outside_its_own_feeds(poll_run: PollRun) -> None:
    own = {"metadata", "to-metadata"}
    assert not [s for s in poll_run.stories if METADATA in repr(s)]
    for name, row in poll_run.feeds.items():
        if name not in own:
            assert METADATA not in json.dumps(row), name
    for line in (poll_run.out + poll_run.err).splitlines():
        if METADATA in line:
            assert any(f"feed={n}" in line or f"failed: {n}:" in line for n in own), line


def test_it_finishes_within_the_deadlines_bounds(poll_run: PollRun) -> None:
    # every fetch is bounded by the deadline and they run concurrently: a few
    # deadlines plus interpreter start-up and parsing is the most one pass may take
    assert poll_run.wall < DEADLINE * 4 + 15, poll_run.wall


def test_it_stays_under_400_mb_of_memory(poll_run: PollRun) -> None:
    print(f"hostile poll: wall {poll_run.wall:.1f}s, peak RSS {poll_run.peak_rss_mb:.0f} MB")
    assert poll_run.peak_rss_mb < 400, poll_run.peak_rss_mb
