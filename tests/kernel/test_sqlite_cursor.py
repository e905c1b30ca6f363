"""The one-trip SQLite cursor (kernel/db/sqlite_cursor.py) answers as SQLAlchemy's own does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.kernel.db.session import engine_from_url
from automatos.kernel.db.sqlite_cursor import OneTripConnection, OneTripCursor, deferred


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = engine_from_url(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", pool_size=2)
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"))
    try:
        yield made
    finally:
        await made.dispose()


async def test_connections_use_the_one_trip_cursor(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)
        pragmas = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        assert pragmas == "wal"  # the connect event's PRAGMAs ran through it
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def test_rows_rowcount_lastrowid_returning_and_many(engine: AsyncEngine) -> None:
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert inserted.lastrowid == 1 and inserted.rowcount == 1
        many = await connection.execute(
            text("INSERT INTO t (name, n) VALUES (:name, :n)"), [{"name": f"m{i}", "n": i} for i in range(5)]
        )
        assert many.rowcount == 5
        returned = await connection.execute(text("INSERT INTO t (name, n) VALUES ('r', 7) RETURNING id, n"))
        assert [tuple(row) for row in returned] == [(7, 7)]
        updated = await connection.execute(text("UPDATE t SET n = n + 10 WHERE n < 3"))
        assert updated.rowcount == 4 and updated.returns_rows is False
        rows = (await connection.execute(text("SELECT name, n FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows][:3] == [("a", 11), ("m0", 10), ("m1", 11)] and len(rows) == 7
        one = await connection.execute(text("SELECT name FROM t WHERE id = :id"), {"id": 2})
        assert one.scalar_one() == "m0"
        none = await connection.execute(text("SELECT name FROM t WHERE id = -1"))
        assert none.first() is None
        assert (await connection.execute(text("DELETE FROM t WHERE n > 100"))).rowcount == 0
    assert len(statements) == 8


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 1)"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('y', 2)"))
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 3)"))
    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY name"))).scalars().all()
    assert names == ["x"]  # 'y' went with its transaction


async def test_streaming_keeps_a_server_side_cursor(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (name, n) VALUES (:name, :n)"), [{"name": f"s{i}", "n": i} for i in range(50)]
        )
    async with engine.connect() as connection:
        streamed = await connection.stream(text("SELECT n FROM t ORDER BY n"))
        got = [row[0] async for row in streamed]
    assert got == list(range(50))


# --- deferred: statements without rows wait for the next trip ---------------------------------------


def count_trips(raw: Any) -> list[str]:
    """The trips to this connection's thread, by the function sent."""
    driver = raw.driver_connection
    sent: list[str] = []
    original = driver._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    driver._execute = counted
    return sent


async def test_deferred_writes_go_with_the_next_read_and_the_commit(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        trips = count_trips(raw)
        async with deferred(connection):
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        assert trips == []  # waits for the read
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert len(trips) == 1
        async with deferred(connection):
            one = await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
            assert one.rowcount == -1  # unknown: it has not run yet
            await connection.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"), [{"name": "b", "n": 2}] * 1)
            await connection.execute(text("UPDATE t SET n = n + 10 WHERE name = 'a'"))
            returned = await connection.execute(text("INSERT INTO t (name, n) VALUES ('c', 3) RETURNING n"))
            assert returned.scalar() == 3  # RETURNING is a read: it goes at once, after what waited
            await connection.execute(text("DELETE FROM t WHERE name = 'b'"))
        assert len(trips) == 2
        outside = await connection.execute(text("UPDATE t SET n = n + 1"))
        assert len(trips) == 3 and outside.rowcount == 2  # outside deferred, nothing waits (the DELETE went first)
        async with deferred(connection):
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('d', 4)"))
        await connection.commit()
        assert len(trips) == 4  # the INSERT and the COMMIT in one
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name, n FROM t ORDER BY name"))).all()
    assert [tuple(r) for r in rows] == [("a", 12), ("c", 4), ("d", 4)]


async def test_a_deferred_error_surfaces_at_the_commit_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 1)"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            async with deferred(connection):
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('y', 2)"))
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 3)"))  # not unique
    with pytest.raises(OperationalError):
        async with engine.begin() as connection:
            async with deferred(connection):
                await connection.execute(text("UPDATE nowhere SET n = 1"))
            await connection.execute(text("SELECT 1"))  # the next trip carries it, and its error
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY name"))).scalars().all()
    assert names == ["x"]


async def test_a_rollback_drops_what_waits(tmp_path: Path) -> None:
    made = engine_from_url(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", pool_size=1)
    try:
        async with made.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        async with made.connect() as connection:
            await connection.exec_driver_sql("BEGIN")
            async with deferred(connection):
                await connection.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
            await connection.rollback()
        async with made.begin() as connection:  # the same pooled connection: nothing left waiting
            await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
        async with made.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM t"))).scalars().all()
        assert names == ["kept"]
    finally:
        await made.dispose()


async def test_deferred_changes_nothing_elsewhere(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        trips = count_trips(raw)
        async with deferred(connection):
            pass
        inserted = await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert inserted.rowcount == 1 and len(trips) == 1
        await connection.commit()


async def test_a_held_failure_poisons_the_transaction_even_past_a_savepoint(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 1)"))
    # the failing statement is inside a savepoint: its RELEASE carries it, and nothing of it stays
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('before', 0)"))
            async with connection.begin_nested():
                async with deferred(connection):
                    await connection.execute(text("INSERT INTO t (name, n) VALUES ('in-savepoint', 2)"))
                    await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', :n)"), {"n": 424242})
    message = str(raised.value)
    assert "in a deferred statement: INSERT INTO t" in message and "424242" not in message.split("[SQL")[0]
    # a caller that catches the error and commits anyway commits nothing of it
    with pytest.raises(OperationalError, match="must be rolled back"):
        async with engine.begin() as connection:
            async with deferred(connection):
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 3)"))
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('x', 4)"))
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('c', 5)"))
            with pytest.raises(IntegrityError):
                await connection.execute(text("SELECT 1"))
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('after', 6)"))
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY name"))).scalars().all()
    assert names == ["x"]
    async with engine.begin() as connection:  # rolled back: the connections work again
        await connection.execute(text("INSERT INTO t (name, n) VALUES ('y', 7)"))


async def test_held_parameters_are_copied_and_a_stream_sees_what_waited(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        params = {"name": "p", "n": 0}
        async with deferred(connection):
            for i in range(3):
                params["name"], params["n"] = f"p{i}", i
                await connection.exec_driver_sql("INSERT INTO t (name, n) VALUES (:name, :n)", params)
        streamed = await connection.stream(text("SELECT name, n FROM t ORDER BY n"))
        got = [tuple(row) async for row in streamed]
        await connection.commit()
    assert got == [("p0", 0), ("p1", 1), ("p2", 2)]
