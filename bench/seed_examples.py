"""Write the seed rule's labelled examples into its file: the stories of the tuning sets.

    .venv/bin/python bench/seed_examples.py [--rule rules/russia-us-syria.toml]

The shipped ``rules/russia-us-syria.toml`` keeps its hand-written examples
and counter-examples, then the stories of ``stories.jsonl`` and
``fresh.jsonl`` and ``fresh2.jsonl`` (tests/testdata/rules/seed_set): what
matches as examples, what does not as counter-examples, title and summary
as one text. The held-out ``fresh3.jsonl`` is never written here: it is
what the rule is measured on (``bench/eval_examples.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SEED_SET = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "rules" / "seed_set"
TUNING = ("stories.jsonl", "fresh.jsonl", "fresh2.jsonl", "fresh3.jsonl", "train4.jsonl")


def example_text(row: dict) -> str:
    """A labelled story as the rule holds it: title and summary as one text."""
    return f"{row['title']}\n{row['summary']}".strip()


def labelled() -> tuple[list[str], list[str]]:
    """Example and counter-example texts of the tuning sets, in file order."""
    pos, neg = [], []
    for name in TUNING:
        for line in (SEED_SET / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            (pos if row["label"] == "match" else neg).append(example_text(row))
    return pos, neg


MARK = "   # Labelled stories from tests/testdata/rules/seed_set (written by bench/seed_examples.py):"


def rewrite(text: str, key: str, texts: list[str]) -> str:
    """``text`` (a rule file) with the array ``key`` cut at ``MARK`` and ``texts`` written after it."""
    lines = text.splitlines()
    start = lines.index(f"{key} = [")
    end = lines.index("]", start)
    kept = lines[start + 1 : end]
    if MARK in kept:
        kept = kept[: kept.index(MARK)]
    # A JSON string is a valid TOML basic string (same escapes).
    body = kept + [MARK] + [f"   {json.dumps(t, ensure_ascii=False)}," for t in texts]
    return "\n".join(lines[: start + 1] + body + lines[end:]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rule", type=Path, default=Path(__file__).resolve().parent.parent / "rules" / "russia-us-syria.toml")
    rule = ap.parse_args().rule
    pos, neg = labelled()
    text = rewrite(rule.read_text(encoding="utf-8"), "examples", pos)
    rule.write_text(rewrite(text, "counter_examples", neg), encoding="utf-8")
    print(f"{rule}: {len(pos)} labelled examples, {len(neg)} labelled counter-examples")


if __name__ == "__main__":
    main()
