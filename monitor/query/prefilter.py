"""What a query needs from a full-text index: the words a story must hold for the query to match.

``index_clauses(tree, fields, indexed)`` turns a query tree into an AND of ORs
of words (``(word, is_prefix)``), built from the same requirements presearch
uses (``presearch.requirements``): every story the query matches contains some
word of every clause, in one of the ``indexed`` fields. A database full-text
index can then find the candidates, and the real matcher decides. The clauses
may only ever admit *more* stories than the query matches, never fewer, so:

- a query whose default ``fields`` reach a field the index lacks gives None
  (the index cannot vouch for it), and so does a clause under ``field:(...)``
  for such a field (it requires nothing of the index: it is dropped);
- a clause is kept only when every word of it is one an index tokenizer sees
  the same way the rule engine does: letters and digits only, and four or
  more of them unless one is a digit (short words of letters are often dotted
  acronyms: ``U.S.`` folds to ``us`` while an index splits it into ``u`` and ``s``),
  and none of it in a script written without spaces (Chinese, Japanese, Korean,
  Thai, Lao, Khmer, Myanmar): the rule engine segments those into words, an
  index's tokenizer keeps a whole run as one token;
- None when no clause is left: the query must be evaluated story by story.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from monitor.query.parser import And, Near, Node, Not, Or, Scope, Term
from monitor.query.presearch import Anchor, requirements
from monitor.text import unspaced

__all__ = ["index_clauses"]

_INDEXABLE = re.compile(r"[^\W_]{4,}|[^\W_]*\d[^\W_]*")
MAX_CLAUSES = 8
MAX_WORDS = 32


def _indexable(word: str) -> bool:
    return bool(_INDEXABLE.fullmatch(word)) and not unspaced(word)


def _only_indexed(node: Node, indexed: Collection[str]) -> Node:
    """``node`` with every ``field:(...)`` on a field outside ``indexed`` made to require nothing."""
    if isinstance(node, Scope):
        if node.field not in indexed:
            return Not(node.child)  # a NOT requires nothing: no clause comes from it
        return Scope(node.field, _only_indexed(node.child, indexed))
    if isinstance(node, (Term, Near, Not)):
        return node  # a NOT gives no requirements whatever is under it
    if isinstance(node, And):
        return And(tuple(_only_indexed(c, indexed) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_only_indexed(c, indexed) for c in node.children))
    raise TypeError(f"query: unknown node {type(node).__name__}")


def _scoped(node: Node) -> bool:
    """Whether every term of ``node`` sits under a ``field:(...)``."""
    if isinstance(node, Scope):
        return True
    if isinstance(node, (Term, Near)):
        return False
    if isinstance(node, Not):
        return _scoped(node.child)
    return all(_scoped(c) for c in node.children)


def index_clauses(
    tree: Node, fields: Collection[str], indexed: Collection[str]
) -> list[frozenset[Anchor]] | None:
    """The clauses (each: some of these words) every story matching ``tree``
    satisfies within the ``indexed`` fields, rarest first; None when the index
    cannot narrow the search. ``fields`` are the query's default fields."""
    if not set(fields) <= set(indexed) and not _scoped(tree):
        return None
    found = requirements(_only_indexed(tree, indexed))
    clauses = [
        (words, share)
        for words, share in found
        if len(words) <= MAX_WORDS and all(_indexable(word) for word, _ in words)
    ]
    clauses.sort(key=lambda c: (c[1], sorted(c[0])))
    out: list[frozenset[Anchor]] = []
    for words, _ in clauses:
        if words not in out:
            out.append(words)
    return out[:MAX_CLAUSES] or None
