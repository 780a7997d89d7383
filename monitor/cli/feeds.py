"""``monitor feeds ...``: feed health, and feed lists in OPML."""

from __future__ import annotations

import json
from pathlib import Path

import click

from monitor.cli.common import Context, common_options, fail
from monitor.errors import ConfigError, MonitorError

# ---- feeds -----------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@common_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def feeds(ctx: click.Context, as_json: bool) -> None:
    """Feed health; `feeds import OPML` and `feeds export` for feed lists."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.db import feed_health, feed_json, feed_table

    obj: Context = ctx.obj
    app = obj.app()
    app.sync()
    with app.engine.connect() as conn:
        rows = feed_health(conn)
    now = app.clock.now()
    if as_json:
        for r in rows:
            click.echo(json.dumps(feed_json(r, now, app.config.ops), ensure_ascii=False))
    else:
        click.echo(feed_table(rows, now, app.config.ops))


@feeds.command("import")
@common_options
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tag", "tags", multiple=True, help="Tag every imported feed.")
@click.pass_obj
def feeds_import(obj: Context, opml: Path, tags: tuple[str, ...]) -> None:
    """Add the feeds of an OPML file to feeds.toml (existing URLs are skipped)."""
    from monitor.reader import append_feeds, read_opml

    try:
        found = read_opml(opml.read_bytes(), source=str(opml))
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    added, skipped = append_feeds(obj.settings.config_path, found, tags=tags)
    click.echo(f"{added} feeds added to {obj.settings.config_path}, {skipped} already there")


@feeds.command("export")
@common_options
@click.pass_obj
def feeds_export(obj: Context) -> None:
    """Print the configured feeds as OPML 2.0."""
    from monitor.config import load_config
    from monitor.reader import write_opml

    try:
        config = load_config(obj.settings.config_path)
    except ConfigError as exc:
        fail(exc)
    click.echo(write_opml(config.feeds), nl=False)
