"""parse: JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed.

feedparser 6 does not read JSON Feed, so the project does. Follows the same
contract as the feedparser path: the feed title is plain text, entry text fields come back as HTML (plain-text
fields such as ``title`` and ``content_text`` are HTML-escaped), dates are
aware UTC datetimes or None, and relative URLs resolve against the feed URL.

Lenient where it costs nothing (a missing ``version``, a numeric ``id``, a
naive date read as UTC, 1.0's ``author`` beside 1.1's ``authors``), strict
where the body is not a feed: invalid JSON, a top level that is not an object,
or no ``items`` list raise :class:`ParseError`.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from monitor.model import ParsedFeed, RawEntry
from monitor.text import clean_text

__all__ = ["parse_json_feed"]

_VERSION_PREFIX = "https://jsonfeed.org/version/"


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """Parse a JSON Feed body (UTF-8, with or without a BOM).

    Items that are not objects are skipped and counted in ``bozo``.
    """
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"parse: not a feed: JSON body is not UTF-8 (byte {exc.start}) at {url}") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"parse: not a feed: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}) at {url}"
        ) from exc
    if not isinstance(document, dict):
        raise ParseError(f"parse: not a feed: JSON top level is {type(document).__name__}, not an object, at {url}")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f"parse: not a feed: JSON Feed has no 'items' list at {url}")

    complaints: list[str] = []
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIX):
        complaints.append(f"unknown JSON Feed version {version!r}")
    feed_language = _language(document.get("language"))
    feed_authors = _authors(document)
    entries: list[RawEntry] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            complaints.append(f"item {index} is not an object")
            continue
        entries.append(_entry(item, url, feed_language, feed_authors))
    return ParsedFeed(
        title=clean_text(_string(document.get("title"))) or None,
        link=_url(document.get("home_page_url"), url),
        language=feed_language,
        entries=tuple(entries),
        ttl_minutes=None,
        bozo="; ".join(complaints) or None,
    )


def _entry(item: dict[str, Any], base: str, feed_language: str | None, feed_authors: str | None) -> RawEntry:
    item_id = item.get("id")
    guid = str(item_id).strip() if isinstance(item_id, (str, int)) and not isinstance(item_id, bool) else None
    link = _url(item.get("url"), base) or _url(item.get("external_url"), base)
    content = _string(item.get("content_html")) or _plain(item.get("content_text"))
    return RawEntry(
        guid=guid or None,
        link=link,
        title=_plain(item.get("title")),
        summary=_plain(item.get("summary")),
        content=content,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        author=_authors(item) or feed_authors,
        language=_language(item.get("language")) or feed_language,
        tags=tuple(t.strip() for t in _list(item.get("tags")) if isinstance(t, str) and t.strip()),
    )


def _list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else empty (``"tags": 1`` is ignored, not a crash)."""
    return value if isinstance(value, list) else []


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _plain(value: Any) -> str | None:
    """A plain-text field, escaped to HTML."""
    text = _string(value)
    return html.escape(text, quote=False) if text else None


def _url(value: Any, base: str) -> str | None:
    text = _string(value)
    if not text:
        return None
    try:
        return urljoin(base, text.strip())
    except ValueError:
        return None


def _authors(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        single = obj.get("author")
        authors = [single] if isinstance(single, dict) else []
    names = [a["name"].strip() for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    names = [n for n in names if n]
    return html.escape(", ".join(names), quote=False) if names else None


def _language(value: Any) -> str | None:
    text = _string(value)
    return text.strip().replace("_", "-").lower() if text else None


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date as aware UTC; naive dates are read as UTC."""
    text = _string(value)
    if not text:
        return None
    text = text.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else nothing (``"tags": true`` is not a list of tags)."""
    return value if isinstance(value, list) else []
