"""Presearch: pick the few rules worth evaluating against a story.

The idea is Lucene Monitor's. From each query we derive *anchors*: a set of
words such that any story the query matches contains at least one of them.

- a word is its own anchor (``coordinat*`` is a prefix anchor);
- a phrase or ``NEAR`` needs all its words, so one word is enough: the rarest;
- ``AND`` needs every child, so the anchors of its cheapest child do;
- ``OR`` needs some child, so the union of all children's anchors;
- ``NOT`` gives none. A query whose anchors cannot be found (``NOT x``,
  ``a OR NOT b``) is evaluated against every story.

"Rarest" is an estimate: a word's estimated share of stories falls with its
length, common function words count as frequent, and a prefix counts as more
frequent than the word. Callers with real document frequencies can pass them;
without them, ``rule_set_shares`` refines the estimate with how many rules of
the set name each word: a word that many rules name (a country, a subject
such as "ceasefire") is a word the news uses often, while the name a single
rule is built around is usually rare.

A second pass (Lucene Monitor's "multipass" presearcher does the same) keeps
a rule found by its anchors only if the story also satisfies the rule's other
requirements that are cheap to test: ``jets* (strikes OR raids)`` anchored on
``strikes``/``raids`` also needs a word starting with ``jets``. Rules are then
evaluated mostly when they match.

At match time the story's set of folded words is intersected (in C) with the
set of whole-word anchors, and prefix anchors live in one Aho-Corasick
automaton run over those words joined by spaces (`` prefix`` is the key), so
presearch costs grow with the story, hardly with the number of rules. The
second pass looks only at the few rules the first one found.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import ahocorasick

from monitor.query.parser import And, Near, Node, Not, Scope, Term, Word

__all__ = [
    "Anchor", "Clause", "PresearchIndex", "anchors", "estimated_share", "requirements", "rule_set_shares",
    "word_filters",
]

Anchor = tuple[str, bool]  # folded word, is a prefix
Clause = tuple[frozenset[Anchor], float]  # a story holds one of these anchors; estimated share

# Words so common in news text that they make poor anchors (English, Russian).
_COMMON = frozenset(
    """a an and are as at be been but by for from had has have he her his i in is it its
    not of on or our said says she that the their they this to us was we were which who
    will with would you after also over new more than up out about into
    и в во не на с со что как по к о об из за от для это он она они но а же""".split()
)


def estimated_share(word: Word) -> float:
    """Share of stories estimated, from the word alone, to contain a word
    that ``word`` matches: common words 0.5, else falling with length."""
    if word.norm in _COMMON:
        return 0.5
    n = len(word.norm)
    share = min(0.3, 8.0 / (n**3))
    if word.prefix:
        share = min(0.5, share * 4.0)
    return share


def _word_share(word: Word, stats: Mapping[str, float] | None) -> float:
    """Estimated share of stories containing a word that ``word`` matches."""
    if stats is not None and not word.prefix and word.norm in stats:
        return stats[word.norm]
    return estimated_share(word)


def rule_set_shares(trees: Iterable[Node]) -> dict[str, float]:
    """Estimated shares of stories for every plain word of ``trees``:
    ``estimated_share`` times the number of trees naming the word, at most 1.

    Only the ranking matters (each rule is anchored on its rarest required
    words); any ranking gives the same matches, a better one fewer candidates.
    """
    named: Counter[str] = Counter()
    for tree in trees:
        named.update({w.norm for w in _words(tree) if not w.prefix})
    return {norm: min(1.0, estimated_share(Word(norm)) * count) for norm, count in named.items()}


def _words(node: Node) -> Iterator[Word]:
    if isinstance(node, Term):
        yield from node.words
    elif isinstance(node, Near):
        for term in node.left + node.right:
            yield from term.words
    elif isinstance(node, (Scope, Not)):
        yield from _words(node.child)
    else:
        for child in node.children:
            yield from _words(child)


def anchors(node: Node, stats: Mapping[str, float] | None = None) -> tuple[frozenset[Anchor], float] | None:
    """The anchors of ``node`` and their estimated combined share of stories,
    or None when the node cannot be anchored (it must always be evaluated):
    the cheapest of its ``requirements``."""
    return _cheapest(requirements(node, stats))


def requirements(node: Node, stats: Mapping[str, float] | None = None) -> list[Clause]:
    """What every story that ``node`` matches contains, as clauses: some
    anchor of each clause. Empty when nothing can be required.

    A phrase requires each of its words (a clause each); ``AND`` what each
    child requires; ``NEAR`` what each side requires; ``OR`` (and a ``NEAR``
    side with several alternatives) one clause, the union of each child's
    cheapest; ``NOT`` nothing.
    """
    if isinstance(node, Term):
        return [(frozenset({(w.norm, w.prefix)}), _word_share(w, stats)) for w in node.words]
    if isinstance(node, Near):
        left = _either([requirements(t, stats) for t in node.left])
        return left + _either([requirements(t, stats) for t in node.right])
    if isinstance(node, Scope):
        return requirements(node.child, stats)
    if isinstance(node, Not):
        return []
    found = [requirements(c, stats) for c in node.children]
    if isinstance(node, And):
        return [clause for clauses in found for clause in clauses]
    return _either(found)


def word_filters(node: Node, stats: Mapping[str, float] | None = None) -> tuple[frozenset[str], ...]:
    """The requirements of ``node`` other than its anchors, rarest first, each
    as a set of folded words (a prefix written ``prefix*``): a story with no
    word of one of them cannot match. Empty when ``node`` has no anchors."""
    clauses = requirements(node, stats)
    anchor = _cheapest(clauses)
    if anchor is None:
        return ()
    out: list[frozenset[str]] = []
    for keys, _ in sorted(clauses, key=lambda c: (c[1], sorted(c[0]))):
        words = frozenset(word + "*" if prefix else word for word, prefix in keys)
        if keys != anchor[0] and words not in out:
            out.append(words)
    return tuple(out)


def _either(options: Sequence[list[Clause]]) -> list[Clause]:
    """The requirements when one of ``options`` (each a list of clauses) holds:
    one clause, the union of each option's cheapest; none when some option
    requires nothing."""
    if len(options) == 1:
        return options[0]
    cheapest = [c for c in map(_cheapest, options) if c is not None]
    if len(cheapest) < len(options):
        return []
    keys = frozenset().union(*(keys for keys, _ in cheapest))
    return [(keys, min(1.0, sum(share for _, share in cheapest)))]


def _cheapest(clauses: Sequence[Clause]) -> Clause | None:
    """The clause with the smallest estimated share (ties: by its anchors)."""
    return min(clauses, key=lambda c: (c[1], sorted(c[0]))) if clauses else None


class PresearchIndex:
    """Maps anchors to rule numbers; ``candidates`` gives the rules a story may match.

    ``rules`` pairs each rule number with its anchors, or None for a rule
    that must always be evaluated. ``filters`` optionally maps rule numbers
    to their ``word_filters``: a rule found by its anchors stays a candidate
    only if the story has a word of each. Built once; read-only afterwards.
    """

    def __init__(
        self,
        rules: Sequence[tuple[int, frozenset[Anchor] | None]],
        filters: Mapping[int, tuple[frozenset[str], ...]] | None = None,
    ) -> None:
        self.always: tuple[int, ...] = tuple(i for i, a in rules if a is None)
        by_word: dict[str, set[int]] = {}
        by_prefix: dict[str, set[int]] = {}
        for i, found in rules:
            for word, prefix in found or ():
                (by_prefix if prefix else by_word).setdefault(word, set()).add(i)
        self.keys = len(by_word) + len(by_prefix)
        self._by_word = {word: tuple(sorted(ids)) for word, ids in by_word.items()}
        self._words = frozenset(by_word)
        self._prefixes: ahocorasick.Automaton | None = None
        if by_prefix:
            automaton = ahocorasick.Automaton()
            for prefix, ids in by_prefix.items():
                automaton.add_word(" " + prefix, tuple(sorted(ids)))
            automaton.make_automaton()
            self._prefixes = automaton
        # By rule number: the filters, split into whole words and prefixes; () for none.
        self._filters: list[tuple[tuple[frozenset[str], tuple[str, ...]], ...]] = [()] * (
            1 + max((i for i, _ in rules), default=-1)
        )
        for i, found in rules:
            if found is not None and filters and filters.get(i):
                self._filters[i] = tuple(_split_prefixes(words) for words in filters[i])

    def candidates(self, words: Iterable[str]) -> set[int]:
        """Rule numbers whose anchors occur in ``words`` (folded; a set is used
        as it is) and whose filters pass, plus the always-evaluated rules."""
        if not isinstance(words, (set, frozenset)):
            words = set(words)
        found = set(self.always)
        if not words:
            return found
        update = found.update
        by_word = self._by_word
        for word in self._words.intersection(words):
            update(by_word[word])
        if self._prefixes is not None:
            for _, ids in self._prefixes.iter(" " + " ".join(words)):
                update(ids)
        filters = self._filters
        ordered: list[str] | None = None  # the words sorted, for prefix filters
        for i in list(found):
            for need, prefixes in filters[i]:
                if need.isdisjoint(words):
                    if prefixes:
                        if ordered is None:
                            ordered = sorted(words)
                        if _starts_any(ordered, prefixes):
                            continue
                    found.discard(i)
                    break
        return found


def _split_prefixes(words: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A ``word_filters`` set as its whole words and its prefixes (``*`` dropped)."""
    return (
        frozenset(w for w in words if not w.endswith("*")),
        tuple(sorted(w[:-1] for w in words if w.endswith("*"))),
    )


def _starts_any(ordered: list[str], prefixes: tuple[str, ...]) -> bool:
    """Whether a word of ``ordered`` (sorted) starts with one of ``prefixes``."""
    for prefix in prefixes:
        i = bisect_left(ordered, prefix)
        if i < len(ordered) and ordered[i].startswith(prefix):
            return True
    return False
