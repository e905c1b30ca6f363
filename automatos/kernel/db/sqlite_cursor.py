"""SQLite on the embedded default: one trip to aiosqlite's thread per statement, not four.

SQLAlchemy's aiosqlite adapter makes each statement four round trips between the event loop and the
connection's thread — make a cursor, execute, fetch the rows, close the cursor — and each trip is a
queue put, a thread wake-up and a loop wake-up (about 0.1 ms on this machine, more under load). A
recipe step's ten statements were forty trips, most of its 9 ms (``bench/recipes.py``;
``bench/sqlite_cursor.py`` measures the trips alone).

:class:`OneTripCursor` sends one function that does all four in the thread and brings back the rows,
``description``, ``rowcount`` and ``lastrowid``; the rest of SQLAlchemy's adapter (transactions,
errors, the fetch methods over the buffered rows) is unchanged. :func:`one_trip` switches a new
connection's adapter to it (the engine's ``connect`` event). Server-side cursors (``stream()``)
keep SQLAlchemy's own. Written against SQLAlchemy 2.1's ``AsyncAdapt_dbapi_cursor`` (the supported
range, ``sqlalchemy>=2.1``); the suite runs it on the lowest and the locked versions.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

__all__ = ["OneTripConnection", "OneTripCursor", "one_trip"]

_Result = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    """In the connection's thread: the statement, its rows, then the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one trip to the thread (see the module docstring)."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: nothing to make or close
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._rows = collections.deque()
        self._soft_closed_memoized = EMPTY_DICT
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            got: _Result = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = got
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            await_(self._trip(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            await_(self._trip(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def nextset(self) -> None:
        """No further result set: SQLite has one per statement (DB-API: ``None``)."""
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, with :class:`OneTripCursor` for buffered cursors."""

    __slots__ = ()
    _cursor_cls = OneTripCursor


def one_trip(dbapi_connection: Any) -> None:
    """Switch a new connection's adapter to :class:`OneTripConnection` (same slots, same state)."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
