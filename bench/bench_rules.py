"""Rule matching speed: presearch against evaluating every rule, as rules grow.

Generates N rules (10, 1,000, 10,000) and news-sized stories (a 10-word title
and a 40-word summary) over a synthetic vocabulary of 50,000 pseudo-words with
a Zipf distribution (common words short, rare words long, as in real text).
Prints stories/s (and CPU µs per story) with presearch and stories/s with the
naive peer (every enabled rule's tree evaluated against every story), the
speedup, the cost per story relative to 10 rules, how many rules were
evaluated (candidates) and matched per story, and checks that presearch and
the naive peer give the same matches.

Two models of a rule set (``--model``):

``analyst`` (default) models what monitoring desks actually write: boolean
queries anchored on rare names and phrases. The world has 4,000 topics (a
story about a person, a place, a company); each topic has two name words
drawn from the long tail of the vocabulary (rank 2,000 and beyond, e.g. a
surname and a given name that often appear as a phrase), two place or
organisation words from the mid tail (rank 500 to 20,000) and two subject
words (rank 300 to 5,000, e.g. "airstrikes", "ceasefire"). 60% of stories are
about a topic (hot topics more often: Zipf over topics) and mention some of
its words among ordinary Zipf-distributed text; the rest are background
only. Each rule watches one topic, chosen uniformly (desks watch their own
clients and regions, not just the headlines), in one of ten shapes: a name,
a name phrase, synonym OR-groups, a wildcard on a name's stem, a name NEAR a
subject, a title scope, exclusions with NOT, and a common word (Zipf head,
rank < 300) only ever inside an AND with a rare anchor. Under this model a
story matches about one of 10,000 rules, as in production rule sets.

``zipf`` is the earlier generator, kept for comparison: every word of every
rule drawn from the Zipf distribution with only the top 300 words skipped, so
many rules hinge on fairly common words and a story matches ~7 of 10,000
rules. It is a stress test, not a model of real rule sets.

The presearch passes of the three rule sets are interleaved (10, 1,000,
10,000 rules, then again; the median of ``--rounds`` passes each), so a change
of load on the machine during the run shifts all three alike instead of
skewing the cost ratio; timed passes drop their results (see ``one_pass``).

A second table times 1,000 rules by example (the same analyst rules, each
with three examples and a counter-example written from its topic's words)
for each similarity backend, against the same 1,000 rules without examples:
CPU per story, how many stories were embedded (some rule's boolean part let
them through; a story is embedded once whatever the number of such rules),
and the compile time (every example embedded once). ``--examples-stories``
sets how many stories (the semantic backend is slow); ``--no-examples``
skips the table.

    .venv/bin/python bench/bench_rules.py [--stories 5000] [--seed 1] [--model analyst|zipf] [--rounds 5]
        [--examples-stories 1000] [--no-examples]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import accumulate

from dataclasses import replace

from monitor.model import Rule, Story
from monitor.query import Similarity, compile_rules
from monitor.similar import semantic_unavailable

WHEN = datetime(2016, 10, 25, tzinfo=timezone.utc)
SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
VOCABULARY = 50_000
TOPICS = 4_000
ABOUT_A_TOPIC = 0.6


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct pseudo-words, rank order; length grows with rank."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        rank = len(words) + 1
        n = 1 + min(5, int(rank ** 0.25))  # 2 syllables for the top words, up to 6
        w = "".join(rng.choice(SYLLABLES) for _ in range(n))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Zipf:
    """Draws words with probability proportional to 1 / rank**s."""

    def __init__(self, words: list[str], rng: random.Random, s: float = 1.05, skip: int = 0) -> None:
        self.words = words[skip:]
        self.cum = list(accumulate(1 / (r + skip) ** s for r in range(1, len(self.words) + 1)))
        self.rng = rng

    def __call__(self, k: int = 1) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=k)


# --- the analyst model ------------------------------------------------------


class World:
    """Topics (names, places, subjects) and the common words of the language."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.background = Zipf(words, rng)
        self.head = words[:300]

        def tail(lo: int, hi: int) -> str:  # uniform rank in [lo, hi): few topics share one
            return words[rng.randrange(lo, hi)]

        def mid(lo: int, hi: int) -> str:  # log-uniform rank: many topics share the commoner
            return words[int(lo * (hi / lo) ** rng.random())]

        self.topics = [
            {
                "names": [tail(5_000, len(words)), tail(5_000, len(words))],
                "places": [tail(1_000, 20_000), tail(1_000, 20_000)],
                "subjects": [mid(300, 5_000), mid(300, 5_000)],
            }
            for _ in range(TOPICS)
        ]
        self.topic_cum = list(accumulate(1 / r for r in range(1, TOPICS + 1)))

    def story(self, i: int) -> Story:
        """A 10-word title and 40-word summary; 60% mention a topic's words."""
        rng = self.rng
        title, summary = self.background(10), self.background(40)
        if rng.random() < ABOUT_A_TOPIC:
            topic = rng.choices(self.topics, cum_weights=self.topic_cum)[0]
            a, b = topic["names"]
            mentions = [[a, b] if rng.random() < 0.5 else [rng.choice((a, b))]]
            mentions += [[w] for w in rng.sample(topic["places"], rng.randint(0, 2))]
            mentions += [[w] for w in rng.sample(topic["subjects"], rng.randint(1, 2))]
            for k, words in enumerate(mentions):
                into = title if k == 0 or rng.random() < 0.2 else summary
                at = rng.randrange(len(into) + 1)
                into[at:at] = words
        return Story(f"s{i}", " ".join(title).capitalize(), " ".join(summary) + ".",
                     f"https://example.test/{i}", WHEN, "Bench")

    def rule(self, i: int) -> Rule:
        """One analyst-style rule about a topic chosen uniformly."""
        rng = self.rng
        topic = rng.choice(self.topics)
        a, b = topic["names"]
        p, q = topic["places"]
        s, t = topic["subjects"]
        c = rng.choice(self.head)
        x = self.background(1)[0]
        stem = a[: max(4, len(a) - 2)]
        query = [
            f"{a}",
            f'"{a} {b}"',
            f"({a} OR {b}) ({p} OR {q})",
            f"{a} NOT {x}",
            f"{stem}* ({s} OR {t})",
            f"{a} NEAR/5 ({s} OR {t})",
            f'title:({a} OR "{a} {b}") {p} NOT {x}',
            f"{a} {c}",
            f"({a} OR {b}) ({s} OR {t} OR {c})",
            f"({p} OR {q}) ONEAR/3 {s} {b}",
        ][rng.randrange(10)]
        return Rule(f"r{i}", f"rule {i}", query)


