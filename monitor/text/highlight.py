"""Matched terms marked in text for HTML: the one highlighter of the console, the digest and search.

``highlight(text, terms)`` escapes ``text`` and wraps each case-insensitive
occurrence of a term in ``<mark>``. A term is found as a whole word (not inside
a longer word), its words separated by any run of white space, longest term
first; in scripts written without spaces (see ``tokens.unspaced``) words run
into their neighbours, so there a term is found inside running text
(``北京`` in ``中国外交部在北京表示``). The text is split at matches and every
piece escaped before any markup is added: nothing from ``text`` or ``terms``
reaches the HTML raw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from monitor.text.tokens import unspaced

__all__ = ["highlight", "term_pattern"]


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for ``terms`` (longest first); None when no term is left."""
    parts = []
    for term in sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in term.split())
        left = r"(?<!\w)" if _bounded(term[0]) else ""
        right = r"(?!\w)" if _bounded(term[-1]) else ""
        parts.append(f"{left}{body}{right}")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _bounded(edge: str) -> bool:
    return (edge.isalnum() or edge == "_") and not unspaced(edge)


def highlight(text: str | None, terms: Iterable[str], *, css_class: str | None = None) -> Markup:
    """``text`` escaped, each matched term wrapped in ``<mark>`` (with ``class=css_class`` when given)."""
    text = text or ""
    pattern = term_pattern(terms)
    if pattern is None:
        return escape(text)
    opening = f'<mark class="{escape(css_class)}">' if css_class else "<mark>"
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        out.append(f"{opening}{escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))
