"""Alembic environment for feedback-assistant's history database.

``storage.Store`` runs ``upgrade head`` on open, passing its own connection (already inside a transaction
that holds the database's write lock) in ``config.attributes["connection"]``; there is no alembic.ini. To
make a new migration during development::

    python -c "from feedback_assistant.storage import alembic_config; from alembic import command; \
command.revision(alembic_config('sqlite:////tmp/dev.sqlite'), 'what changed', autogenerate=True)"
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from feedback_assistant.storage_schema import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
