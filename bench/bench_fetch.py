"""How fast can the fetch step pull feeds from a loopback server, and at what CPU cost?

    python bench/bench_fetch.py                  # 200 feeds x 5 polls, concurrency 50, 3 rounds
    python bench/bench_fetch.py --feeds 100 --polls 3 --rounds 5 --concurrency 20

The feed server (tests/feedserver.py) runs in a separate process so that the
client's CPU time (``time.process_time`` of this process) measures the client
alone. Each variant fetches every feed ``polls`` times, all scheduled at once
and capped at ``--concurrency`` in flight, and the table shows the median of
the rounds:

* ``httpx client.get (naive)``: one shared ``httpx.AsyncClient``, plain
  ``get`` with a semaphore, no limits, no guard.
* ``aiohttp session.get (naive)``: the same over one ``aiohttp.ClientSession``
  (the floor: what the fetcher's own connections cost with nothing around them).
* ``Fetcher``: ``monitor.reader.fetch.Fetcher`` with the session it makes
  (guarded connections, streamed body with size cap, manual redirects).
* ``Fetcher (injected session)``: the Fetcher over a plain ``aiohttp.ClientSession``;
  then it checks the address guard before each request, which adds one
  resolver call a fetch.

Half the polls send the ETag from the first poll, so the run mixes 200s and 304s
the way steady-state polling does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from monitor.reader.fetch import Fetcher, FetchLimits, Validators  # noqa: E402

FEED_ITEM = (
    "<item><title>Russia says it coordinated Syria strikes with US; Pentagon denies</title>"
    "<link>https://news.example/world/{n}</link><guid>{n}</guid>"
    "<description>Moscow said its jets struck targets in coordination with the US-led "
    "coalition; the Pentagon said no such coordination took place.</description></item>"
)


def serve(feeds: int) -> None:
    """Run the feed server with ``feeds`` routes until standard input closes."""
    from feedserver import FeedServer

    with FeedServer() as server:
        for i in range(feeds):
            items = "".join(FEED_ITEM.format(n=i * 100 + k) for k in range(20))
            server.set_route(f"/feed{i}.xml", f"<rss version='2.0'><channel>{items}</channel></rss>")
        print(server.port, flush=True)
        sys.stdin.read()


Job = Callable[[str, str | None], Awaitable[str | None]]


async def run_round(job: Job, urls: list[str], polls: int) -> tuple[int, float, float]:
    """Fetch every URL ``polls`` times; return (fetches, wall seconds, CPU seconds)."""
    etags: dict[str, str | None] = {url: None for url in urls}
    wall, cpu = time.perf_counter(), time.process_time()
    for poll in range(polls):
        conditional = poll % 2 == 1
        results = await asyncio.gather(*(job(url, etags[url] if conditional else None) for url in urls))
        if poll == 0:
            etags = dict(zip(urls, results))
    return len(urls) * polls, time.perf_counter() - wall, time.process_time() - cpu


def naive_job(client: httpx.AsyncClient, concurrency: int) -> Job:
    gate = asyncio.Semaphore(concurrency)

    async def job(url: str, etag: str | None) -> str | None:
        async with gate:
            headers = {"If-None-Match": etag} if etag else {}
            response = await client.get(url, headers=headers)
            response.raise_for_status() if response.status_code != 304 else None
            return response.headers.get("etag")

    return job


def aiohttp_job(session: aiohttp.ClientSession, concurrency: int) -> Job:
    gate = asyncio.Semaphore(concurrency)

    async def job(url: str, etag: str | None) -> str | None:
        async with gate, session.get(url, headers={"If-None-Match": etag} if etag else {}) as response:
            await response.read()
            response.raise_for_status() if response.status != 304 else None
            return response.headers.get("etag")

    return job


def fetcher_job(fetcher: Fetcher) -> Job:
    async def job(url: str, etag: str | None) -> str | None:
        return (await fetcher.fetch(url, Validators(etag=etag))).etag

    return job


async def variant(name: str, urls: list[str], args: argparse.Namespace) -> tuple[int, float, float]:
    fetch_limits = FetchLimits()
    if name == "httpx client.get (naive)":
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
            return await run_round(naive_job(client, args.concurrency), urls, args.polls)
    if name == "Fetcher":
        async with Fetcher(fetch_limits, concurrency=args.concurrency, per_host=args.concurrency) as fetcher:
            return await run_round(fetcher_job(fetcher), urls, args.polls)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        if name == "aiohttp session.get (naive)":
            return await run_round(aiohttp_job(session, args.concurrency), urls, args.polls)
        async with Fetcher(
            fetch_limits, client=session, concurrency=args.concurrency, per_host=args.concurrency
        ) as fetcher:
            return await run_round(fetcher_job(fetcher), urls, args.polls)


VARIANTS = [
    "httpx client.get (naive)",
    "aiohttp session.get (naive)",
    "Fetcher",
    "Fetcher (injected session)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.feeds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        urls = [f"http://127.0.0.1:{port}/feed{i}.xml" for i in range(args.feeds)]
        print(f"{args.feeds} feeds x {args.polls} polls, concurrency {args.concurrency}, "
              f"median of {args.rounds} rounds; server in its own process\n")
        print(f"{'variant':<30} {'fetches/s':>10} {'client CPU ms/fetch':>20}")
        print("-" * 62)
        for name in VARIANTS:
            done = [asyncio.run(variant(name, urls, args)) for _ in range(args.rounds)]
            rate = statistics.median(n / wall for n, wall, _ in done)
            cpu_ms = statistics.median(cpu / n * 1000 for n, _, cpu in done)
            print(f"{name:<30} {rate:>10.0f} {cpu_ms:>20.2f}")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
