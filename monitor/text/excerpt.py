"""What an alert or digest entry quotes of a story: its summary, helped by its article text.

``quote(summary, content, terms)`` returns the summary as it is when the
matched terms are all in it; when the summary is empty it returns the
article's opening; when a matched term stands only in the article, it adds
the passage around that term's first occurrence after the summary, set off
with an ellipsis. The result is plain text (escaping is the renderer's job)
of at most about ``limit`` characters beyond the summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.text.html import clean_text, truncate

QUOTE_LIMIT = 280


def quote(summary: str, content: str | None, terms: Sequence[str] = (), limit: int = QUOTE_LIMIT) -> str:
    """The text to show for a story (see the module docstring)."""
    summary = summary or ""
    body = clean_text(content)
    if not body:
        return summary
    if not summary.strip():
        return truncate(body, limit)
    low_summary, low_body = summary.casefold(), body.casefold()
    for term in terms:
        t = term.casefold().strip()
        if not t or t in low_summary:
            continue
        at = low_body.find(t)
        if at < 0:
            continue
        return f"{summary} … {passage(body, at, len(t), limit)}"
    return summary


def passage(text: str, at: int, length: int, limit: int) -> str:
    """About ``limit`` characters of ``text`` around ``text[at:at+length]``, cut at spaces, with ellipses."""
    start = max(0, at - limit // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < at else start
    end = min(len(text), max(start + limit, at + length))
    if end < len(text):
        space = text.rfind(" ", at + length, end)
        end = space if space > 0 else end
    piece = text[start:end].strip()
    return ("…" if start else "") + piece + ("…" if end < len(text) else "")
