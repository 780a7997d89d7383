"""A rule's examples and counter-examples as training data: a logistic regression over the backend's vectors.

With a few examples, a story is judged by its nearest neighbours
(``Examples.nearest``). With many labelled ones (``MIN_LEARNED`` of each
side), the examples say more together than their nearest few do apart: a
classifier weighs each term by how well it tells the two sides apart across
all of them ("together", "no cooperation" for the seed rule; "sanctions",
"talks" against it), where a neighbour vote weighs every shared word alike.
Cross-validated on the seed rule's 462 labelled stories
(``bench/eval_examples.py --cv 5``): precision 0.884 -> 0.973 at recall 0.924
-> 0.919 for the built-in backend, 0.906 -> 0.979 at 0.929 -> 0.934 for the
semantic one.

The features are the backend's own vectors, so a story is still embedded
once: the built-in backend's unit TF-IDF terms; for the semantic backend
(``Blended``) the same terms beside the sentence embedding, scaled by
``DENSE_WEIGHT``. scikit-learn fits the model (L2-regularised, ``C``,
classes weighted by their size) once per rule load; it is imported only
when a rule learns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["C", "CUT", "DENSE_WEIGHT", "MIN_LEARNED", "Learned"]

MIN_LEARNED = 20
"""A rule learns from its examples by default when it has at least this
many examples and this many counter-examples (``decide`` in the rule file
says otherwise)."""
C = 30.0
"""Inverse regularisation strength; 10-100 measured within 0.01 of one another."""
CUT = 0.5
"""A story is on the examples' side when the model gives it this probability or more."""
DENSE_WEIGHT = 0.5
"""How much the sentence embedding weighs beside the unit TF-IDF terms (1.0 measured worse for Russian)."""


def _parts(vectors: Any) -> tuple[list[dict[str, float]] | None, Any]:
    """Split an ``embed`` result into its sparse rows (term -> weight dicts) and its dense matrix."""
    if isinstance(vectors, tuple):
        dense, sparse = vectors
        return list(sparse), dense
    if isinstance(vectors, list):
        return list(vectors), None
    return None, vectors


class Learned:
    """A logistic regression fitted on a backend's vectors of examples (1) and counter-examples (0).

    ``positive`` and ``negative`` are ``embed`` results of one backend; a
    vector passed to ``probability`` must be one row of that backend's
    ``embed`` (``backend.row``). Raises ``ValueError`` when either side is
    empty.
    """

    def __init__(self, positive: Any, negative: Any) -> None:
        import numpy as np
        from scipy.sparse import csr_matrix, hstack, vstack
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        pos_sparse, pos_dense = _parts(positive)
        neg_sparse, neg_dense = _parts(negative)
        count_pos = len(pos_sparse) if pos_sparse is not None else len(pos_dense)
        count_neg = len(neg_sparse) if neg_sparse is not None else len(neg_dense)
        if not count_pos or not count_neg:
            raise ValueError("similar: learning needs examples and counter-examples")
        self._terms: Any = None
        blocks = []
        if pos_sparse is not None and neg_sparse is not None:
            self._terms = DictVectorizer()
            blocks.append(self._terms.fit_transform(pos_sparse + neg_sparse))
        self._dense = pos_dense is not None and neg_dense is not None
        if self._dense:
            blocks.append(csr_matrix(DENSE_WEIGHT * np.vstack([np.asarray(pos_dense), np.asarray(neg_dense)])))
        matrix = hstack(blocks).tocsr() if len(blocks) > 1 else vstack(blocks).tocsr()
        labels = np.concatenate([np.ones(count_pos), np.zeros(count_neg)])
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(matrix, labels)
        weights = model.coef_[0]
        self._bias = float(model.intercept_[0])
        # Scored by hand, without scikit-learn per story: a dot product over the story's terms.
        width = len(self._terms.vocabulary_) if self._terms is not None else 0
        self._term_weights: dict[str, float] = (
            {t: float(weights[i]) for t, i in self._terms.vocabulary_.items()} if self._terms is not None else {}
        )
        self._dense_weights = DENSE_WEIGHT * weights[width:] if self._dense else None

    def probability(self, vector: Any) -> float:
        """The probability that the text of ``vector`` is on the examples' side."""
        if isinstance(vector, tuple):
            dense, sparse = vector
        elif isinstance(vector, dict):
            dense, sparse = None, vector
        else:
            dense, sparse = vector, None
        z = self._bias
        if sparse:
            get = self._term_weights.get
            z += sum(w * get(t, 0.0) for t, w in sparse.items())
        if self._dense_weights is not None and dense is not None:
            z += float(self._dense_weights @ dense)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    @staticmethod
    def enough(examples: Sequence[str], counter_examples: Sequence[str]) -> bool:
        """Whether a rule has the labelled texts to learn from by default."""
        return len(examples) >= MIN_LEARNED and len(counter_examples) >= MIN_LEARNED
