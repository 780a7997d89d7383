"""The composition root: builds every object from settings and config, once, at the edge.

Nothing below this module reads the environment or the config files; they
receive what ``build_app`` made. Tests build the same objects with their own
clock, notifier and servers.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import Engine

from monitor.clock import Clock, SystemClock
from monitor.config import Config, DigestConfig, Settings, load_config
from monitor.db import (
    IngestOptions,
    SyncReport,
    make_engine,
    recent_story_texts,
    story_texts_by_id,
    sync_feeds,
    upgrade,
)
from monitor.dedup import Fingerprinter
from monitor.delivery import Deliverer, DeliveryOptions
from monitor.digest import DigestRunner, SmtpSender, SmtpSettings
from monitor.errors import ConfigError
from monitor.model import Rule, RuleMatch, Story
from monitor.notify import Notifier, build_notifier
from monitor.pipeline import ArticleOptions, Poller
from monitor.query import RuleSet, Similarity, compile_rules, load_rules
from monitor.similar import Frequencies
from monitor.reader import AddressGuard, Fetcher, FetchLimits


def worker_id(settings: Settings) -> str:
    """A name for this process in leases and logs: host, pid and a random suffix."""
    return settings.worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


#: Below this many stored stories, their document frequencies are added to the background corpus's.
_OWN_FREQUENCIES = 2000


def similarity_for(settings: Settings, engine: Engine | None = None) -> Similarity:
    """The similarity backends for rules by example: document frequencies and
    example stories from the database when there is one (a small store leans
    on the shipped background corpus too); semantic unless MONITOR_SIMILARITY=builtin."""
    semantic = settings.similarity != "builtin"
    if engine is None:
        return Similarity(semantic=semantic)
    own = Frequencies.from_texts(recent_story_texts(engine))
    if own.docs < _OWN_FREQUENCIES:
        own = own.merged(Frequencies.background())
    return Similarity(frequencies=own, semantic=semantic, story_texts=lambda ids: story_texts_by_id(engine, ids))


def load_ruleset(
    settings: Settings, files: Sequence[str] = (), engine: Engine | None = None
) -> tuple[list[Rule], RuleSet]:
    """Load and compile the rules folder; raises ConfigError listing every broken rule.
    Notes on rules by example (a backend fallback) go to standard error."""
    rules, problems = load_rules(settings.rules_dir)
    if problems:
        raise ConfigError(problems)
    by_example = any(r.examples or r.example_stories for r in rules)
    similarity = similarity_for(settings, engine if by_example else None)
    ruleset = compile_rules(rules, similarity=similarity)
    for note in ruleset.notes:
        print(f"warning: {note}", file=sys.stderr)
    return rules, ruleset


@dataclass
class App:
    """Everything a command needs, built once."""

    settings: Settings
    config: Config
    engine: Engine
    clock: Clock
    owner: str
    rules: list[Rule]
    ruleset: RuleSet
    notifier: Notifier
    fingerprinter: Fingerprinter = field(default_factory=Fingerprinter)
    rules_by_id: dict[str, Rule] = field(init=False)  # kept in step with ``rules`` (built once, not per match)

    def __post_init__(self) -> None:
        self.rules_by_id = {r.id: r for r in self.rules}

    # ---- routing ----

    def destinations(self, rule_id: str) -> list[tuple[str, str | None]]:
        """Where alerts for ``rule_id`` go: one destination per rule for now."""
        rule = self.rules_by_id.get(rule_id)
        kind = self.notifier.name
        if kind == "slack":
            channel = (rule.channel if rule else None) or self.settings.slack_channel
            return [(f"slack:{channel or '-'}", channel)]
        return [(kind, rule.channel if rule else None)]

    def reload_rules(self) -> None:
        """Re-read the rules folder; on error the running rules stay (raises ConfigError)."""
        rules, ruleset = load_ruleset(self.settings, engine=self.engine)
        self.rules, self.ruleset = rules, ruleset
        self.rules_by_id = {r.id: r for r in rules}

    def match(self, story: Story) -> list[RuleMatch]:
        """The running rule set's matches (follows reloads)."""
        return self.ruleset.match(story)

    # ---- builders ----

    def sync(self) -> SyncReport:
        with self.engine.begin() as conn:
            return sync_feeds(conn, self.config.feeds, self.clock.now())

    def fetcher(self) -> Fetcher:
        d = self.config.defaults
        limits = FetchLimits(
            connect_timeout=min(10.0, d.timeout), read_timeout=d.timeout, deadline=d.deadline,
            max_bytes=d.max_body_size, max_redirects=d.max_redirects, user_agent=d.user_agent,
        )
        guard = AddressGuard(
            block_private=d.block_private, block_loopback=d.block_loopback, block_link_local=d.block_link_local
        )
        return Fetcher(limits, concurrency=d.concurrency, per_host=d.per_host, guard=guard, clock=self.clock)

    def poller(self, fetcher: Fetcher) -> Poller:
        d = self.config.defaults
        return Poller(
            engine=self.engine, fetcher=fetcher, fingerprinter=self.fingerprinter, matcher=self.match,
            router=self.destinations, options=self.ingest_options(), clock=self.clock, owner=self.owner,
            max_backoff=d.max_backoff, lease_seconds=d.feed_lease, batch_size=max(50, d.concurrency * 4),
            articles=ArticleOptions(
                wait=d.article_wait, per_poll=d.articles_per_poll, per_host=d.article_per_host, pause=d.article_pause,
            ),
        )

    def ingest_options(self) -> IngestOptions:
        return IngestOptions(
            window=self.config.dedup.window, threshold=self.config.dedup.threshold,
            storm_limit=self.config.alerts.storm_limit, followups=self.config.alerts.followups,
        )

    def smtp_sender(self) -> SmtpSender | None:
        """The SMTP sender from MONITOR_SMTP_*, or None when no host is set."""
        s = self.settings.smtp
        if not s.host:
            return None
        return SmtpSender(SmtpSettings(host=s.host, port=s.port, username=s.username, password=s.password, security=s.security))

    def digest_runner(self, config: DigestConfig) -> DigestRunner:
        return DigestRunner(
            engine=self.engine, config=config, rules=self.rules_by_id, clock=self.clock,
            sender=self.smtp_sender(), owner=self.owner,
        )

    def deliverer(self) -> Deliverer:
        a = self.config.alerts
        # Slack allows about one message a second per channel; the terminal needs no pacing
        interval = 0.0 if self.notifier.name == "console" else a.channel_interval
        return Deliverer(
            engine=self.engine, notifier=self.notifier, rules=self.rules_by_id, clock=self.clock, owner=self.owner,
            options=DeliveryOptions(
                max_attempts=a.max_attempts, channel_interval=interval, followups=a.followups, lease=a.lease,
                storm_limit=a.storm_limit,
            ),
        )


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    out: TextIO | None = None,
    notifier: Notifier | None = None,
    pool_size: int | None = None,
) -> App:
    """Read config and rules (raising ConfigError on any problem), open and migrate the database."""
    problems = []
    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        config = None
    try:
        rules, ruleset = load_ruleset(settings)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems or config is None:
        raise ConfigError(problems)
    engine = make_engine(settings.database_url, pool_size=pool_size or max(5, min(config.defaults.concurrency // 5, 20)))
    if migrate:
        upgrade(engine)
    if migrate and any(r.examples or r.example_stories for r in rules):
        rules, ruleset = load_ruleset(settings, engine=engine)  # frequencies and example stories from the store
    if notifier is None:
        notifier = build_notifier(
            bot_token=settings.slack_bot_token, default_channel=settings.slack_channel,
            webhook_url=settings.slack_webhook_url, api_url=settings.slack_api_url, out=out or sys.stdout,
        )
    return App(
        settings=settings, config=config, engine=engine, clock=clock or SystemClock(), owner=worker_id(settings),
        rules=rules, ruleset=ruleset, notifier=notifier,
    )
