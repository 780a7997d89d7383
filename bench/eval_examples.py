"""Precision and recall of a rule on a labelled set, per similarity backend.

    .venv/bin/python bench/eval_examples.py [--split holdout] [--rule rules/russia-us-syria.toml]
        [--set tests/testdata/rules/seed_set/stories.jsonl] [--backend builtin|semantic|both] [--wrong]

Prints one table row per backend (the rule as written, with its examples
judged by that backend) plus the boolean query alone, for the chosen split:
``tune`` is what thresholds and examples were chosen on; ``holdout`` is
kept out of that and is the figure to report. ``--wrong`` lists the stories
each backend gets wrong. Without a database: document frequencies come from
the shipped background corpus, as in ``monitor rules test``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from monitor.model import Story
from monitor.query import Similarity, compile_rules, load_rule
from monitor.similar import semantic_unavailable

ROOT = Path(__file__).resolve().parent.parent


def stories(path: Path, split: str) -> list[tuple[dict, Story]]:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if split != "all" and row["split"] != split:
            continue
        out.append((row, Story(row["id"], row["title"], row["summary"], "", now, row["source"], language=row["language"])))
    return out


def evaluate(ruleset, data):  # type: ignore[no-untyped-def]
    tp = fp = fn = 0
    wrong = []
    t0 = time.process_time()
    for row, story in data:
        found = ruleset.match(story)
        said = bool(found)
        truth = row["label"] == "match"
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
        if said != truth:
            m = found[0] if found else None
            wrong.append((row, m))
    cpu = (time.process_time() - t0) / max(1, len(data))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, tp, fp, fn, cpu, wrong


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="holdout", choices=["tune", "holdout", "all"])
    ap.add_argument("--rule", default=str(ROOT / "rules" / "russia-us-syria.toml"))
    ap.add_argument("--set", default=str(ROOT / "tests" / "testdata" / "rules" / "seed_set" / "stories.jsonl"))
    ap.add_argument("--backend", default="both", choices=["builtin", "semantic", "both"])
    ap.add_argument("--wrong", action="store_true")
    args = ap.parse_args()
    rule, problems = load_rule(Path(args.rule))
    if rule is None:
        raise SystemExit("\n".join(map(str, problems)))
    data = stories(Path(args.set), args.split)
    rows = []
    boolean = replace(rule, examples=(), counter_examples=(), example_stories=(), prefilter="", threshold=())
    if boolean.query.strip():
        rows.append(("query alone", compile_rules([boolean], similarity=Similarity(semantic=False))))
    backends = ["builtin", "semantic"] if args.backend == "both" else [args.backend]
    for name in backends:
        if name == "semantic" and semantic_unavailable():
            print(f"semantic: skipped ({semantic_unavailable()})")
            continue
        sim = Similarity(semantic=name == "semantic")
        rows.append((name, compile_rules([replace(rule, similarity=name)], similarity=sim)))
        if rule.prefilter.strip() and rule.query.strip():
            # the other way to combine: prefilter AND similar, the query not matching on its own
            alone = replace(rule, similarity=name, query="")
            rows.append((f"{name}, no query", compile_rules([alone], similarity=sim)))
    pos = sum(r["label"] == "match" for r, _ in data)
    print(f"rule {rule.id} on {args.split}: {len(data)} stories, {pos} match")
    print(f"{'backend':<20} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4} {'cpu/story':>10}")
    results = []
    for name, ruleset in rows:
        p, r, tp, fp, fn, cpu, wrong = evaluate(ruleset, data)
        results.append((name, wrong))
        print(f"{name:<20} {p:>9.3f} {r:>7.3f} {tp:>4} {fp:>4} {fn:>4} {cpu * 1e3:>8.2f}ms")
    if args.wrong:
        for name, wrong in results:
            print(f"\n{name}: {len(wrong)} wrong")
            for row, m in wrong:
                what = "false positive" if m else "missed"
                extra = f" sim={m.similarity} ~ {m.example!r}" if m and m.similarity is not None else ""
                print(f"  {row['id']} [{row['kind']}, {row['language']}] {what}: {row['title']}{extra}")


if __name__ == "__main__":
    main()
