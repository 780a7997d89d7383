"""Text to words: the one tokenizer shared by stories, queries and fingerprints.

A *word* is a run of letters, digits, underscores and combining marks
(Unicode-aware: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Bengali,
Tamil... all split on spaces and punctuation), with the marks kept, so a
Bengali or Hindi word keeps its vowel signs and virama. A dotted acronym such
as ``U.S.`` or ``U.K.`` is one word. Scripts written without spaces are
segmented further:

- Chinese, Japanese (kanji and kana) and Korean (Hangul) runs become
  overlapping character bigrams, as Elasticsearch's ``cjk`` analyzer does
  (``北京表示`` -> ``北京 京表 表示``; a lone character is one word). A query
  word goes through the same segmentation and becomes a phrase of bigrams, so
  ``北京`` is found inside ``中国外交部在北京表示`` and ``서울`` inside
  ``서울에서`` (a Korean noun with its particle attached), whatever the
  neighbouring characters; a word that is absent is not found. Bigrams do not
  depend on a dictionary or on context, which word-break dictionaries do:
  ICU splits ``大阪府知事`` as ``大阪 / 府知事`` but could split the same
  characters otherwise in another sentence, and then a query would miss.
- Thai, Lao, Khmer and Myanmar runs are split with ICU's dictionary-based
  word-break rules (``icu4py``, which ships ICU inside its wheels):
  ``ฝนตกหนักในกรุงเทพวันนี้`` -> ``ฝน ตกหนัก ใน กรุงเทพ วัน นี้``.

Each word has two forms:

- the *folded* form used by ordinary terms and by fingerprints: NFKD,
  case-folded, the accents of Latin, Greek and Cyrillic removed (and the
  optional vowel points of Arabic and Hebrew), dots removed, then NFC
  (``Россией`` -> ``россиеи``, ``Café`` -> ``cafe``, ``U.S.`` -> ``us``,
  ``অস্ট্রেলিয়ার`` keeps every vowel sign and its virama);
- the *exact* form used by case-sensitive terms: the word as written with
  dots removed (``U.S.`` -> ``US``, ``us`` -> ``us``).

Stories are tokenized once per field; the folded forms drive matching and the
character spans (computed only for matching stories) give the words back as
they appear in the text (bigram spans overlap). In plain ASCII text
(``plain_ascii``) a word is found again with ``str.find`` (``word_start``)
instead of a second regex pass; text with no character of a segmented script
takes the plain regex path.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from itertools import islice

__all__ = [
    "WORD",
    "exact_words",
    "fold",
    "folded_words",
    "plain_ascii",
    "tokens",
    "word_spans",
    "word_start",
    "words",
]


def _mark_ranges() -> str:
    """A character-class body with every combining mark (Mn, Mc, Me) of the BMP."""
    ranges: list[str] = []
    start = prev = -2
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if cp != prev + 1:
                if start >= 0:
                    ranges.append(f"\\u{start:04x}-\\u{prev:04x}")
                start = cp
            prev = cp
    if start >= 0:
        ranges.append(f"\\u{start:04x}-\\u{prev:04x}")
    return "".join(ranges)


_MARKS = _mark_ranges()
_WORDCHARS = rf"\w{_MARKS}\u200c\u200d"
#: One word before segmentation: a dotted acronym (``U.S.``, ``U.S.A``) or a run of word characters.
WORD = re.compile(
    rf"(?<![{_WORDCHARS}])[^\W\d_](?:\.[^\W\d_])+\.?(?![{_WORDCHARS}])|[{_WORDCHARS}]+"
)
_findall = WORD.findall
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# Scripts written without spaces between words.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_SEA = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\uaa60-\uaa7f"
_NEEDS_SEGMENTING = re.compile(f"[{_CJK}{_SEA}]")
_RUNS = re.compile(f"([{_CJK}]+)|([{_SEA}]+)|[^{_CJK}{_SEA}]+")


def unspaced(text: str) -> bool:
    """True when ``text`` holds a character of a script written without spaces between words
    (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar): there, a word runs into its
    neighbours, and a tokenizer that splits on spaces sees a whole run as one token."""
    return _NEEDS_SEGMENTING.search(text) is not None


def _fold_drop() -> dict[int, None]:
    """Characters that folding removes: dots, zero-width (non-)joiners, and the
    combining marks that are accents (Latin, Greek, Cyrillic diacritics) or
    optional vowel points (Arabic, Hebrew). Marks that are letters of their
    script (Indic vowel signs and viramas, Thai vowels and tone marks, the
    Japanese voicing marks...) stay."""
    drop: dict[int, None] = {ord("."): None, 0x200C: None, 0x200D: None}
    blocks = [
        (0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F),
        (0x0483, 0x0489),  # Cyrillic combining marks
        (0x0591, 0x05C7),  # Hebrew points and accents
        (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED),  # Arabic
    ]
    for low, high in blocks:
        for cp in range(low, high + 1):
            if unicodedata.combining(chr(cp)) or unicodedata.category(chr(cp)).startswith("M"):
                drop[cp] = None
    return drop


_DROP = _fold_drop()
_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 200_000


def fold(word: str) -> str:
    """The folded form of one word (see the module docstring). Never raises."""
    if word.isascii():
        low = word.lower()
        return low.replace(".", "") if "." in low else low
    cached = _CACHE.get(word)
    if cached is not None:
        return cached
    text = unicodedata.normalize("NFKD", word).casefold()
    text = unicodedata.normalize("NFKD", text).translate(_DROP)
    text = unicodedata.normalize("NFC", "".join(text.split()))
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[sys.intern(word)] = text
    return text


_BREAKER: type | None = None


def _icu_words(run: str) -> list[str]:
    """ICU's word-break segmentation of a run of Thai, Lao, Khmer or Myanmar letters."""
    global _BREAKER
    if _BREAKER is None:
        from icu4py.breakers import WordBreaker

        _BREAKER = WordBreaker
    return [w for w in _BREAKER(run, "th") if w]


