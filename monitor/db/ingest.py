"""Storing one feed's stories: exact dedup, clustering, matching, and the outbox, in one transaction.

The database decides what is new:

- the same entry again in the same feed is a no-op (unique ``sightings(feed_id, entry_key)``);
- the same canonical URL from another feed (or a re-post with a new guid) records a
  sighting of the existing story (unique ``stories(url_key)``);
- a near-copy (candidates by MinHash LSH bands looked up by index, within the
  window; decided on exact word sets against the cluster's first story) joins
  that cluster;
- a rule alerts once per cluster (unique ``matches(rule_id, cluster_id)``,
  ``deliveries(rule_id, cluster_id, destination)``); later members of an
  alerted cluster become follow-ups (a threaded reply or an update).

All inserts are ``INSERT … ON CONFLICT DO NOTHING … RETURNING``, so two workers
storing the same story race safely: exactly one of them goes on.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, func, or_, select

from monitor.db.bands import PER_BAND_KEY, clusters_of, firsts, insert_bands, newest_sharing
from monitor.db.schema import (
    Cluster,
    DeliveryRow,
    FollowupRow,
    MatchRow,
    Sighting,
    StoryBand,
    StoryRow,
)
from monitor.db.sql import bounded_key, insert
from monitor.dedup import FINGERPRINT_VERSION, MIN_SHINGLES, Fingerprint, Fingerprinter
from monitor.model import RuleMatch, Story

stories_t = StoryRow.__table__
sightings_t = Sighting.__table__
clusters_t = Cluster.__table__
bands_t = StoryBand.__table__
matches_t = MatchRow.__table__
deliveries_t = DeliveryRow.__table__
followups_t = FollowupRow.__table__

T = TypeVar("T")
Matcher = Callable[[Story], list[RuleMatch]]
Router = Callable[[str], list[tuple[str, str | None]]]  # rule id → [(destination, channel)]


@dataclass(frozen=True)
class IngestOptions:
    """How to store: clustering window and threshold, storm guard, follow-ups."""

    window: float = 72 * 3600.0
    threshold: float | None = None
    storm_limit: int = 20
    followups: str = "thread"  # thread | update | silent


@dataclass(frozen=True)
class ArticlePlan:
    """A full_text feed's article step: read at most ``limit`` new pages, claimed for ``lease`` seconds."""

    limit: int = 20
    lease: float = 300.0


