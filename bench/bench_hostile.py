"""Peak memory and time of fetching hostile bodies: the bounded fetcher against a naive read.

Each case runs in a fresh child process so its peak RSS is its own. The
bounded side is ``monitor.reader.fetch.Fetcher`` with a 2 MB cap and a 3 s deadline;
the naive side is ``httpx.get`` reading the whole body (decompressed) with a
20 s timeout, as a feed reader without limits would. The bomb and the huge
body are kept small enough (256 MiB) that the naive side survives to be
measured.

    .venv/bin/python bench/bench_hostile.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from feedserver import FeedServer  # noqa: E402

CHILD = r"""
import asyncio, json, resource, sys, time
mode, url = sys.argv[1], sys.argv[2]
started = time.perf_counter()
outcome = "ok"
if mode == "bounded":
    from monitor.errors import FetchError
    from monitor.reader import Fetcher, FetchLimits

    async def go():
        async with Fetcher(FetchLimits(deadline=3, read_timeout=2, connect_timeout=2, max_bytes=2 * 1024 * 1024)) as f:
            return await f.fetch(url)
    try:
        size = len(asyncio.run(go()).body)
        outcome = f"{size / 1048576:.0f} MiB read"
    except FetchError as exc:
        outcome = str(exc).split(" at ")[0].split(" for ")[0][:40]
else:
    import httpx
    try:
        size = len(httpx.get(url, timeout=20).content)
        outcome = f"{size / 1048576:.0f} MiB read"
    except Exception as exc:
        outcome = type(exc).__name__
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "outcome": outcome}))
"""


def run(mode: str, url: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, url], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if done.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "outcome": f"crashed ({done.returncode})"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with FeedServer() as server:
        server.gzip_bomb("/bomb", size=256 << 20)
        server.huge("/huge", size=256 << 20, declare_length=False)
        server.drip("/drip", interval=1.0, size=10)
        server.set_route("/small", b"<rss><channel><title>t</title></channel></rss>")
        cases = [("gzip bomb (256 MiB)", "/bomb"), ("huge body (256 MiB)", "/huge"), ("drip 1 B/s (10 B)", "/drip"),
                 ("small feed", "/small")]
        print(f"{'case':22} {'side':8} {'seconds':>8} {'peak MB':>8}  outcome")
        for label, path in cases:
            for mode in ("bounded", "naive"):
                r = run(mode, server.url(path))
                print(f"{label:22} {mode:8} {r['seconds']:8.2f} {r['peak_mb']:8.0f}  {r['outcome']}")
    # the whole hostile poll, as tests/test_hostile_poll.py runs it
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_hostile_poll.py"),
         "-k", "memory", "-s"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    line = next((l[l.index("hostile poll:"):] for l in done.stdout.splitlines() if "hostile poll:" in l), "hostile poll: not measured")
    print(f"\n{line} (one `monitor poll --once --all` over 10 healthy and 16 hostile feeds; pytest run {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
