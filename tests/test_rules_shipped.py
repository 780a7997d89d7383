"""The shipped rules in rules/ against labelled headlines (tests/testdata/rules/labelled).

Each ``<rule-id>.jsonl`` line is a story with ``expect`` = ``match`` or
``no match``; hard negatives share words with the rule but not its meaning.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.model import Story
from monitor.query import compile_rules, load_rules

ROOT = Path(__file__).resolve().parent.parent
LABELLED = Path(__file__).parent / "testdata" / "rules" / "labelled"
SEED = Path(__file__).parent / "testdata" / "rules" / "seed-article.txt"
WHEN = datetime(2016, 10, 25, tzinfo=timezone.utc)


def story(title: str, summary: str = "", content: str = "", language: str | None = None) -> Story:
    return Story("k", title, summary, "https://example.test/a", WHEN, "Example", content=content, language=language)


@pytest.fixture(scope="module")
def ruleset():
    rules, problems = load_rules(ROOT / "rules")
    assert problems == []
    return compile_rules(rules)


def _cases() -> list:
    cases = []
    for path in sorted(LABELLED.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            case = json.loads(line)
            cases.append(pytest.param(path.stem, case, id=f"{path.stem}:{n}"))
    return cases


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_it_matches_positives_and_rejects_hard_negatives(ruleset, rule_id: str, case: dict) -> None:
    s = story(case["title"], case.get("summary", ""), case.get("content", ""), case.get("language"))
    matched = {m.rule_id for m in ruleset.match(s)}
    assert (rule_id in matched) == (case["expect"] == "match"), case.get("why", case["title"])


def test_it_has_labelled_headlines_for_every_shipped_rule(ruleset) -> None:
    labelled = {p.stem for p in LABELLED.glob("*.jsonl")}
    assert {c.rule.id for c in ruleset.rules} <= labelled


def test_it_catches_the_seed_article_with_its_terms(ruleset) -> None:
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    for s in (story(title, summary=body), story(title, content=body), story("", summary=body)):
        found = {m.rule_id: m.terms for m in ruleset.match(s)}
        assert "russia-us-syria" in found
    found = {m.rule_id: m for m in ruleset.match(story(title, summary=body))}["russia-us-syria"]
    # the query names who (a Russian and an American side); the examples judged what is said
    assert found.terms[:3] == ("Russia", "US", "Pentagon")
    assert "us" not in found.terms and "U.S." in found.terms
    assert found.similarity is not None and found.similarity >= 0.2
    assert found.example and len(found.example.split()) <= 13


def test_it_reads_russian_stories_with_russian_terms(ruleset) -> None:
    s = story("Россия заявила о совместных с США ударах в Сирии; Пентагон опроверг", language="ru")
    found = {m.rule_id: m for m in ruleset.match(s)}["russia-us-syria"]
    assert found.terms == ("Россия", "США", "Пентагон")
    assert found.similarity is not None and found.example
