"""``monitor stories ...``: what the service stored, and how it clustered it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import click
from sqlalchemy import select

from monitor.cli.common import common_options

SHOW_CONTENT_LIMIT = 4000  # characters of article text ``stories show`` prints

_FIELDS = ("id", "url", "title", "source", "language", "published_at", "first_seen_at", "cluster", "article_status")


@click.group(invoke_without_command=True)
@common_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--since", default=None, metavar="DURATION", help="Only stories first seen this recently: 90m, 12h, 30d.")
@click.option("--content", "with_content", is_flag=True, help="Include the kept article text (JSON key content).")
@click.option("--limit", default=0, show_default=True, help="At most this many stories (0: all).")
@click.pass_context
def stories(ctx: click.Context, as_json: bool, since: str | None, with_content: bool, limit: int) -> None:
    """Stored stories, newest first (or: show ID, similar --text ...).

    With --json, one object per line: id, url, title, source, language,
    published_at, first_seen_at (ISO 8601 UTC), cluster (shared by the
    stories of one cluster; a story that joined no other has its own) and
    article_status; with --content also content, the kept article text.
    """
    if ctx.invoked_subcommand is not None:
        return
    from monitor.config import parse_duration

    span = None
    if since is not None:
        span = parse_duration(since)
        if span is None:
            raise click.BadParameter(f"{since!r} is not a duration; use a number and s, m, h or d, like 12h", param_hint="--since")
    app = ctx.obj.app()
    from monitor.db import stored_stories

    since_at = app.clock.now() - timedelta(seconds=span) if span is not None else None
    with app.engine.connect() as conn:
        for row in stored_stories(conn, since_at, content=with_content, limit=limit or None):
            if as_json:
                keys = _FIELDS + ("content",) if with_content else _FIELDS
                click.echo(json.dumps({k: _plain(row[k]) for k in keys}, ensure_ascii=False))
            else:
                click.echo(f"{row['id']:>7}  {row['first_seen_at']:%Y-%m-%d %H:%M}  cluster {row['cluster']:>7}  {row['source']}: {row['title']}")
                if with_content and row["content"]:
                    click.echo("         " + " ".join(row["content"].split())[:300])


def _plain(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


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
    if row.article_status is not None:
        when = f" at {row.article_fetched_at:%Y-%m-%d %H:%M:%S}" if row.article_fetched_at else ""
        reason = f": {row.article_reason}" if row.article_reason else ""
        click.echo(f"  article: {row.article_status}{when}{reason}")
    if row.content:
        text = row.content if len(row.content) <= SHOW_CONTENT_LIMIT else row.content[:SHOW_CONTENT_LIMIT] + " […]"
        click.echo(f"  content ({len(row.content)} characters):")
        for line in text.splitlines():
            click.echo(f"    {line}" if line.strip() else "")
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