@dataclass(frozen=True)
class PendingArticle:
    """A stored story whose page is to be read: its ids and the story as normalized."""

    story_id: int
    cluster_id: int
    story: Story


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
    matched_rules: list[str] = field(default_factory=list)
    pending: list[PendingArticle] = field(default_factory=list)  # new stories whose matching waits for the page
    skipped: int = 0  # new stories of a full_text feed whose page is not read (no link, cap reached)


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
    articles: ArticlePlan | None = None,
) -> IngestResult:
    """Store ``stories`` from one feed; ``matcher`` None means a silent backlog (no matching).

    With ``articles`` (a full_text feed) and a matcher, up to ``articles.limit``
    new stories with an http(s) link are claimed for the article step
    (``result.pending``): their matching is left to it. The others are marked
    skipped with a reason and matched now. A backlog claims no article.

    The statements are batched per feed (a handful for the whole body, not a
    handful per story); only matches, which are rare, cost statements each.
    """
    result = IngestResult(seen=len(stories))
    by_key: dict[str, Story] = {}
    for story in stories:
        by_key.setdefault(bounded_key(story.entry_key), story)  # duplicate guids: first wins
    known = known_entry_keys(conn, feed_id, list(by_key))
    fresh = [(key, story) for key, story in by_key.items() if key not in known]
    result.new_entries = len(fresh)
    if not fresh:
        return result

    # 1. Stories: one insert; the database decides which links are new.
    url_keys = [bounded_key(story.url or f"feed:{feed_id}:{key}") for key, story in fresh]
    firsts: dict[str, tuple[str, Story]] = {}
    for url_key, item in zip(url_keys, fresh):
        firsts.setdefault(url_key, item)  # two entries with one link in the same body: one story
    prints = {u: fingerprinter.fingerprint(story.title, story.summary) for u, (_, story) in firsts.items()}
    rows = [
        dict(
            url_key=u, url=story.url or story.link, title=story.title, summary=story.summary, source=story.source,
            language=story.language, author=(story.author or None) and story.author[:300],
            published_at=story.published, first_seen_at=now, feed_id=feed_id, fingerprint=prints[u].to_bytes(),
            fingerprint_version=FINGERPRINT_VERSION,
            backlog=matcher is None, cluster_id=None,
        )
        for u, (_, story) in firsts.items()
    ]
    # executemany with RETURNING: batched into multi-row INSERTs by SQLAlchemy, compiled once
    stmt = insert(conn, stories_t).on_conflict_do_nothing(index_elements=["url_key"])
    new_ids = {r.url_key: r.id for r in conn.execute(stmt.returning(stories_t.c.id, stories_t.c.url_key), rows)}
    old = [u for u in firsts if u not in new_ids]
    existing: dict[str, tuple[int, int | None]] = {}
    for chunk in _chunks(old, 500):
        for r in conn.execute(
            select(stories_t.c.url_key, stories_t.c.id, stories_t.c.cluster_id).where(stories_t.c.url_key.in_(chunk))
        ):
            existing[r.url_key] = (r.id, r.cluster_id)

    # 2. Clusters of the new stories: a near-copy joins the earlier story's cluster.
    order = [u for u in firsts if u in new_ids]
    published = {u: story.published for u, (_, story) in firsts.items()}
    clusters, joined = _assign_clusters(conn, order, new_ids, prints, published, now, fingerprinter, options)
    fresh_clusters = [new_ids[u] for u in order if clusters[u] == new_ids[u]]
    if fresh_clusters:
        conn.execute(clusters_t.insert(), [{"id": sid, "created_at": now} for sid in fresh_clusters])
    if order:
        conn.execute(
            stories_t.update().where(stories_t.c.id == bindparam("sid")).values(cluster_id=bindparam("cid")),
            [{"sid": new_ids[u], "cid": clusters[u]} for u in order],
        )
    insert_bands(
        conn,
        [(i, k, new_ids[u]) for u in order if prints[u].shingle_count >= MIN_SHINGLES for i, k in enumerate(prints[u].bands)],
        now,
    )
    result.new_stories = len(order)
    result.clustered = len(joined)
    waiting: set[int] = set()
    if articles is not None and matcher is not None and order:
        waiting = _claim(conn, order, new_ids, clusters, firsts, now, articles, result)

    # 3. Sightings: every fresh entry, of a new story or of one already stored.
    story_of = {u: new_ids[u] if u in new_ids else existing[u][0] for u in firsts if u in new_ids or u in existing}
    sight_rows = [
        {"feed_id": feed_id, "entry_key": key, "story_id": story_of[u], "seen_at": now}
        for u, (key, _) in zip(url_keys, fresh)
        if u in story_of
    ]
    sighting_of: dict[str, int] = {}
    if sight_rows:
        stmt = insert(conn, sightings_t).on_conflict_do_nothing(index_elements=["feed_id", "entry_key"])
        returned = conn.execute(stmt.returning(sightings_t.c.id, sightings_t.c.entry_key), sight_rows)
        sighting_of = {r.entry_key: r.id for r in returned}
    if matcher is None:
        return result

    # 4. Matches and the outbox (new stories), follow-ups (later members of alerted clusters).
    for u, (key, story) in zip(url_keys, fresh):
        sighting_id = sighting_of.get(key)
        if sighting_id is None:
            continue  # another worker stored this entry meanwhile
        if u in new_ids and firsts[u][0] == key:
            if new_ids[u] not in waiting:  # else the article step matches it
                match_story(conn, story, new_ids[u], clusters[u], now, matcher, router, options, result)
            if u in joined:
                _followups(conn, clusters[u], sighting_id, feed_id, now, options, result)
        else:
            cluster_id = clusters.get(u) if u in new_ids else existing.get(u, (0, None))[1]
            if cluster_id is not None:
                _followups(conn, cluster_id, sighting_id, feed_id, now, options, result)
    return result


