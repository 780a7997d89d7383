"""Render a ``Digest`` as plain text and as mail-client-safe HTML.

Every field of every entry is untrusted feed text. The HTML environment
autoescapes everything (``autoescape=True``, not keyed on file names: a
``.html.j2`` name is not matched by Jinja2's default ``select_autoescape``);
``highlight`` escapes the text first and only then wraps matched terms, and
``safe_url`` drops links that are not http(s). CSS is inlined with
``css_inline`` so Gmail and Outlook, which ignore most ``<style>`` blocks,
show the layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitor.digest.model import Digest
from monitor.text import highlight as mark_terms

SUMMARY_LIMIT = 320  # characters of summary shown per entry
ALSO_SEEN_LIMIT = 6  # outlets named before "and N more"
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def plural(count: int, one: str, many: str | None = None) -> str:
    """``"1 story"``, ``"3 stories"``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def headline(digest: Digest) -> str:
    """The counts line: ``"12 stories from 31 outlets for 3 rules"``."""
    return (
        f"{plural(digest.total_stories, 'story', 'stories')} from "
        f"{plural(digest.total_outlets, 'outlet')} for {plural(digest.total_rules, 'rule')}"
    )


def local_time(value: datetime, zone: ZoneInfo, fmt: str = "%d %b %Y, %H:%M %Z") -> str:
    """``value`` (aware) in ``zone``, e.g. ``"08 Mar 2017, 17:05 MSK"``."""
    return value.astimezone(zone).strftime(fmt)


def safe_url(url: str) -> str:
    """The URL when it is http(s) with a host, else ``""`` (no javascript:, data:, ...)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return ""


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def also_seen(outlets: Iterable[str], limit: int = ALSO_SEEN_LIMIT) -> str:
    """``"BBC, AP and 3 more"``."""
    names = list(outlets)
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


@lru_cache(maxsize=256)
def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` escaped, with whole-word, case-insensitive ``terms`` wrapped in ``<mark class="hit">``
    (``monitor.text.highlight``: every piece escaped before any markup is added)."""
    return mark_terms(text, terms, css_class="hit")


def _environment(*, html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        highlight=highlight,
        safe_url=safe_url,
        shorten=shorten,
        also_seen=also_seen,
        local_time=local_time,
        plural=plural,
    )
    return env


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


def default_footer(digest: Digest) -> str:
    """Why the reader gets this mail, when the caller gives no better reason."""
    return (
        "You receive this daily digest because your address is on the media monitor's "
        "digest list. It lists each story once per rule that matched it."
    )


def _context(digest: Digest, footer: str | None) -> dict[str, object]:
    return {
        "digest": digest,
        "zone": digest.zone,
        "headline": headline(digest),
        "footer": footer or default_footer(digest),
        "day": digest.day.strftime("%A, %d %B %Y"),
    }


def render_text(digest: Digest, *, footer: str | None = None) -> str:
    """The plain-text body: readable in any client, untrusted text left as is."""
    return _TEXT.get_template("digest.txt.j2").render(_context(digest, footer))


def render_html(digest: Digest, *, footer: str | None = None) -> str:
    """The HTML body: a 600px table layout, all text escaped, CSS inlined."""
    html = _HTML.get_template("digest.html.j2").render(_context(digest, footer))
    return _INLINER.inline(html)
