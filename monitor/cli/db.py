"""``monitor db ...``: migrations by hand (the service also migrates on start)."""

from __future__ import annotations

import click

from monitor.cli.common import Context, common_options


@click.group()
@common_options
def db() -> None:
    """Database migrations, and re-fingerprinting stored stories."""


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


@db.command("refingerprint")
@common_options
@click.option("--batch", default=1000, show_default=True, help="Stories per transaction.")
@click.pass_obj
def db_refingerprint(obj: Context, batch: int) -> None:
    """Rewrite the near-duplicate fingerprints stored in an older format, with a progress bar.

    Needed once after an upgrade that changes the fingerprint format (the
    service keeps running meanwhile; stories with an old fingerprint are
    simply not compared until rewritten). Interrupt and rerun at will.
    """
    from monitor.db import refingerprint, stale_count

    app = obj.app()
    total = stale_count(app.engine)
    if not total:
        click.echo("every stored fingerprint is current")
        return
    with click.progressbar(length=total, label=f"re-fingerprinting {total:,} stories", file=click.get_text_stream("stderr")) as bar:
        done = refingerprint(app.engine, app.fingerprinter, batch=batch, progress=bar.update)
    click.echo(f"re-fingerprinted {done:,} stories")
