"""The kernel's database layer on SQLite and on a real PostgreSQL with pgvector.

Each PostgreSQL test module gets a database of its own (``CREATE DATABASE``), so migrations start
from nothing and other modules' rows cannot interfere.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, delete, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from automatos.agents import models as agent_models  # noqa: F401 - their tables are in the chain too
from automatos.chat import models as chat_models  # noqa: F401 - likewise
from automatos.extensions.auth.api_keys import models as api_key_models  # noqa: F401 - the extension's table
from automatos.extensions.vectors.pgvector import ANN_INDEXES
from automatos.kernel.db import (
    AuditLogEntry,
    Base,
    User,
    Workspace,
    WorkspaceExtension,
    WorkspaceMember,
    create_engine,
    current,
    head,
    make_sessionmaker,
    upgrade,
    upgrade_sync,
)
from automatos.kernel.db.migrate import modelled
from automatos.kernel.db.session import engine_from_url
from automatos.kernel.settings import load_settings
from automatos.llm import models as llm_models  # noqa: F401 - likewise
from automatos.marketplace import models as marketplace_models  # noqa: F401 - likewise
from automatos.tools import models as tool_models  # noqa: F401 - likewise
from tests.helpers import migrations
from tests.services import fresh_database

__all__: list[str] = []

KERNEL_TABLES = {
    "workspaces",
    "users",
    "workspace_members",
    "workspace_extensions",
    "system_settings",
    "audit_log",
    "vector_items",
    "api_keys",
    "kernel_events",
}


@pytest.fixture(scope="module")
async def postgres_db_url(postgres_url: str) -> AsyncIterator[str]:
    """This module's own database."""
    async with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="module")
async def postgres_migrated(postgres_db_url: str) -> str:
    await upgrade(postgres_db_url, sources=migrations())
    return postgres_db_url


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A directory that does not exist yet: creating it is the engine's job.
    path = tmp_path_factory.mktemp("db") / "nested" / "automatos.db"
    yield f"sqlite+aiosqlite:///{path.as_posix()}"


@pytest.fixture(scope="module")
async def sqlite_migrated(sqlite_url: str) -> str:
    await upgrade(sqlite_url, sources=migrations())
    return sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each dialect (PostgreSQL starts only when a test needs it)."""
    return str(request.getfixturevalue(f"{request.param}_migrated"))


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine built the way the kernel builds it."""
    engine = create_engine(load_settings({}, database_url=migrated_url))
    try:
        yield engine
    finally:
        await engine.dispose()


def _schema_diff(connection: Connection) -> list[Any]:
    opts = {"compare_type": True, "compare_server_default": True, "include_name": modelled}
    context = MigrationContext.configure(connection, opts=opts)
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


# --- Migrations ---------------------------------------------------------------------------------


