"""``monitor digest preview|send``: render or send the daily digest now."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from monitor.cli.common import common_options
from monitor.config import Audience, DigestConfig
from monitor.digest import render_html, render_text
from monitor.errors import DeliveryError


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
    from monitor.digest import scheduled_at

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
