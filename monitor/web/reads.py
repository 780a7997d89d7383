"""The console's database reads: one function a page, each a few indexed statements.

Every list is keyset-paged (the cursor is the last row's sort key, never an
OFFSET), so a page costs the same on the millionth story as on the first.
Each function takes an open ``Connection`` and returns plain data (dicts and
lists of JSON-able values, datetimes left as datetimes) for the templates and
for the ``.json`` twins alike. Synchronous: the ASGI app runs them in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Date, and_, bindparam, cast, func, not_, select

from monitor.config import OpsConfig
from monitor.db import DeliveryRow, Feed, MatchRow, Sighting, StoryRow, cluster_outlets, feed_health, feed_json, health_flag
from monitor.model import Rule

__all__ = ["Cursor", "alerts_page", "feeds_page", "rules_page", "story_page"]

stories = StoryRow.__table__
matches = MatchRow.__table__
deliveries = DeliveryRow.__table__
sightings = Sighting.__table__
feeds = Feed.__table__

SUMMARY_CHARS = 500
CLUSTER_LIMIT = 50
SIGHTING_LIMIT = 200


@dataclass(frozen=True)
class Cursor:
    """The keyset position of the last row shown: its ``matched_at`` and id. Text form ``<unix>_<id>``."""

    at: datetime
    id: int

    def __str__(self) -> str:
        return f"{self.at.timestamp():.6f}_{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The cursor written by ``str()``, or None for an absent or malformed one."""
        if not value:
            return None
        at, sep, ident = value.partition("_")
        try:
            return cls(datetime.fromtimestamp(float(at), timezone.utc), min(int(ident), 2**31 - 1)) if sep else None
        except (ValueError, OverflowError, OSError):
            return None


def _status(rows: Sequence[Any]) -> dict[str, Any]:
    """The delivery status of one alert over its destinations: failed > pending > sent."""
    shown = [
        {"destination": r.destination, "status": r.status, "error": r.last_error, "attempts": r.attempts,
         "sent_at": r.sent_at}
        for r in rows
    ]
    statuses = {r.status for r in rows}
    if "failed" in statuses:
        overall = "failed"
    elif statuses & {"pending", "sending"}:
        overall = "pending"
    elif statuses & {"sent", "summarized", "folded"}:
        overall = "sent"
    else:
        overall = "none"  # digest-only rules, or no destination
    reason = next((r.last_error for r in rows if r.status == "failed" and r.last_error), None)
    return {"status": overall, "reason": reason, "destinations": shown}


