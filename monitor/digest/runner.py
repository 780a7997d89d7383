"""The daily digest, database side: what goes in, when it is due, and sending it once.

- ``due_day(now, config)``: the local day whose digest is due at ``now`` (its
  scheduled local time has passed), so a service that was down at 08:00
  catches up on start the same day, never the next.
- ``period_for``: a digest covers every match since the previous digest for
  the same recipients (the first one covers 24 hours) up to the scheduled time.
- ``DigestRunner.send_due``: for each audience, claim the ``digests`` row
  for (day, recipients) with ``INSERT … ON CONFLICT DO NOTHING`` (or an
  atomic conditional UPDATE for a retry), render, send, record. Two workers,
  a restart or a late start never send the same digest twice; an SMTP
  failure is recorded and retried with backoff, the digest is not lost.
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from monitor.clock import Clock
from monitor.config import Audience, DigestConfig
from monitor.db import DigestRow, MatchRow, StoryRow, cluster_outlets, insert
from monitor.digest.message import build_message
from monitor.digest.model import Digest, DigestEntry, DigestSection, build_digest
from monitor.digest.smtp import SmtpSender
from monitor.errors import DeliveryError
from monitor.model import Rule
from monitor.reader import retry_delay
from monitor.text import quote

log = logging.getLogger("monitor.digest")

digests = DigestRow.__table__
matches = MatchRow.__table__
stories = StoryRow.__table__

MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=10)


def scheduled_at(day: date, config: DigestConfig) -> datetime:
    """The UTC instant of ``day``'s digest (its local time in the configured zone; DST-correct)."""
    local = datetime.combine(day, config.time, tzinfo=config.zone)
    # zoneinfo resolves a time skipped by a DST jump forward by moving it on (fold=0)
    return local.astimezone(timezone.utc)


def due_day(now: datetime, config: DigestConfig) -> date | None:
    """The local date whose digest is due at ``now``, or None before today's time."""
    today = now.astimezone(config.zone).date()
    return today if now >= scheduled_at(today, config) else None


def recipients_key(to: Collection[str]) -> str:
    return ",".join(sorted({a.strip().lower() for a in to}))


def gather(
    conn: Connection, *, start: datetime, end: datetime, rules: Mapping[str, Rule], rule_filter: Collection[str] = ()
) -> list[DigestSection]:
    """Matches in [start, end) as digest sections: one entry per story cluster, by rule."""
    rows = conn.execute(
        select(
            matches.c.rule_id, matches.c.cluster_id, matches.c.terms, stories.c.title, stories.c.url,
            stories.c.source, stories.c.published_at, stories.c.summary, stories.c.content,
            matches.c.similarity, matches.c.example,
        )
        .join(stories, stories.c.id == matches.c.story_id)
        .where(matches.c.matched_at >= start, matches.c.matched_at < end)
        .order_by(matches.c.id)
    ).all()
    cluster_ids = {r.cluster_id for r in rows}
    outlets = cluster_outlets(conn, cluster_ids)
    by_rule: dict[str, list[DigestEntry]] = {}
    for r in rows:
        rule = rules.get(r.rule_id)
        if rule is not None and not rule.digest:
            continue
        if rule_filter and r.rule_id not in rule_filter:
            continue
        severity = rule.severity if rule else "normal"
        also = tuple(o for o in outlets.get(r.cluster_id, []) if o != r.source)
        by_rule.setdefault(r.rule_id, []).append(
            DigestEntry(
                title=r.title, url=r.url, source=r.source, also_seen_in=also, published=r.published_at,
                summary=quote(r.summary, r.content, tuple(r.terms or ())), terms=tuple(r.terms or ()), severity=severity,
                similarity=r.similarity, example=r.example,
            )
        )
    return [
        DigestSection(
            rule_id=rid, rule_name=rules[rid].name if rid in rules else rid,
            severity=rules[rid].severity if rid in rules else "normal", entries=tuple(entries),
        )
        for rid, entries in by_rule.items()
    ]


@dataclass
class DigestOutcome:
    day: date
    recipients: str
    status: str  # sent | skipped | retry | failed | taken (another worker has it)
    entries: int = 0
    error: str | None = None


