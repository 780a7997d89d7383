"""Dialect helpers shared by the query modules."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

MAX_KEY_LENGTH = 700  # longer unique keys are hashed (B-tree entries have a size limit)


def insert(conn: Connection, table: Table) -> Any:
    """An ``INSERT`` that supports ``on_conflict_do_nothing`` on this connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bounded_key(key: str) -> str:
    """``key`` itself when short enough to index, else a stable hash of it."""
    if len(key.encode("utf-8")) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def supports_skip_locked(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"
