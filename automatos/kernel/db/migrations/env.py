"""Alembic environment: runs the one revision graph (the kernel's and its sources') on an async engine.

Three ways in, one path: :mod:`automatos.kernel.db.migrate` hands over an open connection in
``config.attributes["connection"]`` (its caller already runs an event loop); otherwise the URL comes
from ``config.attributes["url"]`` or the ``sqlalchemy.url`` option and this module runs its own loop
(the ``alembic`` command line, for authors writing a new revision). SQLite migrations are rendered
in batch mode, because SQLite can only change most of a table by rebuilding it.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from automatos.kernel.db import models  # noqa: F401 - registers the kernel tables on Base.metadata
from automatos.kernel.db.base import Base
from automatos.kernel.db.migrate import modelled
from automatos.kernel.db.session import engine_from_url

__all__: list[str] = []

config = context.config
# the kernel's MetaData and every migration source's (automatos.kernel.db.migrate.alembic_config): the
# kernel imports no feature package or extension; whoever runs the migrations hands their models over
target_metadata = config.attributes.get("metadata") or Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set config.attributes['url'] or the sqlalchemy.url option")
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=modelled,  # autogenerate never proposes dropping the ANN indexes
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = engine_from_url(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
