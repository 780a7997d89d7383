"""Query tokens to a syntax tree.

Grammar (operators upper-case; adjacent items are joined by an implicit AND)::

    query    := or_expr END
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*
    unary    := "NOT" unary | near
    near     := primary [("NEAR/n" | "ONEAR/n") primary]
    primary  := TERM | PHRASE | "(" or_expr ")" | FIELD primary

So ``NOT`` binds tightest, then ``NEAR``, then ``AND``, then ``OR``:
``a b OR c NOT d`` reads ``(a AND b) OR (c AND (NOT d))``. Each side of a
``NEAR`` is a term, a phrase, or a parenthesised group of terms and phrases
joined by ``OR``.

Terms: ``word`` (case- and accent-insensitive whole word), ``word*`` (any word
starting with ``word``; at least two letters before the ``*``), ``=Word``
(case-sensitive; dots ignored, so ``=US`` matches ``US`` and ``U.S.`` but not
``us``; the ``=`` applies to the word right after it). A term that is several words (``al-Bab``, ``U.S.-led``) is a phrase.
Inside a phrase each word may carry ``=`` or ``*`` too: ``"=US-led coalit*"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.query.errors import QuerySyntaxError
from monitor.query.lexer import Token, lex
from monitor.text import exact_words, fold, tokens

__all__ = [
    "And", "Near", "Node", "Not", "Or", "Scope", "Term", "Word", "parse_query",
]

MIN_PREFIX = 2
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a term. ``norm`` is folded; ``exact`` is set for a
    case-sensitive word; ``prefix`` for a trailing-``*`` word."""

    norm: str
    exact: str | None = None
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase (consecutive words). ``text`` is as written."""

    words: tuple[Word, ...]
    text: str
    offset: int


@dataclass(frozen=True, slots=True)
class Near:
    """Some alternative on the left within ``distance`` words of some
    alternative on the right (at most ``distance`` words between them);
    ``ordered`` demands left before right."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int
    ordered: bool


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Scope:
    """``field:(...)``: the child is matched against ``field`` only."""

    field: str
    child: Node


Node = Term | Near | And | Or | Not | Scope


def parse_query(query: str) -> Node:
    """The syntax tree of ``query``.

    Raises ``QuerySyntaxError`` (a ``ConfigError``) with the offset of the
    problem and what was expected; never any other exception.
    """
    try:
        if not query.strip():
            raise QuerySyntaxError("nothing to match: expected a term, a phrase or '('", 0)
        return _Parser(lex(query)).parse()
    except QuerySyntaxError as exc:
        raise exc.with_query(query) from None


