"""Random input: the parser raises only syntax errors, the matcher never raises,
and presearch never changes what matches."""

from __future__ import annotations

import functools

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.model import Rule, Story
from monitor.query import QuerySyntaxError, compile_rules, load_rules, parse_query
from monitor.query.presearch import anchors
from monitor.text import fold

WHEN = datetime(2016, 10, 25, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent
VOCAB = ["russia", "russian", "US", "us", "U.S.", "syria", "Сирии", "joint", "strikes", "coalition", "Café", "cafe"]
FEATURE_RULES = [
    Rule("plain", "p", "russia syria"),
    Rule("wild", "w", "russ* OR Сири*"),
    Rule("exact", "e", "=US NOT coalition"),
    Rule("phrase", "ph", '"joint strikes" OR "=US-led coalit*"'),
    Rule("near", "n", "(russia* OR =US) NEAR/2 (strikes OR coalition)"),
    Rule("onear", "o", "joint ONEAR/1 strikes"),
    Rule("scope", "s", "title:(cafe) OR url:russia"),
    Rule("not", "x", "NOT syria"),
]
ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
QUERY_PARTS = st.sampled_from(
    ["AND", "OR", "NOT", "NEAR/2", "ONEAR/1", "(", ")", '"', "*", "=", "title:", "url:", "russia", "syria*", " ", "US"]
)


def story(title: str, summary: str = "", url: str = "") -> Story:
    return Story("k", title, summary, url, WHEN, "src")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(ALPHABET, max_size=60), st.lists(QUERY_PARTS, max_size=14).map(" ".join)))
def test_it_raises_only_syntax_errors_on_random_queries(query: str) -> None:
    try:
        tree = parse_query(query)
    except QuerySyntaxError as exc:
        assert exc.problems and exc.problems[0].column >= 1
        return
    compile_rules([Rule("r", "R", query)]).match(story("russia syria US"))
    anchors(tree)


@functools.lru_cache(maxsize=1)
def _shipped():  # type: ignore[no-untyped-def]
    """The shipped rules and the feature rules, compiled once: the seed rule learns from
    its 812 labelled stories when it compiles, a few seconds that every example need not pay."""
    return compile_rules(load_rules(ROOT / "rules")[0] + FEATURE_RULES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(ALPHABET, max_size=200), st.text(ALPHABET, max_size=200))
def test_it_never_raises_on_random_unicode_stories(title: str, summary: str) -> None:
    shipped = _shipped()
    s = story(title, summary, url=title)
    assert shipped.match(s) == shipped.match_exhaustive(s)


WORDS = st.lists(st.sampled_from(VOCAB + ["the", "Turkey", "U.S.-led", "strike"]), max_size=14).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(QUERY_PARTS, min_size=1, max_size=10).map(" ".join), min_size=1, max_size=8),
    WORDS,
    WORDS,
)
def test_it_matches_the_same_with_and_without_presearch(queries: list[str], title: str, summary: str) -> None:
    rules = []
    for i, q in enumerate(queries):
        try:
            parse_query(q)
        except QuerySyntaxError:
            continue
        rules.append(Rule(f"r{i}", "R", q))
    ruleset = compile_rules(rules + FEATURE_RULES)
    s = story(title, summary, url="https://example.test/" + title.replace(" ", "-"))
    assert ruleset.match(s) == ruleset.match_exhaustive(s)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from([fold(w) for w in VOCAB] + ["the", "turkey"]), st.floats(0.0, 1.0)),
    WORDS,
    WORDS,
)
def test_it_matches_the_same_whatever_word_frequencies_choose_the_anchors(
    stats: dict[str, float], title: str, summary: str
) -> None:
    ruleset = compile_rules(FEATURE_RULES, stats=stats)
    s = story(title, summary, url="https://example.test/" + title.replace(" ", "-"))
    assert ruleset.match(s) == ruleset.match_exhaustive(s) == compile_rules(FEATURE_RULES).match(s)


SHAPES = [
    "{a}", '"{a} {b}"', "({a} OR {b}) ({c} OR {d})", "{a} NOT {b}", "{p}* ({a} OR {b})",
    "{a} NEAR/2 ({b} OR {c})", 'title:({a} OR "{a} {b}") {c} NOT {d}', "{a} {b}",
    "({a} OR {b}) ({c} OR {d} OR {p}*)", "({a} OR {b}) ONEAR/1 {c} {d}", "=US {a}", "{a} OR NOT {b}",
]
SMALL_VOCAB = ["alep", "aleppo", "aleppan", "truce", "ceasefire", "talks", "russia", "russian", "us", "syria",
               "raids", "strikes", "the", "and", "geneva", "kurds"]


@pytest.mark.parametrize("seed", range(4))
def test_it_matches_many_rules_the_same_with_and_without_presearch(seed: int) -> None:
    # Rules built like the benchmark's over a small vocabulary, so that anchors, filters
    # and prefixes both pass and fail often.
    rng = random.Random(seed)
    rules = []
    for i in range(300):
        a, b, c, d = rng.sample(SMALL_VOCAB, 4)
        rules.append(Rule(f"r{i}", "R", rng.choice(SHAPES).format(a=a, b=b, c=c, d=d, p=rng.choice(SMALL_VOCAB)[:4])))
    ruleset = compile_rules(rules)
    for _ in range(150):
        words = rng.choices(SMALL_VOCAB + ["US", "U.S.", "Aleppo's", "RAIDS", "x"], k=rng.randint(0, 12))
        cut = rng.randint(0, len(words))
        s = story(" ".join(words[:cut]), ", ".join(words[cut:]) + ".")
        assert ruleset.match(s) == ruleset.match_exhaustive(s)
