"""Storing one feed's stories: exact dedup, clustering, matching, and the outbox, in one transaction.

The database decides what is new:

- the same entry again in the same feed is a no-op (unique ``sightings(feed_id, entry_key)``);
- the same canonical URL from another feed (or a re-post with a new guid) records a
  sighting of the existing story (unique ``stories(url_key)``);
- a near-copy (MinHash over title + summary, LSH bands looked up by index)
  within the window joins the earlier story's cluster;
- a rule alerts once per cluster (unique ``matches(rule_id, cluster_id)``,
  ``deliveries(rule_id, cluster_id, destination)``); later members of an
  alerted cluster become follow-ups (a threaded reply or an update).

All inserts are ``INSERT … ON CONFLICT DO NOTHING … RETURNING``, so two workers
storing the same story race safely: exactly one of them goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, tuple_

from monitor.db.schema import Cluster, DeliveryRow, FollowupRow, MatchRow, Sighting, StoryBand, StoryRow
from monitor.db.sql import bounded_key, insert
from monitor.fingerprint import MIN_SHINGLES, Fingerprint, Fingerprinter
from monitor.model import RuleMatch, Story

stories_t = StoryRow.__table__
sightings_t = Sighting.__table__
clusters_t = Cluster.__table__
bands_t = StoryBand.__table__
matches_t = MatchRow.__table__
deliveries_t = DeliveryRow.__table__
followups_t = FollowupRow.__table__

Matcher = Callable[[Story], list[RuleMatch]]
Router = Callable[[str], list[tuple[str, str | None]]]  # rule id → [(destination, channel)]


@dataclass(frozen=True)
class IngestOptions:
    """How to store: clustering window and threshold, storm guard, follow-ups."""

    window: float = 72 * 3600.0
    threshold: float | None = None
    storm_limit: int = 20
    followups: str = "thread"  # thread | update | silent


@dataclass
class IngestResult:
    seen: int = 0  # entries in the feed body
    new_entries: int = 0  # entries this feed had not shown before
    new_stories: int = 0
    clustered: int = 0  # new stories that joined an existing cluster
    matches: int = 0
    deliveries: int = 0
    folded: int = 0
    followups: int = 0
    new_story_ids: list[int] = field(default_factory=list)
    matched_rules: list[str] = field(default_factory=list)


def known_entry_keys(conn: Connection, feed_id: int, keys: Sequence[str]) -> set[str]:
    """The subset of ``keys`` (already bounded) this feed has shown before."""
    known: set[str] = set()
    keys = list(keys)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = conn.execute(
            select(sightings_t.c.entry_key).where(sightings_t.c.feed_id == feed_id, sightings_t.c.entry_key.in_(chunk))
        )
        known.update(r[0] for r in rows)
    return known


def ingest(
    conn: Connection,
    *,
    feed_id: int,
    stories: Sequence[Story],
    now: datetime,
    fingerprinter: Fingerprinter,
    matcher: Matcher | None,
    router: Router,
    options: IngestOptions,
) -> IngestResult:
    """Store ``stories`` from one feed; ``matcher`` None means a silent backlog (no matching)."""
    result = IngestResult(seen=len(stories))
    by_key: dict[str, Story] = {}
    for story in stories:
        by_key.setdefault(bounded_key(story.entry_key), story)  # duplicate guids: first wins
    known = known_entry_keys(conn, feed_id, list(by_key))
    for key, story in by_key.items():
        if key in known:
            continue
        result.new_entries += 1
        _store_one(conn, feed_id, key, story, now, fingerprinter, matcher, router, options, result)
    return result


def _store_one(
    conn: Connection,
    feed_id: int,
    entry_key: str,
    story: Story,
    now: datetime,
    fingerprinter: Fingerprinter,
    matcher: Matcher | None,
    router: Router,
    options: IngestOptions,
    result: IngestResult,
) -> None:
    url_key = bounded_key(story.url or f"feed:{feed_id}:{entry_key}")
    fp = fingerprinter.fingerprint(story.title, story.summary)
    story_id = conn.execute(
        insert(conn, stories_t)
        .values(
            url_key=url_key, url=story.url or story.link, title=story.title, summary=story.summary,
            source=story.source, language=story.language, author=(story.author or None) and story.author[:300],
            published_at=story.published, first_seen_at=now, feed_id=feed_id,
            fingerprint=fp.to_bytes(), backlog=matcher is None,
        )
        .on_conflict_do_nothing(index_elements=["url_key"])
        .returning(stories_t.c.id)
    ).scalar()

    if story_id is None:
        # The same link again (another feed, a new guid, an edited headline).
        existing = conn.execute(
            select(stories_t.c.id, stories_t.c.cluster_id).where(stories_t.c.url_key == url_key)
        ).first()
        if existing is None:  # deleted meanwhile; nothing to attach to
            return
        sighting_id = _add_sighting(conn, feed_id, entry_key, existing.id, now)
        if sighting_id is not None and matcher is not None and existing.cluster_id is not None:
            _followups(conn, existing.cluster_id, sighting_id, feed_id, now, options, result)
        return

    result.new_stories += 1
    result.new_story_ids.append(story_id)
    cluster_id = _find_cluster(conn, fp, now, fingerprinter, options)
    joined = cluster_id is not None
    if cluster_id is None:
        cluster_id = conn.execute(clusters_t.insert().values(created_at=now).returning(clusters_t.c.id)).scalar_one()
    else:
        result.clustered += 1
    conn.execute(stories_t.update().where(stories_t.c.id == story_id).values(cluster_id=cluster_id))
    if fp.shingle_count >= MIN_SHINGLES:
        conn.execute(
            bands_t.insert(),
            [{"band": i, "key": k, "story_id": story_id, "seen_at": now} for i, k in enumerate(fp.bands)],
        )
    sighting_id = _add_sighting(conn, feed_id, entry_key, story_id, now)
    if matcher is None or sighting_id is None:
        return
    for rm in matcher(story):
        match_id = conn.execute(
            insert(conn, matches_t)
            .values(rule_id=rm.rule_id, cluster_id=cluster_id, story_id=story_id, terms=list(rm.terms), matched_at=now)
            .on_conflict_do_nothing(index_elements=["rule_id", "cluster_id"])
            .returning(matches_t.c.id)
        ).scalar()
        if match_id is None:
            continue  # this cluster already matched the rule: handled as a follow-up below
        result.matches += 1
        result.matched_rules.append(rm.rule_id)
        recent = conn.execute(
            select(func.count())
            .select_from(deliveries_t)
            .where(deliveries_t.c.rule_id == rm.rule_id, deliveries_t.c.created_at > now - timedelta(hours=1))
        ).scalar_one()
        for destination, channel in router(rm.rule_id):
            folded = recent >= options.storm_limit
            inserted = conn.execute(
                insert(conn, deliveries_t)
                .values(
                    rule_id=rm.rule_id, cluster_id=cluster_id, story_id=story_id, match_id=match_id,
                    destination=destination, channel=channel, status="folded" if folded else "pending",
                    attempts=0, next_attempt_at=now, created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["rule_id", "cluster_id", "destination"])
                .returning(deliveries_t.c.id)
            ).scalar()
            if inserted is not None:
                if folded:
                    result.folded += 1
                else:
                    result.deliveries += 1
    if joined:
        _followups(conn, cluster_id, sighting_id, feed_id, now, options, result)


def _add_sighting(conn: Connection, feed_id: int, entry_key: str, story_id: int, now: datetime) -> int | None:
    return conn.execute(
        insert(conn, sightings_t)
        .values(feed_id=feed_id, entry_key=entry_key, story_id=story_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=["feed_id", "entry_key"])
        .returning(sightings_t.c.id)
    ).scalar()


def _band_match(conn: Connection, pairs: list[tuple[int, int]]) -> ColumnElement[bool]:
    """``(band, key)`` is one of ``pairs``, in the form each engine answers from the primary key.

    PostgreSQL turns a row-value IN into a bitmap OR over the index. SQLite scans
    the whole table for it (quadratic over a cold poll), but searches the index
    for an OR of ``band = b AND key = k``.
    """
    if conn.dialect.name == "sqlite":
        return or_(*(and_(bands_t.c.band == i, bands_t.c.key == k) for i, k in pairs))
    return tuple_(bands_t.c.band, bands_t.c.key).in_(pairs)


def _find_cluster(
    conn: Connection, fp: Fingerprint, now: datetime, fingerprinter: Fingerprinter, options: IngestOptions
) -> int | None:
    """The cluster of the most similar recent story above the threshold, if any."""
    if fp.shingle_count < MIN_SHINGLES:
        return None
    since = now - timedelta(seconds=options.window)
    pairs = [(i, k) for i, k in enumerate(fp.bands)]
    candidates = conn.execute(
        select(stories_t.c.id, stories_t.c.cluster_id, stories_t.c.fingerprint)
        .where(
            stories_t.c.id.in_(
                select(bands_t.c.story_id).where(_band_match(conn, pairs), bands_t.c.seen_at >= since)
            ),
            stories_t.c.cluster_id.is_not(None),
        )
        .limit(200)
    ).all()
    threshold = options.threshold if options.threshold is not None else fingerprinter.threshold
    best: tuple[float, int] | None = None
    for cand in candidates:
        if not cand.fingerprint:
            continue
        score = fingerprinter.similarity(fp, Fingerprint.from_bytes(cand.fingerprint))
        if score >= threshold and (best is None or score > best[0]):
            best = (score, cand.cluster_id)
    return best[1] if best else None


def _followups(
    conn: Connection,
    cluster_id: int,
    sighting_id: int,
    feed_id: int,
    now: datetime,
    options: IngestOptions,
    result: IngestResult,
) -> None:
    """Queue a follow-up on each live alert of ``cluster_id``, once per new outlet."""
    other_from_feed = conn.execute(
        select(func.count())
        .select_from(sightings_t.join(stories_t, stories_t.c.id == sightings_t.c.story_id))
        .where(stories_t.c.cluster_id == cluster_id, sightings_t.c.feed_id == feed_id, sightings_t.c.id != sighting_id)
    ).scalar_one()
    if other_from_feed:
        return  # this outlet is already known to carry the story
    alerts = conn.execute(
        select(deliveries_t.c.id).where(
            and_(deliveries_t.c.cluster_id == cluster_id, deliveries_t.c.status.in_(("pending", "sending", "sent")))
        )
    ).all()
    status = "skipped" if options.followups == "silent" else "pending"
    for (delivery_id,) in alerts:
        done = conn.execute(
            insert(conn, followups_t)
            .values(delivery_id=delivery_id, sighting_id=sighting_id, status=status, attempts=0, next_attempt_at=now, created_at=now)
            .on_conflict_do_nothing(index_elements=["delivery_id", "sighting_id"])
            .returning(followups_t.c.id)
        ).scalar()
        if done is not None:
            result.followups += 1
