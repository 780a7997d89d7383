"""Words: Unicode-aware tokenization, folding and exact forms."""

from __future__ import annotations

import pytest

from monitor.query.tokens import exact_words, fold, folded_words, word_spans


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
