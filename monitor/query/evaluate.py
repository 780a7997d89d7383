"""Evaluating a query tree against one story.

``Doc`` is a story seen as words: each field is tokenized once, on first use,
and shared by every rule evaluated against the story. ``compile_query`` turns
a tree into a predicate (a chain of closures built once per rule);
``matched_terms`` walks the tree of a rule already known to match and returns
the words and phrases that made it match, as they appear in the story.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from monitor.query.parser import And, Near, Node, Not, Scope, Term, Word
from monitor.text import exact_words, folded_words, plain_ascii, word_spans, word_start

__all__ = ["Doc", "FieldText", "Predicate", "compile_query", "fields_of", "matched_terms"]

FIELD_ORDER = {"title": 0, "summary": 1, "content": 2, "source": 3, "url": 4}
_EMPTY: list[int] = []

Predicate = Callable[["Doc"], bool]
Hit = tuple[int, int, int, str]  # field order, first word, -(one past the last word), field


class FieldText:
    """One field of a story as words; positions, exact forms and character
    spans are computed on first use."""

    __slots__ = ("text", "words", "wordset", "_sorted", "_exact", "_spans", "_low", "_cache")

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = folded_words(text)
        self.wordset = set(self.words)
        self._sorted: list[str] | None = None
        self._exact: list[str] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._low: str | None = None  # the text lower-cased when plain ASCII, else ""
        self._cache: dict[Any, list[int]] = {}

    def word_positions(self, norm: str) -> list[int]:
        """Ascending positions of the folded word ``norm`` (found with
        ``list.index``, so no per-word table is built for the whole field)."""
        found = self._cache.get(norm)
        if found is None:
            if norm not in self.wordset:
                return _EMPTY
            words, found = self.words, []
            i = words.index(norm)
            try:
                while True:
                    found.append(i)
                    i = words.index(norm, i + 1)
            except ValueError:
                pass
            self._cache[norm] = found
        return found

    def positions(self, word: Word) -> list[int]:
        """Ascending positions of the words that ``word`` matches."""
        if not word.prefix:
            found = self.word_positions(word.norm)
            if word.exact is None or not found:
                return found
        key = (word.norm, word.prefix, word.exact)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if word.prefix:
            keys = self._sorted_words()
            i = bisect_left(keys, word.norm)
            found = []
            while i < len(keys) and keys[i].startswith(word.norm):
                found.extend(self.word_positions(keys[i]))
                i += 1
            found.sort()
        if word.exact is not None and found:
            if self._exact is None:
                self._exact = exact_words(self.text)
            exact, want = self._exact, word.exact
            if word.prefix:
                found = [p for p in found if exact[p].startswith(want)]
            else:
                found = [p for p in found if exact[p] == want]
        self._cache[key] = found
        return found

    def occurrences(self, term: Term) -> list[int]:
        """Ascending positions where ``term`` (all its words, consecutively) starts."""
        words = term.words
        first = self.positions(words[0])
        if len(words) == 1 or not first:
            return first
        key = id(term)
        found = self._cache.get(key)
        if found is None:
            rest = []
            for w in words[1:]:
                ps = self.positions(w)
                if not ps:
                    self._cache[key] = _EMPTY
                    return _EMPTY
                rest.append(set(ps))
            found = [p for p in first if all(p + i in s for i, s in enumerate(rest, 1))]
            self._cache[key] = found
        return found

    def spans(self, alternatives: tuple[Term, ...]) -> list[tuple[int, int]]:
        """``(first, one past last)`` word positions of every occurrence of any alternative."""
        out = [(p, p + len(t.words)) for t in alternatives for p in self.occurrences(t)]
        if len(alternatives) > 1:
            out.sort()
        return out

    def surface(self, start: int, end: int) -> str:
        """The story text from word ``start`` to word ``end - 1``, as written."""
        if self._low is None:
            self._low = self.text.lower() if plain_ascii(self.text) else ""
        if self._low:
            low, words = self._low, self.words
            first, last = words[start], words[end - 1]
            i = word_start(low, first, bisect_left(self.word_positions(first), start))
            if end - 1 != start:
                i_last = word_start(low, last, bisect_left(self.word_positions(last), end - 1))
                return self.text[i : i_last + len(last)]
            return self.text[i : i + len(first)]
        spans = self._spans
        if spans is None or len(spans) < end:
            spans = self._spans = word_spans(self.text, end)
        return self.text[spans[start][0] : spans[end - 1][1]]

    def _sorted_words(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.wordset)
        return self._sorted


class Doc(dict):
    """A story as words, field by field. Built once per story and shared by
    every rule evaluated against it. ``texts`` maps field name to text.

    As a mapping, ``doc[fields]`` (a tuple of field names) is the set of
    folded words in those fields, built on first use: compiled predicates
    read it with one dictionary look-up.
    """

    __slots__ = ("_texts", "_fields", "_sorted", "_with_words")

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self._texts = texts
        self._fields: dict[str, FieldText] = {}
        self._sorted: dict[tuple[str, ...], list[str]] = {}
        self._with_words: dict[tuple[str, ...], list[tuple[int, str, FieldText]]] = {}

    def __missing__(self, fields: tuple[str, ...]) -> set[str]:
        if len(fields) == 1:
            found = self.field(fields[0]).wordset
        else:
            found = set().union(*(self.field(f).wordset for f in fields))
        self[fields] = found
        return found

    def field(self, name: str) -> FieldText:
        """The tokenized field ``name`` (empty when the story lacks it)."""
        ft = self._fields.get(name)
        if ft is None:
            ft = self._fields[name] = FieldText(self._texts.get(name) or "")
        return ft

    def with_words(self, fields: tuple[str, ...]) -> list[tuple[int, str, FieldText]]:
        """``(FIELD_ORDER, name, FieldText)`` of each of ``fields`` that has words."""
        found = self._with_words.get(fields)
        if found is None:
            found = self._with_words[fields] = [
                (FIELD_ORDER[f], f, ft) for f in fields if (ft := self.field(f)).words
            ]
        return found

    def has_prefix(self, fields: tuple[str, ...], prefix: str) -> bool:
        """Whether some word of ``fields`` starts with ``prefix`` (folded)."""
        words = self._sorted.get(fields)
        if words is None:
            words = self._sorted[fields] = sorted(self[fields])
        i = bisect_left(words, prefix)
        return i < len(words) and words[i].startswith(prefix)

    def wordset(self, fields: tuple[str, ...]) -> set[str]:
        """Every folded word of ``fields`` (the same as ``doc[fields]``)."""
        return self[fields]


def compile_query(node: Node, fields: tuple[str, ...]) -> Predicate:
    """A predicate that says whether ``node`` matches a ``Doc``, searching
    ``fields`` unless a ``Scope`` in the tree says otherwise.

    Built once per rule. Plain words (no ``=``, no ``*``, not a phrase) under
    one ``AND`` or ``OR`` become one set operation per field group; phrases,
    exact words and ``NEAR`` are first checked against the story's word set,
    so word positions are computed only when every word is present.
    """
    if isinstance(node, Scope):
        return compile_query(node.child, (node.field,))
    if isinstance(node, Term):
        return _compile_term(node, fields)
    if isinstance(node, Not):
        inner = compile_query(node.child, fields)
        return lambda doc: not inner(doc)
    if isinstance(node, Near):
        return _compile_near(node, fields)
    groups: dict[tuple[str, ...], set[str]] = {}
    rest: list[Node] = []
    for child in node.children:
        plain = _plain(child, fields)
        if plain is None:
            rest.append(child)
        else:
            groups.setdefault(plain[1], set()).add(plain[0])
    preds = [_compile_group(words, f, isinstance(node, And)) for f, words in groups.items()]
    preds += [compile_query(c, fields) for c in sorted(rest, key=_cost)]
    if len(preds) == 1:
        return preds[0]
    if isinstance(node, And):

        def all_of(doc: Doc) -> bool:
            for pred in preds:
                if not pred(doc):
                    return False
            return True

        return all_of

    def any_of(doc: Doc) -> bool:
        for pred in preds:
            if pred(doc):
                return True
        return False

    return any_of


def _plain(node: Node, fields: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """``(folded word, fields)`` when ``node`` is one plain word, else None."""
    while isinstance(node, Scope):
        node, fields = node.child, (node.field,)
    if isinstance(node, Term) and len(node.words) == 1:
        word = node.words[0]
        if word.exact is None and not word.prefix:
            return word.norm, fields
    return None


def _compile_group(words: set[str], fields: tuple[str, ...], every: bool) -> Predicate:
    """All (``every``) or any of the plain ``words`` in ``fields``."""
    if len(words) == 1:
        (word,) = words
        return lambda doc: word in doc[fields]
    need = frozenset(words)
    if every:
        return lambda doc: need <= doc[fields]
    return lambda doc: not need.isdisjoint(doc[fields])


def _needs(term: Term) -> frozenset[str]:
    """Folded words a field must contain for ``term`` to occur in it."""
    return frozenset(w.norm for w in term.words if not w.prefix)


def _compile_term(term: Term, fields: tuple[str, ...]) -> Predicate:
    word = term.words[0]
    if len(term.words) == 1 and word.exact is None:
        norm = word.norm
        if not word.prefix:
            return lambda doc: norm in doc[fields]
        return lambda doc: doc.has_prefix(fields, norm)
    need = _needs(term)

    def occurs(doc: Doc) -> bool:
        if not need <= doc[fields]:
            return False
        for f in fields:
            if doc.field(f).occurrences(term):
                return True
        return False

    return occurs


def _compile_near(near: Near, fields: tuple[str, ...]) -> Predicate:
    left = tuple({_needs(t) for t in near.left})
    right = tuple({_needs(t) for t in near.right})

    def near_any(doc: Doc) -> bool:
        words = doc[fields]
        if not any(n <= words for n in left) or not any(n <= words for n in right):
            return False
        for f in fields:
            if _near_any(doc.field(f), near):
                return True
        return False

    return near_any


def _cost(node: Node) -> int:
    """Rough evaluation cost, to test cheap children of AND/OR first."""
    if isinstance(node, Term):
        w = node.words[0]
        return 0 if len(node.words) == 1 and w.exact is None and not w.prefix else 2
    if isinstance(node, Scope):
        return _cost(node.child)
    if isinstance(node, Not):
        return 10 + _cost(node.child)
    if isinstance(node, Near):
        return 5
    return 1 + max(_cost(c) for c in node.children)


def _near_any(ft: FieldText, near: Near) -> bool:
    left = ft.spans(near.left)
    if not left:
        return False
    right = ft.spans(near.right)
    if not right:
        return False
    starts = [s for s, _ in right]
    ends = sorted(e for _, e in right)
    n = near.distance
    for ls, le in left:
        i = bisect_left(starts, le)
        if i < len(starts) and starts[i] - le <= n:
            return True
        if not near.ordered:
            j = bisect_right(ends, ls) - 1
            if j >= 0 and ls - ends[j] <= n:
                return True
    return False


def _near_pairs(ft: FieldText, near: Near) -> list[tuple[int, int]]:
    n, out = near.distance, []
    right = ft.spans(near.right)
    for ls, le in ft.spans(near.left):
        for rs, re_ in right:
            if (le <= rs and rs - le <= n) or (not near.ordered and re_ <= ls and ls - re_ <= n):
                out += [(ls, le), (rs, re_)]
    return out


def _collect(node: Node, fields: tuple[str, ...], doc: Doc, hits: list[Hit]) -> bool:
    """Whether ``node`` matches ``doc``; if it does, its hits are appended to
    ``hits``, and if not, nothing is."""
    if isinstance(node, Term):
        words, found = node.words, False
        word = words[0]
        plain = len(words) == 1 and not word.prefix and word.exact is None
        for order, f, ft in doc.with_words(fields):
            if plain:
                starts = ft.word_positions(word.norm)
            elif word.prefix or word.norm in ft.wordset:
                starts = ft.occurrences(node)
            else:
                continue
            if starts:
                n = len(words)
                hits += [(order, p, -p - n, f) for p in starts]
                found = True
        return found
    if isinstance(node, Scope):
        return _collect(node.child, (node.field,), doc, hits)
    if isinstance(node, Not):
        return not _collect(node.child, fields, doc, [])
    if isinstance(node, Near):
        before = len(hits)
        for order, f, ft in doc.with_words(fields):
            hits += [(order, s, -e, f) for s, e in _near_pairs(ft, node)]
        return len(hits) > before
    if isinstance(node, And):
        before = len(hits)
        for child in node.children:
            if not _collect(child, fields, doc, hits):
                del hits[before:]
                return False
        return True
    found = False
    for child in node.children:
        if _collect(child, fields, doc, hits):
            found = True
    return found


def matched_terms(node: Node, fields: tuple[str, ...], doc: Doc) -> tuple[str, ...]:
    """The words and phrases, as written in the story, that make ``node`` match:
    de-duplicated, in order of first occurrence (title first, then summary,
    content, source, url). Terms under a ``NOT`` never count."""
    hits: list[Hit] = []
    _collect(node, fields, doc, hits)
    hits.sort()
    seen: dict[str, None] = {}
    for _, start, end, f in hits:
        seen.setdefault(doc.field(f).surface(start, -end), None)
    return tuple(seen)


def fields_of(node: Node, fields: tuple[str, ...]) -> set[str]:
    """Every field ``node`` may read, given the default ``fields``."""
    if isinstance(node, Scope):
        return fields_of(node.child, (node.field,))
    if isinstance(node, (Term, Near)):
        return set(fields)
    children: Iterable[Node] = (node.child,) if isinstance(node, Not) else node.children
    return set().union(*(fields_of(c, fields) for c in children))
