"""What a word is, in every script: one table of sentences, and the rule engine on them."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

import pytest

from monitor.model import Rule, Story
from monitor.query import compile_rules, match
from monitor.text import exact_words, folded_words, tokens, word_spans, words


def nfc(items: list[str]) -> list[str]:
    return [unicodedata.normalize("NFC", w) for w in items]


WORDS = [
    # Latin with accents: accents fold away
    ("latin", "Le président français a visité Genève", ["le", "president", "francais", "a", "visite", "geneve"]),
    ("latin-de", "Die Straße nach Köln", ["die", "strasse", "nach", "koln"]),
    # Cyrillic: й -> и, ё -> е, as before
    ("cyrillic", "Ёлка и йогурт в Санкт-Петербурге", ["елка", "и", "иогурт", "в", "санкт", "петербурге"]),
    ("greek", "Ο πρωθυπουργός επισκέφθηκε την Αθήνα", ["ο", "πρωθυπουργοσ", "επισκεφθηκε", "την", "αθηνα"]),
    # Arabic and Hebrew: optional vowel points fold away
    ("arabic", "قال وزير الخارجية في القاهرة", ["قال", "وزير", "الخارجية", "في", "القاهرة"]),
    ("arabic-points", "مُحَمَّد", ["محمد"]),
    ("hebrew", "הַמִּשְׁטָרָה עצרה חשוד בתל אביב", ["המשטרה", "עצרה", "חשוד", "בתל", "אביב"]),
    # Indic: vowel signs and viramas are letters and stay
    ("devanagari", "प्रधानमंत्री ने दिल्ली में कहा", ["प्रधानमंत्री", "ने", "दिल्ली", "में", "कहा"]),
    ("bengali", "অস্ট্রেলিয়ার প্রধানমন্ত্রী ঢাকায়", ["অস্ট্রেলিয়ার", "প্রধানমন্ত্রী", "ঢাকায়"]),
    ("tamil", "சென்னையில் கனமழை பெய்தது", ["சென்னையில்", "கனமழை", "பெய்தது"]),
    # Thai: ICU's dictionary word breaks
    ("thai", "ฝนตกหนักในกรุงเทพวันนี้", ["ฝน", "ตกหนัก", "ใน", "กรุงเทพ", "วัน", "นี้"]),
    # Chinese, Japanese, Korean: overlapping bigrams; a lone character is a word
    ("chinese", "中国外交部在北京表示", ["中国", "国外", "外交", "交部", "部在", "在北", "北京", "京表", "表示"]),
    ("japanese", "大阪府知事は会見で", ["大阪", "阪府", "府知", "知事", "事は", "は会", "会見", "見で"]),
    ("korean", "서울에서 열린 회의", ["서울", "울에", "에서", "열린", "회의"]),
    ("mixed", "iPhone用 U.S. 的", ["iphone", "用", "us", "的"]),
]


@pytest.mark.parametrize(("script", "text", "expected"), WORDS, ids=[w[0] for w in WORDS])
def test_a_word_is_what_the_table_says(script: str, text: str, expected: list[str]) -> None:
    assert nfc(folded_words(text)) == nfc(expected)
    assert words(text) == folded_words(text)


@pytest.mark.parametrize(("script", "text", "expected"), WORDS, ids=[w[0] for w in WORDS])
def test_spans_exact_forms_and_tokens_stay_aligned(script: str, text: str, expected: list[str]) -> None:
    spans = word_spans(text)
    assert len(spans) == len(folded_words(text)) == len(exact_words(text)) == len(tokens(text))
    assert [text[a:b] for a, b in spans] == [w for w, _, _ in tokens(text)]
    assert word_spans(text, 2) == spans[:2]


def test_bengali_keeps_its_vowel_signs_and_virama() -> None:
    (word,) = folded_words("অস্ট্রেলিয়ার")
    assert "\u09cd" in word and "\u09bf" in word  # virama, vowel sign i
    assert len(set(folded_words("অস্ট্রেলিয়ার সঙ্গে ভারতের"))) == 3  # no single-letter fragments


WHEN = datetime(2026, 11, 3, tzinfo=timezone.utc)

FOUND = [
    ("北京", "中国外交部在北京表示", True),
    ("北京", "中国外交部在上海表示", False),
    ("外交部", "中国外交部在北京表示", True),
    ('"外交部 北京"', "中国外交部在北京表示", False),  # not consecutive
    ("大阪", "大阪府知事は会見で", True),
    ("東京", "大阪府知事は会見で", False),
    ("会見", "大阪府知事は会見で", True),
    ("กรุงเทพ", "ฝนตกหนักในกรุงเทพวันนี้", True),
    ("เชียงใหม่", "ฝนตกหนักในกรุงเทพวันนี้", False),
    ('"ฝนตกหนัก กรุงเทพ"', "ฝนตกหนักในกรุงเทพวันนี้", False),
    ('"ในกรุงเทพ"', "ฝนตกหนักในกรุงเทพวันนี้", True),
    ("서울", "서울에서 열린 회의", True),
    ("부산", "서울에서 열린 회의", False),
    ("서울에서", "서울에서 열린 회의", True),
    ('"서울 회의"', "서울에서 열린 회의", False),
    ("পশ্চিমবঙ্গ", "পশ্চিমবঙ্গে ভোট", False),  # whole words, as in every spaced script
    ("পশ্চিমবঙ্গ*", "পশ্চিমবঙ্গে ভোট", True),
    ("অস্ট্রেলিয়া", "অস্ট্রেলিয়ার সঙ্গে", False),
    ("দিল্লি", "দিল্লিতে বৈঠক", False),
    ("दिल्ली", "प्रधानमंत्री ने दिल्ली में कहा", True),
    ("Genève", "visite à Geneve", True),
    ("=US", "the U.S. military", True),
    ("=US", "join us now", False),
    ("Росси*", "заявление России", True),
    ("القاهرة", "قال وزير الخارجية في القاهرة", True),
    ("القاهرة NEAR/1 وزير", "قال وزير الخارجية في القاهرة", False),
    ("القاهرة NEAR/2 وزير", "قال وزير الخارجية في القاهرة", True),
]


@pytest.mark.parametrize(("query", "text", "expected"), FOUND)
def test_the_rule_engine_finds_words_of_every_script_in_running_text(query: str, text: str, expected: bool) -> None:
    ruleset = compile_rules([Rule("r", "R", query)])
    story = Story("k", text, "", "", WHEN, "")
    found = match(story, ruleset)
    assert bool(found) is expected
    assert found == ruleset.match_exhaustive(story)
    if expected:
        (hit,) = found
        assert all(term in text for term in hit.terms)  # highlighted as written
