"""Feed health for the operator: tell an ops channel once when a feed starts failing or goes quiet.

A feed is *failing* when its polls have failed for ``[ops] failing_after``
(default a day), and *stale* when it has published nothing for far longer
than its usual gap between new stories. Each episode is reported once (the
feed row remembers it); recovery is reported too, and resets the episode.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from monitor.clock import Clock
from monitor.config import OpsConfig
from monitor.db import feed_health, health_flag, mark_ops_alerted, ops_alerted
from monitor.errors import DeliveryError
from monitor.notify import Notifier, escape_mrkdwn

log = logging.getLogger("monitor.ops")


def report_feed_health(engine: Engine, notifier: Notifier, ops: OpsConfig, clock: Clock) -> list[str]:
    """Send one message per feed whose health flag changed since it was last reported.

    Returns the messages sent. Does nothing when ``ops.channel`` is unset.
    """
    if not ops.channel:
        return []
    now = clock.now()
    with engine.connect() as conn:
        rows = feed_health(conn)
        told = ops_alerted(conn)
    sent: list[str] = []
    for row in rows:
        flag = health_flag(row, now, ops)
        before = told.get(row.name)
        if flag == before:
            continue
        if flag == "failing":
            text = (
                f":warning: Feed *{escape_mrkdwn(row.name)}* has failed for "
                f"{_hours(row.failing_since, now)} ({row.error_count} polls): {escape_mrkdwn(row.last_error or 'unknown error')}"
            )
        elif flag == "stale":
            text = f":zzz: Feed *{escape_mrkdwn(row.name)}* has published nothing new for {_hours(row.last_new_at, now)}."
        elif before is not None:
            text = f":white_check_mark: Feed *{escape_mrkdwn(row.name)}* is healthy again."
        else:
            continue
        try:
            notifier.send_text(ops.channel, text)
        except DeliveryError as exc:
            log.warning("ops message not sent: %s", exc, extra={"feed": row.name})
            continue
        with engine.begin() as conn:
            mark_ops_alerted(conn, row.name, flag)
        sent.append(text)
    return sent


def _hours(since, now) -> str:  # type: ignore[no-untyped-def]
    if since is None:
        return "a long time"
    hours = (now - since).total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
