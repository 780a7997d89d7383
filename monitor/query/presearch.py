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

At match time all anchors live in one Aho-Corasick automaton run over the
story's folded words joined by spaces: `` word `` for a word and `` prefix``
for a prefix, so a single pass in C finds every candidate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import ahocorasick

from monitor.query.parser import And, Near, Node, Not, Scope, Term, Word

__all__ = ["Anchor", "PresearchIndex", "anchors", "estimated_share", "rule_set_shares"]

Anchor = tuple[str, bool]  # folded word, is a prefix

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
    or None when the node cannot be anchored (it must always be evaluated)."""
    if isinstance(node, Term):
        return _cheapest([(frozenset({(w.norm, w.prefix)}), _word_share(w, stats)) for w in node.words])
    if isinstance(node, Near):
        return _cheapest([_union([anchors(t, stats) for t in node.left]), _union([anchors(t, stats) for t in node.right])])
    if isinstance(node, Scope):
        return anchors(node.child, stats)
    if isinstance(node, Not):
        return None
    found = [anchors(c, stats) for c in node.children]
    if isinstance(node, And):
        return _cheapest(found)
    return _union(found)


def _cheapest(options: Sequence[tuple[frozenset[Anchor], float] | None]) -> tuple[frozenset[Anchor], float] | None:
    usable = [o for o in options if o is not None]
    return min(usable, key=lambda o: (o[1], sorted(o[0]))) if usable else None


def _union(options: Sequence[tuple[frozenset[Anchor], float] | None]) -> tuple[frozenset[Anchor], float] | None:
    if any(o is None for o in options):
        return None
    keys = frozenset().union(*(o[0] for o in options))  # type: ignore[index]
    return keys, min(1.0, sum(o[1] for o in options))  # type: ignore[index]


class PresearchIndex:
    """Maps anchors to rule numbers; ``candidates`` gives the rules a story may match.

    ``rules`` pairs each rule number with its anchors, or None for a rule
    that must always be evaluated. Built once; read-only afterwards.
    """

    def __init__(self, rules: Sequence[tuple[int, frozenset[Anchor] | None]]) -> None:
        self.always: tuple[int, ...] = tuple(i for i, a in rules if a is None)
        by_key: dict[str, list[int]] = {}
        for i, found in rules:
            for word, prefix in found or ():
                by_key.setdefault(f" {word}" if prefix else f" {word} ", []).append(i)
        self._automaton: ahocorasick.Automaton | None = None
        if by_key:
            automaton = ahocorasick.Automaton()
            for key, ids in by_key.items():
                automaton.add_word(key, tuple(sorted(set(ids))))
            automaton.make_automaton()
            self._automaton = automaton
        self.keys = len(by_key)

    def candidates(self, words: Sequence[str]) -> set[int]:
        """Rule numbers whose anchors occur in ``words`` (folded), plus the
        always-evaluated rules."""
        found = set(self.always)
        if self._automaton is not None and words:
            text = " " + " ".join(words) + " "
            update = found.update
            for _, ids in self._automaton.iter(text):
                update(ids)
        return found
