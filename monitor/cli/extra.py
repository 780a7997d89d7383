"""CLI commands that read stored data: ``digest``, ``stories``, ``rules backtest``."""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import select

from monitor.cli.common import common_options
from monitor.config.digest import Audience, DigestConfig
from monitor.digest.render import render_html, render_text
from monitor.errors import ConfigError, DeliveryError


def _digest_config(app, to: tuple[str, ...]) -> DigestConfig:  # type: ignore[no-untyped-def]
    config = app.config.digest
    if config is None:
        if not to:
            raise click.UsageError("no [digest] table in feeds.toml: add one, or give --to ADDRESS")
        config = DigestConfig(to=tuple(to), sender=f"monitor@{_hostname()}")
    return config


def _hostname() -> str:
    import socket

    return socket.getfqdn() or "localhost"


def _day(value: str | None, config: DigestConfig, now: datetime) -> date:
    if not value:
        return now.astimezone(config.zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint="--date") from None


@click.group()
def digest() -> None:
    """Render or send the daily digest now."""


@digest.command("preview")
@common_options
@click.option("--date", "day", help="The digest's day (YYYY-MM-DD, in the digest's time zone); default today.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML here (else print the text part).")
@click.pass_obj
def digest_preview(obj, day: str | None, out: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Render the digest without sending it."""
    app = obj.app()
    config = _digest_config(app, ("preview@localhost",) if app.config.digest is None else ())
    runner = app.digest_runner(config)
    the_day = _day(day, config, app.clock.now())
    end = _end_for(the_day, config, app.clock.now(), explicit=day is not None)
    built = runner.build(the_day, Audience(to=config.to or ("preview@localhost",)), end=end)
    if out:
        out.write_text(render_html(built), encoding="utf-8")
        click.echo(f"wrote {out} ({built.total_entries} entries)")
    else:
        click.echo(render_text(built))


def _end_for(the_day: date, config: DigestConfig, now: datetime, *, explicit: bool) -> datetime:
    """Now for today's digest; the scheduled time for a given past day."""
    from monitor.digest.runner import scheduled_at

    if not explicit:
        return now
    return min(scheduled_at(the_day, config), now)


@digest.command("send")
@common_options
@click.option("--date", "day", help="The digest's day (YYYY-MM-DD); default today.")
@click.option("--to", "to", multiple=True, help="Send to this address instead of the configured recipients.")
@click.pass_obj
def digest_send(obj, day: str | None, to: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Send the digest now (covering matches since the previous digest, or the last 24 hours)."""
    app = obj.app()
    config = _digest_config(app, to)
    runner = app.digest_runner(config)
    if runner.sender is None:
        raise click.ClickException("MONITOR_SMTP_HOST is not set: nowhere to send the digest (try `monitor digest preview`)")
    now = app.clock.now()
    the_day = _day(day, config, now)
    end = _end_for(the_day, config, now, explicit=day is not None)
    audiences = [Audience(to=tuple(to))] if to else list(config.audiences())
    failed = False
    for audience in audiences:
        built = runner.build(the_day, audience, end=end)
        msg = runner.message(built, audience)
        try:
            runner.sender.send(msg)
        except DeliveryError as exc:
            click.echo(f"failed: {', '.join(audience.to)}: {exc}", err=True)
            failed = True
            continue
        click.echo(f"sent to {', '.join(audience.to)}: {built.total_entries} entries, {msg['Subject']}")
    if failed:
        sys.exit(1)


# ---- stories ---------------------------------------------------------------------------


@click.group()
def stories() -> None:
    """Look at stored stories and their clusters."""


@stories.command("show")
@common_options
@click.argument("story_id", type=int)
@click.pass_obj
def stories_show(obj, story_id: int) -> None:  # type: ignore[no-untyped-def]
    """A story and every story in its cluster (the outlets that carried it)."""
    from monitor.db.schema import Feed, Sighting, StoryRow

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
    from monitor.db.ingest import band_lookup
    from monitor.db.schema import StoryRow
    from monitor.dedup.fingerprint import Fingerprint

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

_SINCE = re.compile(r"^(\d+)\s*([dhw])$")


@click.command("backtest")
@common_options
@click.argument("rule", type=click.Path(path_type=Path))
@click.option("--since", default="30d", show_default=True, help="How far back: like 30d, 12h, 2w.")
@click.option("--show", default=10, show_default=True, help="How many example titles to print.")
@click.pass_obj
def backtest(obj, rule: Path, since: str, show: int) -> None:  # type: ignore[no-untyped-def]
    """What RULE (a rule file, or a rule id in the rules folder) would have caught among stored stories."""
    from monitor.db.schema import Feed, StoryRow
    from monitor.model import Story
    from monitor.query import compile_rules, load_rule

    settings = obj.settings
    path = rule if rule.suffix == ".toml" else settings.rules_dir / f"{rule}.toml"
    m = _SINCE.match(since.strip())
    if not m:
        raise click.BadParameter("use a number and d, h or w, like 30d", param_hint="--since")
    span = timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[m.group(2)]: int(m.group(1))})
    found, problems = load_rule(path)
    try:
        if found is None or problems:
            raise ConfigError(problems or [])
        loaded = replace(found, enabled=True)  # a disabled rule is what one backtests before switching it on
        ruleset = compile_rules([loaded])
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(1)
    app = obj.app()
    since_at = app.clock.now() - span
    st = StoryRow.__table__
    per_day: Counter[str] = Counter()
    examples: list[str] = []
    total = 0
    with app.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(
            select(st.c.title, st.c.summary, st.c.url, st.c.source, st.c.language, st.c.published_at, Feed.name, Feed.tags)
            .outerjoin(Feed, Feed.id == st.c.feed_id)
            .where(st.c.first_seen_at >= since_at)
            .order_by(st.c.published_at)
        )
        for r in result:
            total += 1
            story = Story(
                entry_key="", title=r.title, summary=r.summary, url=r.url, published=r.published_at, source=r.source,
                language=r.language, feed=r.name or "", feed_tags=tuple(r.tags or ()),
            )
            found = ruleset.match(story)
            if found:
                per_day[r.published_at.date().isoformat()] += 1
                if len(examples) < show:
                    examples.append(f"  {r.published_at:%Y-%m-%d}  {r.source}: {r.title}  [{', '.join(found[0].terms)}]")
    hits = sum(per_day.values())
    click.echo(f"rule {loaded.id}: {hits} of {total} stories since {since_at:%Y-%m-%d %H:%M} UTC")
    for day_, n in sorted(per_day.items()):
        click.echo(f"  {day_}  {n:>5}  {'#' * min(n, 60)}")
    if examples:
        click.echo("examples:")
        click.echo("\n".join(examples))