class DigestRunner:
    """Builds and sends digests; ``sender`` may be None for preview only."""

    def __init__(
        self,
        *,
        engine: Engine,
        config: DigestConfig,
        rules: Mapping[str, Rule],
        clock: Clock,
        sender: SmtpSender | None,
        owner: str,
        domain: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.rules = dict(rules)
        self.clock = clock
        self.sender = sender
        self.owner = owner
        self.domain = domain or socket.getfqdn() or "localhost"
        self.rng = rng or random.Random()

    # ---- building ----

    def period_for(self, conn: Connection, day: date, audience: Audience, end: datetime) -> tuple[datetime, datetime]:
        """From the previous sent digest of this audience (else 24 hours back) to ``end``."""
        key = recipients_key(audience.to)
        previous = conn.execute(
            select(func.max(digests.c.period_end)).where(
                digests.c.recipients == key, digests.c.status.in_(("sent", "skipped")), digests.c.day < day.isoformat()
            )
        ).scalar()
        start = previous if previous is not None and previous < end else end - timedelta(hours=24)
        return start, end

    def build(self, day: date, audience: Audience, *, end: datetime | None = None) -> Digest:
        end = end or min(scheduled_at(day, self.config), self.clock.now())
        with self.engine.connect() as conn:
            start, end = self.period_for(conn, day, audience, end)
            sections = gather(conn, start=start, end=end, rules=self.rules, rule_filter=audience.rules)
        return build_digest(sections, day=day, tz=self.config.timezone, period_start=start, period_end=end)

    def message(self, digest: Digest, audience: Audience, to: Collection[str] | None = None) -> EmailMessage:
        return build_message(
            digest, self.config, to=list(to or audience.to), now=self.clock.now(), domain=self.domain, rules=audience.rules
        )

    # ---- sending ----

    def send_due(self) -> list[DigestOutcome]:
        """Send today's digest to every audience if it is due and not yet sent (idempotent)."""
        day = due_day(self.clock.now(), self.config)
        if day is None:
            return []
        return [self.send_claimed(day, a) for a in self.config.audiences()]

    def send_claimed(self, day: date, audience: Audience, *, end: datetime | None = None) -> DigestOutcome:
        key = recipients_key(audience.to)
        if not self._claim(day, key):
            return DigestOutcome(day, key, "taken")
        try:
            digest = self.build(day, audience, end=end)
        except Exception as exc:  # noqa: BLE001 - recorded, retried later
            log.exception("digest build failed", extra={"digest": f"{day}:{key}"})
            return self._record_failure(day, key, DeliveryError(f"digest: build failed: {type(exc).__name__}: {exc}"))
        if digest.is_empty and not self.config.send_empty:
            self._record(day, key, status="skipped", digest=digest, message_id=None)
            log.info("digest skipped: no matches", extra={"digest": f"{day}:{key}"})
            return DigestOutcome(day, key, "skipped")
        return self._deliver(day, key, digest, audience)

    def _deliver(self, day: date, key: str, digest: Digest, audience: Audience) -> DigestOutcome:
        if self.sender is None:
            return self._record_failure(day, key, DeliveryError("digest: MONITOR_SMTP_HOST is not set", permanent=True))
        msg = self.message(digest, audience)
        try:
            refused = self.sender.send(msg)
        except DeliveryError as exc:
            return self._record_failure(day, key, exc)
        if refused:
            log.warning("digest: some recipients refused: %s", ", ".join(refused), extra={"digest": f"{day}:{key}"})
        self._record(day, key, status="sent", digest=digest, message_id=str(msg["Message-ID"]))
        log.info("digest sent to %s with %d entries", key, digest.total_entries, extra={"digest": f"{day}:{key}"})
        return DigestOutcome(day, key, "sent", entries=digest.total_entries)

    def _claim(self, day: date, key: str) -> bool:
        """Atomically take (day, recipients): a new row, or a retry whose time has come."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(conn, digests)
                .values(
                    day=day.isoformat(), recipients=key, status="sending", attempts=0, created_at=now,
                    claimed_by=self.owner, lease_until=now + LEASE, entries=0,
                )
                .on_conflict_do_nothing(index_elements=["day", "recipients"])
                .returning(digests.c.id)
            ).scalar()
            if new_id is not None:
                return True
            taken = conn.execute(
                update(digests)
                .where(
                    digests.c.day == day.isoformat(), digests.c.recipients == key,
                    or_(
                        and_(digests.c.status == "retry", digests.c.next_attempt_at <= now),
                        and_(digests.c.status == "sending", digests.c.lease_until < now),
                    ),
                )
                .values(status="sending", claimed_by=self.owner, lease_until=now + LEASE)
            )
            return taken.rowcount == 1

    def _record(self, day: date, key: str, *, status: str, digest: Digest, message_id: str | None) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(digests)
                .where(digests.c.day == day.isoformat(), digests.c.recipients == key)
                .values(
                    status=status, sent_at=now, period_start=digest.period_start, period_end=digest.period_end,
                    entries=digest.total_entries, message_id=message_id, lease_until=None, last_error=None,
                    attempts=digests.c.attempts + 1,
                )
            )

    def _record_failure(self, day: date, key: str, exc: DeliveryError) -> DigestOutcome:
        now = self.clock.now()
        with self.engine.begin() as conn:
            attempts = conn.execute(
                select(digests.c.attempts).where(digests.c.day == day.isoformat(), digests.c.recipients == key)
            ).scalar_one() + 1
            give_up = exc.permanent or attempts >= MAX_ATTEMPTS
            delay = retry_delay(attempts, base=60.0, cap=3600.0, rng=self.rng, retry_after=exc.retry_after)
            conn.execute(
                update(digests)
                .where(digests.c.day == day.isoformat(), digests.c.recipients == key)
                .values(
                    status="failed" if give_up else "retry", attempts=attempts, last_error=str(exc)[:2000],
                    next_attempt_at=now + timedelta(seconds=delay), lease_until=None,
                )
            )
        log.error("digest %s: %s", "failed" if give_up else "will be retried", exc, extra={"digest": f"{day}:{key}"})
        return DigestOutcome(day, key, "failed" if give_up else "retry", error=str(exc))