def _claim(
    conn: Connection,
    order: Sequence[str],
    new_ids: dict[str, int],
    clusters: dict[str, int],
    firsts: dict[str, tuple[str, Story]],
    now: datetime,
    plan: ArticlePlan,
    result: IngestResult,
) -> set[int]:
    """Claim the new stories whose pages will be read; mark the rest skipped. Returns the claimed ids."""
    claimed: list[int] = []
    skipped: dict[str, list[int]] = {}
    for u in order:
        story = firsts[u][1]
        sid = new_ids[u]
        if not story.url.lower().startswith(("http://", "https://")):
            skipped.setdefault("article: the story has no http(s) link", []).append(sid)
        elif len(claimed) >= plan.limit:
            skipped.setdefault(f"article: this poll's cap of {plan.limit} article pages was reached", []).append(sid)
        else:
            claimed.append(sid)
            result.pending.append(PendingArticle(sid, clusters[u], story))
    if claimed:
        conn.execute(
            stories_t.update().where(stories_t.c.id.in_(claimed)).values(
                article_status="fetching", article_lease_until=now + timedelta(seconds=plan.lease), match_pending=True
            )
        )
    for reason, ids in skipped.items():
        conn.execute(stories_t.update().where(stories_t.c.id.in_(ids)).values(article_status="skipped", article_reason=reason))
        result.skipped += len(ids)
    return set(claimed)


# Stored stories confirmed per new story, those sharing the most bands first; no more than the
# stories newest_sharing reads per band key, so that cap leaves out no story that could rank here.
MAX_CANDIDATES = PER_BAND_KEY
DECODED_FIRSTS = 2048  # cluster-first fingerprints kept decoded between batches (by their stored bytes)

Ranked = list[tuple[int, int]]
"""Candidates of one story as ``(bands shared, story id)``, most bands first, then the newest (highest id)."""


def _rank(counts: Mapping[int, int]) -> Ranked:
    """The at most MAX_CANDIDATES candidates sharing the most LSH bands with a story (a near-copy shares
    more), ties to the newest; ``counts`` maps a candidate id to the bands it shares."""
    pairs = [(shared, sid) for sid, shared in counts.items()]
    if len(pairs) <= MAX_CANDIDATES:
        pairs.sort(reverse=True)
        return pairs
    return heapq.nlargest(MAX_CANDIDATES, pairs)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


BandIndex = list[dict[int, list[int]]]
"""Story ids by band number, then by band key."""


def _shared_bands(index: BandIndex, fp: Fingerprint) -> Counter[int]:
    """How many bands each story of ``index`` shares with ``fp`` (stories sharing none are absent)."""
    counts: Counter[int] = Counter()
    for ids in map(dict.get, index, fp.bands):
        if ids:
            counts.update(ids)
    return counts


def _stored_candidates(
    conn: Connection, prints: Sequence[Fingerprint], since: datetime
) -> list[Ranked]:
    """For each of ``prints`` (reliable, with ``bands``), its best candidates among the stored
    stories of the window (one indexed lookup for the whole batch, ``newest_sharing``), ranked by
    ``_rank``."""
    if not prints:
        return []
    count = len(prints[0].bands)
    wanted = sorted({(b, key) for fp in prints for b, key in enumerate(fp.bands)})
    index: BandIndex = [{} for _ in range(count)]
    for band, key, ids in newest_sharing(conn, wanted, since):
        index[band][key] = ids
    return [_rank(_shared_bands(index, fp)) for fp in prints]


