"""The LSH band rows (``story_bands``) and the stories they point at, read and written in bulk.

A batch of new stories asks for thousands of (band, key) pairs and candidate
ids at once. Each statement here takes them as one parameter (a JSON array on
SQLite, read with ``json_each``; typed arrays on PostgreSQL, read with
``unnest`` or ``= ANY``), so its text and compiled form never depend on how
many there are, and the database does the per-row work.

The window of a lookup is given by id: ``window_start`` is the id of the first
story first seen at or after the window's start, and ids grow as stories are
stored. A story's band rows carry its ``first_seen_at`` as ``seen_at`` (ingest
and refingerprint write them so), which the lookups therefore never read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, text

from monitor.db.schema import StoryBand, StoryRow

__all__ = ["PER_BAND_KEY", "clusters_of", "firsts", "insert_bands", "newest_sharing", "window_start"]

stories_t = StoryRow.__table__
bands_t = StoryBand.__table__

PER_BAND_KEY = 64
"""The newest stories ``newest_sharing`` reads per band key."""


def window_start(conn: Connection, since: datetime) -> int | None:
    """The id of the first story first seen at or after ``since`` (None: none was). The stories
    of the window are those from this id on (up to a story stored by another worker a moment
    apart, which may fall on either side of the boundary)."""
    return conn.execute(_WINDOW_START, {"since": since}).scalar()


def newest_sharing(
    conn: Connection, wanted: Sequence[tuple[int, int]], since: datetime
) -> list[tuple[int, int, list[int]]]:
    """For each ``(band, key)`` of ``wanted``: the ids of the at most ``PER_BAND_KEY`` newest
    stories of the window (see ``window_start``) with that band key, as ``(band, key, ids)``;
    keys no story of the window has are left out. One statement, answered from the primary key
    (band, key, story_id) alone.

    Why a cap: a band key of two rows is shared by stories of one vocabulary far more often than
    by copies, so without it a lookup reads ever more rows as the window fills. A story left out
    of a key's ``PER_BAND_KEY`` newest cannot rank among the ``PER_BAND_KEY`` best candidates
    sharing most bands (newest first) through that key alone."""
    start = window_start(conn, since) if wanted else None
    if start is None:
        return []
    params = {"start": start, "per_key": PER_BAND_KEY}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_NEWEST_PG, {**params, "bands": [b for b, _ in wanted], "keys": [k for _, k in wanted]})
        return [(band, key, ids) for band, key, ids in rows.all() if ids]
    rows = conn.execute(_NEWEST_SQLITE, {**params, "pairs": json.dumps(wanted)})
    return [(band, key, list(map(int, ids.split(",")))) for band, key, ids in rows.all() if ids]


def insert_bands(conn: Connection, rows: Sequence[tuple[int, int, int]], seen_at: datetime) -> None:
    """Store ``(band, key, story_id)`` rows, all seen at ``seen_at`` (the stories' first_seen_at):
    one statement on PostgreSQL, the driver's own executemany on SQLite (``seen_at`` converted
    once, by the column's type, as SQLAlchemy would for every row)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        bands, keys, ids = (list(column) for column in zip(*rows))
        conn.execute(_INSERT_PG, {"bands": bands, "keys": keys, "ids": ids, "seen_at": seen_at})
        return
    convert = bands_t.c.seen_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    seen = convert(seen_at) if convert else seen_at
    conn.exec_driver_sql(_INSERT_SQLITE, [(band, key, sid, seen) for band, key, sid in rows])


def clusters_of(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """The cluster id of each of ``ids`` that has one, in one statement."""
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        return dict(conn.execute(_CLUSTERS_PG, {"ids": list(ids)}).all())
    return dict(conn.execute(_CLUSTERS_SQLITE, {"ids": json.dumps(list(ids))}).all())


def firsts(conn: Connection, ids: Sequence[int]) -> list[tuple[int, bytes, datetime]]:
    """``(id, fingerprint, published_at)`` of each of ``ids`` that has a fingerprint, in one statement."""
    if not ids:
        return []
    if conn.dialect.name == "postgresql":
        return [tuple(r) for r in conn.execute(_FIRSTS_PG, {"ids": list(ids)}).all()]
    return [tuple(r) for r in conn.execute(_FIRSTS_SQLITE, {"ids": json.dumps(list(ids))}).all()]


_WINDOW_START = (
    select(stories_t.c.id)
    .where(stories_t.c.first_seen_at >= bindparam("since"))
    .order_by(stories_t.c.first_seen_at, stories_t.c.id)
    .limit(1)
)
_NEWEST_SQLITE = text(
    "SELECT q.band, q.key, (SELECT group_concat(story_id) FROM (SELECT s.story_id FROM story_bands AS s"
    " WHERE s.band = q.band AND s.key = q.key AND s.story_id >= :start"
    " ORDER BY s.story_id DESC LIMIT :per_key))"
    " FROM (SELECT json_extract(value, '$[0]') AS band, json_extract(value, '$[1]') AS key"
    " FROM json_each(:pairs)) AS q"
)
_NEWEST_PG = text(
    "SELECT q.band, q.key, ARRAY(SELECT s.story_id FROM story_bands AS s"
    " WHERE s.band = q.band AND s.key = q.key AND s.story_id >= :start"
    " ORDER BY s.story_id DESC LIMIT :per_key)"
    " FROM unnest(CAST(:bands AS integer[]), CAST(:keys AS bigint[])) AS q(band, key)"
)
_INSERT_SQLITE = "INSERT INTO story_bands (band, key, story_id, seen_at) VALUES (?, ?, ?, ?)"
_INSERT_PG = text(
    "INSERT INTO story_bands (band, key, story_id, seen_at)"
    " SELECT b, k, s, :seen_at FROM unnest(CAST(:bands AS smallint[]), CAST(:keys AS bigint[]),"
    " CAST(:ids AS integer[])) AS t(b, k, s)"
).bindparams(bindparam("seen_at", type_=bands_t.c.seen_at.type))
_CLUSTERS_SQLITE = text(
    "SELECT s.id, s.cluster_id FROM json_each(:ids) AS j JOIN stories AS s ON s.id = j.value"
    " WHERE s.cluster_id IS NOT NULL"
)
_CLUSTERS_PG = text(
    "SELECT id, cluster_id FROM stories WHERE id = ANY(CAST(:ids AS integer[])) AND cluster_id IS NOT NULL"
)
_FIRSTS_SQLITE = text(
    "SELECT s.id, s.fingerprint, s.published_at FROM json_each(:ids) AS j JOIN stories AS s ON s.id = j.value"
    " WHERE s.fingerprint IS NOT NULL"
).columns(stories_t.c.id, stories_t.c.fingerprint, stories_t.c.published_at)
_FIRSTS_PG = text(
    "SELECT id, fingerprint, published_at FROM stories WHERE id = ANY(CAST(:ids AS integer[]))"
    " AND fingerprint IS NOT NULL"
).columns(stories_t.c.id, stories_t.c.fingerprint, stories_t.c.published_at)