_STARTS = {"TERM", "PHRASE", "LPAREN", "FIELD", "NOT"}
_WHAT = "a term, a phrase or '('"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.tok
        if tok.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')': there is no '(' before it", tok.offset)
        if tok.kind != "END":  # pragma: no cover - every other token starts or joins an expression
            raise QuerySyntaxError(f"unexpected {_describe(tok)}", tok.offset)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.kind == "OR":
            op = self.take()
            children.append(self.and_expr(after=op))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, after: Token | None = None) -> Node:
        children = [self.unary(after)]
        while True:
            if self.tok.kind == "AND":
                op = self.take()
                children.append(self.unary(op))
            elif self.tok.kind in _STARTS:
                children.append(self.unary(None))
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, after: Token | None) -> Node:
        if self.tok.kind == "NOT":
            op = self.take()
            return Not(self.nested(lambda: self.unary(op)))
        return self.near(after)

    def near(self, after: Token | None) -> Node:
        left_tok = self.tok
        left = self.primary(after)
        if self.tok.kind != "NEAR":
            return left
        op = self.take()
        right_tok = self.tok
        right = self.primary(op)
        if self.tok.kind == "NEAR":
            raise QuerySyntaxError(
                f"{self.tok.text} cannot follow another NEAR: join two NEARs with AND", self.tok.offset
            )
        distance, ordered = op.value  # type: ignore[misc]
        return Near(_alternatives(left, left_tok, op), _alternatives(right, right_tok, op), distance, ordered)

    def primary(self, after: Token | None) -> Node:
        tok = self.tok
        if tok.kind == "TERM":
            self.take()
            return _term(tok.text, tok.offset, phrase=False)
        if tok.kind == "PHRASE":
            self.take()
            return _term(tok.text, tok.offset, phrase=True)
        if tok.kind == "LPAREN":
            self.take()
            node = self.nested(self.or_expr)
            if self.tok.kind != "RPAREN":
                raise QuerySyntaxError(
                    f"expected ')' to close an earlier '(', found {_describe(self.tok)}",
                    self.tok.offset,
                )
            self.take()
            return node
        if tok.kind == "FIELD":
            self.take()
            if self.tok.kind not in {"TERM", "PHRASE", "LPAREN"}:
                raise QuerySyntaxError(
                    f"expected {_WHAT} right after {tok.text}, found {_describe(self.tok)}", self.tok.offset
                )
            return Scope(str(tok.value), self.nested(lambda: self.primary(tok)))
        where = f" after {after.text}" if after is not None else ""
        if tok.kind in {"AND", "OR", "NEAR"} and after is None:
            raise QuerySyntaxError(f"expected {_WHAT} before {tok.text}", tok.offset)
        raise QuerySyntaxError(f"expected {_WHAT}{where}, found {_describe(tok)}", tok.offset)

    def nested(self, parse):  # type: ignore[no-untyped-def]
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"query is nested too deeply (more than {MAX_DEPTH} levels)", self.tok.offset)
        try:
            return parse()
        finally:
            self.depth -= 1


def _describe(tok: Token) -> str:
    if tok.kind == "END":
        return "end of query"
    if tok.kind == "PHRASE":
        return f'phrase "{tok.text}"'
    return repr(tok.text)


def _alternatives(node: Node, tok: Token, op: Token) -> tuple[Term, ...]:
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        return tuple(node.children)  # type: ignore[arg-type]
    raise QuerySyntaxError(
        f"each side of {op.text} must be a term, a phrase, or a group of them joined by OR", tok.offset
    )


def _term(text: str, offset: int, *, phrase: bool) -> Term:
    """A ``Term`` from a chunk (``=US``, ``coordinat*``) or a phrase's inner text."""
    words: list[Word] = []
    if phrase:
        for raw, start, end in tokens(text):
            exact = start > 0 and text[start - 1] == "="
            prefix = end < len(text) and text[end] == "*"
            words.append(_word(raw, exact, prefix, offset + start))
        if not words:
            raise QuerySyntaxError("empty phrase: expected at least one word between the quotes", offset - 1)
        return Term(tuple(words), text, offset - 1)
    body, exact, prefix = text, False, False
    if body.startswith("="):
        body, exact = body[1:], True
    if body.endswith("*"):
        body, prefix = body[:-1], True
    star = body.find("*")
    if star >= 0:
        raise QuerySyntaxError(
            "a wildcard '*' may only end a word (e.g. coordinat*)", offset + star + (1 if exact else 0)
        )
    found = [raw for raw, _, _ in tokens(body)]
    if not found:
        raise QuerySyntaxError(f"expected a term with letters or digits, found {text!r}", offset)
    last = len(found) - 1
    words = [_word(w, exact and i == 0, prefix and i == last, offset) for i, w in enumerate(found)]
    return Term(tuple(words), text, offset)


def _word(raw: str, exact: bool, prefix: bool, offset: int) -> Word:
    norm = fold(raw)
    if not norm:
        raise QuerySyntaxError(f"expected a word with letters or digits, found {raw!r}", offset)
    if prefix and len(norm) < MIN_PREFIX:
        raise QuerySyntaxError(
            f"a wildcard needs at least {MIN_PREFIX} letters before '*', found {raw + '*'!r}", offset
        )
    return Word(norm, exact_words(raw)[0] if exact else None, prefix)
