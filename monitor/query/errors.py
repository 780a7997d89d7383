"""The rule engine's syntax error: a ``ConfigError`` that knows where in the query it is."""

from __future__ import annotations

from monitor.errors import ConfigError, Problem

__all__ = ["QuerySyntaxError", "caret_detail"]


class QuerySyntaxError(ConfigError):
    """query: the query text is not valid.

    ``offset`` is the 0-based character index of the error in the query text
    (``len(query)`` for "unexpected end"); ``reason`` says what was expected.
    As a ``ConfigError`` it carries one ``Problem`` that locates the error in
    the query alone; the rule loader re-locates it within the rule file.
    """

    def __init__(self, reason: str, offset: int, query: str | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.query = query
        super().__init__([self.problem("<query>")])

    def with_query(self, query: str) -> QuerySyntaxError:
        """The same error, with the query text attached (for the caret detail)."""
        return QuerySyntaxError(self.reason, self.offset, query)

    def problem(self, file: str) -> Problem:
        """A ``Problem`` in ``file`` with the column counted within the query text."""
        detail = None
        line, column = 1, self.offset + 1
        if self.query is not None:
            before = self.query[: self.offset]
            line = before.count("\n") + 1
            column = self.offset - (before.rfind("\n") + 1) + 1
            detail = caret_detail(self.query.split("\n")[line - 1], column)
        return Problem(file, self.reason, key="query", line=line, column=column, detail=detail)


def caret_detail(line_text: str, column: int) -> str:
    """``line_text`` and, under it, a caret at 1-based ``column`` (tabs kept so it lines up)."""
    pad = "".join("\t" if ch == "\t" else " " for ch in line_text[: max(column - 1, 0)])
    pad += " " * max(column - 1 - len(line_text), 0)
    return f"    {line_text}\n    {pad}^"
