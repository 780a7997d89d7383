"""``monitor run``: wires time to work with APScheduler; all state lives in the database.

Jobs (each at most one instance at a time, missed runs coalesced):

- poll tick (every few seconds): poll the feeds whose ``next_poll_at`` has passed;
- delivery (every few seconds): send pending alerts, storm summaries, follow-ups;
- digest (a ``CronTrigger`` in the digest's time zone, plus a catch-up at start);
- rules watch: reload the rules when the folder changes (and on SIGHUP);
- feed health: tell the ops channel once about feeds failing or gone quiet.

SIGTERM/SIGINT stop new work, let in-flight work finish, and exit 0.
On SQLite a second ``monitor run`` on the same database refuses to start.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from monitor.errors import ConfigError, ListenError, MonitorError, Problem
from monitor.service.app import App

log = logging.getLogger("monitor.service")

E = TypeVar("E", bound="Endpoint")


class InstanceLock:
    """An exclusive lock file beside a SQLite database; released when the process dies."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.path: Path | None = None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self.path = Path(url.database).with_suffix(Path(url.database).suffix + ".lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ConfigError(
                [
                    Problem(
                        str(self.path.with_suffix("")),
                        f"another `monitor run` ({holder}) already uses this SQLite database; "
                        "SQLite supports one worker: stop it, or use PostgreSQL (MONITOR_DATABASE_URL) for several workers",
                    )
                ]
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def rules_signature(folder: Path) -> tuple[tuple[str, float, int], ...]:
    """(name, mtime, size) of every rule file: changes when a rule is added, edited or removed."""
    try:
        return tuple(sorted((p.name, p.stat().st_mtime, p.stat().st_size) for p in folder.glob("*.toml")))
    except OSError:
        return ()


class Endpoint(Protocol):
    """What the service needs of its HTTP endpoint: start (raising ListenError) and stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def start_endpoint(endpoint: E, *, explicit: bool) -> E | None:
    """Start the operator's endpoint before any work; returns it, or None when running without one.

    Policy for several workers on one host: when the *default* address is
    already taken (another ``monitor run`` on this machine serves it), log one
    warning and run without an endpoint: polling and delivery go on. An
    address the operator named (``MONITOR_HTTP_ADDRESS``) that cannot be
    bound, and any other bind failure, raises ``ListenError`` and stops the
    start.
    """
    try:
        await endpoint.start()
    except ListenError as exc:
        if explicit or not exc.in_use:
            raise ListenError(
                exc.address, f"{exc.reason} (set MONITOR_HTTP_ADDRESS to another host:port, or to off)", in_use=exc.in_use
            ) from None
        log.warning(
            "http: %s is taken (another worker on this host?): running without /healthz and /metrics; "
            "set MONITOR_HTTP_ADDRESS to give this worker its own address",
            exc.address,
        )
        return None
    return endpoint


class Service:
    """The long-running service: builds the pipeline objects once, schedules the jobs, stops cleanly."""

    def __init__(self, app: App, *, tick: float = 5.0, deliver_every: float = 2.0) -> None:
        self.app = app
        self.tick = tick
        self.deliver_every = deliver_every
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[object]] = set()
        self._rules_sig = rules_signature(app.settings.rules_dir)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.healthy = False
        self.ops: Any = None  # the operator's endpoint once started; None when off or the default address was taken
        self._warm: asyncio.Task[object] | None = None

    def _job(self, name: str, fn: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)  # type: ignore[arg-type]
            try:
                await fn()
            except MonitorError as exc:
                log.error("%s failed: %s", name, exc)
            except Exception:  # noqa: BLE001 - a job's failure must not stop the service
                log.exception("%s crashed", name)
            finally:
                if task is not None:
                    self._tasks.discard(task)  # type: ignore[arg-type]

        return run

    async def run(self) -> None:
        app = self.app
        report = app.sync()
        if report.added or report.updated or report.disabled:
            log.info("feeds synced: %d added, %d updated, %d disabled", len(report.added), len(report.updated), len(report.disabled))
        # ---- operator's view and console: /healthz, /metrics, pages (MONITOR_HTTP_ADDRESS; "off" disables) ----
        from monitor.web import Console, Metrics, OpsServer, service_health

        self.metrics = Metrics(app.engine)
        self.ops = None
        if app.settings.http_address.strip().lower() != "off":
            console = Console(app.engine, lambda: app.rules, app.clock, app.config.ops, app.settings.web_token)
            ops = OpsServer(
                app.settings.http_address, self.metrics, service_health(lambda: self.healthy, app.engine), console
            )
            # before any work: a named address that cannot be bound stops the start here
            self.ops = await start_endpoint(ops, explicit=app.settings.http_address_explicit)
            if self.ops is not None:
                assert console.counts is not None
                self._warm = asyncio.create_task(asyncio.to_thread(console.counts.refresh))  # /feeds' counts, off the loop
        # ---- end of the operator's view ----
        fetcher = app.fetcher()
        poller = app.poller(fetcher)
        poller.on_feed_done = self.metrics.observe_feed
        deliverer = app.deliverer()

        async def poll() -> None:
            summary = await poller.poll(due_only=True)
            if summary.outcomes:
                log.info("poll: %s", summary.line())

        async def deliver() -> None:
            deliverer.rules = app.rules_by_id
            self.metrics.observe_delivery(await asyncio.to_thread(deliverer.run_once))

        async def watch_rules() -> None:
            sig = rules_signature(app.settings.rules_dir)
            if sig != self._rules_sig:
                self._rules_sig = sig
                self.reload_rules()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload_rules)

        now = app.clock.now()
        s = self.scheduler
        # A random phase, and each tick up to half a tick late at random: several workers do not all look
        # for due feeds at the same moment, and which of them finds a feed due first changes from tick to
        # tick, so the work spreads over all of them instead of going to the one whose clock runs ahead.
        phase = timedelta(seconds=random.uniform(0, self.tick))
        s.add_job(
            self._job("poll", poll), IntervalTrigger(seconds=self.tick, start_date=now + phase, jitter=self.tick / 2),
            id="poll", max_instances=1, coalesce=True, next_run_time=now,
        )
        s.add_job(
            self._job("deliver", deliver), IntervalTrigger(seconds=self.deliver_every), id="deliver",
            max_instances=1, coalesce=True, next_run_time=now + timedelta(seconds=0.5),
        )
        s.add_job(self._job("rules", watch_rules), IntervalTrigger(seconds=10), id="rules", max_instances=1, coalesce=True)
        if app.config.digest is not None:
            runner = app.digest_runner(app.config.digest)

            async def digest() -> None:
                runner.rules = app.rules_by_id
                for outcome in await asyncio.to_thread(runner.send_due):
                    if outcome.status not in ("taken",):
                        log.info("digest %s for %s: %s", outcome.day, outcome.recipients, outcome.status)

            cfg = app.config.digest
            s.add_job(
                self._job("digest", digest), CronTrigger(hour=cfg.time.hour, minute=cfg.time.minute, timezone=cfg.zone),
                id="digest", max_instances=1, coalesce=True,
            )
            # catch-up after a late start, and retries after SMTP failures
            s.add_job(
                self._job("digest-catchup", digest), IntervalTrigger(seconds=60), id="digest-catchup",
                max_instances=1, coalesce=True, next_run_time=now + timedelta(seconds=1),
            )
        if app.config.ops.channel:
            from monitor.delivery import report_feed_health

            async def ops() -> None:
                await asyncio.to_thread(report_feed_health, app.engine, app.notifier, app.config.ops, app.clock)

            s.add_job(self._job("ops", ops), IntervalTrigger(minutes=5), id="ops", max_instances=1, coalesce=True)
        s.start()
        self.healthy = True
        log.info("service started: %d feeds, %d rules, alerts via %s", len(app.config.feeds), len(app.rules), app.notifier.name)
        try:
            await self.stopping.wait()
        finally:
            self.healthy = False
            s.shutdown(wait=False)
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await fetcher.aclose()
            poller.close()
            if self._warm is not None:
                await asyncio.gather(self._warm, return_exceptions=True)
            if self.ops is not None:
                await self.ops.stop()
            log.info("service stopped")

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: finishing in-flight work")
            self.stopping.set()

    def reload_rules(self) -> None:
        try:
            self.app.reload_rules()
        except ConfigError as exc:
            log.error("rules not reloaded, the running rules stay:\n%s", exc)
            return
        log.info("rules reloaded: %d rules", len(self.app.rules))
