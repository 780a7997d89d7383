"""``monitor run --workers N``: N worker processes under one parent, one endpoint for all.

The parent migrates the database, then starts N ordinary ``monitor run``
processes (``MONITOR_HTTP_ADDRESS=off``: they serve nothing) that share the
work through the database as separate workers always do. The parent alone
serves ``/healthz`` and ``/metrics`` on ``MONITOR_HTTP_ADDRESS`` (same policy
as a single worker: the default address taken is a warning, a named one an
error). Its ``/metrics`` sums the workers' counters with prometheus-client's
multiprocess mode (each worker writes its values under a private
``PROMETHEUS_MULTIPROC_DIR``) beside the database gauges; ``/healthz`` is
ok while every worker runs and the database answers.

A worker that exits on its own is started again after a pause that doubles
up to a minute. SIGTERM/SIGINT are passed on to the workers, which finish
their in-flight work; then the parent exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from monitor.service.app import App
from monitor.service.runner import start_endpoint

log = logging.getLogger("monitor.service")

STOP_TIMEOUT = 60.0  # seconds a worker gets to finish its in-flight work after SIGTERM
MAX_RESTART_PAUSE = 60.0


class AggregatedMetrics:
    """``/metrics`` of the parent: every worker's counters, summed, and the database gauges."""

    def __init__(self, app: App, directory: Path) -> None:
        from monitor.web import Metrics

        self.registry = CollectorRegistry()
        MultiProcessCollector(self.registry, path=str(directory))
        self.database = Metrics(app.engine).database  # the scrape-time gauges, read once for all workers
        if self.database is not None:
            self.registry.register(self.database)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Supervisor:
    """Starts ``count`` worker processes running ``command`` and keeps them running until stopped."""

    def __init__(self, app: App, count: int, command: Sequence[str]) -> None:
        if count < 1:
            raise ValueError("workers: at least one")
        self.app = app
        self.count = count
        self.command = list(command)
        self.stopping = asyncio.Event()
        self.procs: dict[int, asyncio.subprocess.Process] = {}

    def _env(self, directory: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["MONITOR_HTTP_ADDRESS"] = "off"
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        return env

    async def run(self) -> None:
        from monitor.web import Console, OpsServer, service_health

        directory = Path(tempfile.mkdtemp(prefix="monitor-metrics-"))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        ops = None
        keepers: list[asyncio.Task[None]] = []
        try:
            metrics = AggregatedMetrics(self.app, directory)
            address = self.app.settings.http_address
            if address.strip().lower() != "off":
                app = self.app
                console = Console(app.engine, lambda: app.rules, app.clock, app.config.ops, app.settings.web_token)
                health = service_health(self._all_running, app.engine)
                server = OpsServer(address, metrics, health, console)  # type: ignore[arg-type]
                ops = await start_endpoint(server, explicit=self.app.settings.http_address_explicit)
            env = self._env(directory)
            keepers = [asyncio.create_task(self._keep(n, env)) for n in range(self.count)]
            log.info("workers: %d started", self.count)
            await self.stopping.wait()
        finally:
            self.stopping.set()  # the keepers start nothing more
            await self._stop_all()
            await asyncio.gather(*keepers, return_exceptions=True)
            if ops is not None:
                await ops.stop()
            shutil.rmtree(directory, ignore_errors=True)
            log.info("workers: all stopped")

    def _all_running(self) -> bool:
        return len(self.procs) == self.count and all(p.returncode is None for p in self.procs.values())

    async def _keep(self, n: int, env: dict[str, str]) -> None:
        """Run worker ``n``, starting it again whenever it exits before the stop."""
        pause = 1.0
        while not self.stopping.is_set():
            proc = await asyncio.create_subprocess_exec(*self.command, env=env, stdin=asyncio.subprocess.DEVNULL)
            self.procs[n] = proc
            if self.stopping.is_set():  # the stop came while it was starting: pass it on
                proc.send_signal(signal.SIGTERM)
            log.info("workers: worker %d running (pid %d)", n, proc.pid)
            started = asyncio.get_running_loop().time()
            code = await proc.wait()
            _mark_dead(env["PROMETHEUS_MULTIPROC_DIR"], proc.pid)
            if self.stopping.is_set():
                return
            if asyncio.get_running_loop().time() - started > MAX_RESTART_PAUSE:
                pause = 1.0
            log.error("workers: worker %d (pid %d) exited with %s; starting it again in %.0f s", n, proc.pid, code, pause)
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
                return
            except TimeoutError:
                pause = min(pause * 2, MAX_RESTART_PAUSE)

    async def _stop_all(self) -> None:
        running = [p for p in self.procs.values() if p.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), STOP_TIMEOUT)
        except TimeoutError:
            for proc in running:
                if proc.returncode is None:
                    log.error("workers: pid %d did not stop within %.0f s; killed", proc.pid, STOP_TIMEOUT)
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in running))

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: passing the stop on to the workers")
            self.stopping.set()


def worker_command(*, config: Path, rules: Path, log_level: str, log_format: str) -> list[str]:
    """The command line of one worker: ``monitor run`` with the parent's config, rules and logging."""
    return [
        sys.executable, "-m", "monitor", "--config", str(config), "--rules", str(rules),
        "--log-level", log_level, "--log-format", log_format, "run",
    ]


def _mark_dead(directory: str, pid: int) -> None:
    """Drop a dead worker's live-gauge files (its counters stay in the sums, as Prometheus expects)."""
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(pid, directory)
    except OSError:
        pass
