"""The configuration file ``feeds.toml``: what to poll, how, and what to do with matches.

``load_config(path)`` returns a ``Config`` or raises ``ConfigError`` listing
every problem (file, key, line); ``read_config(path)`` returns both so
``monitor check`` can print all of them. Unknown keys are errors.

Layout::

    [defaults]            # polling: interval, timeout, deadline, user_agent, max_body_size, ...
    [alerts]              # followups = "thread"|"update"|"silent", storm_limit, ...
    [dedup]               # window = "72h", threshold
    [ops]                 # channel for feed-health messages, stale_after
    [digest]              # see monitor.config.digest
    [[feeds]]             # name, url, interval, tags, enabled, full_text

``full_text`` (per feed, or in ``[defaults]`` for every feed) fetches each new
story's page and keeps its main text as the story's content; ``article_wait``,
``articles_per_poll``, ``article_per_host`` and ``article_pause`` in
``[defaults]`` bound that work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.digest import DigestConfig, parse_digest_config
from monitor.config.tomlcheck import TableChecker, TomlLocator, load_toml
from monitor.errors import ConfigError, Problem

DEFAULT_USER_AGENT = "media-monitor/0.1 (feed monitor; +https://example.invalid/media-monitor)"


@dataclass(frozen=True)
class Defaults:
    """Polling settings shared by every feed (a feed may override ``interval``)."""

    interval: float = 600.0
    timeout: float = 20.0
    deadline: float = 45.0
    user_agent: str = DEFAULT_USER_AGENT
    max_body_size: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 50
    per_host: int = 4
    max_backoff: float = 6 * 3600.0
    block_private: bool = False
    block_loopback: bool = False
    block_link_local: bool = True
    lease: float | None = None  # how long a worker holds a feed; default 2 × deadline + 60 s
    full_text: bool = False  # fetch each new story's page for its main text (a feed may override)
    article_wait: float = 15.0  # how long a story's matching waits for its article text
    articles_per_poll: int = 20  # article pages one poll of one feed may fetch
    article_per_host: int = 2  # article fetches at once to one host
    article_pause: float = 0.5  # seconds between article fetches to one host

    @property
    def feed_lease(self) -> float:
        return self.lease if self.lease is not None else self.deadline * 2 + 60.0


@dataclass(frozen=True)
class AlertsConfig:
    """How alerts behave: follow-ups of a cluster, storm guard, retries."""

    followups: str = "thread"  # thread | update | silent
    storm_limit: int = 20  # alerts per rule per hour before folding
    max_attempts: int = 0  # 0: retry transient errors forever (with backoff)
    channel_interval: float = 1.0  # seconds between messages to one channel
    lease: float = 120.0  # how long a worker holds a delivery it is sending (must exceed Slack's timeout)


@dataclass(frozen=True)
class DedupConfig:
    """Near-duplicate clustering: how far back to look, and the similarity threshold."""

    window: float = 72 * 3600.0
    threshold: float | None = None  # None: the fingerprinter's measured default


@dataclass(frozen=True)
class OpsConfig:
    """Feed health reporting to an ops channel."""

    channel: str | None = None
    failing_after: float = 24 * 3600.0
    stale_factor: float = 10.0


@dataclass(frozen=True)
class FeedConfig:
    """One ``[[feeds]]`` entry."""

    name: str
    url: str
    interval: float
    tags: tuple[str, ...] = ()
    enabled: bool = True
    full_text: bool = False


@dataclass(frozen=True)
class Config:
    """The whole ``feeds.toml``; ``path`` is where it was read from."""

    path: Path
    defaults: Defaults
    feeds: tuple[FeedConfig, ...]
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    digest: DigestConfig | None = None

    @property
    def config_dir(self) -> Path:
        return self.path.parent


_TOP_KEYS = {"defaults", "alerts", "dedup", "ops", "digest", "feeds"}
_FEED_KEYS = {"name", "url", "interval", "tags", "enabled", "full_text"}


def read_config(path: Path) -> tuple[Config | None, list[Problem]]:
    """Parse and validate ``path``; returns the config (None if unusable) and every problem."""
    data, text, problems = load_toml(path)
    if data is None:
        return None, problems
    file = str(path)
    loc = TomlLocator(text)
    top = TableChecker(file, "", data, loc, problems)
    top.unknown_keys(_TOP_KEYS)

    defaults = _read_defaults(_table(data, "defaults", file, loc, problems), file, loc, problems)
    alerts = _read_alerts(_table(data, "alerts", file, loc, problems), file, loc, problems)
    dedup = _read_dedup(_table(data, "dedup", file, loc, problems), file, loc, problems)
    ops = _read_ops(_table(data, "ops", file, loc, problems), file, loc, problems)

    digest = None
    if "digest" in data:
        if isinstance(data["digest"], dict):
            digest, digest_problems = parse_digest_config(data["digest"], file=file, locator=loc)
            problems.extend(digest_problems)
        else:
            problems.append(Problem(file, "must be a table", key="digest", line=loc.line_of(None, "digest")))

    feeds = _read_feeds(data.get("feeds", []), defaults, file, loc, problems)
    config = Config(path=path, defaults=defaults, feeds=tuple(feeds), alerts=alerts, dedup=dedup, ops=ops, digest=digest)
    return config, problems


def load_config(path: Path) -> Config:
    """Like ``read_config`` but raises ``ConfigError`` on any problem."""
    config, problems = read_config(path)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _table(data: dict[str, Any], name: str, file: str, loc: TomlLocator, problems: list[Problem]) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        problems.append(Problem(file, "must be a table", key=name, line=loc.line_of(None, name)))
        return {}
    return value


def _read_defaults(table: dict[str, Any], file: str, loc: TomlLocator, problems: list[Problem]) -> Defaults:
    c = TableChecker(file, "defaults", table, loc, problems, table="defaults")
    d = Defaults()
    c.unknown_keys(
        {
            "interval", "timeout", "deadline", "user_agent", "max_body_size", "max_redirects",
            "concurrency", "per_host", "max_backoff", "block_private", "block_loopback", "block_link_local",
            "lease", "full_text", "article_wait", "articles_per_poll", "article_per_host", "article_pause",
        }
    )
    interval = c.duration("interval", d.interval)
    if interval < 1:
        c.error("interval", f"must be at least 1 second; got {interval:g}")
        interval = d.interval
    deadline = c.duration("deadline", d.deadline)
    lease = c.duration("lease", -1.0) if "lease" in table else None
    if lease is not None and lease <= deadline:
        c.error("lease", f"must be longer than the deadline ({deadline:g}s); got {lease:g}s")
        lease = None
    article_wait = c.duration("article_wait", d.article_wait)
    if not 0 <= article_wait <= 600:
        c.error("article_wait", f"must be between 0 and 600 seconds; got {article_wait:g}")
        article_wait = d.article_wait
    return Defaults(
        full_text=c.get("full_text", bool, d.full_text),
        article_wait=article_wait,
        articles_per_poll=c.positive_int("articles_per_poll", d.articles_per_poll),
        article_per_host=c.positive_int("article_per_host", d.article_per_host),
        article_pause=c.duration("article_pause", d.article_pause),
        interval=interval,
        lease=lease,
        timeout=c.duration("timeout", d.timeout),
        deadline=deadline,
        user_agent=c.text("user_agent", d.user_agent) or d.user_agent,
        max_body_size=c.positive_int("max_body_size", d.max_body_size),
        max_redirects=c.get("max_redirects", int, d.max_redirects),
        concurrency=c.positive_int("concurrency", d.concurrency),
        per_host=c.positive_int("per_host", d.per_host),
        max_backoff=c.duration("max_backoff", d.max_backoff),
        block_private=c.get("block_private", bool, d.block_private),
        block_loopback=c.get("block_loopback", bool, d.block_loopback),
        block_link_local=c.get("block_link_local", bool, d.block_link_local),
    )


def _read_alerts(table: dict[str, Any], file: str, loc: TomlLocator, problems: list[Problem]) -> AlertsConfig:
    c = TableChecker(file, "alerts", table, loc, problems, table="alerts")
    d = AlertsConfig()
    c.unknown_keys({"followups", "storm_limit", "max_attempts", "channel_interval", "lease"})
    lease = c.duration("lease", d.lease)
    if lease < 15:
        c.error("lease", f"must be at least 15 seconds (longer than a Slack request can take); got {lease:g}")
        lease = d.lease
    return AlertsConfig(
        lease=lease,
        followups=c.choice("followups", ("thread", "update", "silent"), d.followups),
        storm_limit=c.positive_int("storm_limit", d.storm_limit),
        max_attempts=c.get("max_attempts", int, d.max_attempts),
        channel_interval=c.duration("channel_interval", d.channel_interval),
    )


def _read_dedup(table: dict[str, Any], file: str, loc: TomlLocator, problems: list[Problem]) -> DedupConfig:
    c = TableChecker(file, "dedup", table, loc, problems, table="dedup")
    c.unknown_keys({"window", "threshold"})
    threshold = c.get("threshold", (float, int), None)
    if threshold is not None and not 0 < threshold <= 1:
        c.error("threshold", f"must be between 0 and 1; got {threshold!r}")
        threshold = None
    return DedupConfig(window=c.duration("window", DedupConfig.window), threshold=threshold)


def _read_ops(table: dict[str, Any], file: str, loc: TomlLocator, problems: list[Problem]) -> OpsConfig:
    c = TableChecker(file, "ops", table, loc, problems, table="ops")
    c.unknown_keys({"channel", "failing_after", "stale_factor"})
    d = OpsConfig()
    return OpsConfig(
        channel=c.text("channel", None),
        failing_after=c.duration("failing_after", d.failing_after),
        stale_factor=float(c.get("stale_factor", (int, float), d.stale_factor)),
    )


def _read_feeds(
    value: Any, defaults: Defaults, file: str, loc: TomlLocator, problems: list[Problem]
) -> list[FeedConfig]:
    if not isinstance(value, list):
        problems.append(Problem(file, "must be an array of tables ([[feeds]])", key="feeds"))
        return []
    feeds: list[FeedConfig] = []
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(Problem(file, "must be a table", key=f"feeds[{i}]"))
            continue
        c = TableChecker(file, f"feeds[{i}]", item, loc, problems, table="feeds", index=i)
        c.unknown_keys(_FEED_KEYS)
        name = c.text("name", required=True)
        url = c.text("url", required=True)
        if name is not None:
            name = name.strip()
            if name in names:
                c.error("name", f"duplicate feed name {name!r} (also feeds[{names[name]}])")
            names[name] = i
        if url is not None:
            url = url.strip()
            if not url.lower().startswith(("http://", "https://")):
                c.error("url", f"must be an http:// or https:// URL; got {url!r}")
            elif url in urls:
                c.error("url", f"duplicate feed url (also feeds[{urls[url]}])")
            urls[url] = i
        interval = c.duration("interval", defaults.interval)
        if interval < 1:
            c.error("interval", f"must be at least 1 second; got {interval:g}")
        tags = c.string_list("tags")
        enabled = c.get("enabled", bool, True)
        full_text = c.get("full_text", bool, defaults.full_text)
        if name and url:
            feeds.append(
                FeedConfig(name=name, url=url, interval=interval, tags=tags, enabled=enabled, full_text=full_text)
            )
    return feeds
