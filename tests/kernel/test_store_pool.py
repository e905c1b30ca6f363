"""The kernel's connection pool: each workspace's share, one connection per task, no parameters in logs.

Real engines (a SQLite file, and PostgreSQL where marked); a workspace is "the current request's" by
setting :data:`CURRENT_CONTEXT` the way the API does. Sessions are held open on events, never by
sleeping, and every assertion is on an outcome (served, refused with 503), never on a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.kernel.db import pool as db_pool
from automatos.kernel.db.session import create_engine, engine_from_url, make_sessionmaker
from automatos.kernel.errors import ServiceUnavailableError
from automatos.kernel.request_context import CURRENT_CONTEXT
from automatos.kernel.settings import load_settings
from automatos.kernel.types import RequestContext, Workspace
from tests.helpers import database_url

SECRET = "f00dfacec0ffee-not-for-the-logs"


@contextlib.contextmanager
def in_workspace(workspace_id: str | None) -> Iterator[None]:
    workspace = None if workspace_id is None else Workspace(id=workspace_id, slug=workspace_id, name=workspace_id)
    token = CURRENT_CONTEXT.set(RequestContext(request_id="t", principal=None, workspace=workspace))
    try:
        yield
    finally:
        CURRENT_CONTEXT.reset(token)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = load_settings(
        {}, data_dir=tmp_path, database_pool_size=4, database_workspace_share=2, database_pool_timeout=0.5
    )
    engine = create_engine(settings)
    try:
        yield engine
    finally:
        await engine.dispose()


def shares_of(engine: AsyncEngine) -> db_pool.WorkspaceShares:
    pool = engine.sync_engine.pool
    assert isinstance(pool, db_pool.FairPool) and pool.shares is not None
    return pool.shares


class Holder:
    """A task of workspace ``ws`` that checks out a connection and keeps it until released."""

    def __init__(self, engine: AsyncEngine, workspace_id: str | None) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> str:
        with in_workspace(self.workspace_id):
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                self.holding.set()
                await self.release.wait()
        return "served"

    async def outcome(self) -> str:
        try:
            return await self.task
        except ServiceUnavailableError as exc:
            assert exc.retry_after > 0 and "connection" in exc.detail
            return "refused"


async def hold(engine: AsyncEngine, workspace_id: str | None, count: int) -> list[Holder]:
    holders = [Holder(engine, workspace_id) for _ in range(count)]
    await asyncio.gather(*(h.holding.wait() for h in holders))
    return holders


async def test_a_workspace_holds_at_most_its_share_and_others_are_served(engine: AsyncEngine) -> None:
    shares = shares_of(engine)
    assert shares.limit == 2
    flood = await hold(engine, "ws-a", 2)
    assert shares.held("ws-a") == 2
    extra = Holder(engine, "ws-a")  # over the share: waits, then is refused (503), never served
    other = await hold(engine, "ws-b", 2)  # another workspace draws on the rest of the pool meanwhile
    assert await extra.outcome() == "refused"
    assert shares.refused == 1
    unmetered = await hold(engine, None, 1)  # outside a request nothing is metered
    for holder in [*flood, *other, *unmetered]:
        holder.release.set()
    assert {await h.outcome() for h in [*flood, *other, *unmetered]} == {"served"}
    assert shares.held("ws-a") == shares.held("ws-b") == 0


async def test_a_waiter_gets_the_connection_its_workspace_gives_back(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, database_pool_size=4, database_workspace_share=1)
    engine = create_engine(settings)  # DATABASE_POOL_TIMEOUT 10 s: the waiter is served long before
    try:
        (first,) = await hold(engine, "ws-a", 1)
        waiter = Holder(engine, "ws-a")
        await asyncio.sleep(0)  # let it queue (an outcome is asserted, not a time)
        assert not waiter.holding.is_set()
        first.release.set()
        await waiter.holding.wait()
        waiter.release.set()
        assert [await first.outcome(), await waiter.outcome()] == ["served", "served"]
        assert shares_of(engine).held("ws-a") == 0
    finally:
        await engine.dispose()


async def test_a_cancelled_waiter_leaves_no_share_behind(engine: AsyncEngine) -> None:
    shares = shares_of(engine)
    flood = await hold(engine, "ws-a", 2)
    waiter = Holder(engine, "ws-a")
    await asyncio.sleep(0)
    waiter.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter.task
    for holder in flood:
        holder.release.set()
    assert [await h.outcome() for h in flood] == ["served", "served"]
    assert shares.held("ws-a") == 0
    (again,) = await hold(engine, "ws-a", 1)  # the share is whole again
    again.release.set()
    assert await again.outcome() == "served"


async def test_unmetered_work_is_not_held_back_by_the_share(engine: AsyncEngine) -> None:
    flood = await hold(engine, "ws-a", 2)
    with in_workspace("ws-a"), db_pool.unmetered():
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    for holder in flood:
        holder.release.set()
    assert [await h.outcome() for h in flood] == ["served", "served"]


async def test_a_second_connection_in_one_task_is_refused_in_tests(engine: AsyncEngine) -> None:
    with contextlib.ExitStack() as stack:
        stack.callback(setattr, db_pool, "STRICT_CHECKOUTS", db_pool.STRICT_CHECKOUTS)
        db_pool.STRICT_CHECKOUTS = True
        with in_workspace("ws-a"):
            async with engine.connect() as outer:
                await outer.execute(text("SELECT 1"))
                with pytest.raises(db_pool.NestedCheckoutError):
                    async with engine.connect() as inner:
                        await inner.execute(text("SELECT 1"))
    assert shares_of(engine).held("ws-a") == 0


async def test_the_share_defaults_to_half_the_pool(tmp_path: Path) -> None:
    for pool_size, share in ((10, 5), (3, 1), (1, 1)):
        engine = create_engine(load_settings({}, data_dir=tmp_path, database_pool_size=pool_size))
        try:
            assert shares_of(engine).limit == share
        finally:
            await engine.dispose()
    engine = create_engine(load_settings({"DATABASE_WORKSPACE_SHARE": "7"}, data_dir=tmp_path))
    try:
        assert shares_of(engine).limit == 7
    finally:
        await engine.dispose()


# --- SQL parameters never reach logs or error text ---------------------------------------------------


async def _failing_insert(engine: AsyncEngine) -> IntegrityError:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS keys_t (key_hash VARCHAR(64) PRIMARY KEY)"))
        await connection.execute(text("DELETE FROM keys_t"))
        await connection.execute(text("INSERT INTO keys_t (key_hash) VALUES (:h)"), {"h": SECRET})
    with pytest.raises(IntegrityError) as info:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO keys_t (key_hash) VALUES (:h)"), {"h": SECRET})
    return info.value


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database_url(request, tmp_path, name="p.db", prefix="automatos_params_") as url:
        yield url


@pytest.mark.parametrize("build", ["kernel", "tool"])
async def test_a_failing_statement_shows_no_parameters(
    any_url: str, build: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine: Any
    if build == "kernel":
        engine = create_engine(load_settings({}, data_dir=tmp_path, database_url=any_url))
        engine.echo = True  # an operator turning SQL logging on must not see values either
    else:
        engine = engine_from_url(any_url, echo=True)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            error = await _failing_insert(engine)
        assert "INSERT INTO keys_t" in str(error)  # the statement is there to debug with…
        assert SECRET not in str(error)  # …its values are not
        assert "hidden" in str(error)
        assert caplog.records, "SQL logging was on: there must be lines to check"
        assert SECRET not in caplog.text
    finally:
        await engine.dispose()


async def test_sessions_of_the_kernel_engine_work_across_a_dispose(tmp_path: Path) -> None:
    engine = create_engine(load_settings({}, data_dir=tmp_path, database_pool_size=2, database_workspace_share=1))
    sessions = make_sessionmaker(engine)
    try:
        (held,) = await hold(engine, "ws-a", 1)
        await engine.dispose()  # the pool is recreated; the held connection comes back to the old one
        held.release.set()
        assert await held.outcome() == "served"
        with in_workspace("ws-a"):
            async with sessions() as session:
                assert await session.scalar(text("SELECT 1")) == 1
        assert shares_of(engine).held("ws-a") == 0
    finally:
        await engine.dispose()
