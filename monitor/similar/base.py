"""The interface every similarity backend meets, and a rule's compiled examples.

A backend turns texts into vectors once (``embed``) and scores a story's
vector against a matrix of example vectors (``Examples.nearest``). Vectors
are unit length, so a score is a cosine in [-1, 1] (in [0, 1] for the
built-in backend, whose weights are never negative).

A rule's examples are embedded once, when the rule set is built; a story is
embedded at most once per backend per match pass (the caller keeps the
vector), and only when some rule's boolean part let it through.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.similar.learned import CUT, Learned

__all__ = ["VOTES", "Backend", "Examples", "Nearest", "first_words"]


class Backend(Protocol):
    """A similarity backend: ``name`` is what a rule's ``similarity`` key says."""

    name: str

    def embed(self, texts: Sequence[str]) -> Any:
        """One unit vector per text, as a value ``scores`` accepts."""
        ...

    def scores(self, vector: Any, matrix: Any) -> list[float]:
        """The cosine of ``vector`` (one row of an ``embed`` result) with every row of ``matrix``."""
        ...

    def row(self, vectors: Any, i: int) -> Any:
        """Row ``i`` of an ``embed`` result."""
        ...


@dataclass(frozen=True, slots=True)
class Nearest:
    """How close a text is to a rule's examples.

    ``score`` is the cosine with the nearest example; ``example`` that
    example's text; ``counter`` the cosine with the nearest counter-example
    (0.0 when the rule has none); ``probability`` the learned model's
    probability that the text is on the examples' side (None when the rule
    does not learn, see ``monitor.similar.learned``); ``similar`` whether
    the text passes: the score reaches the threshold, and the text is on
    the examples' side: by the learned probability when there is one
    (at least ``learned.CUT``), else nearer the examples than the
    counter-examples, each side's ``VOTES`` nearest averaged.
    """

    score: float
    example: str
    counter: float
    similar: bool
    probability: float | None = None


VOTES = 3
"""How many of the nearest examples, and of the nearest counter-examples,
are averaged to decide which side a text is on. One example alone lets a
single stray neighbour decide (a counter-example that happens to share the
names, an example that shares the place); chosen by cross-validation on the
seed rule's labelled stories (``bench/eval_examples.py --cv``)."""


def _top_mean(scores: Sequence[float], k: int) -> float:
    top = heapq.nlargest(k, scores)
    return sum(top) / len(top) if top else 0.0


class Examples:
    """A rule's examples and counter-examples, embedded once by ``backend``."""

    def __init__(
        self,
        backend: Backend,
        examples: Sequence[str],
        counter_examples: Sequence[str],
        threshold: float,
        learn: bool | None = None,
    ) -> None:
        """Embed the texts once; with ``learn`` (None: when ``Learned.enough``
        says so) also fit the learned model on them. Raises ``ValueError``
        without examples, or when asked to learn without counter-examples."""
        if not examples:
            raise ValueError("similar: a rule needs at least one example")
        self.backend = backend
        self.texts = tuple(examples)
        self.counter_texts = tuple(counter_examples)
        self.threshold = threshold
        self._pos = backend.embed(self.texts)
        self._neg = backend.embed(self.counter_texts) if self.counter_texts else None
        if learn is None:
            learn = Learned.enough(self.texts, self.counter_texts)
        if learn and self._neg is None:
            raise ValueError("similar: learning needs counter-examples")
        self.learned = Learned(self._pos, self._neg) if learn else None

    def nearest(self, vector: Any) -> Nearest:
        """The nearest example (and counter-example) to a text embedded by the same backend."""
        pos = self.backend.scores(vector, self._pos)
        best = max(range(len(pos)), key=pos.__getitem__)
        neg = self.backend.scores(vector, self._neg) if self._neg is not None else []
        score = pos[best]
        if self.learned is not None:
            probability: float | None = self.learned.probability(vector)
            side = probability >= CUT
        else:
            probability = None
            side = _top_mean(pos, VOTES) > _top_mean(neg, VOTES)
        return Nearest(score, self.texts[best], max(neg, default=0.0), score >= self.threshold and side, probability)


def first_words(text: str, words: int = 12) -> str:
    """The first ``words`` words of ``text``, with an ellipsis when cut."""
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
