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
keep SQLAlchemy's own.

:func:`deferred` goes further for a caller that does not read what its writes answer: inside it,
statements that return no rows (``BEGIN``, ``INSERT``/``UPDATE``/``DELETE`` without ``RETURNING``)
wait, and go to the thread with the next statement that does, or with the ``COMMIT`` — the
recipes engine's transaction, ``BEGIN IMMEDIATE`` and a run read, then five writes and the commit,
is three trips instead of nine. A rollback drops what waits. Outside :func:`deferred`, nothing
changes. Its limits, for the callers that use it:

- a held statement's ``rowcount`` is unknown (-1) and it has no ``lastrowid``: only Core statements
  whose answers nobody reads belong inside — never an ORM flush, which checks row counts;
- a held statement that fails raises at the next trip (its message names it, never its
  parameters), and from then on every statement of the transaction fails until it is rolled back:
  a savepoint or a caught error cannot commit half of what was held;
- what waits is sent before a server-side cursor's (``stream()``) statement too; the parameters
  are copied when held.

Written against SQLAlchemy 2.1's ``AsyncAdapt_dbapi_cursor`` (the supported
range, ``sqlalchemy>=2.1``); the suite runs it on the lowest and the locked versions.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["HeldFirstCursor", "OneTripConnection", "OneTripCursor", "deferred", "one_trip"]

_Result = tuple[Any, list[Any], int, int | None]
_Statement = tuple[str, Any, bool]


class _Waiting:
    """A connection's statements held by :func:`deferred` (``on``: holding new ones; ``failed``:
    one of them failed, and the transaction must be rolled back)."""

    __slots__ = ("failed", "on", "statements")

    def __init__(self) -> None:
        self.on = False
        self.statements: list[_Statement] = []
        self.failed: str | None = None


_WAITING: weakref.WeakKeyDictionary[Any, _Waiting] = weakref.WeakKeyDictionary()
"""Per aiosqlite connection (the adapter's ``__slots__`` leave no room, see :func:`one_trip`)."""

_FAILED = "automatos_deferred"
"""Set on the error of a held statement that failed (in the thread): the statement, shortened."""


async def _no_wait() -> None:
    return None


def _take(driver: Any) -> list[_Statement]:
    """What waits, to send now — unless a held statement failed earlier in this transaction."""
    waiting = _WAITING.get(driver)
    if waiting is None:
        return []
    if waiting.failed is not None:
        raise sqlite3.OperationalError(
            f"a deferred statement failed earlier in this transaction ({waiting.failed}); it must be rolled back"
        )
    statements, waiting.statements = waiting.statements, []
    return statements


def _mark(driver: Any, error: BaseException) -> None:
    """After a trip raised: a held statement's failure poisons the transaction (see the docstring)."""
    failed = getattr(error, _FAILED, None)
    waiting = _WAITING.get(driver)
    if failed is not None and waiting is not None:
        waiting.failed = failed


def _clear(driver: Any) -> None:
    waiting = _WAITING.get(driver)
    if waiting is not None:
        waiting.statements, waiting.failed = [], None


def _copy(parameters: Any) -> Any:
    if parameters is None:
        return None
    return dict(parameters) if isinstance(parameters, Mapping) else tuple(parameters)


def _no_rows(operation: str) -> bool:
    head = operation.lstrip()[:7].upper()
    if head.startswith("BEGIN"):
        return True
    return head.startswith(("INSERT", "UPDATE", "DELETE")) and "RETURNING" not in operation.upper()


def _execute(cursor: sqlite3.Cursor, operation: str, parameters: Any, many: bool) -> None:
    if many:
        cursor.executemany(operation, parameters)
    elif parameters is None:
        cursor.execute(operation)
    else:
        cursor.execute(operation, parameters)


def _send(connection: sqlite3.Connection, statements: list[_Statement]) -> None:
    """In the connection's thread: statements whose answers nobody reads, in order; a failure
    names its statement (never its parameters)."""
    for operation, parameters, many in statements:
        cursor = connection.cursor()
        try:
            _execute(cursor, operation, parameters, many)
        except sqlite3.Error as error:
            where = " ".join(operation.split())[:200]
            setattr(error, _FAILED, where)
            first = error.args[0] if error.args else type(error).__name__
            error.args = (f"{first} (in a deferred statement: {where})", *error.args[1:])
            raise
        finally:
            cursor.close()


