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

``load_rules(folder)`` reads every ``*.toml`` file and returns the good rules
and a ``Problem`` for every broken one, all at once. A query syntax error is
located in the file itself: line and column of the offending character
within the ``query`` value (multi-line strings and escapes accounted for),
with that line and a caret under it.
"""

from __future__ import annotations

import difflib
import re
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
}


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
            if key in ("name", "query"):
                problem(key, "required key is missing")
            continue
        value = data[key]
        if kind == "str" and not isinstance(value, str):
            problem(key, f"must be a string, got {_type(value)}")
        elif kind == "bool" and not isinstance(value, bool):
            problem(key, f"must be true or false, got {_type(value)}")
        elif kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problem(key, f"must be a list of strings, got {_type(value)}")
        else:
            values[key] = tuple(value) if kind == "list" else value
    if "name" in values and not values["name"].strip():
        problem("name", "must not be empty")
    if values.get("severity", "normal") not in SEVERITIES:
        problem("severity", f"must be one of {', '.join(SEVERITIES)}; got {values['severity']!r}")
    if "fields" in values:
        bad = [f for f in values["fields"] if f not in FIELDS]
        if bad or not values["fields"]:
            what = f"unknown field(s) {', '.join(map(repr, bad))}" if bad else "must not be empty"
            problem("fields", f"{what}; fields are {', '.join(FIELDS)}")
    if "query" in values:
        try:
            parse_query(values["query"])
        except QuerySyntaxError as exc:
            problems.append(_query_problem(file, text, values["query"], exc))
    if problems:
        return None, problems
    return Rule(id=path.stem, path=file, **values), []


def _type(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def _key_line(lines: list[str], key: str) -> int | None:
    pat = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for i, line in enumerate(lines):
        if pat.match(line):
            return i + 1
    return None


def _query_problem(file: str, text: str, query: str, exc: QuerySyntaxError) -> Problem:
    where = locate_query(text, query)
    if where is None:  # cannot map back: fall back to the position within the query
        return exc.problem(file)
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    index = where[min(exc.offset, len(where) - 1)]
    line = bisect_right(starts, index)
    column = index - starts[line - 1] + 1
    line_text = text[starts[line - 1] :].split("\n", 1)[0].rstrip("\r")
    return Problem(file, exc.reason, key="query", line=line, column=column, detail=caret_detail(line_text, column))


_QUERY_KEY = re.compile(r"""(?m)^[ \t]*(?:query|"query"|'query')[ \t]*=[ \t]*""")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def locate_query(text: str, query: str) -> list[int] | None:
    """For each character of the decoded ``query`` value, its index in the
    TOML ``text``, plus one entry for the closing delimiter. None when the
    value cannot be found or mapped (the caller then falls back)."""
    m = _QUERY_KEY.search(text)
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