# --- the earlier Zipf model ---------------------------------------------------


class ZipfModel:
    """Every word of rules and stories drawn from one Zipf distribution."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.story_words = Zipf(words, rng)
        self.rule_words = Zipf(words, rng, skip=300)

    def story(self, i: int) -> Story:
        title = " ".join(self.story_words(10)).capitalize()
        summary = " ".join(self.story_words(40)) + "."
        return Story(f"s{i}", title, summary, f"https://example.test/{i}", WHEN, "Bench")

    def rule(self, i: int) -> Rule:
        a, b, c, d, e = self.rule_words(5)
        query = [
            f"{a} {b}",
            f"({a} OR {b} OR {c}) {d}",
            f'"{a} {b}" OR {c}',
            f"{a} AND NOT {b}",
            f"{a[:5]}* {b}",
            f"{a} NEAR/5 ({b} OR {c})",
            f'title:({a} OR "{b} {c}") {d} NOT {e}',
            f"{a} ({b} OR {c}*)",
        ][self.rng.randrange(8)]
        return Rule(f"r{i}", f"rule {i}", query)


# --- measuring ----------------------------------------------------------------


def per_second(fn: Callable, stories: list[Story], rounds: int = 3) -> float:
    """Median stories/s of ``rounds`` runs of ``fn`` over ``stories``."""
    return statistics.median(one_pass(fn, stories) for _ in range(rounds))


def one_pass(fn: Callable, stories: list[Story]) -> float:
    """Stories/s of one run of ``fn`` over ``stories``. Counts this process's
    CPU time, so other load on the machine disturbs the figures less, and
    drops each result at once, as the pipeline does after storing it: results
    kept by the thousand would make the garbage collector walk every compiled
    rule again and again, and the figure would measure the collector."""
    t0 = time.process_time()
    for story in stories:
        fn(story)
    return len(stories) / (time.process_time() - t0)


def interleaved(fns: list[Callable], stories: list[Story], rounds: int) -> list[float]:
    """Like ``per_second`` for each of ``fns``, but round by round (one pass of
    each in turn), so a change of load on the machine affects every one
    alike and the ratios between them stay fair."""
    rates: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            rates[k].append(one_pass(fn, stories))
    return [statistics.median(r) for r in rates]


def histogram(counts: list[int]) -> str:
    """Share of stories with 0, 1, 2 and 3+ matches."""
    c = Counter(min(n, 3) for n in counts)
    return " ".join(f"{c[k] / len(counts):>4.0%}" for k in range(4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", choices=("analyst", "zipf"), default="analyst")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--examples-stories", type=int, default=1000)
    parser.add_argument("--no-examples", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(rng, VOCABULARY)
    model = World(words, rng) if args.model == "analyst" else ZipfModel(words, rng)
    stories = [model.story(i) for i in range(args.stories)]
    size = sum(len(s.title.split()) + len(s.summary.split()) for s in stories) // len(stories)
    print(f"model {args.model}: {len(stories)} stories of {size} words; medians of {args.rounds} interleaved rounds,"
          " CPU time of one core\n")
    sizes = (10, 1_000, 10_000)
    rulesets, compile_s = [], []
    for n in sizes:
        rules = [model.rule(i) for i in range(n)]
        t0 = time.perf_counter()
        rulesets.append(compile_rules(rules))
        compile_s.append(time.perf_counter() - t0)
    timed = interleaved([ruleset.match for ruleset in rulesets], stories, args.rounds)
    print(f"{'rules':>7} {'compile s':>9} {'cand/story':>10} {'match/story':>11} {'matches 0/1/2/3+':>18}"
          f" {'presearch/s':>11} {'µs/story':>8} {'naive/s':>9} {'speedup':>8} {'cost vs 10':>10}")
    base_cost = None
    for n, ruleset, seconds, fast in zip(sizes, rulesets, compile_s, timed):
        naive_stories = stories[: max(100, min(len(stories), 2_000_000 // n))]
        slow = per_second(ruleset.match_exhaustive, naive_stories, rounds=1 if n >= 1000 else 3)
        got = [ruleset.match(s) for s in stories]
        assert got[: len(naive_stories)] == [ruleset.match_exhaustive(s) for s in naive_stories], (
            "presearch and naive disagree"
        )
        cand = statistics.mean(len(ruleset.candidates(s)) for s in stories)
        counts = [len(m) for m in got]
        cost = 1 / fast
        base_cost = base_cost or cost
        print(f"{n:>7,} {seconds:>9.2f} {cand:>10.1f} {sum(counts) / len(counts):>11.2f} {histogram(counts):>18}"
              f" {fast:>11,.0f} {cost * 1e6:>8.1f} {slow:>9,.0f} {fast / slow:>7.1f}x {cost / base_cost:>9.2f}x")
    print("\nnaive: every enabled rule's tree evaluated against each story (same tokenization);")
    print("the naive column at 1,000 and 10,000 rules ran on fewer stories; matches were compared on those.")
    print("cand/story: rules evaluated per story after presearch; matches 0/1/2/3+: share of stories.")
    if not args.no_examples:
        by_example(model, stories[: args.examples_stories], rng)


def with_examples(rule: Rule, rng: random.Random, words: list[str], examples: int = 3, counters: int = 1) -> Rule:
    """``rule`` with ``examples`` examples and ``counters`` counter-examples built from its query's words."""
    mine = [w for w in rule.query.replace("(", " ").replace(")", " ").replace('"', " ").split()
            if w.isalpha() and w.islower() and w not in ("title",)] or ["news"]
    def text(k: int) -> str:
        return " ".join(rng.choice(mine) if rng.random() < 0.4 else rng.choice(words) for _ in range(k))
    return replace(rule, examples=tuple(text(12) for _ in range(examples)),
                   counter_examples=tuple(text(12) for _ in range(counters)))


