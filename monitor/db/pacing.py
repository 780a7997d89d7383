"""Per-destination sending slots shared by every worker: the database is the coordinator.

A destination (``slack:#alerts``, ``webhook``, …) has one ``delivery_pacing``
row. A worker sends to a destination only while it holds the row's lease,
taken by a conditional ``UPDATE … WHERE owner IS NULL OR lease_until < now``:
on PostgreSQL a concurrent taker blocks on the row, re-reads it after the
first commits and finds it taken; SQLite has one writer at a time. So one
worker at a time sends to a destination, in delivery order, and
``next_send_at`` (written before each message) spaces the messages by the
channel interval whichever worker sends them. Every function runs in its own
short transaction: no lock is held while a message is in flight.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, or_, select, update

from monitor.db.schema import PacingRow
from monitor.db.sql import insert

pacing_t = PacingRow.__table__
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def take_destination(engine: Engine, destination: str, owner: str, now: datetime, lease: float) -> datetime | None:
    """Lease ``destination`` to ``owner`` until ``now + lease``.

    Returns the destination's ``next_send_at`` (the earliest a message may
    go) when the lease was taken (or renewed: the owner already held it), or
    None while another worker's lease is live.
    """
    until = now + timedelta(seconds=lease)
    with engine.begin() as conn:
        conn.execute(
            insert(conn, pacing_t)
            .values(destination=destination, next_send_at=_EPOCH, owner=None, lease_until=None)
            .on_conflict_do_nothing(index_elements=["destination"])
        )
        taken = conn.execute(
            update(pacing_t)
            .where(
                pacing_t.c.destination == destination,
                or_(pacing_t.c.owner.is_(None), pacing_t.c.owner == owner, pacing_t.c.lease_until < now),
            )
            .values(owner=owner, lease_until=until)
        ).rowcount
        if taken != 1:
            return None
        return conn.execute(select(pacing_t.c.next_send_at).where(pacing_t.c.destination == destination)).scalar_one()


def claim_send_slot(
    engine: Engine, destination: str, owner: str, now: datetime, interval: float, lease: float
) -> bool:
    """Record that ``owner`` sends to ``destination`` now: the next message waits ``interval``.

    Renews the lease too. Returns False when ``owner`` no longer holds the
    destination (its lease lapsed and another worker took it): then it must
    not send.
    """
    with engine.begin() as conn:
        return (
            conn.execute(
                update(pacing_t)
                .where(pacing_t.c.destination == destination, pacing_t.c.owner == owner)
                .values(next_send_at=now + timedelta(seconds=interval), lease_until=now + timedelta(seconds=lease))
            ).rowcount
            == 1
        )


def release_destination(engine: Engine, destination: str, owner: str) -> None:
    """Give the destination back (``next_send_at`` stays, so the next holder keeps the pace)."""
    with engine.begin() as conn:
        conn.execute(
            update(pacing_t)
            .where(pacing_t.c.destination == destination, pacing_t.c.owner == owner)
            .values(owner=None, lease_until=None)
        )
