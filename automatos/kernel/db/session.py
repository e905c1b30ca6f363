"""Engines and sessions: the one place that knows how each dialect is tuned.

Decisions:
- SQLite (the embedded default) runs in WAL mode so readers never block the writer, with foreign
  keys on (off by default in SQLite) and a busy timeout so concurrent writers wait instead of
  failing; the pragmas are set on every new connection. The file is created 0600 (and its
  directory 0700) on demand: see :mod:`automatos.kernel.datadir`.
- PostgreSQL gets a sized pool (``DATABASE_POOL_SIZE``) with pre-ping, so connections dropped by a
  restart or a proxy are replaced instead of failing the next request: after an outage the
  process recovers by itself, no restart.
- The kernel's engine (:func:`create_engine`) uses :class:`~automatos.kernel.db.pool.FairPool` on
  both dialects: a workspace holds at most its share of the pool, a task at most one connection,
  and nobody waits longer than ``DATABASE_POOL_TIMEOUT`` for one (see :mod:`automatos.kernel.db.pool`).
- Every engine hides SQL parameters (``hide_parameters``): a failing statement's log line or
  exception text never carries values such as key hashes or message text.
- Sessions do not expire objects on commit: handlers return ORM rows after committing, and an
  async session cannot lazily reload them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

from automatos.kernel.datadir import prepare_sqlite_file
from automatos.kernel.db.pool import FairPool, WorkspaceShares, default_share
from automatos.kernel.db.sqlite_cursor import one_trip

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_engine", "engine_from_url", "make_sessionmaker"]

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for another writer before giving up."""
WAL_ATTEMPTS = 40
"""Tries at switching a new SQLite file to WAL (about 4 s in all) while others open it too."""


def _sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names, or ``None`` for in-memory and URI forms."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    one_trip(dbapi_connection)  # a statement is one trip to aiosqlite's thread, not four
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: what follows may wait
        _wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster
    finally:
        cursor.close()


def _wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so). Switching needs an exclusive lock and SQLite answers
    "database is locked" at once, without its busy handler, when several connections open a new file
    together (nodes or the CLI starting at the same time): retry for a while, without blocking the loop."""
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
        await_(asyncio.sleep(0.005 * (attempt + 1)))


_encode_json = msgspec.json.Encoder().encode


def json_text(value: Any) -> str:
    """JSON columns' serializer: msgspec, a third of ``json.dumps``'s time on the routing decisions'
    batch writes (``bench/routing.py``). NaN and infinities become ``null`` (``json.dumps`` wrote
    ``NaN``, which PostgreSQL's ``jsonb`` refuses)."""
    return _encode_json(value).decode()


def engine_from_url(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` with the dialect's tuning (used by migrations and tools)."""
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_text)
    pooled = kwargs.get("poolclass") in (None, FairPool)  # a queue pool, which takes a size
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is None:  # in-memory or a URI: SQLAlchemy's own choice of pool
            if kwargs.get("poolclass") is FairPool:
                del kwargs["poolclass"]
                kwargs.pop("pool_timeout", None)
        else:
            prepare_sqlite_file(path)  # 0600 before SQLite opens it, so its -wal/-shm are 0600 too
            if pool_size is not None and pooled:
                kwargs["pool_size"] = pool_size
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    if pool_size is not None and pooled:
        kwargs["pool_size"] = pool_size
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_engine(settings: Settings) -> AsyncEngine:
    """The kernel's engine for :attr:`Settings.resolved_database_url`, with the workspace shares."""
    engine = engine_from_url(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        poolclass=FairPool,
        pool_timeout=settings.database_pool_timeout,
    )
    pool = engine.sync_engine.pool
    if isinstance(pool, FairPool):
        share = settings.database_workspace_share or default_share(settings.database_pool_size)
        pool.configure(WorkspaceShares(share, settings.database_pool_timeout))
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine`` whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