@lru_cache(maxsize=DECODED_FIRSTS)
def _decode(data: bytes) -> Fingerprint:
    """``Fingerprint.from_bytes``, remembered by the bytes (a pure function of them): a cluster's first
    story is compared again and again as its cluster grows."""
    return Fingerprint.from_bytes(data)


def _cluster_firsts(
    conn: Connection, candidates: set[int]
) -> tuple[dict[int, int], dict[int, tuple[Fingerprint, datetime]]]:
    """Each candidate's cluster id, and each of those clusters' first story (the story whose id is
    the cluster's id) as its fingerprint and publication time. A first stored in an older
    fingerprint format, not yet re-fingerprinted, is left out: it is not comparable."""
    cluster_of = clusters_of(conn, sorted(candidates))
    found: dict[int, tuple[Fingerprint, datetime]] = {}
    for sid, data, published_at in firsts(conn, sorted(set(cluster_of.values()))):
        try:
            found[sid] = (_decode(data), published_at)
        except ValueError:
            continue
    return cluster_of, found


def _with_batch(stored: Ranked, batch: Counter[int]) -> Ranked:
    """``stored`` candidates and the batch's earlier stories (id -> bands shared), ranked together.

    Exact: a stored story left out of ``stored`` is outranked by MAX_CANDIDATES stored ones."""
    if not batch:
        return stored
    merged = stored + [(shared, sid) for sid, shared in batch.items()]
    if len(merged) <= MAX_CANDIDATES:
        merged.sort(reverse=True)
        return merged
    return heapq.nlargest(MAX_CANDIDATES, merged)


def _comparable(
    candidates: Ranked,
    cluster_of: Mapping[int, int],
    firsts: Mapping[int, tuple[Fingerprint, datetime]],
    published: datetime,
    window: float,
) -> list[tuple[int, float]]:
    """The clusters of ``candidates``, each once, in rank order, with the hours from their first
    story to ``published``: those whose first story is known, comparable and within ``window``
    seconds (a member does not carry an older cluster on)."""
    out: list[tuple[int, float]] = []
    for cid in dict.fromkeys(cluster_of[sid] for _, sid in candidates if sid in cluster_of):
        first = firsts.get(cid)
        if first is not None:
            gap = (published - first[1]).total_seconds() / 3600.0
            if abs(gap) * 3600.0 <= window:
                out.append((cid, gap))
    return out


def _assign_clusters(
    conn: Connection,
    order: Sequence[str],
    new_ids: dict[str, int],
    prints: dict[str, Fingerprint],
    published: dict[str, datetime],
    now: datetime,
    fingerprinter: Fingerprinter,
    options: IngestOptions,
) -> tuple[dict[str, int], set[str]]:
    """Each new story's cluster id (its own id when it starts one) and the set that joined one.

    Candidates are the stored stories of the window sharing a band key (one
    indexed lookup for the whole batch) and the batch's own earlier stories,
    at most MAX_CANDIDATES of them, those sharing the most bands first (then
    the newest). A candidate stands for its cluster: the new story is compared
    with the cluster's first story (whose id is the cluster's id), never with
    the member it happened to resemble, so clusters cannot grow along a chain
    of resemblances. ``Fingerprinter.same_story`` decides on the exact sets;
    of the clusters it accepts, the highest containment wins, ties to the one
    whose candidate ranked first.
    """
    reliable = [u for u in order if prints[u].shingle_count >= MIN_SHINGLES]
    since = now - timedelta(seconds=options.window)
    stored = dict(zip(reliable, _stored_candidates(conn, [prints[u] for u in reliable], since)))
    cluster_of, firsts = _cluster_firsts(conn, {sid for ranked in stored.values() for _, sid in ranked})
    batch: BandIndex = [{} for _ in range(len(prints[reliable[0]].bands))] if reliable else []
    clusters: dict[str, int] = {}
    joined: set[str] = set()
    for u in order:
        fp = prints[u]
        own = new_ids[u]
        clusters[u] = own
        if u not in stored:  # too little text to cluster on
            continue
        best: tuple[float, int] | None = None
        candidates = _with_batch(stored[u], _shared_bands(batch, fp))
        compared = _comparable(candidates, cluster_of, firsts, published[u], options.window)
        screened = fingerprinter.screen(fp, [firsts[cid][0] for cid, _ in compared], options.threshold)
        for (cid, gap), maybe in zip(compared, screened):
            if maybe and fingerprinter.same_story(fp, firsts[cid][0], gap, options.threshold):
                score = fingerprinter.containment(fp, firsts[cid][0])
                if best is None or score > best[0]:
                    best = (score, cid)
        if best is not None:
            clusters[u] = best[1]
            joined.add(u)
        else:
            firsts[own] = (fp, published[u])  # later stories of this batch may join the cluster it starts
        cluster_of[own] = clusters[u]
        for ids, key in zip(batch, fp.bands):  # later stories of this batch find this one by its bands
            ids.setdefault(key, []).append(own)
    return clusters, joined


