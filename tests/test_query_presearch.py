"""Presearch: anchors are the rarest required words; candidates are few."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.model import Rule, Story
from monitor.query import compile_rules, parse_query
from monitor.query.presearch import (
    PresearchIndex,
    anchors,
    requirements,
    rule_set_shares,
    word_filters,
)


def keys(query: str, stats=None) -> set | None:
    found = anchors(parse_query(query), stats)
    return None if found is None else set(found[0])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pentagon", {("pentagon", False)}),
        ("coordinat*", {("coordinat", True)}),
        ("the pentagon", {("pentagon", False)}),
        ('"the defense ministry"', {("ministry", False)}),
        ("russia OR moscow", {("russia", False), ("moscow", False)}),
        ("=US", {("us", False)}),
        ("x NOT pentagon", {("x", False)}),
        ("russia NEAR/3 (strikes OR raids)", {("russia", False)}),
        ("title:(pentagon) OR url:reuters", {("pentagon", False), ("reuters", False)}),
        ("NOT pentagon", None),
        ("russia OR NOT pentagon", None),
    ],
)
def test_it_derives_anchors_every_match_must_contain(query: str, expected: set | None) -> None:
    assert keys(query) == expected


def test_it_prefers_the_rarest_word_when_frequencies_are_given() -> None:
    assert keys("pentagon coalition") == {("coalition", False)}
    assert keys("pentagon coalition", stats={"coalition": 0.2, "pentagon": 0.01}) == {("pentagon", False)}


def test_it_finds_candidates_by_whole_words_and_prefixes() -> None:
    index = PresearchIndex([(0, frozenset({("us", False)})), (1, frozenset({("coordinat", True)})), (2, None)])
    assert index.candidates(["usb", "coordinated"]) == {1, 2}
    assert index.candidates(["the", "us"]) == {0, 2}
    assert index.candidates([]) == {2}


def test_it_evaluates_only_candidate_rules() -> None:
    rules = [Rule(f"r{i}", "R", f"word{i} OR term{i}*") for i in range(500)]
    ruleset = compile_rules(rules)
    words = ["word7", "term42x", "other"]
    assert ruleset.index.candidates(words) == {4, 7, 42}  # term4* also starts term42x
    s = Story("k", " ".join(words), "", "", datetime(2016, 1, 1, tzinfo=timezone.utc), "")
    assert [m.rule_id for m in ruleset.match(s)] == ["r4", "r7", "r42"]


def test_it_anchors_on_the_word_fewest_rules_name_when_no_frequencies_are_given() -> None:
    # "ceasefire" is named by every rule, so it looks common; each rule's own name is the rarer anchor.
    names = ["aleppo", "latakia", "damascus", "palmyra"]
    rules = [Rule(f"r{i}", "R", f"ceasefire {name}") for i, name in enumerate(names)]
    ruleset = compile_rules(rules)
    assert [set(c.anchors or ()) for c in ruleset.rules] == [{(n, False)} for n in names]
    assert rule_set_shares([parse_query("ceasefire aleppo"), parse_query("ceasefire")])["ceasefire"] > (
        rule_set_shares([parse_query("ceasefire aleppo")])["ceasefire"]
    )


def test_it_lists_the_candidates_of_a_story_in_rule_order() -> None:
    rules = [Rule("a", "A", "pentagon"), Rule("b", "B", "NOT turkey"), Rule("c", "C", "kremlin OR coordinat*")]
    s = Story("k", "Kremlin coordinated", "", "", datetime(2016, 1, 1, tzinfo=timezone.utc), "")
    assert compile_rules(rules).candidates(s) == [1, 2]


def clauses(query: str) -> list[set]:
    return [{word + "*" if prefix else word for word, prefix in keys} for keys, _ in requirements(parse_query(query))]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pentagon", [{"pentagon"}]),
        ('"defense ministry" coordinat*', [{"defense"}, {"ministry"}, {"coordinat*"}]),
        ("russia (strikes OR raids)", [{"russia"}, {"strikes", "raids"}]),
        ('russia OR "defense ministry"', [{"russia", "ministry"}]),
        ("russia NEAR/3 (strikes OR raids)", [{"russia"}, {"strikes", "raids"}]),
        ("title:(pentagon) denies", [{"pentagon"}, {"denies"}]),
        ("russia NOT turkey", [{"russia"}]),
        ("russia OR NOT turkey", []),
        ("NOT turkey", []),
    ],
)
def test_it_derives_what_every_matching_story_must_contain(query: str, expected: list[set]) -> None:
    assert clauses(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pentagon", ()),
        ("jets* (strikes OR raids)", ({"jets*"},)),  # anchored on strikes/raids; the prefix is checked too
        ('"defense ministry" kremlin', ({"defense"}, {"kremlin"})),  # rarest first, the anchor left out
        ("NOT turkey", ()),
    ],
)
def test_it_keeps_the_requirements_beyond_the_anchors_as_filters(query: str, expected: tuple) -> None:
    assert word_filters(parse_query(query)) == tuple(frozenset(f) for f in expected)


def test_it_drops_candidates_whose_filters_find_no_word() -> None:
    index = PresearchIndex(
        [(0, frozenset({("strikes", False)})), (1, frozenset({("strikes", False)})), (2, None)],
        {
            0: (frozenset({"jets*"}),),
            1: (frozenset({"russia", "moscow"}), frozenset({"syria"})),
            2: (frozenset({"x"}),),
        },
    )
    assert index.candidates(["strikes"]) == {2}  # a rule with no anchors is never filtered
    assert index.candidates(["strikes", "jetstream"]) == {0, 2}
    assert index.candidates(["strikes", "moscow"]) == {2}
    assert index.candidates(["strikes", "moscow", "syria", "jets"]) == {0, 1, 2}


def test_it_evaluates_a_rule_only_when_its_rarer_and_commoner_words_are_both_there() -> None:
    rules = [Rule("a", "A", "palmyra ceasefire"), Rule("b", "B", "aleppo* (ceasefire OR truce)")]
    ruleset = compile_rules(rules)
    when = datetime(2016, 1, 1, tzinfo=timezone.utc)
    for title, expected in [
        ("Palmyra museum reopens", []),
        ("Palmyra ceasefire holds", [0]),
        ("Truce talks in Geneva", []),
        ("Aleppo's truce", [1]),
    ]:
        s = Story("k", title, "", "", when, "")
        assert ruleset.candidates(s) == expected
        assert ruleset.match(s) == ruleset.match_exhaustive(s)
