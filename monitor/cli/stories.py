"""``monitor stories ...``: what the service stored, and how it clustered it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import click
from sqlalchemy import select

from monitor.cli.common import Context, common_options

_SPAN = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SHOW_CONTENT_LIMIT = 4000  # characters of article text ``stories show`` prints


def _since(value: str | None) -> timedelta | None:
    if value is None:
        return None
    m = _SPAN.match(value.strip().lower())
    if not m:
        raise click.BadParameter("use a number and s, m, h, d or w, like 24h or 30d", param_hint="--since")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@click.group(invoke_without_command=True)
@common_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--since", "since", default=None, help="Only stories first seen this recently, like 24h or 7d.")
@click.option("--content", "with_content", is_flag=True, help="Include the article text (JSON key content).")
@click.option("--limit", default=0, show_default=True, help="At most this many stories (0: all).")
@click.pass_context
def stories(ctx: click.Context, as_json: bool, since: str | None, with_content: bool, limit: int) -> None:
    """Stored stories, newest first; `stories show ID` and `stories similar` for one story and its neighbours."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.db import StoryRow

    span = _since(since)
    obj: Context = ctx.obj
    app = obj.app()
    st = StoryRow.__table__
    cols = [st.c.id, st.c.url, st.c.title, st.c.source, st.c.language, st.c.published_at, st.c.first_seen_at,
            st.c.cluster_id, st.c.article_status]
    if with_content:
        cols.append(st.c.content)
    stmt = select(*cols).order_by(st.c.first_seen_at.desc(), st.c.id.desc())
    if span is not None:
        stmt = stmt.where(st.c.first_seen_at >= app.clock.now() - span)
    if limit > 0:
        stmt = stmt.limit(limit)
    with app.engine.connect() as conn:
        for r in conn.execution_options(yield_per=500).execute(stmt):
            if as_json:
                item: dict[str, object] = {
                    "id": r.id, "url": r.url, "title": r.title, "source": r.source, "language": r.language,
                    "published_at": r.published_at.isoformat(), "first_seen_at": r.first_seen_at.isoformat(),
                    "cluster": r.cluster_id if r.cluster_id is not None else r.id, "article_status": r.article_status,
                }
                if with_content:
                    item["content"] = r.content
                click.echo(json.dumps(item, ensure_ascii=False))
            else:
                cluster = r.cluster_id if r.cluster_id is not None else r.id
                click.echo(f"{r.id:>7}  {r.first_seen_at:%Y-%m-%d %H:%M}  cluster {cluster:>7}  {r.source}: {r.title}")
                if with_content and r.content:
                    click.echo("         " + " ".join(r.content.split())[:300])


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
