"""The digest's content: plain, frozen data with no I/O.

A ``Digest`` is one day of matches for one audience: ``DigestSection`` per
rule, ``DigestEntry`` per story cluster. ``build_digest`` puts sections and
entries in the order every renderer shows them; renderers never re-sort.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.model import SEVERITY_ORDER


@dataclass(frozen=True)
class DigestEntry:
    """One story cluster as the digest shows it.

    ``published`` is timezone-aware (UTC by convention); ``also_seen_in``
    names other outlets that carried the same cluster; ``terms`` are the
    rule's matched words, used for highlighting.
    """

    title: str
    url: str
    source: str
    also_seen_in: tuple[str, ...]
    published: datetime
    summary: str
    terms: tuple[str, ...]
    severity: str = "normal"
    similarity: float | None = None  # a match by example: cosine with the nearest example
    example: str | None = None  # ... and that example's first words

    @property
    def outlets(self) -> tuple[str, ...]:
        """The source followed by the other outlets, without duplicates."""
        return tuple(dict.fromkeys((self.source, *self.also_seen_in)))

    @property
    def story_key(self) -> str:
        """What makes two entries the same story: the URL, else the title."""
        return self.url or self.title


@dataclass(frozen=True)
class DigestSection:
    """The entries one rule matched during the digest's period."""

    rule_id: str
    rule_name: str
    severity: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest:
    """One day's digest. ``timezone`` is an IANA name; the period is [start, end)."""

    day: date
    timezone: str
    period_start: datetime
    period_end: datetime
    sections: tuple[DigestSection, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def total_entries(self) -> int:
        """Entries over all sections; a story matched by two rules counts twice."""
        return sum(len(s.entries) for s in self.sections)

    @property
    def total_stories(self) -> int:
        """Distinct stories (by URL, else title) over all sections."""
        return len({e.story_key for s in self.sections for e in s.entries})

    @property
    def total_outlets(self) -> int:
        """Distinct outlets that carried any of the stories."""
        return len({o for s in self.sections for e in s.entries for o in e.outlets})

    @property
    def total_rules(self) -> int:
        """Rules with at least one entry."""
        return sum(1 for s in self.sections if s.entries)

    @property
    def is_empty(self) -> bool:
        return self.total_entries == 0

    def only(self, rule_ids: Collection[str] | None) -> Digest:
        """The same digest restricted to ``rule_ids`` (None or empty: all rules)."""
        if not rule_ids:
            return self
        return replace(self, sections=tuple(s for s in self.sections if s.rule_id in rule_ids))


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.get(severity, SEVERITY_ORDER["normal"])


def build_digest(
    sections: Iterable[DigestSection],
    *,
    day: date,
    tz: str | ZoneInfo,
    period_start: datetime,
    period_end: datetime,
) -> Digest:
    """Assemble a ``Digest`` in display order.

    Sections: severity (high first), then rule name (case-insensitive), then
    rule id. Entries within a section: severity (high first), then newest
    first, then title, so the freshest important story leads. Sections with
    no entries are dropped. Raises ValueError for naive datetimes or an
    unknown time zone name.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if value.tzinfo is None:
            raise ValueError(f"digest: {name} must be timezone-aware")
    ordered: list[DigestSection] = []
    for section in sections:
        if not section.entries:
            continue
        for entry in section.entries:
            if entry.published.tzinfo is None:
                raise ValueError(f"digest: entry {entry.title!r} has a naive published time")
        entries = sorted(
            section.entries,
            key=lambda e: (_severity_rank(e.severity), -e.published.timestamp(), e.title),
        )
        ordered.append(replace(section, entries=tuple(entries)))
    ordered.sort(key=lambda s: (_severity_rank(s.severity), s.rule_name.casefold(), s.rule_id))
    return Digest(
        day=day,
        timezone=zone.key,
        period_start=period_start,
        period_end=period_end,
        sections=tuple(ordered),
    )
