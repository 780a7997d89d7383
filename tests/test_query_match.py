"""The query language against stories: one table of (query, text, expected)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.model import Rule, Story
from monitor.query import compile_rules, match

WHEN = datetime(2016, 10, 25, tzinfo=timezone.utc)


def story(title: str = "", summary: str = "", content: str = "", **kw) -> Story:
    return Story("k", title, summary, kw.pop("url", ""), WHEN, kw.pop("source", ""), content=content, **kw)


def run(query: str, s: Story, **rule_kw) -> tuple[str, ...] | None:
    ruleset = compile_rules([Rule("r", "R", query, **rule_kw)])
    found = match(s, ruleset)
    assert found == ruleset.match_exhaustive(s)
    return found[0].terms if found else None


CASES = [
    # words, not substrings
    ("US", "USB sticks", False),
    ("Russia*", "Russian jets", True),
    ("Russia", "Russian jets", False),
    ("coordinat*", "the strikes were coordinated", True),
    ("coalition", "COALITION forces", True),
    ("cafe", "Café society", True),
    ("Росси*", "заявление России", True),
    ("Сирия", "удары в Сирии", False),
    ("Ελλάδα", "η ΕΛΛΑΔΑ σήμερα", True),
    # case-sensitive acronyms
    ("=US", "join us now", False),
    ("=US", "the US military", True),
    ("=US", "the U.S. military", True),
    ("=US", "the U.S.-led coalition", True),
    ('"=US-led coalition"', "the U.S.-led coalition", True),
    ('"=US-led coalition"', "let us-led coalition", False),
    # boolean operators, implicit AND, precedence
    ("russia syria", "Syria and Russia", True),
    ("russia syria", "Russia only", False),
    ("russia AND NOT turkey", "Russia and Turkey", False),
    ("russia NOT turkey", "Russia alone", True),
    ("NOT turkey", "nothing here", True),
    ("a b OR c", "c", True),
    ("a b OR c", "a", False),
    ("a (b OR c)", "a c", True),
    ("russia and turkey", "Russia, Turkey", False),  # lower-case 'and' is a word
    ("russia and turkey", "Russia and Turkey", True),
    # phrases
    ('"defense ministry"', "The Defense Ministry said", True),
    ('"defense ministry"', "ministry of defense", False),
    ('"air strike*"', "new air strikes", True),
    ("al-Bab", "the Al-Bab area", True),
    ("al-Bab", "al Bab", True),
    # proximity
    ("russia NEAR/2 strikes", "Russia carried out strikes", True),
    ("russia NEAR/1 strikes", "Russia carried out strikes", False),
    ("russia NEAR/3 strikes", "strikes carried out by Russia", True),
    ("russia NEAR/2 strikes", "strikes carried out by Russia", False),
    ("russia ONEAR/3 strikes", "strikes carried out by Russia", False),
    ("russia ONEAR/3 strikes", "Russia carried out strikes", True),
    ("russia NEAR/0 strikes", "Russia strikes", True),
    ('"defense ministry" NEAR/3 (hotline OR coordinates)', "Defense Ministry got coordinates", True),
    ('"defense ministry" NEAR/3 (hotline OR coordinates)', "coordinates, said the Defense Ministry", True),
    ("russia NEAR/5 russia", "Russia", False),
    # plain words grouped into one set test per field group, mixed with other terms
    ("russia syria turkey", "Turkey, Syria and Russia", True),
    ("russia syria turkey", "Syria and Russia", False),
    ("(russia OR syria OR turkey) =US", "Turkey and the US", True),
    ("(russia OR syria OR turkey) =US", "Turkey and us", False),
    ('russia "air strikes" syria', "Russia says air strikes in Syria", True),
    ('russia "air strikes" syria', "Russia says strikes in Syria from the air", False),
    ("(moscow OR kremlin) NEAR/2 strik*", "the Kremlin denied strikes", True),
    ("(moscow OR kremlin) NEAR/2 strik*", "the Kremlin later flatly denied strikes", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_it_matches_the_query_language_as_documented(query: str, text: str, expected: bool) -> None:
    assert (run(query, story(text)) is not None) == expected


def test_it_does_not_let_near_span_two_fields() -> None:
    assert run("russia NEAR/3 strikes", story("Russia", "strikes")) is None


@pytest.mark.parametrize(
    ("query", "kw", "expected"),
    [
        ("title:russia", {"title": "Russia"}, True),
        ("title:russia", {"summary": "Russia"}, False),
        ("summary:(russia OR moscow)", {"summary": "Moscow said"}, True),
        ('content:"joint strikes"', {"content": "the joint strikes"}, True),
        ("source:reuters", {"source": "Reuters"}, True),
        ("url:reuters", {"url": "https://www.reuters.com/world/x"}, True),
        ("url:reuters", {"title": "Reuters"}, False),
    ],
)
def test_it_scopes_terms_to_fields(query: str, kw: dict, expected: bool) -> None:
    assert (run(query, story(**kw)) is not None) == expected


def test_it_searches_only_the_rule_fields_unless_scoped() -> None:
    s = story("Quiet day", "", "Russia struck")
    assert run("russia", s, fields=("title", "summary")) is None
    assert run("russia OR content:struck", s, fields=("title",)) == ("struck",)


def test_it_returns_matched_terms_as_written_in_order_of_first_occurrence() -> None:
    s = story("U.S. denies Russian claim", "Russia says it coordinated strikes with the US-led coalition")
    terms = run('russia* (=US OR coalition) coordinat* NOT turkey', s)
    assert terms == ("U.S.", "Russian", "Russia", "coordinated", "US", "coalition")


def test_it_never_reports_terms_under_not() -> None:
    s = story("Russia and Syria")
    assert run("russia NOT (turkey AND syria)", s) == ("Russia",)


def test_it_reports_the_phrase_and_near_words_it_matched() -> None:
    s = story("The Defense  Ministry got coordinates; coordinates again later, much later, far away")
    assert run('"defense ministry" NEAR/2 coordinates', s) == ("Defense  Ministry", "coordinates")


@pytest.mark.parametrize(
    ("rule_kw", "story_kw", "expected"),
    [
        ({"feeds": ("reuters",)}, {"feed": "reuters"}, True),
        ({"feeds": ("reuters",)}, {"feed": "tass"}, False),
        ({"tags": ("mideast",)}, {"feed_tags": ("world", "mideast")}, True),
        ({"tags": ("mideast",)}, {"feed_tags": ("world",)}, False),
        ({"languages": ("en",)}, {"language": "en-US"}, True),
        ({"languages": ("en",)}, {"language": "en_GB"}, True),
        ({"languages": ("en",)}, {"language": "ru"}, False),
        ({"languages": ("en",)}, {"language": None}, False),
        ({"enabled": False}, {}, False),
    ],
)
def test_it_applies_feed_tag_language_and_enabled_limits(rule_kw: dict, story_kw: dict, expected: bool) -> None:
    assert (run("russia", story("Russia", **story_kw), **rule_kw) is not None) == expected


def test_it_matches_every_rule_of_a_set_in_rule_order() -> None:
    rules = [Rule("b", "B", "syria"), Rule("a", "A", "russia"), Rule("c", "C", "turkey")]
    found = compile_rules(rules).match(story("Russia in Syria"))
    assert [m.rule_id for m in found] == ["b", "a"]


@pytest.mark.parametrize(
    ("query", "kw", "expected"),
    [
        ("title:russia syria", {"title": "Russia", "summary": "Syria"}, True),
        ("title:russia syria", {"title": "Syria", "summary": "Russia"}, False),
        ("title:russia OR url:syria OR turkey", {"url": "https://x.test/syria"}, True),
        ("title:russia OR url:syria OR turkey", {"summary": "Russia and Syria"}, False),
        ("title:russia title:syria", {"title": "Russia, Syria"}, True),
        ("title:russia title:syria", {"title": "Russia", "summary": "Syria"}, False),
    ],
)
def test_it_keeps_field_scopes_apart_when_grouping_plain_words(query: str, kw: dict, expected: bool) -> None:
    assert (run(query, story(**kw)) is not None) == expected


def test_it_reports_every_occurrence_field_by_field_when_a_word_repeats() -> None:
    s = story("Syria: Russia", "Russia, again Russia; and RUSSIA")
    assert run("russia syria", s) == ("Syria", "Russia", "RUSSIA")
