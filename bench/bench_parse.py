"""Parse speed: feedparser against the lxml fast path, with agreement counts.

    python bench/bench_parse.py [--feeds N] [--rounds R]

For the test corpus (tests/testdata/feeds, every readable XML feed) and for N
generated news feeds (bench/feedgen.py), it prints items/s for

- ``feedparser``: ``parse_feed(..., fast=False)``, the reference;
- ``parse_feed``: the default, fast path first, feedparser when it refuses;
- ``fast path``: :func:`monitor.reader.fastparse.parse_fast` alone, on the feeds it takes;

(the median of R rounds), and how many feeds the fast path takes and how many
of their entries normalize into exactly the feedparser path's stories.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from feedgen import FeedSet  # noqa: E402

from monitor.reader.fastparse import parse_fast  # noqa: E402
from monitor.reader.normalize import normalize  # noqa: E402
from monitor.reader.parse import feed_date, parse_feed  # noqa: E402

FEEDS = ROOT / "tests" / "testdata" / "feeds"
SEEN = datetime(2017, 1, 24, 7, 0, tzinfo=timezone.utc)

Body = tuple[str, bytes, str, str]  # (name, body, content type, url)


def corpus() -> list[Body]:
    manifest = json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))
    return [
        (m["file"], (FEEDS / m["file"]).read_bytes(), m["content_type"], "http://127.0.0.1:8000/feeds/" + m["file"])
        for m in manifest
        if m["expect"] == "ok" and not m["file"].endswith(".json")
    ]


def generated(n: int) -> list[Body]:
    feeds = FeedSet(n, seed=3)
    return [(f"gen{i}", feeds.full(i), "application/rss+xml", f"https://outlet{i}.example/rss") for i in range(n)]


def fast(body: Body):
    _, data, content_type, url = body
    return parse_fast(data, url=url, headers={"content-type": content_type, "content-location": url},
                      parse_date=feed_date)


def timed(bodies: list[Body], parse: Callable[[Body], object], rounds: int) -> float:
    """Median seconds for one pass over ``bodies``."""
    runs = []
    for _ in range(rounds):
        start = time.perf_counter()
        for body in bodies:
            parse(body)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def agreement(bodies: list[Body]) -> tuple[int, int, int, int]:
    """(feeds taken, entries taken, entries whose stories agree, entries in all feeds)."""
    taken = entries = agree = total = 0
    for name, data, content_type, url in bodies:
        reference = parse_feed(data, url=url, headers={"Content-Type": content_type}, fast=False)
        total += len(reference.entries)
        mine = fast((name, data, content_type, url))
        if mine is None:
            continue
        taken += 1
        entries += len(mine.entries)
        args = {"feed_name": "f", "feed_url": url, "seen_at": SEEN}
        for a, b in zip(mine.entries, reference.entries):
            agree += normalize(a, feed=mine, **args) == normalize(b, feed=reference, **args)
    return taken, entries, agree, total


def row(label: str, bodies: list[Body], rounds: int) -> None:
    taken_bodies = [b for b in bodies if fast(b) is not None]
    items = sum(len(parse_feed(d, url=u, headers={"Content-Type": c}, fast=False).entries) for _, d, c, u in bodies)
    taken_items = sum(len(fast(b).entries) for b in taken_bodies)
    reference = timed(bodies, lambda b: parse_feed(b[1], url=b[3], headers={"Content-Type": b[2]}, fast=False), rounds)
    default = timed(bodies, lambda b: parse_feed(b[1], url=b[3], headers={"Content-Type": b[2]}), rounds)
    fast_only = timed(taken_bodies, fast, rounds)
    fp_on_taken = timed(
        taken_bodies, lambda b: parse_feed(b[1], url=b[3], headers={"Content-Type": b[2]}, fast=False), rounds
    )
    taken, entries, agree, total = agreement(bodies)
    print(f"{label:<22} {len(bodies):>5} {items:>6} {items / reference:>12,.0f} {items / default:>12,.0f} "
          f"{taken_items / fp_on_taken:>14,.0f} {taken_items / fast_only:>12,.0f} {fp_on_taken / fast_only:>7.1f}x "
          f"{taken:>3}/{len(bodies):<3} {agree:>5}/{entries:<5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=100, help="generated feeds (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds, median shown (default 5)")
    args = parser.parse_args()
    print("items/s (median of %d rounds); 'taken' = feeds the fast path takes; 'agree' = entries whose "
          "normalized Story equals feedparser's" % args.rounds)
    print(f"{'set':<22} {'feeds':>5} {'items':>6} {'feedparser':>12} {'parse_feed':>12} "
          f"{'fp on taken':>14} {'fast path':>12} {'speedup':>8} {'taken':>7} {'agree':>11}")
    row("test corpus (XML)", corpus(), args.rounds)
    row(f"generated ({args.feeds})", generated(args.feeds), args.rounds)


if __name__ == "__main__":
    main()
