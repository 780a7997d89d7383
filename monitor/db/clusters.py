"""Queries about story clusters shared by the alert and the digest."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from monitor.db.schema import Feed, Sighting, StoryRow

feeds = Feed.__table__
sightings = Sighting.__table__
stories = StoryRow.__table__


def cluster_outlets(conn: Connection, cluster_ids: Collection[int]) -> dict[int, list[str]]:
    """For each cluster, the names of the feeds that carried any of its stories, first seen first."""
    outlets: dict[int, list[str]] = {}
    if not cluster_ids:
        return outlets
    for r in conn.execute(
        select(stories.c.cluster_id, feeds.c.name, func.min(sightings.c.seen_at).label("first"))
        .select_from(sightings.join(stories, stories.c.id == sightings.c.story_id).join(feeds, feeds.c.id == sightings.c.feed_id))
        .where(stories.c.cluster_id.in_(list(cluster_ids)))
        .group_by(stories.c.cluster_id, feeds.c.name)
        .order_by("first", feeds.c.name)
    ):
        outlets.setdefault(r.cluster_id, []).append(r.name)
    return outlets


def stored_stories(
    conn: Connection, since: datetime | None = None, *, content: bool = False, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Stored stories, newest first (by ``first_seen_at``, then id), first seen at or after
    ``since`` when given, at most ``limit`` of them, streamed. Each is a dict with ``id``, ``url``,
    ``title``, ``source``, ``language``, ``published_at``, ``first_seen_at``, ``article_status``
    (None for feeds without full text) and ``cluster`` (the cluster's id: its first story's id; a
    story still unclustered is its own); with ``content``, also ``content`` (the kept article text)."""
    c = stories.c
    cols = [c.id, c.url, c.title, c.source, c.language, c.published_at, c.first_seen_at, c.cluster_id, c.article_status]
    if content:
        cols.append(c.content)
    query = select(*cols)
    if since is not None:
        query = query.where(c.first_seen_at >= since)
    if limit:
        query = query.limit(limit)
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(
        query.order_by(c.first_seen_at.desc(), c.id.desc())
    )
    for r in result:
        row = dict(r._mapping)
        row["cluster"] = row.pop("cluster_id") or row["id"]
        yield row
