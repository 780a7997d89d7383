"""The Alembic revisions build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.db import current_revision, head_revision, upgrade
from monitor.db.schema import Base


def test_the_migrations_match_the_models(engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_reaches_head(engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_constraints_are_named_by_the_convention(engine) -> None:
    from sqlalchemy import inspect

    names = {u["name"] for u in inspect(engine).get_unique_constraints("sightings")}
    assert "uq_sightings_feed_id" in names or any(n and n.startswith("uq_sightings_") for n in names)
