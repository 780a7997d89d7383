"""End-to-end polling speed: cold and steady passes, where the time goes, a naive peer, and 1M stories.

    .venv/bin/python bench/bench_poll.py            # cold 200 and 1,000 feeds, steady 1,000 and 10,000, SQLite and PostgreSQL
    .venv/bin/python bench/bench_poll.py --quick    # cold 100 and 200, steady 200 and 1,000
    .venv/bin/python bench/bench_poll.py --million  # 1,000,000 stored stories, then a 1,000-feed poll

The feed server (``tests/feedserver.py``, ETag/304) runs in its own process,
serving feeds from ``bench/feedgen.py``; it is staged over a control URL.
Every measurement runs in a fresh child process, so its CPU time
(``time.process_time``) and peak RSS (``ru_maxrss``) are its own. The
parent prints the tables at the end. See bench/README.md for what each
figure means and the measured results.

Cold pass: a feed's first poll is a silent backlog (stored, not matched),
so each cold measurement first polls every feed holding one item, then
serves the feeds at full size with new items and measures that second
pass: fetch, parse, normalize, dedup, match against 1,000 rules, store,
outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import cProfile
import json
import multiprocessing
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
RULES = 1_000
CONCURRENCY = 50
SEED = 1


# ---- the feed server process ---------------------------------------------------------------


def serve(n: int, ready: Any) -> None:
    """Serve ``n`` generated feeds at /f{i}.xml; GET /_control?stage=backlog|full|update&fraction=F restages them."""
    from feedgen import FeedSet
    from feedserver import FeedServer

    feeds = FeedSet(n, SEED)
    server = FeedServer().start()

    def control(h: Any) -> None:
        q = parse_qs(urlsplit(h.path).query)
        stage = q["stage"][0]
        count = int(q.get("n", [n])[0])
        if stage == "backlog":
            changed = list(range(count))
            bodies = {i: feeds.backlog(i) for i in changed}
        elif stage == "full":
            changed = list(range(count))
            bodies = {i: feeds.full(i) for i in changed}
        else:
            changed = [i for i in feeds.update(float(q["fraction"][0])) if i < count]
            bodies = {i: feeds.body(i) for i in changed}
        for i, body in bodies.items():
            server.set_route(f"/f{i}.xml", body)
        size = sum(len(b) for b in bodies.values())
        h.send_simple(200, json.dumps({"changed": len(changed), "bytes": size}).encode(), "application/json")

    server.set_handler("/_control", control)
    ready.send(server.port)
    ready.recv()  # until the parent says stop
    server.stop()


class ServerProcess:
    def __init__(self, n: int) -> None:
        self.parent, child = multiprocessing.Pipe()
        self.proc = multiprocessing.get_context("fork").Process(target=serve, args=(n, child), daemon=True)
        self.proc.start()
        self.port = self.parent.recv()
        self.base = f"http://127.0.0.1:{self.port}"

    def stage(self, what: str, n: int, fraction: float = 0.0) -> dict[str, int]:
        return stage(self.base, what, n, fraction)

    def stop(self) -> None:
        self.parent.send("stop")
        self.proc.join(timeout=10)


# ---- databases ---------------------------------------------------------------------------------


def pg_base() -> str | None:
    url = os.environ.get("MONITOR_TEST_POSTGRES_URL") or DEFAULT_PG
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to use
        print(f"PostgreSQL unavailable ({type(exc).__name__}); PostgreSQL rows skipped", file=sys.stderr)
        return None
    return url


class Database:
    """A fresh database: a SQLite file, or a PostgreSQL schema dropped on ``drop``."""

    def __init__(self, kind: str, folder: Path, pg: str | None) -> None:
        self.kind = kind
        self.schema = None
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        else:
            from sqlalchemy import create_engine, text

            assert pg is not None
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            self._admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            sep = "&" if "?" in pg else "?"
            self.url = f"{pg}{sep}options={quote(f'-csearch_path={self.schema}')}"

    def drop(self) -> None:
        if self.schema:
            from sqlalchemy import text

            with self._admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()


# ---- configuration for a worker ----------------------------------------------------------------


def write_rules(folder: Path, count: int) -> Path:
    """``count`` analyst-style rules over the same language as the feeds (bench_rules' model)."""
    from feedgen import StoryWriter

    rules = folder / "rules"
    rules.mkdir(exist_ok=True)
    world = StoryWriter(SEED).world  # the same topics the feeds are written about
    for i in range(count):
        rule = world.rule(i)
        (rules / f"r{i:04d}.toml").write_text(f"name = \"{rule.name}\"\nquery = '''{rule.query}'''\n")
    return rules


def write_config(folder: Path, base: str, n: int) -> Path:
    feeds = "".join(f'[[feeds]]\nname = "f{i}"\nurl = "{base}/f{i}.xml"\n' for i in range(n))
    path = folder / f"feeds-{n}.toml"
    path.write_text(
        f'[defaults]\ninterval = "1h"\nconcurrency = {CONCURRENCY}\nper_host = {CONCURRENCY}\n'
        'timeout = "60s"\ndeadline = "120s"\n\n' + feeds
    )
    return path


# ---- the child: one measurement ----------------------------------------------------------------


class InlineExecutor(concurrent.futures.Executor):
    """Runs submitted work at once in the calling thread (so cProfile sees all of it)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:  # type: ignore[override]
        fut: concurrent.futures.Future = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001
            fut.set_exception(exc)
        return fut


def build(args: argparse.Namespace) -> Any:
    from monitor.config import Settings
    from monitor.service import build_app

    settings = Settings.from_env({"MONITOR_DATABASE_URL": args.db_url}, config=args.config, rules=args.rules)
    return build_app(settings, out=open(os.devnull, "w"))  # noqa: SIM115


async def one_pass(app: Any, *, inline: bool = False) -> Any:
    fetcher = app.fetcher()
    poller = app.poller(fetcher)
    if inline:
        poller._pool.shutdown()
        poller._pool = InlineExecutor()
    try:
        return await poller.poll(due_only=False)
    finally:
        if not inline:
            poller.close()
        await fetcher.aclose()


def measured(fn: Any) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def counts(app: Any) -> dict[str, int]:
    from sqlalchemy import text

    with app.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("stories", "sightings", "clusters", "matches", "deliveries")
        }


def child_cold(args: argparse.Namespace) -> dict[str, Any]:
    """Backlog pass (one item a feed), then the measured pass over full feeds with new items."""
    stage(args.server, "backlog", args.n)
    app = build(args)
    app.sync()
    backlog = asyncio.run(one_pass(app))
    if args.seed_only:
        return steady_passes(args, app, {"n": args.n, "db": args.db, "backlog_failed": len(backlog.failed)})
    stage(args.server, "full", args.n)
    before = counts(app)
    if args.profile:
        prof = cProfile.Profile()
        summary, wall, cpu = measured(lambda: prof.runcall(asyncio.run, one_pass(app, inline=True)))
        return {"profile": stage_profile(prof, wall), "wall": wall, "cpu": cpu, "stories": summary.new_stories,
                "top": top_functions(prof)}
    summary, wall, cpu = measured(lambda: asyncio.run(one_pass(app)))
    after = counts(app)
    out = {
        "n": args.n, "db": args.db, "wall": wall, "cpu": cpu, "stories": summary.new_stories,
        "matches": summary.matches, "failed": len(summary.failed), "backlog_failed": len(backlog.failed),
        "deliveries": after["deliveries"] - before["deliveries"], "clustered": after["stories"] - after["clusters"],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    return steady_passes(args, app, out)


def steady_passes(args: argparse.Namespace, app: Any, out: dict[str, Any]) -> dict[str, Any]:
    """``args.steady`` passes over every feed after 5% of them changed (1–3 new items each), then one
    pass with nothing changed (every feed answers 304: the steady floor's twin)."""
    out["steady"] = []
    # ``args.steady`` passes with 5% changed, then one where nothing changed: every feed answers 304
    for k in range(args.steady + 1 if args.steady else 0):
        changed = stage(args.server, "update", args.n, 0.05)["changed"] if k < args.steady else 0
        s, wall, cpu = measured(lambda: asyncio.run(one_pass(app)))
        out["steady"].append({
            "changed": changed, "wall": wall, "cpu": cpu, "stories": s.new_stories,
            "not_modified": s.count("not_modified") + s.count("unchanged"), "failed": len(s.failed),
        })
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


STAGES = [  # (stage, file suffix, function name): cumulative time of the stage's entry point
    ("fetch (aiohttp)", "monitor/reader/fetch.py", "fetch"),
    ("parse", "monitor/reader/parse.py", "parse_feed"),
    ("normalize", "monitor/reader/normalize.py", "normalize"),
    ("fingerprint", "monitor/dedup/fingerprint.py", "fingerprint"),
    ("match", "monitor/service/app.py", "match"),
    ("db: ingest", "monitor/db/ingest.py", "ingest"),
    ("db: lease", "monitor/pipeline.py", "_lease"),
    ("db: record outcome", "monitor/db/feeds.py", "record_success"),
    ("db: record 304s (batched)", "monitor/pipeline.py", "_flush_unchanged"),
]


def stage_profile(prof: cProfile.Profile, wall: float) -> list[tuple[str, float]]:
    """Cumulative seconds per stage; ingest excludes the fingerprint and match it calls."""
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    cum: dict[str, float] = {}
    for name, suffix, func in STAGES:
        cum[name] = sum(v[3] for (f, _l, fn), v in stats.items() if f.endswith(suffix) and fn == func)
    cum["db: ingest"] -= cum["fingerprint"] + cum["match"]
    total = sum(v[2] for v in stats.values())
    cum["other (event loop, pool, glue)"] = max(0.0, total - sum(cum.values()))
    return [(k, v) for k, v in cum.items() if v or k.startswith("other")] + [("total (profiled)", total)]


def child_steady_profile(args: argparse.Namespace) -> dict[str, Any]:
    """A backlog pass and one unmeasured all-304 pass, then a profiled all-304 pass (all stages in one thread)."""
    stage(args.server, "backlog", args.n)
    app = build(args)
    app.sync()
    asyncio.run(one_pass(app))
    asyncio.run(one_pass(app))
    prof = cProfile.Profile()
    summary, wall, cpu = measured(lambda: prof.runcall(asyncio.run, one_pass(app, inline=True)))
    return {"profile": stage_profile(prof, wall), "wall": wall, "cpu": cpu, "not_modified": summary.count("not_modified"),
            "top": top_functions(prof)}


def top_functions(prof: cProfile.Profile, n: int = 12) -> list[tuple[str, float]]:
    """The ``n`` functions with the most time of their own (cProfile tottime), as (file:line(name), seconds)."""
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:n]
    return [(f"{Path(f).name}:{line}({fn})", v[2]) for (f, line, fn), v in top]


def child_naive(args: argparse.Namespace) -> dict[str, Any]:
    """``feedparser.parse(url)`` per feed in a pool of CONCURRENCY threads; one regex per rule per story."""
    import feedparser

    stage(args.server, "full", args.n)
    regexes = []
    for path in sorted(Path(args.rules).glob("*.toml")):
        query = path.read_text().split("'''")[1]
        words = sorted({w.rstrip("*") for w in re.findall(r"[\w*]+", query) if w not in ("AND", "OR", "NOT", "NEAR", "ONEAR", "title") and not w.isdigit()})
        regexes.append(re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")", re.IGNORECASE))
    urls = [f"{args.base}/f{i}.xml" for i in range(args.n)]

    def work(url: str) -> tuple[int, int]:
        d = feedparser.parse(url)
        hits = 0
        for e in d.entries:
            text = f"{e.get('title', '')}\n{e.get('summary', '')}"
            hits += sum(1 for r in regexes if r.search(text))
        return len(d.entries), hits

    def run() -> list[tuple[int, int]]:
        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(pool.map(work, urls))

    results, wall, cpu = measured(run)
    return {"n": args.n, "wall": wall, "cpu": cpu, "stories": sum(r[0] for r in results), "matches": sum(r[1] for r in results),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The floor of a steady pass: a bare aiohttp loop sending the same conditional GETs, nothing else.

    One unmeasured pass collects every feed's ETag; the measured pass sends
    them back (``If-None-Match``), so every feed answers 304, as in our
    all-304 steady pass. Same concurrency, one shared session.
    """
    import aiohttp

    urls = [f"{args.base}/f{i}.xml" for i in range(args.n)]

    async def run() -> dict[str, Any]:
        sem = asyncio.Semaphore(CONCURRENCY)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

            async def get(url: str, etag: str | None) -> tuple[int, str | None]:
                async with sem, session.get(url, headers={"If-None-Match": etag} if etag else {}) as r:
                    await r.read()
                    return r.status, r.headers.get("ETag")

            first = await asyncio.gather(*(get(u, None) for u in urls))
            w0, c0 = time.perf_counter(), time.process_time()
            second = await asyncio.gather(*(get(u, e) for u, (_, e) in zip(urls, first, strict=True)))
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        return {"n": args.n, "wall": wall, "cpu": cpu, "not_modified": sum(1 for st, _ in second if st == 304)}

    return asyncio.run(run())


def stage(base: str, what: str, n: int, fraction: float = 0.0) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/_control?stage={what}&n={n}&fraction={fraction}", timeout=600) as r:
        return json.loads(r.read())


# ---- the million-story mode -------------------------------------------------------------------


def child_load(args: argparse.Namespace) -> dict[str, Any]:
    """Bulk-insert ``args.stories`` synthetic stories with fingerprints, band rows, clusters and sightings."""
    import random
    from datetime import datetime, timedelta, timezone

    import numpy as np
    from sqlalchemy import text

    from monitor.db import make_engine, upgrade
    from monitor.dedup.fingerprint import _HEADER, _SETS, DEFAULT_BANDS, DEFAULT_NUM_PERM, FINGERPRINT_VERSION

    engine = make_engine(args.db_url)
    upgrade(engine)
    rng = random.Random(SEED)
    npr = np.random.default_rng(SEED)
    now = datetime.now(timezone.utc)
    words = [f"w{i}" for i in range(5000)]
    header = _HEADER.pack(FINGERPRINT_VERSION, DEFAULT_NUM_PERM, DEFAULT_BANDS, 1, 40, 1)
    # content words, title words; no numbers, word pairs, title edges or lead words
    set_lengths = _SETS.pack(40, 10, *([0] * (_SETS.size // 2 - 2)))
    total = args.stories
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO feeds (id, name, url, config_url, enabled, interval, tags, next_poll_at, error_count, backlog_done, created_at) "
                          "VALUES (100000, 'bulk', 'http://bulk.invalid/', 'http://bulk.invalid/', false, 3600, '[]', :n, 0, true, :n)"), {"n": now})
    chunk = 50_000

    def rows(start: int, stop: int) -> tuple[list, list, list, list]:
        stories, bands, sightings, clusters = [], [], [], []
        sigs = npr.integers(0, 2**32 - 1, size=(stop - start, DEFAULT_NUM_PERM), dtype=np.uint32)
        keys = npr.integers(0, 2**63 - 1, size=(stop - start, DEFAULT_BANDS), dtype=np.int64)
        sets = np.sort(npr.integers(0, 2**32 - 1, size=(stop - start, 50), dtype=np.uint32), axis=1)
        for k, sid in enumerate(range(start + 1, stop + 1)):
            # ids grow with time, as in a real store (the window is looked up by id), a minute of jitter
            when = now - timedelta(seconds=30 * 86400 * (total - sid) / total + rng.uniform(0, 60))
            title = " ".join(rng.choices(words, k=11))
            summary = " ".join(rng.choices(words, k=50))
            clusters.append((sid, when))
            stories.append((sid, f"https://bulk.example/{sid}", f"https://bulk.example/{sid}", title, summary, "bulk", "en",
                            when, when, 100000, sid, header + sigs[k].astype("<u4").tobytes() + set_lengths + sets[k].astype("<u4").tobytes(),
                            False, FINGERPRINT_VERSION))
            sightings.append((sid, 100000, f"bulk-{sid}", sid, when))
            for b in range(DEFAULT_BANDS):
                bands.append((b, int(keys[k, b]), sid, when))
        return stories, bands, sightings, clusters

    story_cols = "id, url_key, url, title, summary, source, language, published_at, first_seen_at, feed_id, cluster_id, fingerprint, backlog, fingerprint_version"
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for start in range(0, total, chunk):
                stories, bands, sightings, clusters = rows(start, min(total, start + chunk))
                for table, cols, data in (
                    ("clusters", "id, created_at", clusters),
                    ("stories", story_cols, stories),
                    ("sightings", "id, feed_id, entry_key, story_id, seen_at", sightings),
                    ("story_bands", "band, key, story_id, seen_at", bands),
                ):
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                        for r in data:
                            copy.write_row(r)
                raw.commit()
            for seq, table in (("clusters_id_seq", "clusters"), ("stories_id_seq", "stories"), ("sightings_id_seq", "sightings")):
                cur.execute(f"SELECT setval('{seq}', (SELECT max(id) FROM {table}))")
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    else:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            sqlite_when = lambda d: d.replace(tzinfo=None).isoformat(sep=" ")  # noqa: E731 - as UTCDateTime stores it
            for start in range(0, total, chunk):
                stories, bands, sightings, clusters = rows(start, min(total, start + chunk))
                cur.execute("BEGIN")
                cur.executemany("INSERT INTO clusters (id, created_at) VALUES (?, ?)", [(i, sqlite_when(w)) for i, w in clusters])
                cur.executemany(f"INSERT INTO stories ({story_cols}) VALUES ({', '.join('?' * 14)})",
                                [r[:7] + (sqlite_when(r[7]), sqlite_when(r[8])) + r[9:] for r in stories])
                cur.executemany("INSERT INTO sightings (id, feed_id, entry_key, story_id, seen_at) VALUES (?, ?, ?, ?, ?)",
                                [r[:4] + (sqlite_when(r[4]),) for r in sightings])
                cur.executemany("INSERT INTO story_bands (band, key, story_id, seen_at) VALUES (?, ?, ?, ?)",
                                [r[:3] + (sqlite_when(r[3]),) for r in bands])
                cur.execute("COMMIT")
            cur.execute("ANALYZE")
        finally:
            raw.close()
    return {"stories": total, "load_seconds": time.perf_counter() - t0, "size_per_story": db_size(engine) / total}


def db_size(engine: Any) -> float:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return float(conn.execute(text(
                "SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass)) "
                "FROM pg_tables WHERE schemaname = current_schema()"
            )).scalar_one())
    path = engine.url.database
    return float(sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)))


def child_million_poll(args: argparse.Namespace) -> dict[str, Any]:
    """On the loaded database: fingerprint + lookup of 500 new stories (measured first, with
    nothing else running on the database), then a cold pass over ``args.n`` feeds."""
    from monitor.db.ingest import _assign_clusters

    app = build(args)
    from feedgen import StoryWriter

    writer = StoryWriter(SEED + 7)
    texts = [writer.text() for _ in range(500)]
    fp_cpu = look_cpu = look_wall = 0.0
    options = app.ingest_options()
    now = app.clock.now()
    with app.engine.connect() as conn:
        for title, summary in texts:
            c0 = time.process_time()
            fp = app.fingerprinter.fingerprint(title, summary)
            c1, w1 = time.process_time(), time.perf_counter()
            # the lookup one new story costs in a batch of one (-1: an id not stored)
            _assign_clusters(conn, ["new"], {"new": -1}, {"new": fp}, {"new": now}, now, app.fingerprinter, options)
            look_cpu += time.process_time() - c1
            look_wall += time.perf_counter() - w1
            fp_cpu += c1 - c0
    k = len(texts)
    app.engine.dispose()
    out = child_cold(args)
    app = build(args)
    out.update(fp_cpu_ms=fp_cpu / k * 1000, lookup_cpu_ms=look_cpu / k * 1000, lookup_wall_ms=look_wall / k * 1000,
               size_per_story=db_size(app.engine) / max(1, counts(app)["stories"]), stored=counts(app)["stories"],
               rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


# ---- the parent ---------------------------------------------------------------------------------


def run_child(mode: str, **kw: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode]
    for k, v in kw.items():
        if v is True:
            cmd.append(f"--{k.replace('_', '-')}")
        elif v not in (None, False):
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [header] + [[f"{c:,.1f}" if isinstance(c, float) else (f"{c:,}" if isinstance(c, int) else str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"  # noqa: E731
    return "\n".join([f"\n{title}", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="N = 200 and 1,000")
    p.add_argument("--million", action="store_true", help="the 1,000,000-story mode only")
    p.add_argument("--stories", type=int, default=1_000_000, help="stories to load with --million")
    p.add_argument("--dbs", default="sqlite,postgresql", help="which databases (comma-separated)")
    p.add_argument("--sizes", default=None, help="small,mid,big feed counts (default 200,1000,10000)")
    p.add_argument("--no-naive", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    # child options
    p.add_argument("--child", help=argparse.SUPPRESS)
    for opt in ("--db", "--db-url", "--config", "--rules", "--server", "--base"):
        p.add_argument(opt, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--steady", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        fn = {"cold": child_cold, "naive": child_naive, "load": child_load, "million": child_million_poll,
              "floor": child_floor, "steady_profile": child_steady_profile}[args.child]
        print(json.dumps(fn(args)))
        return
    parent(args)


def parent(args: argparse.Namespace) -> None:
    pg = pg_base()
    dbs = [d for d in args.dbs.split(",") if d == "sqlite" or pg]
    # small: the naive peer's size and the profile's; mid: the cold pass; big: the steady pass
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([100, 200, 1_000] if args.quick else [200, 1_000, 10_000])
    if args.million:
        sizes = [1_000, 1_000, 1_000]
    folder = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    rules = write_rules(folder, RULES)
    started = time.perf_counter()
    print(f"generating {max(sizes):,} feeds in the server process…", file=sys.stderr)
    server = ServerProcess(max(sizes))
    info = server.stage("full", max(sizes))
    print(f"  {info['bytes'] / max(sizes) / 1024:.0f} KB a feed on average", file=sys.stderr)
    out: list[str] = []
    try:
        if args.million:
            out += million(args, server, folder, rules, pg)
        else:
            out += polls(args, server, folder, rules, pg, dbs, sizes)
    finally:
        server.stop()
    print(f"\nbench_poll: {' '.join(sys.argv[1:]) or '(defaults)'}; {os.cpu_count()} CPUs; {RULES:,} rules; "
          f"concurrency {CONCURRENCY}; {info['bytes'] / max(sizes) / 1024:.0f} KB a feed; total {time.perf_counter() - started:.0f} s")
    print("\n".join(out))


def polls(args: argparse.Namespace, server: ServerProcess, folder: Path, rules: Path, pg: str | None,
          dbs: list[str], sizes: list[int]) -> list[str]:
    cold_rows, steady_rows, all_304, out = [], [], [], []
    small, mid, big = sizes
    ours_small: dict[str, Any] | None = None
    for db in dbs:
        for n in (small, mid, big):
            database = Database(db, folder, pg)
            try:
                what = "steady pass (seeded by a backlog pass)" if n == big else "cold pass"
                print(f"{what}: {n:,} feeds on {db}…", file=sys.stderr)
                r = run_child("cold", db=db, db_url=database.url, config=write_config(folder, server.base, n), rules=rules,
                              server=server.base, n=n, steady=2 if n != small else 0, seed_only=n == big)
            finally:
                database.drop()
            if db == "sqlite" and n == small:
                ours_small = r
            if n != big:
                cold_rows.append([db, n, r["wall"], n / r["wall"], r["stories"], r["stories"] / r["wall"],
                                  r["cpu"] / max(1, r["stories"]) * 1000, r["matches"], r["deliveries"], r["clustered"],
                                  r["failed"], r["rss_mb"]])
            seeded = "backlog (1 item)" if n == big else "cold pass (20–50 items)"
            for k, s in enumerate(r.get("steady", []), 1):
                steady_rows.append([db, n, seeded, k, s["changed"], s["not_modified"], s["wall"], n / s["wall"],
                                    s["cpu"] / n * 1000, s["stories"], s["failed"], r["rss_mb"]])
                if k == len(r["steady"]) and n == big:  # the last pass: nothing restaged, every feed 304
                    all_304.append([f"ours ({db}, steady pass {k})", n, s["not_modified"], s["wall"], s["cpu"] / n * 1000])
    out.append(table(
        "Cold pass (the feeds' second poll, every item new): fetch → parse → normalize → dedup → match (1,000 rules) → store → outbox",
        ["db", "feeds", "wall s", "feeds/s", "new stories", "stories/s", "CPU s /1k stories", "matches", "deliveries",
         "near-dups", "failed", "peak RSS MB"], cold_rows))
    out.append(table("Steady state (5% of feeds changed, 1–3 new items each; the rest answer 304)",
                     ["db", "feeds", "feeds seeded by", "pass", "changed", "304/unchanged", "wall s", "feeds/s", "CPU ms/feed",
                      "new stories", "failed", "peak RSS MB"],
                     steady_rows))
    if all_304:
        print(f"aiohttp floor: {big:,} feeds…", file=sys.stderr)
        fl = run_child("floor", base=server.base, n=big)
        floor_ms = fl["cpu"] / big * 1000
        rows_ = [["bare aiohttp loop (the floor)", big, fl["not_modified"], fl["wall"], f"{floor_ms:.2f}", "1.0"]]
        rows_ += [r[:4] + [f"{r[4]:.2f}", f"{r[4] / floor_ms:.1f}"] for r in all_304]
        out.append(table(
            f"Steady pass where every feed answers 304 ({big:,} feeds), beside a bare aiohttp loop sending the same "
            f"conditional GETs (concurrency {CONCURRENCY})",
            ["loop", "feeds", "304", "wall s", "CPU ms/feed", "ratio (CPU / floor)"], rows_))
    n = small
    if not args.no_profile:
        def profiled(mode: str, feeds: int, **kw: Any) -> tuple[dict[str, Any], float]:
            """``mode``'s child on a fresh SQLite database, and its profiled total."""
            database = Database("sqlite", folder, pg)
            try:
                child = run_child(mode, db="sqlite", db_url=database.url, config=write_config(folder, server.base, feeds),
                                  rules=rules, server=server.base, n=feeds, **kw)
            finally:
                database.drop()
            return child, dict(child["profile"])["total (profiled)"]

        print(f"profile: {n:,} feeds on sqlite…", file=sys.stderr)
        r, total = profiled("cold", n, profile=True)
        out.append(table(f"Where the time goes: cProfile of one cold pass, {n:,} feeds, SQLite, all stages in one thread "
                         f"({r['stories']:,} stories, {r['wall']:.1f} s wall under the profiler)",
                         ["stage", "cumulative s", "%"], [[k, v, 100 * v / total] for k, v in r["profile"]]))
        out.append(table("The same cold pass: the functions with the most time of their own (cProfile tottime)",
                         ["function", "own s", "%"], [[k, v, 100 * v / total] for k, v in r["top"]]))
        steady_n = min(big, 2_000)  # enough feeds for the per-feed costs to outweigh the per-batch ones
        print(f"profile: all-304 steady pass, {steady_n:,} feeds on sqlite…", file=sys.stderr)
        r, total = profiled("steady_profile", steady_n)
        out.append(table(f"Where a steady pass's time goes: cProfile of one pass where all {steady_n:,} feeds answer 304, SQLite, "
                         f"all stages in one thread ({r['wall']:.1f} s wall under the profiler)",
                         ["stage", "cumulative s", "%"], [[k, v, 100 * v / total] for k, v in r["profile"]]))
        out.append(table("The same pass: the functions with the most time of their own (cProfile tottime)",
                         ["function", "own s", "%"], [[k, v, 100 * v / total] for k, v in r["top"]]))
    if not args.no_naive and ours_small is not None:
        print(f"naive loop: {n:,} feeds…", file=sys.stderr)
        nv = run_child("naive", rules=rules, base=server.base, server=server.base, n=n)
        ours = ours_small["stories"] / ours_small["wall"]
        naive = nv["stories"] / nv["wall"]
        out.append(table(
            f"The naive peer on the same {n:,} feeds: feedparser.parse(url) in a pool of {CONCURRENCY} threads, "
            f"one compiled regex per rule per story, nothing stored",
            ["loop", "wall s", "stories", "stories/s", "CPU s /1k stories", "ratio (ours / naive)"],
            [["naive", nv["wall"], nv["stories"], naive, nv["cpu"] / nv["stories"] * 1000, "1.0"],
             ["ours (SQLite, cold pass above)", ours_small["wall"], ours_small["stories"], ours,
              ours_small["cpu"] / max(1, ours_small["stories"]) * 1000, f"{ours / naive:.1f}"]]))
    return out


def million(args: argparse.Namespace, server: ServerProcess, folder: Path, rules: Path, pg: str | None) -> list[str]:
    from monitor.dedup.fingerprint import DEFAULT_BANDS

    db = "postgresql" if pg and "postgresql" in args.dbs else "sqlite"
    database = Database(db, folder, pg)
    try:
        print(f"loading {args.stories:,} stories into {db}…", file=sys.stderr)
        load = run_child("load", db=db, db_url=database.url, config=write_config(folder, server.base, 1000), rules=rules,
                         stories=args.stories)
        print("polling 1,000 feeds on the loaded database…", file=sys.stderr)
        r = run_child("million", db=db, db_url=database.url, config=write_config(folder, server.base, 1000), rules=rules,
                      server=server.base, n=1000)
    finally:
        database.drop()
    return [table(
        f"Near-duplicates at scale: {args.stories:,} stored stories ({DEFAULT_BANDS} band rows each) on {db}, then a cold pass over 1,000 feeds",
        ["figure", "value"],
        [["bulk load, s", load["load_seconds"]],
         ["database bytes per story after load", load["size_per_story"]],
         ["stories after the poll", r["stored"]],
         ["database bytes per story after the poll", r["size_per_story"]],
         ["cold pass: new stories", r["stories"]],
         ["cold pass: stories/s", r["stories"] / r["wall"]],
         ["cold pass: CPU s /1k stories", r["cpu"] / max(1, r["stories"]) * 1000],
         ["worker peak RSS, MB", r["rss_mb"]],
         ["fingerprint one story, CPU ms", f"{r['fp_cpu_ms']:.3f}"],
         ["look up its near-duplicates (LSH bands), CPU ms", f"{r['lookup_cpu_ms']:.3f}"],
         ["look up its near-duplicates, wall ms", f"{r['lookup_wall_ms']:.3f}"]])]


if __name__ == "__main__":
    main()
