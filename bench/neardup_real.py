"""The labelled near-duplicate sets: the real-looking pairs of tests/testdata/neardup_real
(loading, scoring, replaying) and the synthetic copies of tests/testdata/neardup (``synthetic``).

Shared by ``bench/bench_neardup.py`` (which prints the tables) and
``tests/test_neardup_real.py`` (which asserts the targets). A pair is judged
by the real decision, ``Fingerprinter.same_story``, with the later story as
the new one and the earlier as its cluster's first story. The replay stores
every distinct story of a split in time order through ``monitor.db.ingest``
on a fresh SQLite database, so candidates come from the real LSH lookup and
clusters form as in the service.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitor.dedup import Fingerprinter

REAL = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "neardup_real"
SYNTHETIC = REAL.parent / "neardup" / "stories.jsonl"


def synthetic(fp: Fingerprinter, stories: list[dict]) -> tuple[int, int, int]:
    """Each synthetic story against every cluster's original, by ``same_story``:
    (copies joined, copies missed, other stories merged)."""
    prints = {s["id"]: fp.fingerprint(s["title"], s["summary"]) for s in stories}
    originals = [s for s in stories if s["kind"] == "original"]
    tp = fn = wrong = 0
    for s in stories:
        for o in originals:
            if o is not s:
                merged = fp.same_story(prints[s["id"]], prints[o["id"]], None)
                same = o["cluster"] == s["cluster"]
                tp, fn, wrong = tp + (merged and same), fn + (same and not merged), wrong + (merged and not same)
    return tp, fn, wrong


SPLITS = ("tune", "holdout", "fresh", "fresh2", "fresh3", "fresh4")
"""``tune`` and ``holdout`` are the pairs in the set's top folder; ``fresh``
and ``fresh2`` (``fresh/``, ``fresh2/``: written apart, first measured
before any change, then tuned on) and ``fresh3`` (``fresh3/``, written
apart and measured once, never tuned on: the figures to report)."""


def load(folder: Path = REAL) -> list[dict]:
    """Every pair under ``folder`` (its subfolders included), with ``_where``: file and line."""
    pairs = []
    for path in sorted(folder.glob("**/*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                pair = json.loads(line)
                pair["_where"] = f"{path.relative_to(folder)}:{n}"
                pairs.append(pair)
    return pairs


def when(side: dict) -> datetime:
    return datetime.fromisoformat(side["published"].replace("Z", "+00:00"))


def decide(fp: Fingerprinter, pair: dict, window: float = 72 * 3600.0) -> bool:
    """Whether the decision joins the pair's two stories (the later one against the earlier)."""
    a, b = pair["a"], pair["b"]
    if when(b) < when(a):
        a, b = b, a
    gap = (when(b) - when(a)).total_seconds()
    if gap > window:
        return False  # never compared: the service looks back ``window`` seconds only
    first = fp.fingerprint(a["title"], a["summary"])
    new = fp.fingerprint(b["title"], b["summary"])
    return fp.same_story(new, first, gap / 3600.0)


@dataclass
class Score:
    same: int = 0
    joined: int = 0
    apart_total: int = 0  # related + different
    apart: int = 0
    different: int = 0
    different_merged: int = 0
    related: int = 0
    related_merged: int = 0
    wrong: list[dict] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.joined / self.same if self.same else 1.0

    @property
    def precision(self) -> float:
        """Share of related and different pairs kept apart."""
        return self.apart / self.apart_total if self.apart_total else 1.0

    @property
    def different_rate(self) -> float:
        return self.different_merged / self.different if self.different else 0.0


def score(fp: Fingerprinter, pairs: list[dict], split: str) -> dict[str, Score]:
    """Per language (and ``all``), the pairs of ``split`` judged by the decision."""
    out: dict[str, Score] = defaultdict(Score)
    for pair in pairs:
        if pair["split"] != split:
            continue
        merged = decide(fp, pair)
        for key in (pair["lang"], "all"):
            s = out[key]
            if pair["label"] == "same":
                s.same += 1
                s.joined += merged
            else:
                s.apart_total += 1
                s.apart += not merged
                if pair["label"] == "different":
                    s.different += 1
                    s.different_merged += merged
                else:
                    s.related += 1
                    s.related_merged += merged
            if key == "all" and merged != (pair["label"] == "same"):
                s.wrong.append(pair)
    return dict(out)


@dataclass
class Replay:
    stories: int
    clusters: int
    largest: int
    mixed: list[list[str]]  # clusters holding two different event ids (their events)
    same_pairs: int = 0
    same_joined: int = 0  # same pairs whose stories ended in one cluster

    @property
    def recall(self) -> float:
        return self.same_joined / self.same_pairs if self.same_pairs else 1.0


def replay(fp: Fingerprinter, pairs: list[dict], split: str | None) -> Replay:
    """Store every distinct story of ``split`` (None: all) in time order through the real ingest."""
    from sqlalchemy import select, text

    from monitor.db import IngestOptions, StoryRow, ingest, make_engine, upgrade
    from monitor.model import Story

    seen: dict[str, dict] = {}
    chosen = [pair for pair in pairs if split is None or pair["split"] == split]
    for pair in chosen:
        for side in (pair["a"], pair["b"]):
            seen.setdefault(_key(side), side)
    ordered = sorted(seen.items(), key=lambda kv: (when(kv[1]), kv[0]))
    event_of: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/replay.db")
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO feeds (id, name, url, config_url, enabled, interval, tags, next_poll_at, error_count,"
                    " backlog_done, created_at) VALUES (1, 'replay', 'http://replay.invalid/', 'http://replay.invalid/',"
                    " 1, 600, '[]', :n, 0, 1, :n)"
                ),
                {"n": when(ordered[0][1]).replace(tzinfo=None).isoformat(sep=" ")},
            )
            for key, side in ordered:
                url = f"https://replay.example/{key}"
                event_of[url] = side["event"]
                story = Story(key, side["title"], side["summary"], url, when(side), side["source"])
                ingest(conn, feed_id=1, stories=[story], now=when(side), fingerprinter=fp, matcher=None,
                       router=lambda rule: [], options=IngestOptions())
            st = StoryRow.__table__
            rows = conn.execute(select(st.c.url, st.c.cluster_id)).all()
        engine.dispose()
    members: dict[int, list[str]] = defaultdict(list)
    cluster_of: dict[str, int] = {}
    for url, cluster in rows:
        members[cluster].append(event_of[url])
        cluster_of[url.rsplit("/", 1)[1]] = cluster
    mixed = [sorted(set(events)) for events in members.values() if len(set(events)) > 1]
    same = [p for p in chosen if p["label"] == "same"]
    joined = sum(cluster_of[_key(p["a"])] == cluster_of[_key(p["b"])] for p in same)
    return Replay(len(rows), len(members), max(len(m) for m in members.values()), mixed, len(same), joined)


def _key(side: dict) -> str:
    return hashlib.sha256(f"{side['source']}\n{side['title']}\n{side['summary']}".encode()).hexdigest()
