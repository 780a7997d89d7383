"""Console page times on a big store: every page at 1,000,000 stored stories, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_web.py                       # 1,000,000 stories, SQLite and PostgreSQL
    .venv/bin/python bench/bench_web.py --stories 100000 --dbs sqlite

The stories come from ``bench_poll.py``'s ``--million`` builder (random words
``w0``..``w4999``, 11 in a title, 50 in a summary, first seen over 30 days);
then every 20th story gets a match of one of five rules, with a delivery
(sent, pending or failed), and 300 feeds get a health state. The full-text
index is built after the bulk load (as a restore would), then ``ANALYZE``.

Each page is asked ``--rounds`` times in process through the ASGI app
(Starlette's test client: routing, templates, JSON, the database; no
socket), and the table gives the first (cold) and the median time. The floor
is ``/healthz`` (the stack alone); the naive search is the rule matcher over
every stored story, timed on the newest 50,000 and scaled to the store.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_poll import Database, child_load  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
RULES = [
    ("alpha", "w17 AND w42*", "high"),
    ("beta", "(w100 OR w101) NEAR/5 w102", "normal"),
    ("gamma", "w7 w8", "normal"),
    ("delta", "w1234", "low"),
    ("epsilon", "w33 NOT w34", "high"),
]
SEARCHES = [
    ("search: two words (index)", "w17 AND w42*"),
    ("search: rare conjunction (index)", "w17 AND w42 AND w99"),
    ("search: NEAR (index)", "w100 NEAR/3 w200"),
    ("search: NOT only (scan of 1,500)", "NOT w1"),
]


def build(db_url: str, stories: int) -> dict[str, float]:
    """Load ``stories`` stories, matches, deliveries and feeds; build the full-text index last."""
    from sqlalchemy import text

    from monitor.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:  # the bulk load goes in without the full-text index, as a restore would
        if pg:
            conn.execute(text("DROP INDEX IF EXISTS ix_stories_fts"))
            conn.execute(text("ALTER TABLE stories DROP COLUMN IF EXISTS search_tsv"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS stories_fts_ai"))
    load = child_load(SimpleNamespace(db_url=db_url, stories=stories))
    t0 = time.perf_counter()
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        ids = list(range(20, stories + 1, 20))
        rows = conn.execute(text("SELECT id, cluster_id, first_seen_at FROM stories WHERE id % 20 = 0")).all()
        matches, deliveries = [], []
        for n, (sid, cid, seen) in enumerate(rows):
            rule = RULES[n % len(RULES)][0]
            seen = seen if isinstance(seen, datetime) else datetime.fromisoformat(str(seen))
            if seen.tzinfo is None:
                seen = seen.replace(tzinfo=timezone.utc)
            matches.append({"id": n + 1, "rule_id": rule, "cluster_id": cid, "story_id": sid, "terms": '["w17"]', "matched_at": seen})
            status = ("sent", "sent", "sent", "pending", "failed")[n % 5]
            deliveries.append({"id": n + 1, "rule_id": rule, "cluster_id": cid, "story_id": sid, "match_id": n + 1,
                               "destination": "slack:#news", "status": status, "attempts": 1, "next_attempt_at": seen,
                               "last_error": "channel_not_found" if status == "failed" else None, "created_at": seen})
        from monitor.db import DeliveryRow, Feed, MatchRow

        conn.execute(MatchRow.__table__.insert(), matches)
        conn.execute(DeliveryRow.__table__.insert(), deliveries)
        feeds = []
        for i in range(300):
            feeds.append({"name": f"feed {i}", "url": f"https://feeds.example/{i}", "config_url": f"https://feeds.example/{i}",
                          "enabled": True, "interval": 600.0, "tags": [], "next_poll_at": now + timedelta(minutes=i % 10),
                          "error_count": 3 if i % 30 == 0 else 0, "last_status": "error" if i % 30 == 0 else "ok",
                          "last_error": "HTTP 500" if i % 30 == 0 else None, "last_success_at": now - timedelta(hours=i % 48),
                          "failing_since": now - timedelta(days=2) if i % 30 == 0 else None, "backlog_done": True,
                          "created_at": now})
        conn.execute(Feed.__table__.insert(), feeds)
        if pg:
            for seq, table in (("matches_id_seq", "matches"), ("deliveries_id_seq", "deliveries")):
                conn.execute(text(f"SELECT setval('{seq}', (SELECT max(id) FROM {table}))"))
    del ids
    t1 = time.perf_counter()
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE stories ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
                              "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(summary, ''))) STORED"))
            conn.execute(text("CREATE INDEX ix_stories_fts ON stories USING gin (search_tsv)"))
        else:
            conn.execute(text("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')"))
            conn.execute(text("CREATE TRIGGER IF NOT EXISTS stories_fts_ai AFTER INSERT ON stories BEGIN "
                              "INSERT INTO stories_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END"))
    t2 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"load_s": load["load_seconds"], "extras_s": t1 - t0, "fts_s": t2 - t1}


def measure(db_url: str, stories: int, rounds: int) -> list[tuple[str, float, float]]:
    from starlette.testclient import TestClient

    from monitor.db import make_engine
    from monitor.model import Rule, Story
    from monitor.query import build_ruleset
    from monitor.web import Console, Metrics, build_app

    engine = make_engine(db_url)
    rules = [Rule(id=i, name=f"Rule {i}", query=q, severity=s) for i, q, s in RULES]  # type: ignore[arg-type]

    async def healthy() -> tuple[bool, str]:
        return True, "ok"

    app = build_app(Metrics(engine), healthy, Console(engine, lambda: rules))
    out = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        first_page = client.get("/index.json").json()
        story_id = first_page["alerts"][0]["story_id"]
        pages = [
            ("/healthz (floor: the stack alone)", "/healthz"),
            ("/ recent alerts", "/"),
            ("/ page 2 (keyset)", f"/?after={first_page['next']}"),
            ("/?rule=delta", "/?rule=delta"),
            ("/?severity=high", "/?severity=high"),
            ("/index.json", "/index.json"),
            ("/stories/<id>", f"/stories/{story_id}"),
            ("/feeds (300 feeds)", "/feeds"),
            ("/rules (5 rules, 30 days)", "/rules"),
        ] + [(label, "/search?q=" + q.replace(" ", "+").replace("/", "%2F")) for label, q in SEARCHES]
        for label, path in pages:
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (path, response.status_code, response.text[:300])
            out.append((label, times[0], statistics.median(times[1:] or times)))
    # the naive search: the matcher over every story, timed on the newest 50,000 and scaled
    ruleset, _ = build_ruleset([Rule(id="q", name="q", query="w17 AND w42*", fields=("title", "summary"))])
    from sqlalchemy import text

    t0 = time.perf_counter()
    with engine.connect() as conn:
        sample = conn.execute(text("SELECT id, title, summary, url, source, published_at FROM stories ORDER BY id DESC LIMIT 50000")).all()
    now = datetime.now(timezone.utc)
    for r in sample:
        ruleset.match(Story(entry_key=str(r.id), title=r.title, summary=r.summary, url=r.url, published=now, source=r.source))
    naive = (time.perf_counter() - t0) * 1000 * stories / max(1, len(sample))
    out.append(("naive search: match every stored story (scaled)", naive, naive))
    engine.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stories", type=int, default=1_000_000)
    p.add_argument("--dbs", default="sqlite,postgresql")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--pg", default=PG_DEFAULT)
    p.add_argument("--measure", metavar="URL", help="only measure a store this script built before (its URL)")
    p.add_argument("--keep", action="store_true", help="keep the stores (their URLs are printed) for --measure")
    args = p.parse_args()
    if args.measure:
        kind = "postgresql" if args.measure.startswith("postgresql") else "sqlite"
        print_table(args, {kind: measure(args.measure, args.stories, args.rounds)}, {})
        return
    results: dict[str, list[tuple[str, float, float]]] = {}
    builds: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = tempfile.mkdtemp(prefix="bench-web-") if args.keep else scratch
        for kind in args.dbs.split(","):
            db = Database(kind, Path(tmp), args.pg if kind == "postgresql" else None)
            try:
                print(f"building {args.stories:,} stories on {kind}…", file=sys.stderr, flush=True)
                builds[kind] = build(db.url, args.stories)
                print(f"  built: {builds[kind]}", file=sys.stderr, flush=True)
                results[kind] = measure(db.url, args.stories, args.rounds)
                print_table(args, {kind: results[kind]}, {kind: builds[kind]})  # each engine as soon as it is done
            finally:
                if args.keep:
                    print(f"  kept: {db.url}", file=sys.stderr, flush=True)
                else:
                    db.drop()
    if len(results) > 1:
        print_table(args, results, builds)


def print_table(args: argparse.Namespace, results: dict[str, list[tuple[str, float, float]]],
                builds: dict[str, dict[str, float]]) -> None:
    kinds = list(results)
    print(f"\nConsole pages at {args.stories:,} stored stories ({args.stories // 20:,} alerts), ms; "
          f"first request / median of the next {args.rounds - 1}; target < 200 ms a page\n")
    header = ["page"] + [f"{k} first" for k in kinds] + [f"{k} median" for k in kinds]
    rows = []
    for i, (label, _, _) in enumerate(results[kinds[0]]):
        rows.append([label] + [f"{results[k][i][1]:.1f}" for k in kinds] + [f"{results[k][i][2]:.1f}" for k in kinds])
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    for r in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(str(v).ljust(w) if c == 0 else str(v).rjust(w) for c, (v, w) in enumerate(zip(r, widths))))
    print()
    for k, b in builds.items():
        print(f"{k}: bulk load {b['load_s']:.0f} s, matches/deliveries/feeds {b['extras_s']:.0f} s, "
              f"full-text index built in {b['fts_s']:.0f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