def alerts_page(
    conn: Connection, rules: Mapping[str, Rule], *, rule: str | None = None, severity: str | None = None,
    after: Cursor | None = None, limit: int = 50,
) -> dict[str, Any]:
    """Recent matches newest first (``matched_at``, then id), after ``after``; filtered by rule id
    and by severity (the rules' configured severity). ``next`` is the cursor of the next page."""
    stmt = (
        select(matches.c.id, matches.c.rule_id, matches.c.cluster_id, matches.c.story_id, matches.c.terms,
               matches.c.matched_at, stories.c.title, stories.c.summary, stories.c.url, stories.c.source,
               stories.c.published_at)
        .select_from(matches.join(stories, stories.c.id == matches.c.story_id))
        .order_by(matches.c.matched_at.desc(), matches.c.id.desc())
        .limit(limit + 1)
    )
    if rule:
        stmt = stmt.where(matches.c.rule_id == rule)
    if severity:
        wanted = [r.id for r in rules.values() if r.severity == severity]
        stmt = stmt.where(matches.c.rule_id.in_(bindparam("sev_rules", wanted, expanding=True)))
    if after is not None:
        stmt = stmt.where(matches.c.matched_at <= after.at).where(
            not_(and_(matches.c.matched_at == after.at, matches.c.id >= after.id))
        )
    rows = list(conn.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    by_match: dict[int, list[Any]] = {}
    if rows:
        for d in conn.execute(
            select(deliveries.c.match_id, deliveries.c.destination, deliveries.c.status, deliveries.c.last_error,
                   deliveries.c.attempts, deliveries.c.sent_at)
            .where(deliveries.c.match_id.in_(bindparam("ids", [r.id for r in rows], expanding=True)))
            .order_by(deliveries.c.id)
        ):
            by_match.setdefault(d.match_id, []).append(d)
    outlets = cluster_outlets(conn, {r.cluster_id for r in rows})
    items = []
    for r in rows:
        rule_cfg = rules.get(r.rule_id)
        names = outlets.get(r.cluster_id, [])
        items.append({
            "match_id": r.id, "rule": r.rule_id, "rule_name": rule_cfg.name if rule_cfg else r.rule_id,
            "severity": rule_cfg.severity if rule_cfg else None, "story_id": r.story_id, "cluster": r.cluster_id,
            "title": r.title, "url": r.url, "source": r.source, "summary": (r.summary or "")[:SUMMARY_CHARS],
            "terms": list(r.terms or []), "matched_at": r.matched_at, "published_at": r.published_at,
            "outlets": names, "also_in": max(0, len(names) - 1),
            "delivery": _status(by_match.get(r.id, [])),
        })
    nxt = str(Cursor(rows[-1].matched_at, rows[-1].id)) if more and rows else None
    return {"alerts": items, "next": nxt, "rule": rule, "severity": severity,
            "rules": sorted(rules), "severities": ["high", "normal", "low"]}


def story_page(conn: Connection, story_id: int, rules: Mapping[str, Rule]) -> dict[str, Any] | None:
    """One story with its sightings, its cluster's stories and outlets, and the rules its cluster matched;
    None when there is no such story. ``content`` is the kept article text where the store has it."""
    row = conn.execute(select(stories).where(stories.c.id == story_id)).first()
    if row is None:
        return None
    data = row._mapping
    seen = [
        {"feed": s.name, "entry_key": s.entry_key, "seen_at": s.seen_at}
        for s in conn.execute(
            select(feeds.c.name, sightings.c.entry_key, sightings.c.seen_at)
            .select_from(sightings.join(feeds, feeds.c.id == sightings.c.feed_id))
            .where(sightings.c.story_id == story_id)
            .order_by(sightings.c.seen_at, sightings.c.id)
            .limit(SIGHTING_LIMIT)
        )
    ]
    cluster: list[dict[str, Any]] = []
    matched: list[dict[str, Any]] = []
    outlets: list[str] = []
    if row.cluster_id is not None:
        cluster = [
            {"id": c.id, "title": c.title, "url": c.url, "source": c.source, "first_seen_at": c.first_seen_at,
             "published_at": c.published_at}
            for c in conn.execute(
                select(stories.c.id, stories.c.title, stories.c.url, stories.c.source, stories.c.first_seen_at,
                       stories.c.published_at)
                .where(stories.c.cluster_id == row.cluster_id)
                .order_by(stories.c.first_seen_at, stories.c.id)
                .limit(CLUSTER_LIMIT)
            )
        ]
        outlets = cluster_outlets(conn, [row.cluster_id]).get(row.cluster_id, [])
        for m in conn.execute(
            select(matches).where(matches.c.cluster_id == row.cluster_id).order_by(matches.c.matched_at, matches.c.id)
        ):
            md = m._mapping
            rule_cfg = rules.get(m.rule_id)
            item = {"rule": m.rule_id, "rule_name": rule_cfg.name if rule_cfg else m.rule_id,
                    "query": rule_cfg.query if rule_cfg else None, "severity": rule_cfg.severity if rule_cfg else None,
                    "terms": list(m.terms or []), "matched_at": m.matched_at, "story_id": m.story_id}
            for extra in ("similarity", "example"):  # rules by example add these where the store keeps them
                if md.get(extra) is not None:
                    item[extra] = md[extra]
            matched.append(item)
    return {
        "id": row.id, "title": row.title, "summary": row.summary, "url": row.url, "source": row.source,
        "language": row.language, "author": row.author, "published_at": row.published_at,
        "first_seen_at": row.first_seen_at, "cluster": row.cluster_id if row.cluster_id is not None else -row.id,
        "content": data.get("content"), "article_status": data.get("article_status"),
        "article_reason": data.get("article_reason"), "article_fetched_at": data.get("article_fetched_at"),
        "sightings": seen, "cluster_stories": cluster, "outlets": outlets,
        "matches": matched,
    }


def feeds_page(
    conn: Connection, now: datetime, ops: OpsConfig, counts: Mapping[str, tuple[int, int]] | None = None,
    counted_at: datetime | None = None,
) -> dict[str, Any]:
    """Every feed's health (``monitor feeds --json`` fields plus ``flag``): failing first, then stale,
    then erroring, then the rest, each group by name. ``counts`` (entries, stories by feed name, as
    ``FeedCounts`` keeps them) saves counting every sighting; without it they are counted here."""
    rank = {"failing": 0, "stale": 1}
    rows = []
    found = feed_health(conn, counts=counts is None)
    for h in found:
        if counts is not None:
            h = replace(h, entries=counts.get(h.name, (0, 0))[0], stories=counts.get(h.name, (0, 0))[1])
        item = feed_json(h, now, ops)
        flag = health_flag(h, now, ops)
        item["flag"] = flag
        erroring = h.enabled and h.error_count > 0
        rows.append(((rank.get(flag or "", 2 if erroring else 3), not h.enabled, h.name), item))
    rows.sort(key=lambda x: x[0])
    items = [item for _, item in rows]
    return {"feeds": items, "failing": sum(1 for i in items if i["flag"] == "failing"),
            "stale": sum(1 for i in items if i["flag"] == "stale"), "now": now,
            "counted_at": counted_at if counts is not None else now}


def rules_page(conn: Connection, rules: Sequence[Rule], now: datetime, *, days: int = 30) -> dict[str, Any]:
    """Every rule with its query, matches per day over the last ``days`` days (UTC days, oldest first)
    and its last match."""
    today = now.astimezone(timezone.utc).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    day = func.date(matches.c.matched_at) if conn.dialect.name == "sqlite" else cast(matches.c.matched_at, Date)
    counts: dict[str, dict[date, int]] = {}
    for r in conn.execute(
        select(matches.c.rule_id, day.label("day"), func.count().label("n"))
        .where(matches.c.matched_at >= since)
        .group_by(matches.c.rule_id, day)
    ):
        d = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day))
        counts.setdefault(r.rule_id, {})[d] = int(r.n)
    last: dict[str, datetime] = {}
    newest = select(func.max(matches.c.matched_at)).where(matches.c.rule_id == bindparam("rule"))
    for rule in rules:  # one probe of (rule_id, matched_at) each; a GROUP BY would read every match
        found = conn.execute(newest, {"rule": rule.id}).scalar()
        if found is not None:
            last[rule.id] = _utc(found)
    span = [first + timedelta(days=i) for i in range(days)]
    items = []
    for rule in rules:
        per_day = [counts.get(rule.id, {}).get(d, 0) for d in span]
        items.append({
            "id": rule.id, "name": rule.name, "query": rule.query, "severity": rule.severity, "enabled": rule.enabled,
            "fields": list(rule.fields), "channel": rule.channel, "days": [d.isoformat() for d in span],
            "per_day": per_day, "total_30d": sum(per_day), "last_match": last.get(rule.id),
        })
    return {"rules": items, "since": since}


def _utc(value: Any) -> datetime:
    """A ``max()`` read back from the database (SQLite gives text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


