"""Shared fixtures: databases (SQLite and PostgreSQL), clocks, and config folders.

The ``db_url`` fixture is parametrized over both engines: every storage test
runs on SQLite and on the PostgreSQL server named by
``MONITOR_TEST_POSTGRES_URL``. Each PostgreSQL test gets a schema of its own,
dropped afterwards. Where that variable is unset and no server answers on
127.0.0.1:5432, PostgreSQL tests are skipped with the reason shown.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from monitor.clock import FrozenClock

# Rules by example use the built-in backend in tests (and in the commands they
# run), so loading the shipped rules stays fast; the semantic tests ask for
# the semantic backend themselves.
os.environ.setdefault("MONITOR_SIMILARITY", "builtin")

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(__file__).resolve().parent / "testdata"


def _postgres_url() -> tuple[str | None, str]:
    url = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if url:
        return url, ""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return None, "MONITOR_TEST_POSTGRES_URL is unset and no PostgreSQL answers on 127.0.0.1:5432"
    return DEFAULT_PG, ""


PG_URL, PG_SKIP_REASON = _postgres_url()


def _driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema of their own."""
    if PG_URL is None:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both engines: each test using it runs twice."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[object]:
    """A migrated engine on ``db_url``."""
    from monitor.db import make_engine, upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))


@pytest.fixture(autouse=True)
def _no_monitor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit the developer's deployment settings."""
    for key in list(os.environ):
        if key.startswith("MONITOR_") and key not in ("MONITOR_TEST_POSTGRES_URL", "MONITOR_SIMILARITY"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MONITOR_SIMILARITY", "builtin")
