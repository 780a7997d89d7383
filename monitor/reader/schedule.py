"""When to poll a feed next: a pure function of what the last poll said.

Success: the feed's interval, stretched (never shortened) by the feed's own
``<ttl>`` and by ``Cache-Control: max-age``. Failure: exponential backoff with
jitter from the interval up to ``max_backoff``, and never sooner than the
server's ``Retry-After``. A feed is never given up on: at worst it is polled
once every ``max_backoff``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_HONOURED_HINT = 24 * 3600.0  # a feed's ttl/max-age/Retry-After is capped at a day


def next_poll_after_success(
    now: datetime,
    interval: float,
    *,
    ttl_minutes: int | None = None,
    max_age: float | None = None,
    retry_after: float | None = None,
) -> datetime:
    """The next poll time after a 200 or 304."""
    delay = interval
    for hint in (ttl_minutes * 60.0 if ttl_minutes else None, max_age, retry_after):
        if hint is not None and hint > delay:
            delay = min(hint, MAX_HONOURED_HINT)
    return now + timedelta(seconds=delay)


def next_poll_after_error(
    now: datetime,
    interval: float,
    error_count: int,
    *,
    max_backoff: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The next poll time after the ``error_count``-th consecutive failure (1 = first).

    Delay = interval × 2^(n-1), capped at ``max_backoff``, times a jitter in
    [0.8, 1.2) (also capped), and at least ``retry_after``.
    """
    rng = rng or random.Random()
    exponent = max(0, min(error_count - 1, 30))
    base = min(interval * (2**exponent), max_backoff)
    delay = min(base * rng.uniform(0.8, 1.2), max_backoff)
    delay = max(delay, min(interval, max_backoff))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_HONOURED_HINT))
    return now + timedelta(seconds=delay)


def retry_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds before the ``attempt``-th retry (1 = first) of a send: ``base`` × 2^(n-1)
    capped at ``cap``, times a jitter in [0.8, 1.2), and never sooner than ``retry_after``.

    Shared by the alert outbox and the digest; a feed's own poll backoff is
    ``next_poll_after_error``.
    """
    delay = min(base * 2 ** max(0, attempt - 1), cap) * rng.uniform(0.8, 1.2)
    return max(delay, retry_after) if retry_after is not None else delay
