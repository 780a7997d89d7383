"""Rebuild ``monitor/similar/background.json.gz``: the document frequencies the
built-in similarity backend uses when there is no database (``rules test``).

The corpus is the real-world outlet feeds under ``tests/testdata/feeds``
(manifest kind ``realworld``) and the near-duplicate test stories, title and
summary of each story. The labelled seed set is never part of it.

    .venv/bin/python bench/make_background.py
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from monitor.reader import normalize, parse_feed
from monitor.similar import Frequencies

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "testdata" / "feeds"
NEARDUP = ROOT / "tests" / "testdata" / "neardup" / "stories.jsonl"
OUT = ROOT / "monitor" / "similar" / "background.json.gz"


def texts() -> list[str]:
    out: list[str] = []
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for item in json.loads((FEEDS / "manifest.json").read_text()):
        if item.get("kind") != "realworld":
            continue
        url = f"http://127.0.0.1/{item['file']}"
        feed = parse_feed((FEEDS / item["file"]).read_bytes(), url=url, headers={"content-type": item["content_type"]})
        for entry in feed.entries:
            story = normalize(entry, feed=feed, feed_name=item["file"], feed_url=url, seen_at=now)
            out.append(f"{story.title}\n{story.summary}")
    for line in NEARDUP.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(f"{row.get('title', '')}\n{row.get('summary', '')}")
    return out


def main() -> None:
    corpus = texts()
    freq = Frequencies.from_texts(corpus)
    OUT.write_bytes(freq.dump())
    print(f"{len(corpus)} texts, {len(freq.df)} terms -> {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
