"""Alembic environment: runs online against the engine the service passes in,
or against MONITOR_DATABASE_URL when run with the ``alembic`` command."""

from __future__ import annotations

import os

from alembic import context

from monitor.db.engine import make_engine
from monitor.db.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(os.environ.get("MONITOR_DATABASE_URL", "sqlite:///monitor.db"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=os.environ.get("MONITOR_DATABASE_URL", "sqlite:///monitor.db"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
