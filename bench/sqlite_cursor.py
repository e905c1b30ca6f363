"""SQLite statements through SQLAlchemy's aiosqlite cursor vs :class:`OneTripCursor`, side by side.

Two engines on two copies of one SQLite file (WAL, the kernel's PRAGMAs): **stock** with
SQLAlchemy's adapter (a statement is four trips to aiosqlite's thread: make a cursor, execute,
fetch, close) and **one trip** with :mod:`automatos.kernel.db.sqlite_cursor` — and on a third copy
**one trip + deferred**: the same cursor with ``BEGIN`` and the writes inside
:func:`~automatos.kernel.db.sqlite_cursor.deferred`, so they go with the next read and the commit
(three trips instead of seven), as the recipes engine sends them. Each round runs, on each engine,
the same transactions in the shape of a recipe step's: ``BEGIN IMMEDIATE``, read a row by its key,
read a few rows, update one, insert two, commit. Rounds rotate the order; medians of ms per
transaction and the per-round ratios are printed.

Run: .venv/bin/python bench/sqlite_cursor.py [--rounds 7] [--transactions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from common import fmt, header, median, quiet, table
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.kernel.db import session as db_session
from automatos.kernel.db.session import engine_from_url
from automatos.kernel.db.sqlite_cursor import deferred

STOCK, ONE, DEFERRED = "stock", "one trip", "one trip + deferred"

SCHEMA = [
    "CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT, events INTEGER)",
    "CREATE TABLE steps (run_id TEXT, step TEXT, attempt INTEGER, status TEXT, PRIMARY KEY (run_id, step, attempt))",
    "CREATE TABLE events (run_id TEXT, seq INTEGER, kind TEXT, PRIMARY KEY (run_id, seq))",
]


async def engine(path: Path, stock: bool) -> AsyncEngine:
    made = engine_from_url(f"sqlite+aiosqlite:///{path}", pool_size=2)
    if stock:  # the kernel's PRAGMAs without the switch to the one-trip cursor
        event.remove(made.sync_engine, "connect", db_session._on_sqlite_connect)
        event.listen(made.sync_engine, "connect", _pragmas_only)
    async with made.begin() as connection:
        for statement in SCHEMA:
            await connection.execute(text(statement))
        for i in range(50):
            await connection.execute(text("INSERT INTO runs VALUES (:id, 'running', 0)"), {"id": f"r{i}"})
    return made


def _pragmas_only(dbapi_connection: object, record: object) -> None:
    original = db_session.one_trip
    db_session.one_trip = lambda _connection: None  # type: ignore[assignment]
    try:
        db_session._on_sqlite_connect(dbapi_connection, record)
    finally:
        db_session.one_trip = original


async def transactions(made: AsyncEngine, count: int, offset: int, *, defer: bool = False) -> float:
    started = time.perf_counter()
    for n in range(count):
        run = f"r{n % 50}"
        async with made.connect() as connection:
            async with deferred(connection) if defer else contextlib.nullcontext():
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            (await connection.execute(text("SELECT * FROM runs WHERE id = :id"), {"id": run})).all()
            (await connection.execute(text("SELECT * FROM steps WHERE run_id = :id"), {"id": run})).all()
            async with deferred(connection) if defer else contextlib.nullcontext():
                await connection.execute(text("UPDATE runs SET events = events + 2 WHERE id = :id"), {"id": run})
                await connection.execute(
                    text("INSERT INTO steps VALUES (:id, :step, 1, 'running')"),
                    {"id": run, "step": f"s{offset + n}"},
                )
                await connection.execute(
                    text("INSERT INTO events VALUES (:id, :seq, 'step.started')"), {"id": run, "seq": offset + n}
                )
            await connection.commit()
    return (time.perf_counter() - started) * 1000 / count


async def run(rounds: int, count: int) -> int:
    with tempfile.TemporaryDirectory(prefix="automatos-bench-sqlite-") as tmp:
        engines = {
            STOCK: await engine(Path(tmp) / "stock.db", True),
            ONE: await engine(Path(tmp) / "one.db", False),
            DEFERRED: await engine(Path(tmp) / "deferred.db", False),
        }
        for name, made in engines.items():  # warm
            await transactions(made, 20, 10_000_000, defer=name == DEFERRED)
        times: dict[str, list[float]] = {name: [] for name in engines}
        names = list(engines)
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                times[name].append(await transactions(engines[name], count, r * count, defer=name == DEFERRED))
        for made in engines.values():
            await made.dispose()
    header("SQLite transactions (a recipe step's shape): SQLAlchemy's aiosqlite cursor vs one trip")
    table(
        ["cursor", "ms per transaction (median)", "per round"],
        [[name, fmt(median(v)), " ".join(f"{x:.2f}" for x in v)] for name, v in times.items()],
    )
    for a, b in ((STOCK, ONE), (ONE, DEFERRED), (STOCK, DEFERRED)):
        ratios = [x / y for x, y in zip(times[a], times[b], strict=True)]
        print(f"{a} / {b}: median {median(ratios):.2f}x; per round {' '.join(f'{x:.2f}' for x in ratios)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--transactions", type=int, default=200)
    args = parser.parse_args()
    quiet()
    return asyncio.run(run(args.rounds, args.transactions))


if __name__ == "__main__":
    raise SystemExit(main())
