"""The built-in similarity backend: TF-IDF cosine over the shared tokenizer.

Needs nothing beyond the default install. A text becomes a sparse vector of
*terms*: its folded words (``monitor.text.folded_words``) cut to their first
``STEM`` characters, a crude stemmer that serves English and Russian alike
(``coordinated``/``coordination``, ``совместные``/``совместных``), with common
function words dropped. A term weighs (1 + log tf) x idf, and vectors are
scaled to unit length, so a score is a cosine in [0, 1].

Document frequencies (``Frequencies``) come from stored stories when there is
a database (``Frequencies.from_texts``), else from the background corpus
shipped with the package (``Frequencies.background``), so ``rules test``
works without a database.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources

from monitor.text import folded_words

__all__ = ["STEM", "BuiltinBackend", "Frequencies", "terms"]

#: Words are cut to this many characters (the background corpus is keyed so).
STEM = 6

_STOP = frozenset(
    """a an and are as at be been but by for from had has have he her his i if in is it its
    not of on or our said says she that the their them they this those these to was we were which who
    will with would you after also over new more than up out about into after before there
    said say says could can may might one two its it's s t
    и в во не на с со что как по к о об из за от для это он она они но а же у бы был была были
    его ее их при так то ли уже еще также""".split()
)


def terms(text: str) -> list[str]:
    """The terms of ``text`` in order: folded words cut to ``STEM`` characters,
    without function words, digits or one-letter words."""
    out = []
    for w in folded_words(text):
        if len(w) < 2 or w in _STOP or w.isdigit():
            continue
        out.append(w[:STEM])
    return out


class Frequencies:
    """Document frequencies of terms: ``docs`` texts seen, ``df[term]`` of them hold it."""

    def __init__(self, docs: int, df: dict[str, int]) -> None:
        self.docs = docs
        self.df = df
        self._top = math.log(docs + 1) + 1.0

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; an unseen term weighs the most."""
        n = self.df.get(term)
        if n is None:
            return self._top
        return math.log((self.docs + 1) / (n + 1)) + 1.0

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Frequencies:
        """Frequencies counted over ``texts`` (each a story's title and summary)."""
        df: Counter[str] = Counter()
        docs = 0
        for text in texts:
            docs += 1
            df.update(set(terms(text)))
        return cls(docs, dict(df))

    @classmethod
    def background(cls) -> Frequencies:
        """The frequencies of the background corpus shipped with the package
        (news headlines and teasers; ``monitor/similar/background.json.gz``)."""
        raw = resources.files("monitor.similar").joinpath("background.json.gz").read_bytes()
        data = json.loads(gzip.decompress(raw))
        if data.get("stem") != STEM:
            raise RuntimeError("similar: background.json.gz was built for another stem length; rebuild it")
        return cls(int(data["docs"]), {str(k): int(v) for k, v in data["df"].items()})

    def merged(self, other: Frequencies) -> Frequencies:
        """These frequencies with ``other``'s added (a small store leaning on the background)."""
        df = Counter(self.df)
        df.update(other.df)
        return Frequencies(self.docs + other.docs, dict(df))

    def dump(self) -> bytes:
        """The gzip'd JSON that ``background`` reads."""
        body = {"stem": STEM, "docs": self.docs, "df": dict(sorted(self.df.items()))}
        return gzip.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0)


class Vectors(list):  # type: ignore[type-arg]
    """Unit TF-IDF vectors (``dict[term, weight]``) with an inverted index
    (term -> (row, weight)), built on first use: scoring one story against
    hundreds of examples touches only the rows that share one of its terms."""

    _index: dict[str, list[tuple[int, float]]] | None = None

    def index(self) -> dict[str, list[tuple[int, float]]]:
        if self._index is None:
            index: dict[str, list[tuple[int, float]]] = {}
            for i, row in enumerate(self):
                for term, weight in row.items():
                    index.setdefault(term, []).append((i, weight))
            self._index = index
        return self._index


class BuiltinBackend:
    """TF-IDF cosine similarity; vectors are ``dict[term, weight]`` of unit length."""

    name = "builtin"

    def __init__(self, frequencies: Frequencies) -> None:
        self.frequencies = frequencies

    def vector(self, text: str) -> dict[str, float]:
        """The unit TF-IDF vector of one text (empty for a text with no terms)."""
        counts = Counter(terms(text))
        idf = self.frequencies.idf
        weights = {t: (1.0 + math.log(n)) * idf(t) for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {t: w / norm for t, w in weights.items()} if norm else {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        return Vectors(self.vector(t) for t in texts)

    def row(self, vectors: list[dict[str, float]], i: int) -> dict[str, float]:
        return vectors[i]

    def scores(self, vector: dict[str, float], matrix: list[dict[str, float]]) -> list[float]:
        if isinstance(matrix, Vectors) and len(matrix) > 16:
            acc = [0.0] * len(matrix)
            index = matrix.index()
            for term, weight in vector.items():
                for i, other in index.get(term, ()):
                    acc[i] += weight * other
            return acc
        out = []
        for other in matrix:
            small, large = (vector, other) if len(vector) <= len(other) else (other, vector)
            out.append(sum(w * large.get(t, 0.0) for t, w in small.items()))
        return out
