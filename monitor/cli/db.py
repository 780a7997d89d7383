"""``monitor db ...``: migrations by hand (the service also migrates on start)."""

from __future__ import annotations

import click

from monitor.cli.common import Context, common_options


@click.group()
@common_options
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@common_options
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Apply every pending migration."""
    from monitor.db import current_revision, make_engine, upgrade

    engine = make_engine(obj.settings.database_url)
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}")


@db.command("current")
@common_options
@click.pass_obj
def db_current(obj: Context) -> None:
    """Print the database's revision and the newest one."""
    from monitor.db import current_revision, head_revision, make_engine

    engine = make_engine(obj.settings.database_url)
    click.echo(f"current: {current_revision(engine)}  head: {head_revision(engine)}")
