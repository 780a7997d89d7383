"""Text to words: the one tokenizer shared by stories and queries.

A *word* is a run of letters, digits, underscores and combining marks
(Unicode-aware: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari... all
split on spaces and punctuation). A dotted acronym such as ``U.S.`` or
``U.K.`` is one word. Scripts written without spaces (Chinese, Japanese,
Thai) come out as long runs; the rule engine does not segment them.

Each word has two forms:

- the *folded* form used by ordinary terms: NFKD, combining marks removed,
  case-folded, dots removed (``Россией`` -> ``россиеи``, ``Café`` -> ``cafe``,
  ``U.S.`` -> ``us``);
- the *exact* form used by case-sensitive terms: the word as written with
  dots removed (``U.S.`` -> ``US``, ``us`` -> ``us``).

Stories are tokenized once per field; the folded forms drive matching and the
character spans (computed only for matching stories) give the words back as
they appear in the text. In plain ASCII text (``plain_ascii``) a word is found
again with ``str.find`` (``word_start``) instead of a second regex pass.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from itertools import islice

__all__ = ["WORD", "exact_words", "fold", "folded_words", "plain_ascii", "word_spans", "word_start"]


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
#: One word: a dotted acronym (``U.S.``, ``U.S.A``) or a run of word characters.
WORD = re.compile(
    rf"(?<![{_WORDCHARS}])[^\W\d_](?:\.[^\W\d_])+\.?(?![{_WORDCHARS}])|[{_WORDCHARS}]+"
)
_findall = WORD.findall
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

_DROP = {ord("."): None, 0x200C: None, 0x200D: None}
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
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(text.translate(_DROP).split())
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[sys.intern(word)] = text
    return text


def folded_words(text: str) -> list[str]:
    """The folded form of every word of ``text``, in order."""
    if text.isascii():
        words = _findall(text.lower())
        if "." in text:
            return [w.replace(".", "") if "." in w else w for w in words]
        return words
    return [fold(w) for w in _findall(text)]


def exact_words(text: str) -> list[str]:
    """The exact (case-kept, dots removed) form of every word, in the same order
    as ``folded_words``."""
    return [w.replace(".", "") if "." in w else w for w in _findall(text)]


def word_spans(text: str, limit: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` character span of every word (of the first
    ``limit`` words when given), in the same order as ``folded_words``."""
    if limit is None:
        return [m.span() for m in WORD.finditer(text)]
    return [m.span() for m in islice(WORD.finditer(text), limit)]


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
