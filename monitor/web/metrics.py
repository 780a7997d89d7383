"""Prometheus metrics for ``/metrics``: counters fed by the pipeline, gauges read from the database.

``Metrics`` owns its own ``CollectorRegistry`` (never the process-wide default),
so several can live side by side. Two kinds of numbers:

- counters and a histogram, fed as work happens: ``observe_feed`` (the
  poller's ``on_feed_done`` callback) and ``observe_delivery`` (each
  ``Deliverer.run_once`` summary). They count what *this process* did since
  it started, as Prometheus counters should;
- gauges computed at scrape time from the database by ``DatabaseCollector``
  (outbox by status, feeds, stories, last digest), so every worker of a
  PostgreSQL deployment reports the same shared state. The query results are
  cached for a few seconds; ``collect()`` never raises: a database error
  yields ``monitor_db_up 0`` and is logged.

``render()`` may run a few queries: call it off the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Engine, and_, case, func, select

from monitor.db import DeliveryRow, DigestRow, Feed, StoryRow
from monitor.reader import failure_kind

if TYPE_CHECKING:
    from monitor.delivery import DeliverySummary
    from monitor.pipeline import FeedOutcome

log = logging.getLogger("monitor.metrics")

POLL_OUTCOMES = ("ok", "not_modified", "unchanged", "failed")
ALERT_RESULTS = ("sent", "retried", "failed")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "folded", "summarized")
ARTICLE_STATUSES = ("ok", "failed", "skipped", "fetching")
# seconds; a fetch's whole deadline is 45 s by default
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 45.0)


@dataclass(frozen=True)
class DatabaseSnapshot:
    """What the database said at one scrape."""

    deliveries: dict[str, int] = field(default_factory=dict)
    feeds_enabled: int = 0
    feeds_disabled: int = 0
    feeds_failing: int = 0
    stories: int = 0
    articles: dict[str, int] = field(default_factory=dict)  # stories by article_status (full_text feeds)
    last_digest: float = 0.0  # Unix time of the newest sent digest; 0 when none


def read_snapshot(engine: Engine) -> DatabaseSnapshot:
    """Run the scrape-time queries (one short read transaction). Raises on database errors."""
    deliveries, feeds, stories, digests = (
        DeliveryRow.__table__, Feed.__table__, StoryRow.__table__, DigestRow.__table__,
    )
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)).all()
        )
        enabled, disabled, failing = conn.execute(
            select(
                _count_where(feeds.c.enabled.is_(True)),
                _count_where(feeds.c.enabled.is_(False)),
                _count_where(and_(feeds.c.enabled.is_(True), feeds.c.error_count > 0)),
            )
        ).one()
        stored = conn.execute(select(func.count()).select_from(stories)).scalar_one()
        articles = dict(
            conn.execute(
                select(stories.c.article_status, func.count())
                .where(stories.c.article_status.is_not(None))
                .group_by(stories.c.article_status)
            ).all()
        )
        last = conn.execute(select(func.max(digests.c.sent_at)).where(digests.c.status == "sent")).scalar_one()
    return DatabaseSnapshot(
        deliveries={str(k): int(v) for k, v in by_status.items()},
        feeds_enabled=int(enabled or 0),
        feeds_disabled=int(disabled or 0),
        feeds_failing=int(failing or 0),
        stories=int(stored or 0),
        articles={str(k): int(v) for k, v in articles.items()},
        last_digest=_timestamp(last),
    )


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """``count(*) FILTER (WHERE condition)``, spelled portably."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _timestamp(value: object) -> float:
    """Unix time of a datetime read back from the database (naive ones are UTC); 0 for None."""
    if value is None:
        return 0.0
    if isinstance(value, str):  # a driver that returned the raw text
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"metrics: expected a datetime for digests.sent_at, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes, cached ``cache_seconds``.

    Contract: ``collect()`` never raises. On a database error it yields only
    ``monitor_db_up 0`` (and logs the error, once per cache period); otherwise
    ``monitor_db_up 1`` and the gauges below. Thread-safe.
    """

    def __init__(
        self, engine: Engine, *, cache_seconds: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, DatabaseSnapshot | None] | None = None

    def snapshot(self) -> DatabaseSnapshot | None:
        """The cached snapshot, refreshed when older than ``cache_seconds``; None when the database failed."""
        with self._lock:
            now = self.monotonic()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            snap: DatabaseSnapshot | None
            try:
                snap = read_snapshot(self.engine)
            except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the database does not
                log.error("metrics: database query failed: %s: %s", type(exc).__name__, _first_line(exc))
                snap = None
            self._cached = (now, snap)
            return snap

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        up = GaugeMetricFamily("monitor_db_up", "1 when the metrics queries reached the database, else 0.")
        up.add_metric([], 0.0 if snap is None else 1.0)
        yield up
        if snap is None:
            return
        deliveries = GaugeMetricFamily("monitor_deliveries", "Outbox rows by status.", labels=["status"])
        counts = {status: 0 for status in DELIVERY_STATUSES} | snap.deliveries
        for status, n in sorted(counts.items()):
            deliveries.add_metric([status], float(n))
        yield deliveries
        feeds = GaugeMetricFamily(
            "monitor_feeds", "Feeds by state (failing: enabled with at least one error since its last success).",
            labels=["state"],
        )
        feeds.add_metric(["enabled"], float(snap.feeds_enabled))
        feeds.add_metric(["disabled"], float(snap.feeds_disabled))
        feeds.add_metric(["failing"], float(snap.feeds_failing))
        yield feeds
        yield GaugeMetricFamily(
            "monitor_feeds_failing", "Enabled feeds whose last poll failed.", value=float(snap.feeds_failing)
        )
        yield GaugeMetricFamily("monitor_stories_stored", "Stories in the database.", value=float(snap.stories))
        articles = GaugeMetricFamily(
            "monitor_stories_articles", "Stories of full_text feeds by article status.", labels=["status"]
        )
        for status, n in sorted(({s: 0 for s in ARTICLE_STATUSES} | snap.articles).items()):
            articles.add_metric([status], float(n))
        yield articles
        yield GaugeMetricFamily(
            "monitor_last_digest_timestamp_seconds", "Unix time the newest digest was sent; 0 when none.",
            value=snap.last_digest,
        )


class Metrics:
    """Every metric of one process, in a registry of its own.

    With ``engine`` given, the database gauges are registered too.
    """

    def __init__(self, engine: Engine | None = None, *, cache_seconds: float = 5.0) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome.", ["outcome"], registry=r)
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds", "Network time of each fetch that got a response.", buckets=FETCH_BUCKETS, registry=r
        )
        self.stories = Counter("monitor_stories", "New stories stored.", registry=r)
        self.matches = Counter("monitor_matches", "New rule matches, by rule.", ["rule"], registry=r)
        self.alerts = Counter("monitor_alerts", "Alert delivery attempts by result.", ["result"], registry=r)
        self.storm_summaries = Counter("monitor_storm_summaries", "Storm summary messages sent.", registry=r)
        self.followups = Counter("monitor_followups", "Follow-ups (thread replies or updates) sent.", registry=r)
        self.articles = Counter(
            "monitor_articles", "Article pages of full_text feeds by outcome (ok, failed, skipped).", ["outcome"], registry=r
        )
        self.article_failures = Counter(
            "monitor_article_failures", "Failed article pages by kind of failure.", ["kind"], registry=r
        )
        self.article_seconds = Histogram(
            "monitor_article_fetch_seconds", "Network time of each article page fetch.", buckets=FETCH_BUCKETS, registry=r
        )
        for outcome in ("ok", "failed", "skipped"):
            self.articles.labels(outcome)
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome)
        for result in ALERT_RESULTS:
            self.alerts.labels(result)
        self.database: DatabaseCollector | None = None
        if engine is not None:
            self.database = DatabaseCollector(engine, cache_seconds=cache_seconds)
            r.register(self.database)

    def observe_feed(self, outcome: FeedOutcome) -> None:
        """Count one feed's poll; fits ``Poller.on_feed_done``. Never raises for odd values."""
        self.polls.labels(outcome.status).inc()
        if outcome.fetch_seconds is not None and outcome.fetch_seconds >= 0:
            self.fetch_seconds.observe(outcome.fetch_seconds)
        if outcome.new_stories > 0:
            self.stories.inc(outcome.new_stories)
        for rule in outcome.matched_rules:
            self.matches.labels(rule).inc()
        for status, n in outcome.articles.items():
            if n > 0:
                self.articles.labels(status).inc(n)
        for reason in outcome.article_failures:
            self.article_failures.labels(failure_kind(reason)).inc()
        for seconds in outcome.article_seconds:
            if seconds >= 0:
                self.article_seconds.observe(seconds)

    def observe_delivery(self, summary: DeliverySummary) -> None:
        """Count one ``Deliverer.run_once`` pass."""
        for result in ALERT_RESULTS:
            n = getattr(summary, result)
            if n > 0:
                self.alerts.labels(result).inc(n)
        if summary.summaries > 0:
            self.storm_summaries.inc(summary.summaries)
        if summary.followups > 0:
            self.followups.inc(summary.followups)

    def render(self) -> bytes:
        """The text exposition format (``prometheus_client.CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""
