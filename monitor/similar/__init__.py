"""Similarity of texts to a rule's examples: two backends behind one interface.

Public surface::

    Backend                    # the interface (embed, row, scores, name)
    Examples(backend, examples, counter_examples, threshold, learn=None).nearest(vector) -> Nearest
    Learned(positive, negative).probability(vector)  # many labelled examples: a logistic regression
    BuiltinBackend(Frequencies)  # TF-IDF over monitor.text.folded_words; default install
    Frequencies.from_texts(texts) / Frequencies.background()
    SemanticBackend()          # sentence embeddings; the [semantic] extra
    Blended(semantic, builtin) # what a rule's similarity = "semantic" uses: both cosines blended
    semantic_unavailable() -> str | None, shared_semantic() -> SemanticBackend
    first_words(text, n)       # how an example is shown beside a match

This package knows nothing of rules or stories: the rule engine hands it texts.
"""

from monitor.similar.base import Backend, Examples, Nearest, first_words
from monitor.similar.learned import MIN_LEARNED, Learned
from monitor.similar.builtin import STEM, BuiltinBackend, Frequencies, terms
from monitor.similar.semantic import Blended, SemanticBackend
from monitor.similar.semantic import shared as shared_semantic
from monitor.similar.semantic import unavailable as semantic_unavailable

BACKENDS = ("builtin", "semantic")

__all__ = [
    "BACKENDS", "STEM", "Backend", "Blended", "BuiltinBackend", "Examples", "Frequencies", "Learned", "MIN_LEARNED", "Nearest", "SemanticBackend",
    "first_words", "semantic_unavailable", "shared_semantic", "terms",
]
