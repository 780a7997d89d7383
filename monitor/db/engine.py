"""Creating the SQLAlchemy engine for SQLite (embedded default) or PostgreSQL.

A plain ``postgresql://`` URL is mapped to the psycopg 3 driver that the
project installs. SQLite gets WAL, a busy timeout and foreign keys on every
connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from monitor.errors import ConfigError, Problem

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> URL:
    """Parse ``url`` and pick the project's driver for plain ``postgresql://`` URLs."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError and others
        raise ConfigError([Problem("MONITOR_DATABASE_URL", f"not a valid database URL: {type(exc).__name__}")]) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            [Problem("MONITOR_DATABASE_URL", f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")]
        )
    return parsed


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine for ``url``; ``pool_size`` should match the worker's concurrency."""
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(parsed, **kwargs)
        _sqlite_pragmas(engine)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800)
        engine = create_engine(parsed, **kwargs)
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy manage transactions explicitly (BEGIN IMMEDIATE below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: no deadlock-prone lock upgrades.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
