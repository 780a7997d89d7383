"""Rule files: ``rules/<id>.toml``, one rule a file, id = the file's stem.

Keys (unknown keys and wrong types are errors)::

    name      = "Russia-US coordination claims, Syria"   # required
    query     = '''...'''                                 # required, see rules/README.md
    fields    = ["title", "summary", "content"]          # default; also "source", "url"
    channel   = "#syria-desk"                            # Slack channel (optional)
    severity  = "normal"                                 # low | normal | high
    digest    = true                                     # include in the daily digest
    enabled   = true
    feeds     = ["reuters-world"]                        # only stories from these feeds
    tags      = ["middle-east"]                          # only stories from feeds with a tag
    languages = ["en", "ru"]                             # only stories in these languages

Rules by example (all optional; every key but ``examples`` needs examples)::

    examples         = ["Russia says it struck IS with the coalition", ...]  # what the rule is about
    counter_examples = ["Russia and the US trade blame at the UN", ...]     # what it is not about
    example_stories  = ["1234", ...]       # ids of stored stories that are examples too
    threshold        = 0.3                 # cosine with the nearest example, in (0, 1]
    threshold        = { builtin = 0.3, semantic = 0.5 }   # or one per backend
    similarity       = "builtin"           # builtin (default) | semantic (the [semantic] extra)
    decide           = "learned"           # nearest | learned (default: learned with 20+ examples and counter-examples)
    prefilter        = '''...'''           # a query within which similar stories match

With examples, ``query`` is optional. A story matches when it satisfies
``query`` and is similar; with ``prefilter``, when it satisfies ``query``, or
satisfies ``prefilter`` and is similar; with neither, when it is similar.

``load_rules(folder)`` reads every ``*.toml`` file and returns the good rules
and a ``Problem`` for every broken one, all at once. A query syntax error is
located in the file itself: line and column of the offending character
within the ``query`` value (multi-line strings and escapes accounted for),
with that line and a caret under it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from bisect import bisect_right
from pathlib import Path
from typing import Any

from monitor.config import load_toml
from monitor.errors import Problem
from monitor.model import Rule
from monitor.query.errors import QuerySyntaxError, caret_detail
from monitor.query.lexer import FIELDS
from monitor.query.parser import parse_query

__all__ = ["load_rule", "load_rules", "locate_query"]

SEVERITIES = ("low", "normal", "high")
_KINDS: dict[str, str] = {
    "name": "str", "query": "str", "fields": "list", "channel": "str", "severity": "str",
    "digest": "bool", "enabled": "bool", "feeds": "list", "tags": "list", "languages": "list",
    "examples": "list", "counter_examples": "list", "example_stories": "ids", "threshold": "threshold",
    "similarity": "str", "prefilter": "str", "decide": "str",
}
#: The similarity backends a rule may name (``monitor.similar``).
SIMILARITIES = ("builtin", "semantic")
_EXAMPLE_KEYS = ("counter_examples", "threshold", "similarity", "prefilter", "decide")
#: How a rule's examples judge a story (``monitor.similar``): its nearest
#: examples, or a model learned from all of them.
DECISIONS = ("nearest", "learned")


def load_rules(folder: Path) -> tuple[list[Rule], list[Problem]]:
    """Every rule in ``folder/*.toml`` (sorted by file name) that is valid, and
    a Problem for each thing wrong in the others. A missing folder is a problem."""
    if not folder.is_dir():
        return [], [Problem(str(folder), "rules: folder not found")]
    rules: list[Rule] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.toml")):
        rule, found = load_rule(path)
        problems.extend(found)
        if rule is not None:
            rules.append(rule)
    return rules, problems


def load_rule(path: Path) -> tuple[Rule | None, list[Problem]]:
    """The rule in ``path`` and no problems, or None and every problem found."""
    data, text, problems = load_toml(path)
    if data is None:
        return None, problems
    file = str(path)
    lines = text.splitlines()

    def problem(key: str | None, message: str) -> None:
        line = _key_line(lines, key) if key else None
        problems.append(Problem(file, message, key=key, line=line))

    for key in data:
        if key not in _KINDS:
            close = difflib.get_close_matches(key, list(_KINDS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(_KINDS)})"
            problem(key, f"unknown key{hint}")
    values: dict[str, Any] = {}
    for key, kind in _KINDS.items():
        if key not in data:
            if key == "name" or (key == "query" and not data.get("examples") and not data.get("example_stories")):
                what = "required key is missing" if key == "name" else "required key is missing (or give examples)"
                problem(key, what)
            continue
        value = data[key]
        if kind == "str" and not isinstance(value, str):
            problem(key, f"must be a string, got {_type(value)}")
        elif kind == "bool" and not isinstance(value, bool):
            problem(key, f"must be true or false, got {_type(value)}")
        elif kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problem(key, f"must be a list of strings, got {_type(value)}")
        elif kind == "ids" and not (
            isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)
        ):
            problem(key, f"must be a list of story ids (strings or numbers), got {_type(value)}")
        elif kind == "threshold":
            found = _threshold(value)
            if isinstance(found, str):
                problem(key, found)
            else:
                values[key] = found
        else:
            values[key] = tuple(str(v) for v in value) if kind in ("list", "ids") else value
    if "name" in values and not values["name"].strip():
        problem("name", "must not be empty")
    if values.get("severity", "normal") not in SEVERITIES:
        problem("severity", f"must be one of {', '.join(SEVERITIES)}; got {values['severity']!r}")
    if "fields" in values:
        bad = [f for f in values["fields"] if f not in FIELDS]
        if bad or not values["fields"]:
            what = f"unknown field(s) {', '.join(map(repr, bad))}" if bad else "must not be empty"
            problem("fields", f"{what}; fields are {', '.join(FIELDS)}")
    _check_examples(data, values, problem)
    for key in ("query", "prefilter"):
        if key in values:
            try:
                parse_query(values[key])
            except QuerySyntaxError as exc:
                problems.append(_query_problem(file, text, values[key], exc, key))
    if problems:
        return None, problems
    return Rule(id=path.stem, path=file, **values), []


def _check_examples(data: dict[str, Any], values: dict[str, Any], problem: Any) -> None:
    """The rules-by-example keys: each needs examples; no empty texts; a known backend."""
    has_examples = bool(data.get("examples") or data.get("example_stories"))
    for key in _EXAMPLE_KEYS:
        if key in data and not has_examples:
            problem(key, "needs examples (or example_stories) to compare stories with")
    for key in ("examples", "counter_examples"):
        for n, text in enumerate(values.get(key, ()), 1):
            if not text.strip():
                problem(key, f"entry {n} is empty")
    decide = values.get("decide", "")
    if decide and decide not in DECISIONS:
        problem("decide", f"must be one of {', '.join(DECISIONS)}; got {decide!r}")
    if decide == "learned" and not values.get("counter_examples"):
        problem("decide", "learned needs counter_examples to learn what the rule is not about")
    if values.get("similarity", "builtin") not in SIMILARITIES:
        problem("similarity", f"must be one of {', '.join(SIMILARITIES)}; got {values['similarity']!r}")
    for backend, _ in values.get("threshold", ()):
        if backend != "*" and backend not in SIMILARITIES:
            problem("threshold", f"unknown backend {backend!r}; backends are {', '.join(SIMILARITIES)}")
    if "query" in values and not values["query"].strip() and not has_examples:
        problem("query", "must not be empty")


def _threshold(value: Any) -> tuple[tuple[str, float], ...] | str:
    """A ``threshold`` value as (backend, cosine) pairs, or what is wrong with it."""
    def one(v: Any) -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            return None
        return float(v)

    if isinstance(value, dict):
        out = []
        for backend, v in value.items():
            got = one(v)
            if got is None:
                return f"{backend}: must be a number above 0 and at most 1, got {_type(v)}"
            out.append((str(backend), got))
        if not out:
            return "must name at least one backend"
        return tuple(out)
    got = one(value)
    if got is None:
        return f"must be a number above 0 and at most 1 (or a table of them by backend), got {_type(value)}"
    return (("*", got),)


def _type(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def _key_line(lines: list[str], key: str) -> int | None:
    pat = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for i, line in enumerate(lines):
        if pat.match(line):
            return i + 1
    return None


def _query_problem(file: str, text: str, query: str, exc: QuerySyntaxError, key: str = "query") -> Problem:
    where = locate_query(text, query, key)
    if where is None:  # cannot map back: fall back to the position within the query
        return replace(exc.problem(file), key=key)
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    index = where[min(exc.offset, len(where) - 1)]
    line = bisect_right(starts, index)
    column = index - starts[line - 1] + 1
    line_text = text[starts[line - 1] :].split("\n", 1)[0].rstrip("\r")
    return Problem(file, exc.reason, key=key, line=line, column=column, detail=caret_detail(line_text, column))


def _value_key(key: str) -> re.Pattern[str]:
    k = re.escape(key)
    return re.compile(rf"""(?m)^[ \t]*(?:{k}|"{k}"|'{k}')[ \t]*=[ \t]*""")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def locate_query(text: str, query: str, key: str = "query") -> list[int] | None:
    """For each character of the decoded ``query`` value (of ``key``), its index
    in the TOML ``text``, plus one entry for the closing delimiter. None when the
    value cannot be found or mapped (the caller then falls back)."""
    m = _value_key(key).search(text)
    if m is None:
        return None
    i = m.end()
    for delim in ('"""', "'''", '"', "'"):
        if text.startswith(delim, i):
            break
    else:
        return None
    basic, multi = delim[0] == '"', len(delim) == 3
    i += len(delim)
    if multi:
        if text.startswith("\r\n", i):
            i += 2
        elif text.startswith("\n", i):
            i += 1
    chars: list[str] = []
    where: list[int] = []
    n = len(text)
    while i < n:
        if text.startswith(delim, i) and not (multi and text.startswith(delim + delim[0], i)):
            break
        ch = text[i]
        if not multi and ch == "\n":
            return None
        if basic and ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                chars.append(_ESCAPES[nxt])
                where.append(i)
                i += 2
            elif nxt in ("u", "U"):
                width = 4 if nxt == "u" else 8
                try:
                    chars.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                except ValueError:
                    return None
                where.append(i)
                i += 2 + width
            elif multi:  # a line-ending backslash trims the whitespace after it
                j = i + 1
                while j < n and text[j] in " \t\r\n":
                    j += 1
                i = j
            else:
                return None
            continue
        if multi and ch == "\r" and text.startswith("\r\n", i):
            i += 1
            continue
        chars.append(ch)
        where.append(i)
        i += 1
    where.append(i)
    if "".join(chars) != query.replace("\r\n", "\n") and "".join(chars) != query:
        return None
    return where
