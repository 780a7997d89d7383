"""The outbox: claim pending deliveries, send them, record the result.

Guarantees:

- A delivery row exists before anything is sent (written with the story).
- Claiming is an atomic conditional UPDATE (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL), so two workers never send the same row.
- The row is marked ``sent`` (with Slack channel and ``ts``) right after
  Slack answers. If the process dies between Slack's answer and that commit,
  the row's lease lapses and it is taken again. With a bot token each
  message carries its delivery id as metadata, so the retry first asks
  Slack's channel history whether the message landed and records it
  instead of posting twice; where Slack cannot tell (a webhook, no
  ``channels:history`` scope) it is sent again: at-least-once, with a window
  of one message per crash. Nothing is ever lost.
- Transient failures (timeouts, 5xx, 429) back off exponentially with
  jitter (429 waits ``Retry-After``); the rows behind a failed one for the
  same destination wait with it, so alerts go out in order.
- Permanent failures (bad token, unknown channel, dead webhook) are marked
  ``failed`` and logged once with what to do, never retried in a loop.
- Storm guard: rows folded at ingest time become one summary message per
  rule and destination ("…and 37 more matches for rule X").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, update

from monitor.clock import Clock
from monitor.db import (
    DeliveryRow,
    Feed,
    FollowupRow,
    MatchRow,
    Sighting,
    StoryRow,
    claim_send_slot,
    cluster_outlets,
    release_destination,
    supports_skip_locked,
    take_destination,
)
from monitor.errors import DeliveryError
from monitor.model import Alert, Rule
from monitor.notify import Notifier, SentRef, escape_mrkdwn, link_url, trim
from monitor.reader import retry_delay
from monitor.text import quote

log = logging.getLogger("monitor.delivery")

deliveries = DeliveryRow.__table__
followups = FollowupRow.__table__
stories = StoryRow.__table__
sightings = Sighting.__table__
feeds = Feed.__table__
matches = MatchRow.__table__


@dataclass(frozen=True)
class DeliveryOptions:
    lease: float = 120.0
    base_backoff: float = 30.0
    max_backoff: float = 3600.0
    max_attempts: int = 0  # 0: transient errors are retried until they succeed
    channel_interval: float = 1.0  # at most one message a second per destination, across all workers
    storm_limit: int = 0  # alerts per rule and destination per hour, checked again at sending (0: ingest's fold only)
    storm_summary_after: float = 600.0  # folded rows wait this long to be summarized together
    followups: str = "thread"


@dataclass
class DeliverySummary:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    summaries: int = 0
    followups: int = 0
    folded: int = 0  # held back at sending by the storm guard (concurrent ingests let them through)
    recovered: int = 0  # interrupted sends found already in Slack, recorded without sending again
    errors: list[str] = field(default_factory=list)


class Deliverer:
    """Sends what the outbox holds through one ``Notifier``."""

    def __init__(
        self,
        *,
        engine: Engine,
        notifier: Notifier,
        rules: Mapping[str, Rule],
        clock: Clock,
        owner: str,
        options: DeliveryOptions = DeliveryOptions(),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.notifier = notifier
        self.rules = dict(rules)
        self.clock = clock
        self.owner = owner
        self.options = options
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._next_send: dict[str, datetime] = {}  # held destinations: when their next message may go
        self._reported_permanent: set[str] = set()

    # ---- public -------------------------------------------------------------------------

    def run_once(self, limit: int = 100) -> DeliverySummary:
        """Send everything due now (up to ``limit`` alerts), then storm summaries and follow-ups."""
        summary = DeliverySummary()
        self._send_alerts(limit, summary)
        self._send_storm_summaries(summary)
        self._send_followups(limit, summary)
        return summary

    # ---- alerts -------------------------------------------------------------------------

    def _due_destinations(self, now: datetime) -> list[str]:
        """Destinations with rows to send now (pending and due, or an interrupted send whose lease lapsed)."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(deliveries.c.destination)
                    .where(_due(now))
                    .group_by(deliveries.c.destination)
                    .order_by(func.min(deliveries.c.id))
                ).scalars()
            )

    def _claim(self, destination: str, limit: int) -> dict[int, datetime | None]:
        """Take ``destination``'s due rows, in order; maps each id to when an interrupted attempt began.

        Called while holding the destination's pacing lease, so no other
        worker claims rows of this destination meanwhile. Rows behind one that
        waits (a retry backing off, or a send still leased) are left alone:
        alerts to one destination keep their order.
        """
        now = self.clock.now()
        with self.engine.begin() as conn:
            blocker = conn.execute(
                select(func.min(deliveries.c.id)).where(
                    deliveries.c.destination == destination,
                    or_(
                        and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at > now),
                        and_(deliveries.c.status == "sending", deliveries.c.lease_until >= now),
                    ),
                )
            ).scalar()
            stmt = (
                select(deliveries.c.id, deliveries.c.status, deliveries.c.lease_until)
                .where(deliveries.c.destination == destination, _due(now))
                .order_by(deliveries.c.id)
                .limit(limit)
            )
            if blocker is not None:
                stmt = stmt.where(deliveries.c.id < blocker)
            if supports_skip_locked(conn):
                stmt = stmt.with_for_update(skip_locked=True)
            rows = conn.execute(stmt).all()
            if rows:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_([r.id for r in rows]))
                    .values(status="sending", lease_owner=self.owner, lease_until=now + timedelta(seconds=self.options.lease))
                )
        lease = timedelta(seconds=self.options.lease)
        return {r.id: (r.lease_until - lease if r.status == "sending" else None) for r in rows}

    @contextmanager
    def _holding(self, destination: str) -> Iterator[bool]:
        """Hold ``destination``'s shared sending slot for the block; yields False when another worker has it."""
        next_at = take_destination(self.engine, destination, self.owner, self.clock.now(), self.options.lease)
        if next_at is None:
            yield False
            return
        self._next_send[destination] = next_at
        try:
            yield True
        finally:
            self._next_send.pop(destination, None)
            release_destination(self.engine, destination, self.owner)

    def _send_alerts(self, limit: int, summary: DeliverySummary) -> None:
        budget = limit
        for destination in self._due_destinations(self.clock.now()):
            if budget <= 0:
                break
            with self._holding(destination) as held:
                if not held:
                    continue  # another worker is sending to it: it keeps the order and the pace
                claimed = self._claim(destination, budget)
                budget -= len(claimed)
                self._send_claimed(destination, claimed, summary)

    def _send_claimed(self, destination: str, claimed: dict[int, datetime | None], summary: DeliverySummary) -> None:
        """Send one destination's claimed rows in order; the first failure holds back the rest."""
        retry_at: datetime | None = None
        sent_this_hour: dict[str, int] = {}
        for delivery_id, interrupted_at in claimed.items():
            if retry_at is not None:
                self._release(delivery_id, retry_at)
                continue
            row, alert = self._load_alert(delivery_id)
            if row is None or alert is None:
                continue
            if interrupted_at is not None and self._already_posted(row, alert, interrupted_at):
                summary.recovered += 1
                continue
            if self._storm_folds(row, sent_this_hour):
                summary.folded += 1
                continue
            if not self._pace(destination):
                # our hold lapsed and another worker took the destination: leave the rest to it
                retry_at = self.clock.now()
                self._release(delivery_id, retry_at)
                continue
            try:
                ref = self.notifier.send(alert)
            except DeliveryError as exc:
                retry_at = self._failed(row, exc, summary)
                continue
            except Exception as exc:  # noqa: BLE001 - a notifier bug is a transient failure, recorded
                log.exception("notifier crashed", extra={"delivery": delivery_id})
                retry_at = self._failed(row, DeliveryError(f"notify: unexpected {type(exc).__name__}"), summary)
                continue
            self._sent(delivery_id, ref)
            sent_this_hour[row.rule_id] = sent_this_hour.get(row.rule_id, 0) + 1  # type: ignore[attr-defined]
            summary.sent += 1
            log.info("alert sent", extra={"delivery": delivery_id, "rule": row.rule_id, "story": row.story_id})

    def _storm_folds(self, row: object, sent_this_hour: dict[str, int]) -> bool:
        """The storm guard across workers: past ``storm_limit`` alerts of a rule sent to this destination
        in the last hour, fold the row (it joins the rule's summary message) instead of sending it.

        Ingest folds most rows already; this check, made by the one worker holding the
        destination, catches the few that concurrent ingests on several workers let through.
        """
        limit = self.options.storm_limit
        rule_id: str = row.rule_id  # type: ignore[attr-defined]
        if limit <= 0:
            return False
        if rule_id not in sent_this_hour:
            with self.engine.connect() as conn:
                sent_this_hour[rule_id] = conn.execute(
                    select(func.count()).where(
                        deliveries.c.rule_id == rule_id,
                        deliveries.c.destination == row.destination,  # type: ignore[attr-defined]
                        deliveries.c.status == "sent",
                        deliveries.c.sent_at > self.clock.now() - timedelta(hours=1),
                    )
                ).scalar_one()
        if sent_this_hour[rule_id] < limit:
            return False
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == row.id)  # type: ignore[attr-defined]
                .values(status="folded", lease_owner=None, lease_until=None)
            )
        return True

    def _already_posted(self, row: object, alert: Alert, interrupted_at: datetime) -> bool:
        """After a crash mid-send: did Slack get the message? If so, record it instead of sending again."""
        find = getattr(self.notifier, "find_sent", None)
        if find is None:
            return False
        with self.engine.connect() as conn:
            known = conn.execute(  # Slack's id for this destination's channel, from an earlier alert
                select(deliveries.c.channel)
                .where(deliveries.c.destination == row.destination, deliveries.c.status == "sent")  # type: ignore[attr-defined]
                .limit(1)
            ).scalar()
        ref = find(alert, channel=known or alert.channel, since=interrupted_at - timedelta(seconds=60))
        if ref is None:
            return False
        self._sent(row.id, ref)  # type: ignore[attr-defined]
        log.warning(
            "alert was already in Slack from an interrupted attempt; recorded, not sent again",
            extra={"delivery": row.id, "rule": row.rule_id},  # type: ignore[attr-defined]
        )
        return True

    def _pace(self, destination: str) -> bool:
        """Wait for ``destination``'s next slot, then take it; False when this worker no longer holds it.

        The slot is written to the database before the message goes, so the
        interval holds across workers and across a crash between the two.
        """
        next_at = self._next_send.get(destination)
        if next_at is not None:
            wait = (next_at - self.clock.now()).total_seconds()
            if wait > 0:
                self.sleep(wait)
        now = self.clock.now()
        interval = self.options.channel_interval
        self._next_send[destination] = now + timedelta(seconds=interval)
        return claim_send_slot(self.engine, destination, self.owner, now, interval, self.options.lease)

    def _load_alert(self, delivery_id: int) -> tuple[object | None, Alert | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    deliveries.c.id, deliveries.c.rule_id, deliveries.c.destination, deliveries.c.channel,
                    deliveries.c.attempts, deliveries.c.story_id, deliveries.c.cluster_id,
                    stories.c.title, stories.c.summary, stories.c.url, stories.c.source, stories.c.published_at,
                    stories.c.content, matches.c.terms, matches.c.similarity, matches.c.example,
                )
                .join(stories, stories.c.id == deliveries.c.story_id)
                .join(matches, matches.c.id == deliveries.c.match_id)
                .where(deliveries.c.id == delivery_id)
            ).first()
            if row is None:
                return None, None
            also = [name for name in cluster_outlets(conn, [row.cluster_id]).get(row.cluster_id, []) if name != row.source]
        rule = self.rules.get(row.rule_id)
        alert = Alert(
            delivery_id=row.id, rule_id=row.rule_id, rule_name=rule.name if rule else row.rule_id,
            severity=rule.severity if rule else "normal", title=row.title,
            summary=quote(row.summary, row.content, tuple(row.terms or ())), url=row.url,
            source=row.source, published=row.published_at, terms=tuple(row.terms or ()), channel=row.channel,
            also_seen_in=tuple(also), similarity=row.similarity, example=row.example,
        )
        return row, alert

    def _sent(self, delivery_id: int, ref: SentRef) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="sent", channel=ref.channel, ts=ref.ts, sent_at=now, attempts=deliveries.c.attempts + 1,
                    last_error=None, lease_owner=None, lease_until=None,
                )
            )

    def _release(self, delivery_id: int, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(status="pending", next_attempt_at=when, lease_owner=None, lease_until=None)
            )

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        o = self.options
        return retry_delay(attempts, base=o.base_backoff, cap=o.max_backoff, rng=self.rng, retry_after=retry_after)

    def _failed(self, row: object, exc: DeliveryError, summary: DeliverySummary) -> datetime | None:
        """Record a failed attempt; returns when it will be retried (None: never)."""
        now = self.clock.now()
        attempts = row.attempts + 1  # type: ignore[attr-defined]
        give_up = exc.permanent or (self.options.max_attempts and attempts >= self.options.max_attempts)
        retry_at = None if give_up else now + timedelta(seconds=self._backoff(attempts, exc.retry_after))
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == row.id)  # type: ignore[attr-defined]
                .values(
                    status="failed" if give_up else "pending", attempts=attempts, last_error=str(exc)[:2000],
                    next_attempt_at=retry_at or now, lease_owner=None, lease_until=None,
                )
            )
        summary.errors.append(str(exc))
        if give_up:
            summary.failed += 1
            key = f"{row.destination}:{exc}"  # type: ignore[attr-defined]
            if key not in self._reported_permanent:
                self._reported_permanent.add(key)
                log.error("alert failed permanently: %s", exc, extra={"delivery": row.id, "rule": row.rule_id})  # type: ignore[attr-defined]
        else:
            summary.retried += 1
            log.warning("alert will be retried: %s", exc, extra={"delivery": row.id, "rule": row.rule_id})  # type: ignore[attr-defined]
        return retry_at

    # ---- storm summaries ----------------------------------------------------------------

    def _send_storm_summaries(self, summary: DeliverySummary) -> None:
        now = self.clock.now()
        ripe = now - timedelta(seconds=self.options.storm_summary_after)
        with self.engine.connect() as conn:
            groups = conn.execute(
                select(deliveries.c.rule_id, deliveries.c.destination, func.min(deliveries.c.channel).label("channel"))
                .where(deliveries.c.status == "folded")
                .group_by(deliveries.c.rule_id, deliveries.c.destination)
                .having(func.min(deliveries.c.created_at) <= ripe)
            ).all()
        for g in groups:
            with self._holding(g.destination) as held:
                if held:
                    self._send_storm_summary(g, now, summary)

    def _send_storm_summary(self, g: Any, now: datetime, summary: DeliverySummary) -> None:
        """One summary message for a rule's folded rows to one destination (held by this worker)."""
        with self.engine.begin() as conn:
            stmt = select(deliveries.c.id).where(
                deliveries.c.status == "folded", deliveries.c.rule_id == g.rule_id, deliveries.c.destination == g.destination
            )
            if supports_skip_locked(conn):
                stmt = stmt.with_for_update(skip_locked=True)
            ids = [r[0] for r in conn.execute(stmt)]
            if not ids:
                return
            conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(status="summarizing", lease_until=now))
        rule = self.rules.get(g.rule_id)
        name = rule.name if rule else g.rule_id
        text = (
            f"…and {len(ids)} more matches for rule *{escape_mrkdwn(name)}* "
            f"(alert storm guard: more than the hourly limit). They are in the daily digest."
        )
        try:
            if not self._pace(g.destination):
                raise DeliveryError("notify: the destination was taken over by another worker; summary postponed")
            self.notifier.send_text(g.channel, text)
        except DeliveryError as exc:
            status = "failed" if exc.permanent else "folded"
            with self.engine.begin() as conn:
                conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(status=status, last_error=str(exc)[:2000]))
            summary.errors.append(str(exc))
            return
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(status="summarized", sent_at=now))
        summary.summaries += 1

    # ---- follow-ups ---------------------------------------------------------------------

    def _send_followups(self, limit: int, summary: DeliverySummary) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            stmt = (
                select(followups.c.id)
                .join(deliveries, deliveries.c.id == followups.c.delivery_id)
                .where(
                    followups.c.status == "pending", followups.c.next_attempt_at <= now,
                    deliveries.c.status == "sent", or_(followups.c.lease_until.is_(None), followups.c.lease_until < now),
                )
                .order_by(followups.c.id)
                .limit(limit)
            )
            if supports_skip_locked(conn):
                stmt = stmt.with_for_update(skip_locked=True, of=followups)
            ids = [r[0] for r in conn.execute(stmt)]
            if not ids:
                return
            conn.execute(
                update(followups).where(followups.c.id.in_(ids)).values(lease_until=now + timedelta(seconds=self.options.lease))
            )
            rows = conn.execute(
                select(
                    followups.c.id, followups.c.delivery_id, followups.c.attempts, deliveries.c.channel, deliveries.c.ts,
                    deliveries.c.destination,
                    feeds.c.name.label("feed"), stories.c.title, stories.c.url,
                )
                .join(deliveries, deliveries.c.id == followups.c.delivery_id)
                .join(sightings, sightings.c.id == followups.c.sighting_id)
                .join(feeds, feeds.c.id == sightings.c.feed_id)
                .join(stories, stories.c.id == sightings.c.story_id)
                .where(followups.c.id.in_(ids))
                .order_by(followups.c.id)
            ).all()
        by_delivery: dict[int, list[object]] = {}
        for r in rows:
            by_delivery.setdefault(r.delivery_id, []).append(r)
        for delivery_id, group in by_delivery.items():
            destination: str = group[0].destination  # type: ignore[attr-defined]
            with self._holding(destination) as held:
                if not held:  # another worker is sending there; this group waits for a later run
                    with self.engine.begin() as conn:
                        conn.execute(
                            update(followups).where(followups.c.id.in_([g.id for g in group])).values(lease_until=None)  # type: ignore[attr-defined]
                        )
                    continue
                self._send_followup(delivery_id, group, now, summary)

    def _send_followup(self, delivery_id: int, group: list[Any], now: datetime, summary: DeliverySummary) -> None:
        """The follow-up for one alert (a threaded reply or an update), its destination held by this worker."""
        first = group[0]
        ref = SentRef(channel=first.channel, ts=first.ts)
        try:
            if not self._pace(first.destination):
                raise DeliveryError("notify: the destination was taken over by another worker; follow-up postponed")
            if self.options.followups == "update":
                _, alert = self._load_alert(delivery_id)
                if alert is not None:
                    self.notifier.update(ref, alert)
            else:
                sources = ", ".join(dict.fromkeys(escape_mrkdwn(g.feed) for g in group))  # type: ignore[attr-defined]
                links = "; ".join(_story_link(g.url, g.title) for g in group)  # type: ignore[attr-defined]
                self.notifier.reply(ref, f"Also reported by {sources}: {links}")
        except DeliveryError as exc:
            ids_ = [g.id for g in group]  # type: ignore[attr-defined]
            attempts = first.attempts + 1  # type: ignore[attr-defined]
            status = "failed" if exc.permanent else "pending"
            when = now + timedelta(seconds=self._backoff(attempts, exc.retry_after))
            with self.engine.begin() as conn:
                conn.execute(
                    update(followups)
                    .where(followups.c.id.in_(ids_))
                    .values(status=status, attempts=attempts, last_error=str(exc)[:2000], next_attempt_at=when, lease_until=None)
                )
            summary.errors.append(str(exc))
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(followups)
                .where(followups.c.id.in_([g.id for g in group]))  # type: ignore[attr-defined]
                .values(status="sent", attempts=followups.c.attempts + 1, lease_until=None)
            )
        summary.followups += len(group)


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: pending and due, or an interrupted send whose lease lapsed."""
    return or_(
        and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now),
        and_(deliveries.c.status == "sending", deliveries.c.lease_until < now),
    )


def _story_link(url: str, title: str) -> str:
    """``<url|title>`` in mrkdwn, or the escaped title alone when the URL must not be linked."""
    label = trim(escape_mrkdwn(title), 150, escaped=True)
    safe = link_url(url)
    return f"<{safe}|{label}>" if safe else label