async def test_sqlite_upgrade_creates_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'fresh' / 'a.db').as_posix()}"
    assert await current(url) is None
    await upgrade(url, sources=migrations())
    assert await current(url) == head(migrations())
    await upgrade(url, sources=migrations())  # second run: nothing to do, nothing fails
    assert await current(url) == head(migrations())
    engine = create_engine(load_settings({}, database_url=url))
    try:
        async with engine.connect() as connection:
            assert KERNEL_TABLES <= await connection.run_sync(_tables)
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert sorted(v for (v,) in versions) == head(migrations()).split()  # one row per branch
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_upgrade_enables_vector_and_uses_jsonb(postgres_migrated: str) -> None:
    await upgrade(postgres_migrated, sources=migrations())  # idempotent
    assert await current(postgres_migrated) == head(migrations())
    engine = create_async_engine(postgres_migrated)
    try:
        async with engine.connect() as connection:
            assert KERNEL_TABLES <= await connection.run_sync(_tables)
            assert await connection.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'")) == 1
            types: dict[str, str] = dict(
                (
                    await connection.execute(
                        text(
                            "SELECT table_name || '.' || column_name, udt_name FROM information_schema.columns "
                            "WHERE table_schema = 'public'"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    for column in (
        "workspaces.settings",
        "workspace_extensions.config",
        "system_settings.value",
        "audit_log.data",
        "vector_items.metadata",
        "api_keys.scopes",
        "kernel_events.payload",
    ):
        assert types[column] == "jsonb", column
    assert types["vector_items.embedding"] == "vector"
    assert types["workspaces.created_at"] == "timestamptz"


def test_upgrade_sync_runs_without_an_event_loop(tmp_path: Path) -> None:
    """What ``automatos db upgrade`` calls: plain sync code, no loop running."""
    url = f"sqlite+aiosqlite:///{(tmp_path / 'cli.db').as_posix()}"

    def run() -> str | None:
        upgrade_sync(url, sources=migrations())
        upgrade_sync(url, sources=migrations())
        return asyncio.run(current(url))

    # A thread of its own: asyncio.run must not touch the test session's event loop.
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(run()))
    thread.start()
    thread.join(60)
    assert result == [head(migrations())]


async def test_concurrent_upgrades_run_once_on_sqlite(tmp_path: Path) -> None:
    """Several nodes starting together: the lock makes the others find the schema at head."""
    url = f"sqlite+aiosqlite:///{(tmp_path / 'race.db').as_posix()}"
    await asyncio.gather(*(upgrade(url, sources=migrations()) for _ in range(3)))
    assert await current(url) == head(migrations())


async def test_a_new_sqlite_file_opened_by_many_at_once(tmp_path: Path) -> None:
    """Switching a new file to WAL fails at once ("database is locked", no busy wait) for a connection
    that races another doing the same: nodes, or the CLI and a server, starting together."""
    for attempt in range(25):
        url = f"sqlite+aiosqlite:///{(tmp_path / f'new-{attempt}.db').as_posix()}"
        engines = [engine_from_url(url) for _ in range(4)]

        async def first_statement(engine: AsyncEngine) -> str:
            async with engine.connect() as connection:
                return str(await connection.scalar(text("PRAGMA journal_mode")))

        try:
            assert await asyncio.gather(*(first_statement(e) for e in engines)) == ["wal"] * 4
        finally:
            for engine in engines:
                await engine.dispose()


@pytest.mark.postgres
async def test_concurrent_upgrades_run_once_on_postgres(postgres_url: str) -> None:
    async with fresh_database(postgres_url) as url:
        await asyncio.gather(*(upgrade(url, sources=migrations()) for _ in range(3)))
        assert await current(url) == head(migrations())


def _check_constraints(connection: Connection) -> dict[str, set[str | None]]:
    inspector = inspect(connection)
    return {table: {c["name"] for c in inspector.get_check_constraints(table)} for table in KERNEL_TABLES}


async def test_metadata_matches_migrations(engine: AsyncEngine) -> None:
    # No exceptions needed: the migration spells out the same types, defaults and constraint
    # names as the models, and EmbeddingType/UTCDateTime compile to the reflected types.
    async with engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []
        # Alembic does not compare CHECK constraints: their names are checked here.
        reflected = await connection.run_sync(_check_constraints)
    declared = {
        table: {c.name for c in Base.metadata.tables[table].constraints if isinstance(c, CheckConstraint)}
        for table in KERNEL_TABLES
    }
    assert reflected == declared
    assert reflected["workspace_members"] == {"ck_workspace_members_role"}
    assert reflected["api_keys"] == {"ck_api_keys_role"}


# --- Engines ------------------------------------------------------------------------------------


async def test_sqlite_engine_pragmas(sqlite_migrated: str) -> None:
    engine = create_engine(load_settings({}, database_url=sqlite_migrated))
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 5000
    finally:
        await engine.dispose()


def test_default_settings_put_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data")
    engine = create_engine(settings)
    try:
        assert engine.dialect.name == "sqlite"
        assert (tmp_path / "data").is_dir()
    finally:
        engine.sync_engine.dispose()


@pytest.mark.postgres
async def test_postgres_engine_pool(postgres_migrated: str) -> None:
    engine = create_engine(load_settings({}, database_url=postgres_migrated, database_pool_size=3))
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._pre_ping
    finally:
        await engine.dispose()


# --- Tables -------------------------------------------------------------------------------------


async def _two_workspaces(engine: AsyncEngine) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        a = Workspace(slug=f"a-{tag}", name="A")
        b = Workspace(slug=f"b-{tag}", name="B")
        user = User(email=f"{tag}@example.com", display_name="Ann")
        session.add_all([a, b, user])
        await session.flush()
        session.add_all(
            [
                WorkspaceMember(workspace_id=a.id, user_id=user.id, role="owner"),
                WorkspaceMember(workspace_id=b.id, user_id=user.id, role="viewer"),
                WorkspaceExtension(workspace_id=a.id, name="automatos.llm.offline", config={"k": "a"}),
                WorkspaceExtension(workspace_id=b.id, name="automatos.llm.offline", config={"k": "b"}),
                AuditLogEntry(workspace_id=a.id, action="x.created", target_type="x", target_id="1"),
                AuditLogEntry(workspace_id=b.id, action="x.created", target_type="x", target_id="2"),
                AuditLogEntry(workspace_id=None, action="platform.changed", target_type="settings", target_id="-"),
            ]
        )
    # Known right after the insert, without a refresh (an async session cannot lazy-load).
    assert a.created_at.tzinfo is not None and user.is_active and not user.is_platform_admin
    return a.id, b.id


async def test_workspace_scoped_queries_see_only_their_rows(engine: AsyncEngine) -> None:
    a, b = await _two_workspaces(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        configs = (
            await session.scalars(select(WorkspaceExtension.config).where(WorkspaceExtension.workspace_id == a))
        ).all()
        assert configs == [{"k": "a"}]
        targets = (await session.scalars(select(AuditLogEntry.target_id).where(AuditLogEntry.workspace_id == a))).all()
        assert targets == ["1"]
        roles = (await session.scalars(select(WorkspaceMember.role).where(WorkspaceMember.workspace_id == b))).all()
        assert roles == ["viewer"]


async def test_defaults_and_aware_timestamps(engine: AsyncEngine) -> None:
    a, _ = await _two_workspaces(engine)
    async with make_sessionmaker(engine)() as session:
        workspace = await session.get(Workspace, a)
        assert workspace is not None
        assert (workspace.status, workspace.extensions_version, workspace.settings) == ("active", 0, {})
        assert workspace.created_at.tzinfo is not None
        assert workspace.created_at.utcoffset() == UTC.utcoffset(None)
        assert len(workspace.id) == 36


async def test_constraints_hold(engine: AsyncEngine) -> None:
    a, _ = await _two_workspaces(engine)
    sessions = make_sessionmaker(engine)
    user_id = str(uuid.uuid4())
    async with sessions.begin() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com"))
    with pytest.raises(IntegrityError):  # role outside owner|admin|member|viewer
        async with sessions.begin() as session:
            session.add(WorkspaceMember(workspace_id=a, user_id=user_id, role="superuser"))
    with pytest.raises(IntegrityError):  # unknown workspace: foreign keys are on, on SQLite too
        async with sessions.begin() as session:
            session.add(WorkspaceMember(workspace_id=str(uuid.uuid4()), user_id=user_id))
    # Removing a workspace row by hand leaves no orphans behind.
    async with sessions.begin() as session:
        await session.execute(delete(Workspace).where(Workspace.id == a))
    async with sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(WorkspaceMember).where(WorkspaceMember.workspace_id == a)
        )
        assert left == 0


async def test_schema_diff_is_not_blind(sqlite_migrated: str) -> None:
    """The comparison above would notice a column the migrations lack."""
    from sqlalchemy import Column, Integer, MetaData

    altered = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(altered)
    altered.tables["workspaces"].append_column(Column("extra", Integer))

    def diff(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), altered))

    engine = create_engine(load_settings({}, database_url=sqlite_migrated))
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "workspaces", "extra")]


def test_json_columns_are_written_as_json_without_nan() -> None:
    """The engines' JSON serializer (msgspec): valid JSON for PostgreSQL's jsonb, NaN as null."""
    import json
    import math

    from automatos.kernel.db.session import json_text

    text = json_text({"a": [1, 2.5, "é", None, True], "n": math.nan, "i": -math.inf})
    assert json.loads(text) == {"a": [1, 2.5, "é", None, True], "n": None, "i": None}


def test_the_ann_indexes_are_left_out_of_autogenerate_and_nothing_else() -> None:
    """env.py's include_name: pgvector's HNSW indexes are their migration's alone."""
    assert ANN_INDEXES
    for name in ANN_INDEXES.values():
        assert not modelled(name, "index", {})
    assert modelled("ix_vector_items_workspace_id", "index", {})
    assert modelled("vector_items", "table", {}) and modelled(None, "index", {})
