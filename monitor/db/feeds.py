"""Queries on the ``feeds`` table: sync from config, lease due feeds, record poll outcomes.

Leasing: a worker takes due feeds with ``SELECT … FOR UPDATE SKIP LOCKED``
(PostgreSQL) and stamps ``lease_owner``/``lease_until`` in the same short
transaction; another worker skips them until the lease lapses, so a dead
worker's feeds are picked up again. Recording an outcome clears the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, func, or_, select, text, update

from monitor.config import FeedConfig
from monitor.db.schema import Feed, Sighting, StoryRow
from monitor.db.sql import supports_skip_locked

feeds = Feed.__table__
SYNC_LOCK_KEY = 0x6D6F6E69746F7202  # advisory lock serializing sync_feeds on PostgreSQL


@dataclass(frozen=True)
class FeedState:
    """What a poll needs to know about a feed (a snapshot taken when it was leased)."""

    id: int
    name: str
    url: str
    interval: float
    tags: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    error_count: int
    backlog_done: bool
    body_hash: str | None
    failing_since: datetime | None
    last_new_at: datetime | None
    full_text: bool = False  # fetch each new story's page for its text


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    updated: list[str]
    disabled: list[str]


def sync_feeds(conn: Connection, configured: Sequence[FeedConfig], now: datetime) -> SyncReport:
    """Make the table follow the config: add new feeds, update changed ones, disable removed ones.

    Feeds are matched by name; a removed feed is disabled, never deleted (its history stays).
    """
    if conn.dialect.name == "postgresql":
        # workers starting together sync one after another (the lock ends with the transaction)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_LOCK_KEY})
    rows = {r.name: r for r in conn.execute(select(feeds))}
    added, updated, disabled = [], [], []
    seen: set[str] = set()
    for fc in configured:
        seen.add(fc.name)
        row = rows.get(fc.name)
        if row is None:
            # a feed renamed in config keeps its row (matched by url)
            by_url = next((r for r in rows.values() if r.config_url == fc.url and r.name not in seen), None)
            if by_url is not None:
                row = by_url
                seen.add(by_url.name)
        if row is None:
            conn.execute(
                feeds.insert().values(
                    name=fc.name, url=fc.url, config_url=fc.url, enabled=fc.enabled, interval=fc.interval, tags=list(fc.tags),
                    full_text=fc.full_text, next_poll_at=now, error_count=0, backlog_done=False, created_at=now,
                )
            )
            added.append(fc.name)
            continue
        changes: dict[str, object] = {}
        if row.name != fc.name:
            changes["name"] = fc.name
        if row.config_url != fc.url:  # edited in feeds.toml (a permanent redirect only changes ``url``)
            changes.update(url=fc.url, config_url=fc.url, etag=None, last_modified=None, body_hash=None, next_poll_at=now)
        if row.enabled != fc.enabled:
            changes["enabled"] = fc.enabled
            if fc.enabled:
                changes["next_poll_at"] = now
        if row.interval != fc.interval:
            changes["interval"] = fc.interval
        if list(row.tags or []) != list(fc.tags):
            changes["tags"] = list(fc.tags)
        if bool(row.full_text) != fc.full_text:
            changes["full_text"] = fc.full_text
        if changes:
            conn.execute(update(feeds).where(feeds.c.id == row.id).values(**changes))
            updated.append(fc.name)
    for name, row in rows.items():
        if name not in seen and row.enabled:
            conn.execute(update(feeds).where(feeds.c.id == row.id).values(enabled=False))
            disabled.append(name)
    return SyncReport(added, updated, disabled)


# only what ``FeedState`` holds: a steady pass leases every feed, and each column costs on every row
_STATE_COLUMNS = tuple(
    feeds.c[name] for name in (
        "id", "name", "url", "interval", "tags", "etag", "last_modified", "error_count", "backlog_done",
        "body_hash", "failing_since", "last_new_at", "full_text",
    )
)


def _state(row: object) -> FeedState:
    return FeedState(
        id=row.id, name=row.name, url=row.url, interval=row.interval, tags=tuple(row.tags or ()),
        etag=row.etag, last_modified=row.last_modified, error_count=row.error_count,
        backlog_done=row.backlog_done, body_hash=row.body_hash, failing_since=row.failing_since,
        last_new_at=row.last_new_at, full_text=bool(row.full_text),
    )


def lease_feeds(
    conn: Connection,
    *,
    now: datetime,
    owner: str,
    lease: float,
    limit: int,
    due_only: bool = True,
    names: Sequence[str] | None = None,
    exclude_polled_since: datetime | None = None,
) -> list[FeedState]:
    """Lease up to ``limit`` enabled feeds (due ones unless ``due_only`` is False), oldest due first.

    ``exclude_polled_since`` leaves out feeds polled at or after that time (one pass over all feeds).

    Runs inside the caller's transaction; commit promptly so the lease is visible.
    """
    cond = [feeds.c.enabled.is_(True), or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now)]
    if due_only:
        cond.append(feeds.c.next_poll_at <= now)
    if names:
        cond.append(feeds.c.name.in_(list(names)))
    if exclude_polled_since is not None:
        cond.append(or_(feeds.c.last_polled_at.is_(None), feeds.c.last_polled_at < exclude_polled_since))
    stmt = select(*_STATE_COLUMNS).where(and_(*cond)).order_by(feeds.c.next_poll_at, feeds.c.id).limit(limit)
    if supports_skip_locked(conn):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(conn.execute(stmt))
    if rows:
        conn.execute(
            update(feeds)
            .where(feeds.c.id.in_([r.id for r in rows]))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease))
        )
    return [_state(r) for r in rows]


def record_success(
    conn: Connection,
    feed_id: int,
    *,
    now: datetime,
    next_poll_at: datetime,
    http_status: int,
    not_modified: bool,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    new_url: str | None = None,
    bozo: str | None = None,
) -> None:
    """A 200 or 304: clear the error state and the lease, store validators."""
    values: dict[str, object] = dict(
        last_status="not_modified" if not_modified else "ok",
        last_http_status=http_status,
        last_error=f"parse warning (entries kept): {bozo}" if bozo else None,
        error_count=0,
        failing_since=None,
        last_polled_at=now,
        last_success_at=now,
        next_poll_at=next_poll_at,
        lease_owner=None,
        lease_until=None,
        backlog_done=True,
    )
    if not not_modified:
        values.update(etag=etag, last_modified=last_modified, body_hash=body_hash)
    if new_url:
        clash = conn.execute(select(feeds.c.id).where(feeds.c.url == new_url, feeds.c.id != feed_id)).first()
        if clash is None:
            values["url"] = new_url
    conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


@dataclass(frozen=True)
class Unchanged:
    """One feed that answered 304 (or the same body again): its row to update in a batch."""

    feed_id: int
    polled_at: datetime
    next_poll_at: datetime
    http_status: int


_UNCHANGED = (
    update(feeds)
    .where(feeds.c.id == bindparam("u_id"))
    .values(
        last_status="not_modified",
        last_http_status=bindparam("u_http"),
        last_error=None,
        error_count=0,
        failing_since=None,
        last_polled_at=bindparam("u_at"),
        last_success_at=bindparam("u_at"),
        next_poll_at=bindparam("u_next"),
        lease_owner=None,
        lease_until=None,
        backlog_done=True,
    )
)


def record_unchanged(conn: Connection, outcomes: Sequence[Unchanged]) -> None:
    """Many 304s (or unchanged bodies) in one statement: what ``record_success`` does for each,
    validators and body hash left as stored (the caller leaves out feeds with a new URL).
    """
    if not outcomes:
        return
    conn.execute(
        _UNCHANGED,
        [
            {
                "u_id": o.feed_id, "u_http": o.http_status,
                "u_at": o.polled_at, "u_next": o.next_poll_at,
            }
            for o in outcomes
        ],
    )


def record_error(
    conn: Connection,
    feed_id: int,
    *,
    now: datetime,
    next_poll_at: datetime,
    message: str,
    http_status: int | None,
) -> None:
    """A failed poll: count it, keep the message, back off (``next_poll_at`` is computed by the caller)."""
    conn.execute(
        update(feeds)
        .where(feeds.c.id == feed_id)
        .values(
            last_status="error",
            last_http_status=http_status,
            last_error=message[:2000],
            error_count=feeds.c.error_count + 1,
            failing_since=func.coalesce(feeds.c.failing_since, now),
            last_polled_at=now,
            next_poll_at=next_poll_at,
            lease_owner=None,
            lease_until=None,
        )
    )


def note_new_stories(conn: Connection, feed_id: int, *, now: datetime, count: int, previous: datetime | None) -> None:
    """Track when a feed last brought something new, and its usual gap (EWMA), for staleness."""
    if count <= 0:
        return
    values: dict[str, object] = {"last_new_at": now}
    if previous is not None:
        gap = (now - previous).total_seconds()
        values["mean_gap"] = func.coalesce(feeds.c.mean_gap * 0.8 + gap * 0.2, gap)
    conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


@dataclass(frozen=True)
class FeedHealth:
    name: str
    url: str
    enabled: bool
    last_status: str | None
    last_http_status: int | None
    last_error: str | None
    error_count: int
    next_poll_at: datetime | None
    last_success_at: datetime | None
    last_polled_at: datetime | None
    last_new_at: datetime | None
    failing_since: datetime | None
    mean_gap: float | None
    interval: float
    entries: int
    stories: int
    tags: tuple[str, ...]


def feed_counts(conn: Connection) -> dict[str, tuple[int, int]]:
    """``(entries, stories)`` by feed name: distinct entries seen in the feed, and stories first seen there.

    Two index scans over every sighting and every story: cheap on a small store, hundreds of
    milliseconds at a million (callers that ask often cache it)."""
    entries = dict(conn.execute(select(Sighting.feed_id, func.count()).group_by(Sighting.feed_id)).all())
    stories = dict(conn.execute(
        select(StoryRow.feed_id, func.count()).where(StoryRow.feed_id.is_not(None)).group_by(StoryRow.feed_id)
    ).all())
    return {
        name: (int(entries.get(fid, 0)), int(stories.get(fid, 0)))
        for fid, name in conn.execute(select(feeds.c.id, feeds.c.name))
    }


def feed_health(conn: Connection, *, counts: bool = True) -> list[FeedHealth]:
    """Every feed by name with its counts: ``entries`` (distinct entries seen) and ``stories`` (first seen
    here). With ``counts=False`` both are 0 and only the feeds table is read (see ``feed_counts``)."""
    found = feed_counts(conn) if counts else {}
    out = []
    for r in conn.execute(select(feeds).order_by(feeds.c.name)):
        entries, stories = found.get(r.name, (0, 0))
        out.append(
            FeedHealth(
                name=r.name, url=r.url, enabled=r.enabled, last_status=r.last_status, last_http_status=r.last_http_status,
                last_error=r.last_error, error_count=r.error_count, next_poll_at=r.next_poll_at,
                last_success_at=r.last_success_at, last_polled_at=r.last_polled_at, last_new_at=r.last_new_at,
                failing_since=r.failing_since, mean_gap=r.mean_gap, interval=r.interval,
                entries=entries, stories=stories, tags=tuple(r.tags or ()),
            )
        )
    return out


def mark_ops_alerted(conn: Connection, name: str, flag: str | None) -> None:
    """Remember that the ops channel was told about ``flag`` for this feed (once per episode)."""
    conn.execute(update(feeds).where(feeds.c.name == name).values(ops_alerted=flag))


def ops_alerted(conn: Connection) -> dict[str, str | None]:
    return {r.name: r.ops_alerted for r in conn.execute(select(feeds.c.name, feeds.c.ops_alerted))}
