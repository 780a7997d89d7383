"""``monitor stories ...``: what the service stored, and how it clustered it."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import select

from monitor.cli.common import common_options


@click.group()
def stories() -> None:
    """Look at stored stories and their clusters."""


@stories.command("show")
@common_options
@click.argument("story_id", type=int)
@click.pass_obj
def stories_show(obj, story_id: int) -> None:  # type: ignore[no-untyped-def]
    """A story and every story in its cluster (the outlets that carried it)."""
    from monitor.db import Feed, Sighting, StoryRow

    app = obj.app()
    st = StoryRow.__table__
    with app.engine.connect() as conn:
        row = conn.execute(select(st).where(st.c.id == story_id)).first()
        if row is None:
            raise click.ClickException(f"no story with id {story_id}")
        members = conn.execute(
            select(st.c.id, st.c.title, st.c.source, st.c.url, st.c.first_seen_at)
            .where(st.c.cluster_id == row.cluster_id)
            .order_by(st.c.first_seen_at, st.c.id)
        ).all()
        seen = conn.execute(
            select(Feed.name, Sighting.entry_key, Sighting.seen_at)
            .join(Feed, Feed.id == Sighting.feed_id)
            .where(Sighting.story_id == story_id)
            .order_by(Sighting.seen_at)
        ).all()
    click.echo(f"story {row.id}: {row.title}")
    click.echo(f"  url: {row.url}\n  source: {row.source}\n  published: {row.published_at.isoformat()}")
    click.echo(f"  sightings: {', '.join(f'{s.name} ({s.seen_at:%Y-%m-%d %H:%M})' for s in seen) or 'none'}")
    click.echo(f"cluster {row.cluster_id}: {len(members)} stories")
    for m in members:
        mark = "*" if m.id == row.id else " "
        click.echo(f" {mark} {m.id:>7}  {m.first_seen_at:%Y-%m-%d %H:%M}  {m.source}: {m.title}")


@stories.command("similar")
@common_options
@click.option("--text", "text", required=True, help="Title and summary to compare.")
@click.option("--limit", default=10, show_default=True)
@click.option("--days", default=30, show_default=True, help="How far back to look.")
@click.pass_obj
def stories_similar(obj, text: str, limit: int, days: int) -> None:  # type: ignore[no-untyped-def]
    """Stored stories near a text (by MinHash similarity over the LSH bands)."""
    from monitor.db import StoryRow, band_lookup
    from monitor.dedup import Fingerprint

    app = obj.app()
    fp = app.fingerprinter.fingerprint(text, "")
    since = app.clock.now() - timedelta(days=days)
    st = StoryRow.__table__
    with app.engine.connect() as conn:
        params: dict[str, object] = {f"k{b}": [key] for b, key in enumerate(fp.bands)}
        found = conn.execute(band_lookup(len(fp.bands)), {**params, "since": since}) if fp.bands else []
        ids = sorted({r.story_id for r in found})[-2000:]
        rows = conn.execute(select(st.c.id, st.c.title, st.c.source, st.c.fingerprint, st.c.cluster_id).where(st.c.id.in_(ids))).all() if ids else []
    scored = sorted(
        ((app.fingerprinter.similarity(fp, Fingerprint.from_bytes(r.fingerprint)), r) for r in rows if r.fingerprint),
        key=lambda x: -x[0],
    )[:limit]
    if not scored:
        click.echo("no similar stories")
    for score, r in scored:
        click.echo(f"{score:.2f}  story {r.id} (cluster {r.cluster_id})  {r.source}: {r.title}")


# ---- rules backtest ---------------------------------------------------------------------
