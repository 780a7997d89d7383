"""Plain data types shared by every step of the pipeline.

This module sits at the bottom of the dependency graph: it imports nothing of
ours and performs no I/O. Every other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Severity = Literal["low", "normal", "high"]
SEVERITY_ORDER: dict[str, int] = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as a parser found it, before normalization.

    Text fields may hold HTML and entities; dates are timezone-aware UTC or
    None when the feed gave none (or gave one that could not be read).
    """

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    content: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a parser made of one response body.

    ``ttl_minutes`` is the feed's own ``<ttl>`` (RSS) when present; ``bozo``
    carries feedparser's description of a malformed-but-usable feed.
    """

    title: str | None
    link: str | None
    language: str | None
    entries: tuple[RawEntry, ...]
    ttl_minutes: int | None = None
    bozo: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """One normalized story: plain text, canonical URL, UTC dates.

    ``entry_key`` is stable across polls of the same feed (guid, else link,
    else a hash of title and date). ``url`` is the canonical URL and may be
    empty when the entry had no usable link. ``published`` is always set
    (falls back to updated, then to the time it was first seen).
    """

    entry_key: str
    title: str
    summary: str
    url: str
    published: datetime
    source: str
    content: str = ""
    language: str | None = None
    feed: str = ""
    feed_tags: tuple[str, ...] = ()
    author: str | None = None
    link: str = ""  # the link exactly as the feed gave it (absolute)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule matched a story; ``terms`` are the words/phrases that matched,
    in the order they first occur in the story, without duplicates.

    An example-based match (the rule's examples judged the story similar)
    also carries ``similarity``, the cosine with the nearest example, and
    ``example``, that example's first words; both are None for a match of
    the boolean query alone."""

    rule_id: str
    terms: tuple[str, ...]
    similarity: float | None = None
    example: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule as loaded from ``rules/<id>.toml``; ``query`` is its source text.

    The compiled form lives in the rule engine; this type carries only data.
    """

    id: str
    name: str
    query: str = ""
    fields: tuple[str, ...] = ("title", "summary", "content")
    channel: str | None = None
    severity: Severity = "normal"
    digest: bool = True
    enabled: bool = True
    feeds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    path: str = ""
    # Rules by example (rules/README.md): texts the rule is about, texts it is
    # not about, ids of stored stories that are examples, the cosine a story
    # needs, the backend, and a boolean query within which similar stories
    # match even when ``query`` does not.
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    example_stories: tuple[str, ...] = ()
    threshold: tuple[tuple[str, float], ...] = ()  # (backend, cosine); ("*", x) for every backend
    similarity: str = "builtin"
    prefilter: str = ""
    decide: str = ""  # "nearest", "learned", or "" (learned with enough labelled examples of each side)


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a notifier needs to render one alert, with no database ids
    beyond ``delivery_id`` (for logs). ``also_seen_in`` lists other sources of
    the same story cluster (may be empty)."""

    delivery_id: int
    rule_id: str
    rule_name: str
    severity: str
    title: str
    summary: str
    url: str
    source: str
    published: datetime
    terms: tuple[str, ...]
    channel: str | None = None
    also_seen_in: tuple[str, ...] = field(default_factory=tuple)
    similarity: float | None = None  # an example-based match: cosine with the nearest example
    example: str | None = None  # ... and that example's first words
