"""Run the one Alembic revision graph from code (``automatos db upgrade``, the kernel's start, tests).

The graph is the kernel's revisions (``migrations/versions`` here) plus every
:class:`~automatos.kernel.parts.MigrationSource` the caller passes: the extensions' (the
``register_migrations`` hook) and the feature packages' (the composition root), which the kernel
holds as ``kernel.parts.migrations``. The kernel imports none of their models: a source is a
directory of revision files (and optionally its ``MetaData``). The historical chain is unchanged —
``0001`` (kernel) → ``0002`` (``api_keys``, now in the API-key extension's directory) → ``0003``
(kernel) → ``0004`` (the agents schema, now in the agents package's directory) — same ids, same
order, so an existing database migrates as before; but every source is needed to walk it, hence
``sources`` is a required argument. A new source starts its own branch; with several branches the
target is every head (``heads``) and :func:`head`/:func:`current` join the heads with spaces.

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
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import alembic
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from automatos.kernel.db.session import engine_from_url

if TYPE_CHECKING:
    from automatos.kernel.parts import MigrationSource

__all__ = [
    "MIGRATIONS_DIR",
    "UNMODELLED_INDEX",
    "alembic_config",
    "current",
    "head",
    "heads",
    "modelled",
    "upgrade",
    "upgrade_sync",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_ALEMBIC = tuple(int(part) for part in alembic.__version__.split(".")[:2])
_PG_LOCK_KEY = 0x6175746F6D61  # "automa": any constant shared by every node of a deployment


UNMODELLED_INDEX = re.compile(r"_(?:hnsw|ivfflat)_")
"""Index names that belong to their migration alone: approximate-nearest-neighbour indexes (PostgreSQL
only, over a cast of an un-dimensioned column, e.g. the pgvector extension's
``ix_vector_items_hnsw_*``) that no model can declare on both dialects. Autogenerate and the
schema-drift test leave them out instead of proposing to drop them."""


def modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name``: everything but the :data:`UNMODELLED_INDEX` indexes."""
    return not (type_ == "index" and name is not None and UNMODELLED_INDEX.search(name) is not None)


def alembic_config(url: str | None = None, *, sources: Sequence[MigrationSource]) -> Config:
    """An Alembic :class:`Config` for the kernel's revisions and ``sources``', without an ini file.

    ``config.attributes["metadata"]`` lists the kernel's ``MetaData`` and the sources' (for
    autogenerate); the URL goes in ``config.attributes["url"]``.
    """
    from automatos.kernel.db import models  # noqa: F401 - the kernel's tables on Base.metadata
    from automatos.kernel.db.base import Base

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *(source.versions for source in sources)]
    # the separator option was renamed in Alembic 1.16 (the old name still works, with a warning)
    config.set_main_option("path_separator" if _ALEMBIC >= (1, 16) else "version_path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p).replace("%", "%%") for p in locations))
    metadata = [Base.metadata]
    metadata += [s.metadata for s in sources if s.metadata is not None and s.metadata not in metadata]
    config.attributes["metadata"] = metadata
    if url is not None:
        config.attributes["url"] = url
    return config


def heads(sources: Sequence[MigrationSource]) -> tuple[str, ...]:
    """The newest revisions the code knows (one per branch), sorted."""
    found = ScriptDirectory.from_config(alembic_config(sources=sources)).get_heads()
    if not found:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return tuple(sorted(found))


def head(sources: Sequence[MigrationSource]) -> str:
    """The newest revision the code knows (the heads joined by spaces when there are branches)."""
    return " ".join(heads(sources))


async def _lock(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection, url: str, revision: str, sources: Sequence[MigrationSource]) -> None:
    config = alembic_config(url, sources=sources)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "heads", *, sources: Sequence[MigrationSource]) -> None:
    """Bring the database at ``url`` to ``revision`` (every head by default); a no-op when it is
    there already. ``sources``: every revision directory besides the kernel's (``kernel.parts.migrations``)."""
    engine = engine_from_url(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await _lock(connection)
            await connection.run_sync(_upgrade, url, revision, sources)
            await connection.commit()
    finally:
        await engine.dispose()


def _current(connection: Connection) -> Any:
    return MigrationContext.configure(connection).get_current_heads()


async def current(url: str) -> str | None:
    """The revision the database at ``url`` is at (its heads joined by spaces), or ``None`` before
    the first migration."""
    engine = engine_from_url(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            revisions = await connection.run_sync(_current)
    finally:
        await engine.dispose()
    return " ".join(sorted(str(r) for r in revisions)) or None


def upgrade_sync(url: str, revision: str = "heads", *, sources: Sequence[MigrationSource]) -> None:
    """:func:`upgrade` for callers without an event loop (the CLI)."""
    asyncio.run(upgrade(url, revision, sources=sources))
