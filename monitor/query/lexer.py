"""Query text to tokens.

Token kinds: ``LPAREN``, ``RPAREN``, ``PHRASE`` (the text between double
quotes), ``TERM`` (any other chunk, e.g. ``coordinat*``, ``=US``), ``AND``,
``OR``, ``NOT``, ``NEAR`` (``NEAR/n`` and ``ONEAR/n``; ``value`` holds n),
``FIELD`` (``title:`` and the other field names; ``value`` holds the name)
and ``END``.

Operators are upper-case keywords; ``and``, ``or`` and ``not`` in lower case
are ordinary words. A lower-case ``near/5`` is an error, because it is almost
certainly a mistyped operator. Every token records its ``offset`` (0-based
character index in the query) so errors can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.query.errors import QuerySyntaxError

__all__ = ["FIELDS", "MAX_DISTANCE", "Token", "lex"]

#: Story fields a query may name with ``field:``.
FIELDS: tuple[str, ...] = ("title", "summary", "content", "source", "url")
#: The largest ``n`` accepted in ``NEAR/n``.
MAX_DISTANCE = 1000

_CHUNK = re.compile(r'[()]|"|[^\s()"]+')
_NEAR = re.compile(r"(O?NEAR)/(\d+)")
_NEARISH = re.compile(r"O?NEAR(\d+|/.*)?|(?i:o?near/.*)")
_FIELDISH = re.compile(r"[A-Za-z]+")
_KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; ``text`` is the source text, ``value`` the parsed payload."""

    kind: str
    text: str
    offset: int
    value: object = None


def lex(query: str) -> list[Token]:
    """Tokens of ``query``, ending with an ``END`` token.

    Raises ``QuerySyntaxError`` for an unterminated phrase, a malformed
    ``NEAR``, or an unknown ``field:`` prefix.
    """
    tokens: list[Token] = []
    pos = 0
    while True:
        m = _CHUNK.search(query, pos)
        if m is None:
            break
        chunk, start = m.group(), m.start()
        if chunk == "(":
            tokens.append(Token("LPAREN", chunk, start))
        elif chunk == ")":
            tokens.append(Token("RPAREN", chunk, start))
        elif chunk == '"':
            end = query.find('"', start + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase: expected a closing '\"'", start)
            tokens.append(Token("PHRASE", query[start + 1 : end], start + 1))
            pos = end + 1
            continue
        else:
            tokens.extend(_word_tokens(chunk, start))
        pos = m.end()
    tokens.append(Token("END", "", len(query)))
    return tokens


def _word_tokens(chunk: str, start: int) -> list[Token]:
    if chunk in _KEYWORDS:
        return [Token(chunk, chunk, start)]
    near = _NEAR.fullmatch(chunk)
    if near:
        distance = int(near.group(2))
        if distance > MAX_DISTANCE:
            raise QuerySyntaxError(f"{near.group(1)} distance must be at most {MAX_DISTANCE} words", start)
        return [Token("NEAR", chunk, start, (distance, near.group(1) == "ONEAR"))]
    if _NEARISH.fullmatch(chunk):
        raise QuerySyntaxError(
            f"expected NEAR/<words> or ONEAR/<words> (upper-case, e.g. NEAR/5), found {chunk!r}", start
        )
    colon = chunk.find(":")
    if colon > 0:
        name = chunk[:colon]
        if name in FIELDS:
            rest = chunk[colon + 1 :]
            field = Token("FIELD", chunk[: colon + 1], start, name)
            return [field, *(_word_tokens(rest, start + colon + 1) if rest else [])]
        if _FIELDISH.fullmatch(name):
            hint = "field names are lower-case" if name.lower() in FIELDS else "unknown field"
            raise QuerySyntaxError(
                f"{hint} {name + ':'!r}; fields are {', '.join(f + ':' for f in FIELDS)}", start
            )
    return [Token("TERM", chunk, start)]
