"""The article page set (``testdata/articles``) and the word-level F1 it is scored by.

``load_pages()`` returns every page of ``index.jsonl`` with its HTML bytes and
reference text. ``word_f1(found, reference, lang)`` is the harmonic mean of
precision and recall over the multiset of words (folded as the rule engine
folds them); Chinese and Japanese are scored on characters, as the set's
README asks. Used by the tests and by ``bench/bench_articles.py``.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from monitor.text import folded_words

ARTICLES = Path(__file__).resolve().parent / "testdata" / "articles"
CHARACTER_LANGS = {"zh", "ja"}


@dataclass(frozen=True)
class Page:
    id: str
    lang: str
    title: str
    author: str | None
    published: str | None
    encoding: str
    shape: str
    html: bytes
    reference: str

    @property
    def content_type(self) -> str:
        charset = {"utf-8": "utf-8", "windows-1251": "windows-1251", "gbk": "gbk"}.get(self.encoding, "utf-8")
        return f"text/html; charset={charset}"


def load_pages(folder: Path = ARTICLES) -> list[Page]:
    pages = []
    for line in (folder / "index.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        meta = json.loads(line)
        pages.append(
            Page(
                id=meta["id"], lang=meta["lang"], title=meta["title"], author=meta.get("author"),
                published=meta.get("published"), encoding=meta.get("encoding", "utf-8"), shape=meta.get("shape", ""),
                html=(folder / f"{meta['id']}.html").read_bytes(),
                reference=(folder / f"{meta['id']}.txt").read_text(encoding="utf-8"),
            )
        )
    return pages


def tokens(text: str, lang: str) -> list[str]:
    if lang in CHARACTER_LANGS:
        return [c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PSZC"]
    return folded_words(text)


def word_f1(found: str, reference: str, lang: str) -> float:
    got, want = Counter(tokens(found, lang)), Counter(tokens(reference, lang))
    if not got or not want:
        return 1.0 if not got and not want else 0.0
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)
