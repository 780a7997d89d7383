"""Queries about story clusters shared by the alert and the digest."""

from __future__ import annotations

from collections.abc import Collection

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
