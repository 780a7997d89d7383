"""The Alembic revisions build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.db import current_revision, head_revision, upgrade
from monitor.db.schema import Base


def _ours(name, type_, parent_names) -> bool:
    """Leave out the console's full-text index (revision 0005): an engine feature with no model."""
    return not (type_ == "table" and name.startswith("stories_fts")) and not (type_ == "index" and name == "ix_stories_fts") \
        and not (type_ == "column" and name == "search_tsv")


def test_the_migrations_match_the_models(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _ours})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_full_text_index_exists(engine) -> None:
    from sqlalchemy import inspect, text

    if engine.dialect.name == "sqlite":
        assert "stories_fts" in inspect(engine).get_table_names()
    else:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_stories_fts' AND schemaname = current_schema()")).scalar_one() == 1


def test_upgrade_is_idempotent_and_reaches_head(engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_constraints_are_named_by_the_convention(engine) -> None:
    from sqlalchemy import inspect

    names = {u["name"] for u in inspect(engine).get_unique_constraints("sightings")}
    assert "uq_sightings_feed_id" in names or any(n and n.startswith("uq_sightings_") for n in names)
