"""Small helpers to validate TOML tables and report problems with positions.

``tomllib`` gives a line and column only for syntax errors. For a bad key we
find the line ourselves: ``TomlLocator`` scans the file's text for the table
header and then for the key, so ``monitor check`` can print ``file:line``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import Problem

_SYNTAX_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*(\]\]?)\s*(#.*)?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def load_toml(path: Path) -> tuple[dict[str, Any] | None, str, list[Problem]]:
    """Read and parse ``path``. Returns (data, text, problems); data is None on error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "", [Problem(str(path), "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, "", [Problem(str(path), f"cannot read: {exc}")]
    try:
        return tomllib.loads(text), text, []
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _SYNTAX_POS.search(msg)
        line = col = None
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            msg = _SYNTAX_POS.sub("", msg).strip()
        return None, text, [Problem(str(path), f"TOML syntax error: {msg}", line=line, column=col)]


class TomlLocator:
    """Finds the line of ``table.key`` or ``array[i].key`` in a TOML text (best effort)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        # (header name, is_array, line index)
        self._headers: list[tuple[str, bool, int]] = []
        for i, line in enumerate(self._lines):
            m = _HEADER.match(line)
            if m and len(m.group(1)) == len(m.group(3)):
                self._headers.append((m.group(2).replace(" ", ""), m.group(1) == "[[", i))

    def line_of(self, table: str | None, key: str | None = None, index: int | None = None) -> int | None:
        """1-based line of ``key`` inside ``table`` (the ``index``-th one for arrays)."""
        start, end = 0, len(self._lines)
        if table:
            found = [h for h in self._headers if h[0] == table]
            if index is not None:
                found = found[index : index + 1] if index < len(found) else []
            if not found:
                return self._find_dotted(f"{table}.{key}" if key else table)
            start = found[0][2]
            nxt = [h[2] for h in self._headers if h[2] > start]
            end = nxt[0] if nxt else len(self._lines)
            if key is None:
                return start + 1
        else:
            nxt = [h[2] for h in self._headers]
            end = nxt[0] if nxt else len(self._lines)
        if key is None:
            return None
        pat = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(start, end):
            if pat.match(self._lines[i]):
                return i + 1
        return start + 1 if table else None

    def _find_dotted(self, dotted: str) -> int | None:
        pat = re.compile(rf"^\s*{re.escape(dotted)}\s*=")
        for i, line in enumerate(self._lines):
            if pat.match(line):
                return i + 1
        return None


def parse_duration(value: Any) -> float | None:
    """Seconds from an int/float (seconds) or a string like ``"90s"``, ``"15m"``, ``"1h"``.

    Returns None when the value is not a valid non-negative duration.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    return None


@dataclass
class TableChecker:
    """Collects problems while reading one TOML table.

    ``where`` is the dotted name used in messages (``feeds[2]``); ``table`` and
    ``index`` locate it in the file for line numbers.
    """

    file: str
    where: str
    data: dict[str, Any]
    locator: TomlLocator
    problems: list[Problem]
    table: str | None = None
    index: int | None = None

    def _problem(self, key: str | None, message: str) -> None:
        line = self.locator.line_of(self.table, key, self.index)
        name = f"{self.where}.{key}" if (key and self.where) else (key or self.where or None)
        self.problems.append(Problem(self.file, message, key=name, line=line))

    def error(self, key: str | None, message: str) -> None:
        self._problem(key, message)

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self._problem(key, f"unknown key (known keys: {known})")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                self._problem(key, "required key is missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            self._problem(key, f"must be {names}, got {type(value).__name__} {value!r}")
            return default
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(key, str, default, required=required)
        if required and isinstance(value, str) and not value.strip():
            self._problem(key, "must not be empty")
            return default
        return value

    def duration(self, key: str, default: float) -> float:
        if key not in self.data:
            return default
        seconds = parse_duration(self.data[key])
        if seconds is None:
            self._problem(key, f"must be a duration in seconds or like \"15m\", \"1h\"; got {self.data[key]!r}")
            return default
        return seconds

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, (list, str), [])
        if isinstance(value, str):
            value = [value]
        out = []
        for item in value:
            if not isinstance(item, str):
                self._problem(key, f"must be a list of strings, found {item!r}")
                continue
            out.append(item)
        return tuple(out)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            self._problem(key, f"must be one of {', '.join(choices)}; got {value!r}")
            return default
        return value

    def positive_int(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if value <= 0:
            self._problem(key, f"must be a positive integer; got {value!r}")
            return default
        return value
