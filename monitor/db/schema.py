"""The database schema: one class a table, with named constraints.

The tables (see DESIGN.md): feeds, clusters, stories, story_bands, sightings,
matches, deliveries, delivery_pacing, followups, digests. The console's full-text index
(``stories_fts`` on SQLite, a GIN expression index on PostgreSQL) is created by
revision 0005 and is no model here. Alembic revisions under ``alembic/``
create them; this module is the reference the revisions are checked against
(``tests/test_migrations.py``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Feed(Base):
    """A configured feed and its polling state."""

    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)  # where it is fetched (follows permanent redirects)
    config_url: Mapped[str] = mapped_column(String(2000))  # as feeds.toml gives it
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    interval: Mapped[float] = mapped_column(Float, default=600.0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[str | None] = mapped_column(String(20))  # ok | not_modified | error
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    backlog_done: Mapped[bool] = mapped_column(Boolean, default=False)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    mean_gap: Mapped[float | None] = mapped_column(Float)  # seconds between new stories (EWMA)
    ops_alerted: Mapped[str | None] = mapped_column(String(20))  # failing | stale | None
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    full_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # fetch article pages


class Cluster(Base):
    """A group of near-duplicate stories; the first story is its representative."""

    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryRow(Base):
    """One normalized story. ``url_key`` is the canonical URL (or a per-feed stand-in)."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(2000), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), index=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"), index=True)
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    fingerprint_version: Mapped[int | None] = mapped_column(SmallInteger, index=True)  # NULL: format 1, before 0002
    backlog: Mapped[bool] = mapped_column(Boolean, default=False)
    # The article step (feeds with full_text). ``article_status``: None (no article wanted),
    # fetching (claimed, ``article_lease_until`` set), ok, failed, skipped; ``article_reason``
    # says why it failed or was skipped. ``match_pending``: the rules have not yet seen the
    # story (its matching waits for the text, up to ``article_wait``).
    content: Mapped[str | None] = mapped_column(Text)
    article_status: Mapped[str | None] = mapped_column(String(20))
    article_reason: Mapped[str | None] = mapped_column(Text)
    article_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    article_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    match_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class StoryBand(Base):
    """One LSH band key of a story's MinHash, for indexed near-duplicate lookup."""

    __tablename__ = "story_bands"
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sighting(Base):
    """A story seen in a feed under an entry key."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(2000))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchRow(Base):
    """A rule matched a story cluster (the first matching story is kept)."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("rule_id", "cluster_id"),
        Index("ix_matches_rule_matched", "rule_id", "matched_at"),  # the console's per-rule lists and counts
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(200))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # a match by example: cosine with the nearest example, and its first words
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    example: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeliveryRow(Base):
    """One alert to one destination; the outbox.

    status: pending → sending → sent | failed (permanent) | folded (storm guard)
    → summarized (covered by a storm summary message).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("rule_id", "cluster_id", "destination"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_rule_created", "rule_id", "created_at"),  # the storm guard's hourly count
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(200))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    ts: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PacingRow(Base):
    """One destination's sending slot, shared by every worker on the database.

    The worker whose ``owner``/``lease_until`` lease is live is the only one
    sending to ``destination`` (so its messages go out in order), and it sends
    no message before ``next_send_at`` (so the per-channel interval holds
    whichever worker sends). A dead holder's lease lapses.
    """

    __tablename__ = "delivery_pacing"
    destination: Mapped[str] = mapped_column(String(300), primary_key=True)
    next_send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowupRow(Base):
    """A later member of an alerted cluster: a threaded reply or an update of the alert."""

    __tablename__ = "followups"
    __table_args__ = (UniqueConstraint("delivery_id", "sighting_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    sighting_id: Mapped[int] = mapped_column(ForeignKey("sightings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestRow(Base):
    """One digest for one day and recipient set, claimed before it is sent."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("day", "recipients"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # ISO date in the digest's time zone
    recipients: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
