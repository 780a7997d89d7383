"""HTML for the console: one Jinja2 environment with autoescape, and the few helpers templates use.

Every value that came from a feed is hostile. Templates print it through
autoescape; the helpers here return ``Markup`` only for markup they build
themselves around escaped text:

- ``safe_url(url)``: the URL when its scheme is http or https, else None
  (templates then show the title without a link);
- ``highlight(text, terms)``: ``text`` escaped, with each matched term wrapped
  in ``<mark>``;
- ``timeago(dt)``/``iso(dt)``: a ``<time datetime=...>`` in UTC that the
  console's script rewrites to the viewer's zone;
- ``bars(per_day)``: a small SVG bar chart, built here (numbers only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from monitor.text import highlight as mark_terms

__all__ = ["environment", "highlight", "safe_url", "to_json"]


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None."""
    if not url or any(ch in url for ch in "\x00\r\n\t"):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def highlight(text: str | None, terms: Sequence[str]) -> Markup:
    """``text`` escaped, every case-insensitive whole-word occurrence of a term in ``<mark>``
    (``monitor.text.highlight``)."""
    return mark_terms(text, terms)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def when(value: datetime | None) -> Markup:
    """A ``<time>`` element: UTC text, machine-readable ``datetime`` for the script to localise."""
    v = _utc(value)
    if v is None:
        return Markup('<span class="muted">never</span>')
    iso = v.isoformat(timespec="seconds").replace("+00:00", "Z")
    return Markup(f'<time datetime="{escape(iso)}">{escape(v.strftime("%Y-%m-%d %H:%M UTC"))}</time>')


def when_iso(value: str | None) -> Markup:
    """``when`` for an ISO 8601 string (the ``feed_json`` fields)."""
    return when(datetime.fromisoformat(value) if value else None)


def bars(per_day: Sequence[int], days: Sequence[str] = (), *, width: int = 300, height: int = 56) -> Markup:
    """Matches per day as an SVG bar chart (one bar a day, oldest left), a title per bar, the first
    and last day and the peak written on it."""
    n = max(1, len(per_day))
    peak = max(per_day, default=0)
    top = peak or 1
    left, right, chart_h = 4, 4, height - 16  # room for the day labels under the bars
    step = (width - left - right) / n
    out = [f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="matches per day, last {n} days, peak {peak}">']
    out.append(f'<line x1="{left}" y1="{chart_h + 0.5}" x2="{width - right}" y2="{chart_h + 0.5}" class="axis"/>')
    for i, count in enumerate(per_day):
        h = 0 if count == 0 else max(2.0, (chart_h - 12) * count / top)
        label = f"{days[i]}: {count}" if i < len(days) else str(count)
        out.append(
            f'<rect x="{left + i * step + 0.5:.1f}" y="{chart_h - h:.1f}" width="{max(1.0, step - 1.5):.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}</title></rect>"
        )
    if days:
        out.append(f'<text x="{left}" y="{height - 3}">{escape(days[0][5:])}</text>')
        out.append(f'<text x="{width - right}" y="{height - 3}" text-anchor="end">{escape(days[-1][5:])}</text>')
    out.append(f'<text x="{left + 2}" y="10">peak {peak}/day</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"web: cannot write {type(value).__name__} as JSON")


def to_json(data: Any) -> bytes:
    """``data`` as UTF-8 JSON, datetimes in ISO 8601 UTC."""
    return json.dumps(data, default=_default, ensure_ascii=False, indent=1).encode("utf-8")


def environment() -> Environment:
    """The console's template environment (templates in ``monitor/web/templates``), autoescaping everything."""
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(highlight=highlight, when=when, when_iso=when_iso, safe_url=safe_url)
    env.globals.update(bars=bars, safe_url=safe_url)
    return env