def match_story(
    conn: Connection,
    story: Story,
    story_id: int,
    cluster_id: int,
    now: datetime,
    matcher: Matcher,
    router: Router,
    options: IngestOptions,
    result: IngestResult,
) -> None:
    """Record the rules ``story`` matches, once per cluster, with their outbox rows."""
    for rm in matcher(story):
        match_id = conn.execute(
            insert(conn, matches_t)
            .values(rule_id=rm.rule_id, cluster_id=cluster_id, story_id=story_id, terms=list(rm.terms), matched_at=now,
                    similarity=rm.similarity, example=rm.example)
            .on_conflict_do_nothing(index_elements=["rule_id", "cluster_id"])
            .returning(matches_t.c.id)
        ).scalar()
        if match_id is None:
            continue  # this cluster already matched the rule: a follow-up, not a new alert
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


@lru_cache(maxsize=8)
def band_lookup(bands: int) -> Select[Any]:
    """Stories of the window sharing a band key: ``band = b AND key IN (…)`` for each band.

    Both engines answer each term from the primary key (a row-value IN made
    SQLite scan the table). Built once per band count with expanding
    parameters (``k0`` … and ``since``), so a lookup costs no statement
    construction or compilation, whatever the number of keys.
    """
    terms = [and_(bands_t.c.band == b, bands_t.c.key.in_(bindparam(f"k{b}", expanding=True))) for b in range(bands)]
    return select(bands_t.c.band, bands_t.c.key, bands_t.c.story_id).where(
        or_(*terms), bands_t.c.seen_at >= bindparam("since")
    )


_LIVE_ALERTS = select(deliveries_t.c.id).where(
    deliveries_t.c.cluster_id == bindparam("cluster_id"), deliveries_t.c.status.in_(("pending", "sending", "sent"))
)
_OTHER_FROM_FEED = (
    select(func.count())
    .select_from(sightings_t.join(stories_t, stories_t.c.id == sightings_t.c.story_id))
    .where(
        stories_t.c.cluster_id == bindparam("cluster_id"),
        sightings_t.c.feed_id == bindparam("feed_id"),
        sightings_t.c.id != bindparam("sighting_id"),
    )
)


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
    alerts = conn.execute(_LIVE_ALERTS, {"cluster_id": cluster_id}).all()
    if not alerts:
        return  # most clusters never alerted: nothing to follow up, whichever outlet this is
    if conn.execute(_OTHER_FROM_FEED, {"cluster_id": cluster_id, "feed_id": feed_id, "sighting_id": sighting_id}).scalar_one():
        return  # this outlet is already known to carry the story
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
