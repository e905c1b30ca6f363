"""Run the kernel's Alembic migrations from code (``automatos db upgrade``, tests, startup checks).

Decisions:
- No ``alembic.ini`` at run time: :func:`alembic_config` builds the configuration in code, with the
  URL passed in ``config.attributes`` (a URL in an ini option would break on ``%`` in passwords).
- Alembic's commands are synchronous; they run inside ``AsyncConnection.run_sync`` on a connection
  opened here, so they work from a running event loop.
- Several nodes may start at once: the whole upgrade runs in one transaction that first takes a
  lock — a transaction-scoped advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` (the write lock) on
  SQLite — so migrations run once and the others find the schema already at head. On SQLite the
  explicit ``BEGIN`` also makes the DDL transactional, which pysqlite otherwise does not.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from automatos.kernel.db.session import engine_from_url
from automatos.kernel.parts import MigrationSource

__all__ = ["MIGRATIONS_DIR", "MigrationSource", "alembic_config", "current", "head", "upgrade", "upgrade_sync"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_PG_LOCK_KEY = 0x6175746F6D61  # "automa": any constant shared by every node of a deployment


def alembic_config(url: str | None = None) -> Config:
    """An Alembic :class:`Config` for the kernel's migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["url"] = url
    return config


def head() -> str:
    """The newest revision the code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return revision


async def _lock(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; a no-op when it is there already."""
    engine = engine_from_url(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await _lock(connection)
            await connection.run_sync(_upgrade, url, revision)
            await connection.commit()
    finally:
        await engine.dispose()


def _current(connection: Connection) -> Any:
    return MigrationContext.configure(connection).get_current_revision()


async def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or ``None`` before the first migration."""
    engine = engine_from_url(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            revision = await connection.run_sync(_current)
    finally:
        await engine.dispose()
    return None if revision is None else str(revision)


def upgrade_sync(url: str, revision: str = "head") -> None:
    """:func:`upgrade` for callers without an event loop (the CLI)."""
    asyncio.run(upgrade(url, revision))
