"""Words: Unicode-aware tokenization, folding and exact forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.query.evaluate import FieldText
from monitor.text import (
    exact_words,
    fold,
    folded_words,
    plain_ascii,
    word_spans,
    word_start,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Russia's air force", ["russia", "s", "air", "force"]),
        ("U.S.-led coalition", ["us", "led", "coalition"]),
        ("the U.S. military", ["the", "us", "military"]),
        ("USB drives", ["usb", "drives"]),
        ("Россия заявила о совместных с США ударах", ["россия", "заявила", "о", "совместных", "с", "сша", "ударах"]),
        ("Ёлка и йогурт", ["елка", "и", "иогурт"]),
        ("Η Ελλάδα και η Τουρκία", ["η", "ελλαδα", "και", "η", "τουρκια"]),
        ("الولايات المتحدة وروسيا", ["الولايات", "المتحدة", "وروسيا"]),
        ("مُحَمَّد", ["محمد"]),
        ("Café Straße ﬁnal", ["cafe", "strasse", "final"]),
        ("", []),
        ("!!! --- ...", []),
    ],
)
def test_it_splits_and_folds_words_in_any_script(text: str, words: list[str]) -> None:
    assert folded_words(text) == words


def test_it_keeps_case_in_exact_forms_and_drops_acronym_dots() -> None:
    assert exact_words("U.S.-led US us U.S") == ["US", "led", "US", "us", "US"]


def test_it_gives_spans_aligned_with_words() -> None:
    text = "Моscow, the U.S. and Café"
    spans = word_spans(text)
    assert len(spans) == len(folded_words(text)) == len(exact_words(text))
    assert [text[a:b] for a, b in spans] == ["Моscow", "the", "U.S.", "and", "Café"]


def test_it_folds_ascii_and_unicode_words_the_same_way() -> None:
    assert fold("Pentagon") == fold("PENTAGON") == "pentagon"
    assert fold("Пентагон") == fold("ПЕНТАГОН") == "пентагон"


def test_it_gives_only_the_first_spans_when_limited() -> None:
    text = "one two three four"
    assert word_spans(text, 2) == word_spans(text)[:2] == [(0, 3), (4, 7)]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Russia denies it. The Pentagon too.", True),
        ("3.5 percent, 10.2 km", True),
        ("", True),
        ("the U.S. military", False),  # a dotted acronym: its folded word has no dots
        ("e.g. this", False),
        ("end.Next", False),  # read as an acronym-like run: take the careful path
        ("Café", False),
    ],
)
def test_it_tells_plain_ascii_text_whose_words_are_found_without_a_second_regex_pass(text: str, plain: bool) -> None:
    assert plain_ascii(text) is plain


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab AB_1.,-'\n"), max_size=40))
def test_it_finds_each_word_of_plain_ascii_text_where_the_regex_does(text: str) -> None:
    if not plain_ascii(text):
        return
    words, low = folded_words(text), text.lower()
    starts = [word_start(low, w, words[:p].count(w)) for p, w in enumerate(words)]
    assert starts == [a for a, _ in word_spans(text)]
    assert word_start(low, "zz", 0) == -1


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab AB_1.,-'\nÉé"), max_size=40))
def test_it_gives_every_surface_as_the_regex_spans_do(text: str) -> None:
    spans = word_spans(text)
    for start in range(len(spans)):
        for end in range(start + 1, min(len(spans), start + 3) + 1):
            assert FieldText(text).surface(start, end) == text[spans[start][0] : spans[end - 1][1]]