def by_example(model, stories: list[Story], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """CPU per story at 1,000 rules with examples, per backend, against the same rules without;
    and 1,000 rules with 20 examples and 20 counter-examples each, which learn (``decide``)."""
    words = [w for s in stories[:200] for w in s.summary.rstrip(".").split()]
    plain = [model.rule(10_000 + i) for i in range(1_000)]
    rules = [with_examples(r, rng, words) for r in plain]
    rows = [("none (query only)", plain, Similarity(semantic=False))]
    rows.append(("builtin", rules, Similarity(semantic=False)))
    many = [with_examples(r, rng, words, 20, 20) for r in plain]  # enough of each side: every rule learns
    rows.append(("builtin, learned", many, Similarity(semantic=False)))
    if semantic_unavailable() is None:
        rows.append(("semantic", [replace(r, similarity="semantic") for r in rules], Similarity(semantic=True)))
    else:
        print(f"\nsemantic backend: skipped ({semantic_unavailable()})")
    print(f"\n1,000 rules by example, {len(stories)} stories, CPU time of the process")
    print(f"{'examples':>18} {'compile s':>9} {'embedded':>9} {'match/story':>11} {'ms/story':>9} {'vs query only':>13}")
    base = None
    for name, rs, sim in rows:
        t0 = time.process_time()
        ruleset = compile_rules(rs, similarity=sim)
        compile_s = time.process_time() - t0
        embedded = 0
        ruleset.match(stories[0])  # warm up (model threads, caches)
        t0 = time.process_time()
        found = [ruleset.match(s) for s in stories]
        cpu = (time.process_time() - t0) / len(stories)
        if name != "none (query only)":
            embedded = sum(1 for s in stories if _embedded(ruleset, s))
        base = base or cpu
        print(f"{name:>18} {compile_s:>9.2f} {embedded:>9} "
              f"{sum(map(len, found)) / len(stories):>11.3f} {cpu * 1e3:>9.3f} {cpu / base:>12.1f}x", flush=True)
    print("embedded: stories some rule's boolean part let through, each embedded once; compile: examples embedded once.")


def _doc(story: Story):  # type: ignore[no-untyped-def]
    from monitor.query.evaluate import Doc
    from monitor.query.engine import story_texts

    return Doc(story_texts(story))


def _embedded(ruleset, story: Story) -> bool:  # type: ignore[no-untyped-def]
    doc = _doc(story)
    return any(ruleset.rules[i].examples is not None and ruleset.rules[i].predicate(doc)
               for i in ruleset.candidates(story, doc))


if __name__ == "__main__":
    main()
