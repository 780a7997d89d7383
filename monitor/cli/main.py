"""The ``monitor`` command: the edge where settings, config and objects are built.

Exit codes: 0 when the command ran (``poll`` even if some feeds failed: the
summary says which), 1 for invalid config or rules, 2 for usage errors.
"""

from __future__ import annotations

import asyncio
import sys

import click

from monitor import __version__
from monitor.cli.common import Context, common_options, fail
from monitor.errors import ConfigError, MonitorError
from monitor.service import App


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", envvar="MONITOR_CONFIG", help="feeds.toml to read (default ./feeds.toml).")
@click.option("--rules", "rules", envvar="MONITOR_RULES", help="Rules folder (default: rules/ beside the config).")
@click.option("--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-format", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def main(ctx: click.Context, config: str | None, rules: str | None, log_level: str, log_format: str) -> None:
    """Media monitor: polls news feeds, matches rules, alerts once per story."""
    ctx.obj = Context(config, rules, log_level, log_format)


# ---- run / poll ------------------------------------------------------------------------


@main.command()
@common_options
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True,
    help="Worker processes under this one, sharing one /healthz and /metrics (PostgreSQL only for more than 1).",
)
@click.pass_obj
def run(obj: Context, workers: int) -> None:
    """Run the service (polling, alerts, digest) until SIGTERM or SIGINT."""
    from monitor.service import InstanceLock, Service

    if workers > 1:
        _run_workers(obj, workers)
        return
    lock = InstanceLock(obj.settings.database_url)
    try:
        lock.acquire()
    except ConfigError as exc:
        fail(exc)
    app = obj.app()
    try:
        asyncio.run(Service(app).run())
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        lock.release()


def _run_workers(obj: Context, workers: int) -> None:
    from sqlalchemy.engine import make_url

    from monitor.errors import Problem
    from monitor.service.workers import Supervisor, worker_command

    settings = obj.settings
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        fail(ConfigError([Problem(
            "MONITOR_DATABASE_URL",
            f"--workers {workers} needs PostgreSQL: SQLite supports one worker (use --workers 1, or a postgresql:// URL)",
        )]))
    app = obj.app()  # validates config and rules and migrates once, before any worker starts
    command = worker_command(
        config=settings.config_path, rules=settings.rules_dir, log_level=obj.log_level, log_format=obj.log_format
    )
    try:
        asyncio.run(Supervisor(app, workers, command).run())
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@main.command()
@common_options
@click.option("--once", is_flag=True, help="One pass, then exit (the default; kept for scripts).")
@click.option("--all", "all_", is_flag=True, help="Poll every enabled feed, due or not.")
@click.option("--feed", "feeds", multiple=True, help="Poll only this feed (by name); repeatable.")
@click.option("--no-deliver", is_flag=True, help="Store and match, but leave alerts pending.")
@click.pass_obj
def poll(obj: Context, once: bool, all_: bool, feeds: tuple[str, ...], no_deliver: bool) -> None:
    """Poll due feeds once, store, match, deliver pending alerts, and exit."""
    app = obj.app()
    app.sync()
    known = {f.name for f in app.config.feeds}
    unknown = [n for n in feeds if n not in known]
    if unknown:
        raise click.UsageError(f"unknown feed(s): {', '.join(unknown)} (see `monitor feeds`)")
    summary = asyncio.run(_poll_once(app, all_=all_ or bool(feeds), names=list(feeds) or None))
    click.echo(summary.line())
    for o in summary.failed:
        click.echo(f"  failed: {o.name}: {o.error}")
    if not no_deliver:
        result = app.deliverer().run_once(limit=10_000)
        click.echo(f"alerts: {result.sent} sent, {result.retried} to retry, {result.failed} failed")


async def _poll_once(app: App, *, all_: bool, names: list[str] | None):  # type: ignore[no-untyped-def]
    from monitor.cli.progress import Progress

    fetcher = app.fetcher()
    progress = Progress(sys.stderr)
    poller = app.poller(fetcher)
    poller.on_feed_done = progress.advance
    try:
        return await poller.poll(due_only=not all_, names=names)
    finally:
        progress.close()
        poller.close()
        await fetcher.aclose()


# ---- check -----------------------------------------------------------------------------


@main.command()
@common_options
@click.pass_obj
def check(obj: Context) -> None:
    """Validate feeds.toml and every rule; print each problem with file and position."""
    from monitor.cli.checks import check_all

    problems, warnings, summary = check_all(obj.settings)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(summary)


def _mount() -> None:
    from monitor.cli.backtest import backtest, misses
    from monitor.cli.db import db
    from monitor.cli.digest import digest
    from monitor.cli.feeds import feeds
    from monitor.cli.rules import rules as rules_group
    from monitor.cli.stories import stories

    rules_group.add_command(backtest)
    rules_group.add_command(misses)
    for group in (rules_group, db, digest, feeds, stories):
        main.add_command(group)


_mount()


if __name__ == "__main__":  # pragma: no cover
    main()
