"""Build the labelled near-duplicate set from the hand-written bases.

    python bench/make_neardup_set.py            # writes tests/testdata/neardup/stories.jsonl
    python bench/make_neardup_set.py --check    # exits 1 if the file on disk is stale

Reads ``tests/testdata/neardup/bases.toml`` (hand-written wire stories, other
outlets' headlines, a translated-and-back rewrite, and hard negatives) and
derives, for every base, the copies outlets really publish: another headline
with a dateline, a byline, the lede only, paragraphs reordered, an
"Also read:" footer, and a synonym-swapped rewrite. The output is deterministic.

Each output line is one story: ``id``, ``cluster`` (stories in the same cluster
are near-duplicates, all others are not), ``group`` (the base it was written
around, shared by the base's hard negatives), ``kind``, ``title``, ``summary``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "neardup"

# Light synonym swaps, as a rewrite desk or a round trip through translation does.
SYNONYMS = {
    "said": "stated",
    "says": "states",
    "about": "around",
    "biggest": "largest",
    "largest": "biggest",
    "began": "started",
    "struck": "hit",
    "rose": "climbed",
    "fell": "dropped",
    "officials": "authorities",
    "authorities": "officials",
    "company": "firm",
    "country": "nation",
    "announced": "unveiled",
    "unveiled": "announced",
    "injured": "wounded",
    "attack": "assault",
    "pupils": "students",
    "chief": "head",
    "help": "assistance",
    "killed": "left dead",
    "carried out": "conducted",
    "more than": "over",
    "on Monday": "Monday",
    "on Tuesday": "Tuesday",
    "on Wednesday": "Wednesday",
    "on Thursday": "Thursday",
    "on Friday": "Friday",
    "on Saturday": "Saturday",
    "on Sunday": "Sunday",
    "сообщил": "заявил",
    "сообщили": "заявили",
    "отметили": "подчеркнули",
    "повысил": "поднял",
    "введен": "объявлен",
    "жителей": "граждан",
    "достигла": "составила",
    "в пятницу": "в минувшую пятницу",
}
MAX_SWAPS = 5


def swap_synonyms(text: str) -> str:
    """Replace every other synonym occurrence, at most ``MAX_SWAPS`` per text."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)) + r")\b")
    seen = 0
    swapped = 0

    def repl(match: re.Match[str]) -> str:
        nonlocal seen, swapped
        seen += 1
        if seen % 2 == 0 or swapped >= MAX_SWAPS:
            return match.group(0)
        swapped += 1
        return SYNONYMS[match.group(0)]

    return pattern.sub(repl, text)


def variants(base: dict, footer_title: str) -> list[tuple[str, str, str]]:
    """The (kind, title, summary) copies of one base, the original first."""
    sentences: list[str] = base["summary"]
    full = " ".join(sentences)
    reordered = [sentences[0], *reversed(sentences[1:])]
    return [
        ("original", base["title"], full),
        ("copy-headline-dateline", base["alt_titles"][0], f"{base['dateline']} {full}"),
        ("copy-byline", base["title"], f"{base['byline']}\n\n{full}"),
        ("copy-lede", base["alt_titles"][1], " ".join(sentences[:-1])),
        ("copy-reordered", base["alt_titles"][0], " ".join(reordered)),
        ("copy-footer", base["title"], f"{base['dateline']} {full}\n\nAlso read: {footer_title}"),
        ("copy-synonyms", swap_synonyms(base["title"]), swap_synonyms(full)),
        ("copy-translated", base["alt_titles"][1], base["paraphrase"]),
    ]


def build(bases: list[dict]) -> list[dict]:
    """Every story of the set, in a stable order."""
    rows: list[dict] = []
    for index, base in enumerate(bases):
        footer_title = bases[(index + 7) % len(bases)]["title"]
        for kind, title, summary in variants(base, footer_title):
            rows.append(
                {"id": f"{base['id']}/{kind}", "cluster": base["id"], "group": base["id"],
                 "kind": kind, "title": title, "summary": summary}
            )
        for n, negative in enumerate(base.get("negative", []), start=1):
            story_id = f"{base['id']}/negative-{negative['kind']}-{n}"
            rows.append(
                {"id": story_id, "cluster": story_id, "group": base["id"], "kind": f"negative-{negative['kind']}",
                 "title": negative["title"], "summary": negative["summary"]}
            )
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stories.jsonl is not up to date")
    args = parser.parse_args(argv)
    bases = tomllib.loads((DATA / "bases.toml").read_text(encoding="utf-8"))["base"]
    text = render(build(bases))
    target = DATA / "stories.jsonl"
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is stale: run python bench/make_neardup_set.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    rows = build(bases)
    clusters: dict[str, int] = {}
    for row in rows:
        clusters[row["cluster"]] = clusters.get(row["cluster"], 0) + 1
    positives = sum(n * (n - 1) // 2 for n in clusters.values())
    total = len(rows) * (len(rows) - 1) // 2
    negatives = sum(1 for row in rows if row["kind"].startswith("negative"))
    print(f"{len(bases)} bases, {len(rows)} stories ({negatives} hard negatives), "
          f"{positives} positive pairs, {total - positives} negative pairs -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
