"""Precision and recall of a rule on a labelled set, per similarity backend.

    .venv/bin/python bench/eval_examples.py [--split fresh3] [--rule rules/russia-us-syria.toml]
        [--set tests/testdata/rules/seed_set/fresh3.jsonl] [--backend builtin|semantic|both] [--wrong]
    .venv/bin/python bench/eval_examples.py --cv 5 [--backend builtin]

Prints one table row per backend (the rule as written, with its examples
judged by that backend) plus the boolean query alone, for the chosen split:
the held-out ``fresh3.jsonl`` by default, the figure to report (the
rule's examples hold the stories of ``stories.jsonl``, ``fresh.jsonl`` and
``fresh2.jsonl``, see ``bench/seed_examples.py``). ``--cv K`` is how the threshold was
chosen: K-fold cross-validation over those labelled stories, each fold
judged by the rule with that fold's own stories taken out of its examples
and counter-examples. ``--wrong`` lists the stories each backend gets wrong. Without a database: document frequencies come from
the shipped background corpus, as in ``monitor rules test``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from seed_examples import (  # the labelled stories the rule's examples hold
    SEED_SET,
    TUNING,
    example_text,
)

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



def cross_validate(rule, folds: int, backend: str, show_wrong: bool) -> None:  # type: ignore[no-untyped-def]
    """Precision and recall over the tuning stories, each fold left out of the rule's examples."""
    data = [item for name in TUNING for item in stories(SEED_SET / name, "all")]
    names = ["builtin", "semantic"] if backend == "both" else [backend]
    print(f"rule {rule.id}, {folds}-fold cross-validation on {' + '.join(TUNING)}: {len(data)} stories")
    print(f"{'backend':<20} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for name in names:
        if name == "semantic" and semantic_unavailable():
            print(f"semantic: skipped ({semantic_unavailable()})")
            continue
        tp = fp = fn = 0
        wrong = []
        for k in range(folds):
            test = data[k::folds]
            out = {example_text(row) for row, _ in test}
            fold_rule = replace(
                rule,
                similarity=name,
                examples=tuple(t for t in rule.examples if t not in out),
                counter_examples=tuple(t for t in rule.counter_examples if t not in out),
            )
            ruleset = compile_rules([fold_rule], similarity=Similarity(semantic=name == "semantic"))
            _, _, a, b, c, _, w = evaluate(ruleset, test)
            tp, fp, fn, wrong = tp + a, fp + b, fn + c, wrong + w
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        print(f"{name:<20} {p:>9.3f} {r:>7.3f} {tp:>4} {fp:>4} {fn:>4}")
        if show_wrong:
            for row, m in wrong:
                print(f"  {row['id']} [{row['kind']}, {row['language']}] {'false positive' if m else 'missed'}: {row['title']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="fresh5", choices=["tune", "holdout", "fresh", "fresh2", "fresh3", "fresh5", "all"])
    ap.add_argument("--rule", default=str(ROOT / "rules" / "russia-us-syria.toml"))
    ap.add_argument("--set", default=str(SEED_SET / "fresh5.jsonl"))
    ap.add_argument("--backend", default="both", choices=["builtin", "semantic", "both"])
    ap.add_argument("--wrong", action="store_true")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation on the tuning stories")
    ap.add_argument("--threshold", type=float, help="override the rule's threshold (for --cv)")
    args = ap.parse_args()
    rule, problems = load_rule(Path(args.rule))
    if rule is None:
        raise SystemExit("\n".join(map(str, problems)))
    if args.threshold is not None:
        rule = replace(rule, threshold=(("*", args.threshold),))
    if args.cv:
        cross_validate(rule, args.cv, args.backend, args.wrong)
        return
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
