"""normalize: RawEntry -> Story (plain text, canonical URL, UTC dates, a key).

Pure: everything it needs is passed in, including ``seen_at`` (the poll's
time, from the caller's clock). Rules, in the order a Story's fields appear:

- ``entry_key``: the guid/id; else the canonical link; else
  ``"sha1:" + sha1(title + published ISO time)`` over the plain title and the
  feed's own date (empty when it gave none), so it is stable across polls.
- ``title``: plain text, at most :data:`TITLE_MAX` characters; when the entry
  has none, the first words of the summary (or content); else ``"(untitled)"``.
- ``summary``: plain text of the summary (or of the content when there is no
  summary), cut at a word boundary to :data:`SUMMARY_MAX` characters.
- ``url``: the canonical URL of ``link`` (``""`` when there is none).
- ``published``: published, else updated, else ``seen_at``; a date more than
  :data:`FUTURE_SLACK` after ``seen_at`` is clamped to ``seen_at``.
- ``source`` and ``feed``: ``feed_name``, the operator's name for the feed.
- ``content``: plain text of the content, at most :data:`CONTENT_MAX`.
- ``language``: the entry's language (or the feed's), lower-case as given
  (``"en-gb"``), ``_`` written as ``-``; None when unknown.
- ``author``: plain text or None.
- ``link``: the entry's link made absolute against ``feed_url``; ``""`` when it
  is not http(s) (a ``javascript:`` link is never shown to anyone).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

from monitor.model import ParsedFeed, RawEntry, Story
from monitor.reader.urls import canonical_url, is_http_url
from monitor.text import html_to_text, truncate

__all__ = ["normalize", "TITLE_MAX", "SUMMARY_MAX", "CONTENT_MAX", "FUTURE_SLACK", "UNTITLED"]

TITLE_MAX = 500
SUMMARY_MAX = 2_000
CONTENT_MAX = 20_000
FALLBACK_TITLE_WORDS = 12
FALLBACK_TITLE_MAX = 120
FUTURE_SLACK = timedelta(days=1)
UNTITLED = "(untitled)"


def normalize(
    entry: RawEntry,
    *,
    feed: ParsedFeed,
    feed_name: str,
    feed_url: str,
    seen_at: datetime,
    tags: tuple[str, ...] = (),
) -> Story:
    """Make a :class:`Story` of one parsed entry (rules in the module docstring).

    ``seen_at`` must be timezone-aware. Never raises on odd entry content.
    """
    if seen_at.tzinfo is None:
        raise ValueError("normalize: seen_at must be timezone-aware")
    seen_at = seen_at.astimezone(timezone.utc)

    title = truncate(html_to_text(entry.title), TITLE_MAX)
    summary_text = html_to_text(entry.summary)
    content = truncate(html_to_text(entry.content), CONTENT_MAX) if entry.content else ""
    summary = truncate(summary_text or content, SUMMARY_MAX)
    if not title:
        title = _fallback_title(summary)

    link = _absolute_link(entry.link, feed_url)
    url = canonical_url(link) if link else ""
    own_date = entry.published or entry.updated

    return Story(
        entry_key=_entry_key(entry.guid, url, title, own_date),
        title=title,
        summary=summary,
        url=url,
        published=_published(own_date, seen_at),
        source=feed_name,
        content=content,
        language=_language(entry.language or feed.language),
        feed=feed_name,
        feed_tags=tuple(tags),
        author=html_to_text(entry.author) or None,
        link=link,
    )


def _fallback_title(summary: str) -> str:
    if not summary:
        return UNTITLED
    words = summary.split(" ")
    head = " ".join(words[:FALLBACK_TITLE_WORDS])
    cut = len(words) > FALLBACK_TITLE_WORDS
    head = truncate(head, FALLBACK_TITLE_MAX)
    return head + "…" if cut and not head.endswith("…") else head


def _absolute_link(link: str | None, feed_url: str) -> str:
    if not link:
        return ""
    try:
        absolute = urljoin(feed_url, link.strip())
    except ValueError:
        return ""
    return absolute if is_http_url(absolute) else ""


def _entry_key(guid: str | None, url: str, title: str, own_date: datetime | None) -> str:
    if guid and guid.strip():
        return guid.strip()
    if url:
        return url
    stamp = own_date.astimezone(timezone.utc).isoformat() if own_date else ""
    return "sha1:" + hashlib.sha1((title + stamp).encode("utf-8")).hexdigest()


def _published(own_date: datetime | None, seen_at: datetime) -> datetime:
    if own_date is None:
        return seen_at
    if own_date.tzinfo is None:
        own_date = own_date.replace(tzinfo=timezone.utc)
    own_date = own_date.astimezone(timezone.utc)
    return seen_at if own_date - seen_at > FUTURE_SLACK else own_date


def _language(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().replace("_", "-").lower() or None
