"""parse: response bytes -> ParsedFeed. The only module that imports feedparser.

RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom go through feedparser; JSON Feed goes
through :mod:`monitor.reader.jsonfeed`. Everything here is pure: bytes and headers in,
data out, no network and no clock.

Fast path: well-formed RSS 2.0 and Atom 1.0 first go to
:func:`monitor.reader.fastparse.parse_fast` (lxml), which either returns entries that
normalize into exactly the stories feedparser's would, or refuses; on refusal
feedparser parses as before. Dates on both paths are read by feedparser's own
date parser (:func:`feed_date`, passed in), so they agree by construction.

The feed's title comes back as plain text. Text fields of the entries hold HTML (plain-text fields are
HTML-escaped here, so that :func:`monitor.text.html.html_to_text` turns every field
back into the text the feed meant, ``<`` and all).

Safety: feedparser parses XML with expat, which neither fetches external
entities nor expands entity bombs past its amplification limit, and its loose
fallback parser keeps only entity declarations without ``&``, ``%`` or quotes.
The test suite holds a billion-laughs body and a ``file:///etc/passwd``
external entity to keep it so.
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_date

from monitor.errors import ParseError
from monitor.model import ParsedFeed, RawEntry
from monitor.reader import fastparse, jsonfeed
from monitor.text import html_to_text

__all__ = ["parse_feed", "looks_like_json_feed", "feed_date"]

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_LEADING_JUNK = b"\xef\xbb\xbf \t\r\n\x00"
# Skip the XML declaration, comments, processing instructions and a non-HTML
# doctype, then read the name of the first element.
_FIRST_ELEMENT = re.compile(
    rb"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!doctype\s+(?!html)[^>]*>)*<([a-z][\w:.-]*|!doctype\s+html)",
    re.IGNORECASE | re.DOTALL,
)
_SNIFF_BYTES = 4096


def parse_feed(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, fast: bool = True
) -> ParsedFeed:
    """Parse one response body into a :class:`ParsedFeed`.

    ``url`` is the final URL of the response: relative links resolve against
    it unless the response named a ``Content-Location``. ``headers`` are the
    response headers (any case); ``Content-Type`` gives the charset and helps
    spot JSON Feed.

    A malformed feed that still yields entries keeps them, with feedparser's
    complaint in ``ParsedFeed.bozo``. Raises :class:`ParseError` ("parse: ...")
    when the body is empty, an HTML page, or anything else that yields neither
    entries nor a feed title. ``fast=False`` skips the fast path (feedparser
    only: the reference the fast path is tested against).
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    stripped = body.lstrip(_LEADING_JUNK)
    if not stripped:
        raise ParseError(f"parse: not a feed (empty body) at {url}")
    content_type = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if looks_like_json_feed(stripped, content_type):
        return jsonfeed.parse_json_feed(body, url=url)
    if _looks_like_html(stripped):
        raise ParseError(f"parse: not a feed (looks like an HTML page) at {url}")

    lowered.setdefault("content-location", url)
    if fast:
        parsed = fastparse.parse_fast(body, url=url, headers=lowered, parse_date=feed_date)
        if parsed is not None:
            return parsed
    try:
        result = feedparser.parse(io.BytesIO(body), response_headers=lowered, sanitize_html=True)
    except Exception as exc:  # noqa: BLE001 - feedparser bugs must not kill a poll
        raise ParseError(f"parse: feedparser failed on {url}: {type(exc).__name__}: {exc}") from exc
    return _to_parsed_feed(result, url)


def feed_date(value: str) -> datetime | None:
    """A feed's date string read the way feedparser reads it (RFC 822, W3C/ISO
    8601 and its other formats), as an aware UTC datetime; None when unreadable."""
    return _utc(_feedparser_date(value))


def looks_like_json_feed(stripped_body: bytes, content_type: str) -> bool:
    """True for a body that opens with ``{``, or a JSON content type on a body
    that is not markup."""
    if stripped_body.startswith(b"{"):
        return True
    return content_type in _JSON_TYPES and not stripped_body.startswith(b"<")


def _looks_like_html(stripped_body: bytes) -> bool:
    match = _FIRST_ELEMENT.match(stripped_body[:_SNIFF_BYTES])
    if not match:
        return False
    name = match.group(1).lower()
    return name == b"html" or name.startswith(b"!doctype")


def _to_parsed_feed(result: Any, url: str) -> ParsedFeed:
    feed = result.get("feed", {})
    raw_entries = result.get("entries", [])
    bozo = _bozo_reason(result)
    title = html_to_text(_text_field(feed, "title")) or None
    if not raw_entries and not title:
        reason = bozo or "the document has no feed elements"
        raise ParseError(f"parse: not a feed: no entries and no feed title ({reason}) at {url}")
    feed_language = _language(feed.get("language"))
    entries = tuple(_entry(e, feed_language) for e in raw_entries)
    return ParsedFeed(
        title=title,
        link=feed.get("link") or None,
        language=feed_language,
        entries=entries,
        ttl_minutes=_ttl(feed.get("ttl")),
        bozo=bozo,
    )


def _bozo_reason(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None:
        return "malformed feed"
    message = str(exc).strip() or type(exc).__name__
    return message


def _entry(e: Any, feed_language: str | None) -> RawEntry:
    return RawEntry(
        guid=_strip(e.get("id")),
        link=_strip(e.get("link")),
        title=_text_field(e, "title"),
        summary=_text_field(e, "summary"),
        content=_content(e),
        # dict.get: FeedParserDict.get("updated_parsed") quietly falls back to
        # published_parsed (with a DeprecationWarning); we want the real value.
        published=_utc(dict.get(e, "published_parsed")),
        updated=_utc(dict.get(e, "updated_parsed")),
        author=_author(e),
        language=_entry_language(e) or feed_language,
        tags=tuple(t["term"] for t in e.get("tags", ()) if t.get("term")),
    )


def _text_field(d: Any, key: str) -> str | None:
    """The field as HTML: plain-text values escaped, HTML values as given."""
    value = d.get(key)
    if not value:
        return None
    detail = d.get(f"{key}_detail") or {}
    return _as_html(value, detail.get("type"))


def _as_html(value: str, content_type: str | None) -> str:
    if content_type == "text/plain":
        return html.escape(value, quote=False)
    return value


def _content(e: Any) -> str | None:
    contents = e.get("content") or ()
    if not contents:
        return None
    best = next((c for c in contents if c.get("type") in ("text/html", "application/xhtml+xml")), contents[0])
    value = best.get("value")
    return _as_html(value, best.get("type")) if value else None


def _author(e: Any) -> str | None:
    author = e.get("author")
    if not author:
        return None
    detail = e.get("author_detail") or {}
    return html.escape(detail.get("name") or author, quote=False)


def _entry_language(e: Any) -> str | None:
    """An entry's own dc:language, else the xml:lang in scope of its text."""
    if dict.get(e, "language"):
        return _language(e["language"])
    for key in ("title_detail", "summary_detail"):
        lang = (e.get(key) or {}).get("language")
        if lang:
            return _language(lang)
    for content in e.get("content") or ():
        if content.get("language"):
            return _language(content["language"])
    return None


def _language(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return value.strip().replace("_", "-").lower() or None


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC struct_time."""
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _strip(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return value.strip() or None