def _segment(word: str, start: int, out: list[tuple[str, int, int]]) -> None:
    """Append the words of one regex word that holds a segmented script."""
    for m in _RUNS.finditer(word):
        at = start + m.start()
        run = m.group()
        if m.group(1):  # Chinese, Japanese, Korean: overlapping bigrams
            if len(run) == 1:
                out.append((run, at, at + 1))
            else:
                out.extend((run[i : i + 2], at + i, at + i + 2) for i in range(len(run) - 1))
        elif m.group(2):
            for piece in _icu_words(run):
                out.append((piece, at, at + len(piece)))
                at += len(piece)
        elif run.strip("_"):
            out.append((run, at, at + len(run)))


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Every word of ``text`` as written, with its ``(start, end)`` character
    span, in order: the sequence that ``folded_words``, ``exact_words`` and
    ``word_spans`` follow."""
    if not _NEEDS_SEGMENTING.search(text):
        return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    out: list[tuple[str, int, int]] = []
    for m in WORD.finditer(text):
        w = m.group()
        if _NEEDS_SEGMENTING.search(w):
            _segment(w, m.start(), out)
        else:
            out.append((w, m.start(), m.end()))
    return out


def folded_words(text: str) -> list[str]:
    """The folded form of every word of ``text``, in order."""
    if text.isascii():
        found = _findall(text.lower())
        if "." in text:
            return [w.replace(".", "") if "." in w else w for w in found]
        return found
    if not _NEEDS_SEGMENTING.search(text):
        return [fold(w) for w in _findall(text)]
    return [fold(w) for w, _, _ in tokens(text)]


def words(text: str) -> list[str]:
    """The folded words of ``text`` (``folded_words``): what other packages
    compare, index or count."""
    return folded_words(text)


def exact_words(text: str) -> list[str]:
    """The exact (case-kept, dots removed) form of every word, in the same order
    as ``folded_words``."""
    if text.isascii() or not _NEEDS_SEGMENTING.search(text):
        found = _findall(text)
    else:
        found = [w for w, _, _ in tokens(text)]
    return [w.replace(".", "") if "." in w else w for w in found]


def word_spans(text: str, limit: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` character span of every word (of the first
    ``limit`` words when given), in the same order as ``folded_words``.
    Bigram spans of Chinese, Japanese and Korean overlap by one character."""
    if text.isascii() or not _NEEDS_SEGMENTING.search(text):
        if limit is None:
            return [m.span() for m in WORD.finditer(text)]
        return [m.span() for m in islice(WORD.finditer(text), limit)]
    spans = [(a, b) for _, a, b in tokens(text)]
    return spans if limit is None else spans[:limit]


def plain_ascii(text: str) -> bool:
    """Whether ``text`` is ASCII with no dotted acronym: then its folded words
    are its lower-cased words, the same length as written, and only non-word
    characters lie between two words (so ``word_start`` applies)."""
    if not text.isascii():
        return False
    last, at = len(text) - 1, text.find(".")
    while at >= 0:  # a dotted acronym has a letter on each side of a dot
        if 0 < at < last and text[at - 1].isalpha() and text[at + 1].isalpha():
            return False
        at = text.find(".", at + 1)
    return True


def word_start(low: str, word: str, nth: int) -> int:
    """Where the ``nth`` (from 0) whole-word occurrence of ``word`` starts in
    ``low``, a lower-cased ``plain_ascii`` text with at least ``nth + 1`` of
    them; -1 when it has fewer."""
    size, at = len(word), -1
    find = low.find
    while True:
        at = find(word, at + 1)
        if at < 0:
            return -1
        end = at + size
        if (at == 0 or low[at - 1] not in _ASCII_WORD) and (end == len(low) or low[end] not in _ASCII_WORD):
            if nth == 0:
                return at
            nth -= 1