def _send_and_commit(connection: sqlite3.Connection, statements: list[_Statement]) -> None:
    _send(connection, statements)
    connection.commit()


def _run(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool, before: list[_Statement]
) -> _Result:
    """In the connection's thread: what waited, the statement, its rows, then the cursor closed."""
    _send(connection, before)
    cursor = connection.cursor()
    try:
        _execute(cursor, operation, parameters, many)
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
            before = _take(connection)
            try:
                got: _Result = await connection._execute(_run, connection._conn, operation, parameters, many, before)
            except Exception as error:
                _mark(connection, error)
                raise
        self._description, rows, self._rowcount, self._lastrowid = got
        self._rows = collections.deque(rows)

    def _held(self, operation: Any, parameters: Any, many: bool) -> bool:
        """Inside :func:`deferred`: a statement without rows waits for the next trip."""
        waiting = _WAITING.get(self._connection)
        if waiting is None or not waiting.on or not _no_rows(operation):
            return False
        held = [_copy(p) for p in parameters] if many else _copy(parameters)
        waiting.statements.append((operation, held, many))
        self._description, self._rowcount, self._lastrowid = None, -1, None
        self._rows = collections.deque()
        await_(_no_wait())  # SQLAlchemy's async engine wants a statement to have awaited something
        return True

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if self._held(operation, parameters, False):
            return
        try:
            await_(self._trip(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        if self._held(operation, seq_of_parameters, True):
            return
        try:
            await_(self._trip(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def nextset(self) -> None:
        """No further result set: SQLite has one per statement (DB-API: ``None``)."""
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


def _held_first(adapter: Any) -> None:
    adapter._send_held()  # a OneTripConnection (its _ss_cursor_cls)


class HeldFirstCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """SQLAlchemy's server-side cursor (``stream()``), which first sends what waits (:func:`deferred`)."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        _held_first(self._adapt_connection)
        return super().execute(operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        _held_first(self._adapt_connection)
        return super().executemany(operation, seq_of_parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, with :class:`OneTripCursor` for buffered cursors."""

    __slots__ = ()
    _cursor_cls = OneTripCursor
    _ss_cursor_cls = HeldFirstCursor

    def commit(self) -> None:
        """What waited (:func:`deferred`) and the ``COMMIT``, in one trip."""
        waiting = _WAITING.get(self._connection)
        if waiting is None or (not waiting.statements and waiting.failed is None):
            super().commit()
            return
        try:
            await_(self._send_waiting(_send_and_commit))
        except Exception as error:
            self._handle_exception(error)

    def _send_held(self) -> None:
        """What waits, alone (before a server-side cursor's statement)."""
        waiting = _WAITING.get(self._connection)
        if waiting is None or (not waiting.statements and waiting.failed is None):
            return
        try:
            await_(self._send_waiting(_send))
        except Exception as error:
            self._handle_exception(error)

    async def _send_waiting(self, send: Any) -> None:
        connection = self._connection
        async with self._execute_mutex:
            statements = _take(connection)
            try:
                await connection._execute(send, connection._conn, statements)
            except Exception as error:
                _mark(connection, error)
                raise

    def rollback(self) -> None:
        """What waited goes with the transaction."""
        _clear(self._connection)
        super().rollback()


def one_trip(dbapi_connection: Any) -> None:
    """Switch a new connection's adapter to :class:`OneTripConnection` (same slots, same state)."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection


@contextlib.asynccontextmanager
async def deferred(connection: AsyncConnection) -> AsyncIterator[None]:
    """Inside: this connection's statements that return no rows go with its next trip (see the
    module docstring). On any other database, or a connection without :class:`OneTripConnection`,
    nothing changes."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = await connection.get_raw_connection()
    if not isinstance(raw.dbapi_connection, OneTripConnection):
        yield
        return
    driver = raw.driver_connection
    waiting = _WAITING.get(driver)
    if waiting is None:
        waiting = _WAITING[driver] = _Waiting()
    waiting.on = True
    try:
        yield
    finally:
        waiting.on = False
