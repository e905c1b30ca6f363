"""What the router writes and reads back: decision rows (written in batches), unrouted events, the
workspace's stored configuration.

Decisions are written off the request path: :class:`DecisionRecorder` keeps them in memory and one
background task writes what gathered in one multi-row ``INSERT`` shortly after
(:data:`FLUSH_DELAY_SECONDS`), so a route holds no database connection for its record and a cache
hit answers without one. A route hands over a :class:`PendingDecision` — plain values the garbage
collector does not track — and the rows' ids and the driver's values are made in the batch, not
per request: ``uuid4`` reads the kernel's random source with the GIL released, and while the batch
writer's thread held the GIL a request paid up to a switch interval for it. The batch goes to the
driver in one statement (:func:`write_rows`). ``bench/routing.py`` measured each of these steps.
A decision is therefore in the table a moment after its answer, not before
— readers that must see the latest (the unrouted list, tests) call :meth:`DecisionRecorder.flush`
first. Pending rows are written at shutdown (``RouterService.stop``); past :data:`MAX_PENDING` (the
database far behind or down) new rows are dropped and counted (``dropped``), never the request.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db.base import new_id
from automatos.kernel.faults import FailOpen
from automatos.routing.models import RoutingConfigRow, RoutingDecisionRow

__all__ = [
    "COLUMNS",
    "FLUSH_DELAY_SECONDS",
    "MAX_PENDING",
    "DecisionRecorder",
    "PendingDecision",
    "UnroutedEvent",
    "read_config",
    "unrouted_page",
    "write_rows",
]

log = logging.getLogger("automatos.routing")

FLUSH_DELAY_SECONDS = 0.2
MAX_PENDING = 10_000
BATCH = 1000


class UnroutedEvent(msgspec.Struct, kw_only=True):
    """A message no tier decided (``GET /api/routing/unrouted``)."""

    id: str
    created_at: datetime
    excerpt: str | None
    """The message's beginning (``ROUTING_UNROUTED_EXCERPT_CHARS``; ``null`` when set to 0)."""
    text_sha256: str
    source: str | None
    channel: str | None
    agent_id: str | None
    """The default agent that answered instead, if the workspace has one."""
    explanation: list[dict[str, Any]]


class PendingDecision(NamedTuple):
    """One decision waiting for its batch: plain values only (strings, numbers, ``None``; the
    explanation already JSON text), so the garbage collector stops tracking it — a queue of live
    objects (structs, lists, dicts) was traversed by every young-generation collection while it
    waited, which cost more than the route itself (``bench/routing.py``)."""

    workspace_id: str
    at: float
    text_sha256: str
    excerpt: str | None
    source: str | None
    channel: str | None
    route_type: str
    tier: str | None
    agent_id: str | None
    confidence: float
    reason: str
    explanation: str
    cache_hit: bool
    total_ms: float

    def values(self, row_id: str, postgres: bool, *, driver: bool = True) -> tuple[Any, ...]:
        """The row in :data:`COLUMNS` order, as the driver takes it (see :func:`write_rows`);
        ``driver=False``: the values SQLAlchemy's column types take instead."""
        at = datetime.fromtimestamp(self.at, UTC)
        native = postgres or not driver
        return (
            row_id,
            self.workspace_id,
            at if native else _sqlite_time(at),
            self.text_sha256,
            self.excerpt,
            self.source,
            self.channel,
            self.route_type,
            self.tier,
            self.agent_id,
            self.confidence,
            self.reason,
            self.explanation if driver else msgspec.json.decode(self.explanation),
            self.cache_hit if native else int(self.cache_hit),
            self.total_ms,
        )


COLUMNS = (
    "id",
    "workspace_id",
    "created_at",
    "text_sha256",
    "excerpt",
    "source",
    "channel",
    "route_type",
    "tier",
    "agent_id",
    "confidence",
    "reason",
    "explanation",
    "cache_hit",
    "total_ms",
)
"""``routing_decisions``' columns, in the order :meth:`PendingDecision.values` gives them."""
_MARKS = {
    "qmark": lambda i: "?",
    "numeric_dollar": lambda i: f"${i}",
    "numeric": lambda i: f":{i}",
    "format": lambda i: "%s",
}


_SECONDS: dict[int, str] = {}


def _sqlite_time(at: datetime) -> str:
    """How SQLAlchemy's SQLite ``DATETIME`` stores naive UTC (:class:`UTCDateTime`): text that sorts.
    The decisions of one second share its ``YYYY-MM-DD HH:MM:SS`` (kept for the last few seconds)."""
    second = int(at.timestamp())
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) > 64:
            _SECONDS.clear()
        prefix = _SECONDS[second] = f"{at:%Y-%m-%d %H:%M:%S}"
    return f"{prefix}.{at.microsecond:06d}"


_VERSION_CLEAR = ~((0xF << 76) | (0x3 << 62))
_VERSION_SET = (0x4 << 76) | (0x2 << 62)


def _ids(count: int) -> list[str]:
    """``count`` UUID4 strings (version 4, RFC 4122 variant) from one read of the random source,
    not one per row; formatted here (``uuid.UUID`` costs 2 µs an id)."""
    pool = os.urandom(16 * count)
    out = []
    for i in range(count):
        h = f"{(int.from_bytes(pool[16 * i : 16 * i + 16]) & _VERSION_CLEAR) | _VERSION_SET:032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


async def write_rows(session: AsyncSession, decisions: Sequence[PendingDecision]) -> None:
    """``decisions`` written in one statement on SQLite, one pipelined ``executemany`` on PostgreSQL.

    Why not ``session.execute(insert(RoutingDecisionRow), rows)``: SQLAlchemy's per-row parameter
    processing cost about 12 µs a row on the event loop, more than the route it records, and on
    SQLite its ``executemany`` steps once per row in the driver's thread, each step releasing and
    taking back the GIL the event loop is using (``bench/routing.py``). Here the values are already
    what the column types would bind (naive UTC text and 0/1 on SQLite; ``timestamptz`` and ``bool``
    on PostgreSQL, JSON as text for ``jsonb``, which SQLAlchemy's asyncpg codec takes) and SQLite
    gets one multi-row ``INSERT … VALUES (…), (…)`` (:data:`BATCH` rows of 15 columns stay under its
    32,766 variables). Other dialects or drivers take the ORM path.
    """
    connection = await session.connection()
    dialect = connection.dialect
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None or dialect.name not in ("sqlite", "postgresql"):
        rows = [dict(zip(COLUMNS, d.values(new_id(), postgres=False, driver=False), strict=True)) for d in decisions]
        await session.execute(insert(RoutingDecisionRow), rows)
        return
    head = f"INSERT INTO {RoutingDecisionRow.__tablename__} ({', '.join(COLUMNS)}) VALUES "
    ids = _ids(len(decisions))
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        one = f"({', '.join('?' * len(COLUMNS))})"
        flat = [value for d, row_id in zip(decisions, ids, strict=True) for value in d.values(row_id, False)]
        await connection.exec_driver_sql(head + ", ".join([one] * len(decisions)), tuple(flat))
        return
    postgres = dialect.name == "postgresql"
    sql = head + f"({', '.join(mark(i + 1) for i in range(len(COLUMNS)))})"
    await connection.exec_driver_sql(
        sql, [d.values(row_id, postgres) for d, row_id in zip(decisions, ids, strict=True)]
    )


class DecisionRecorder:
    """Decision rows gathered in memory and written in batches by one background task at a time."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]],
        *,
        delay: float = FLUSH_DELAY_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.spawn = spawn
        self.delay = delay
        self.pending: list[PendingDecision] = []
        self.dropped = 0
        """Rows not written: more than :data:`MAX_PENDING` waited, or the write failed."""
        self.written = 0
        self._task: asyncio.Task[Any] | None = None
        self._lock = asyncio.Lock()
        self._writing = FailOpen("writing routing decisions", log, timeout=None, then="dropping them")

    def add(self, decision: PendingDecision) -> None:
        """Queue one decision; its row is written within :attr:`delay`."""
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self.pending.append(decision)
        if self._task is None or self._task.done():
            self._task = self.spawn(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        await self.flush()

    async def flush(self) -> int:
        """Write every pending row now (one ``INSERT`` per :data:`BATCH`); how many were written."""
        done = 0
        async with self._lock:
            while self.pending:
                batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
                try:
                    async with self.sessionmaker.begin() as session:
                        await write_rows(session, batch)
                except Exception as exc:  # the database is down: the decisions are lost, not the requests
                    self._writing.failed(exc)
                    self.dropped += len(batch)
                    continue
                done += len(batch)
        self.written += done
        return done

    async def stop(self) -> None:
        """Write what is pending (at shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()


async def read_config(session: AsyncSession, workspace_id: str) -> tuple[dict[str, Any], int]:
    """The stored document and its version (``({}, 0)`` when the workspace never wrote one)."""
    row = await session.get(RoutingConfigRow, workspace_id)
    if row is None:
        return {}, 0
    return dict(row.config or {}), row.version


async def unrouted_page(
    session: AsyncSession, workspace_id: str, *, since: datetime | None, offset: int, limit: int
) -> tuple[list[UnroutedEvent], int]:
    """The workspace's unrouted events, newest first."""
    where = [RoutingDecisionRow.workspace_id == workspace_id, RoutingDecisionRow.route_type == "unrouted"]
    if since is not None:
        where.append(RoutingDecisionRow.created_at >= since)
    total = await session.scalar(select(func.count()).select_from(RoutingDecisionRow).where(*where))
    rows = await session.scalars(
        select(RoutingDecisionRow)
        .where(*where)
        .order_by(RoutingDecisionRow.created_at.desc(), RoutingDecisionRow.id)
        .offset(offset)
        .limit(limit)
    )
    items = [
        UnroutedEvent(
            id=r.id,
            created_at=r.created_at,
            excerpt=r.excerpt,
            text_sha256=r.text_sha256,
            source=r.source,
            channel=r.channel,
            agent_id=r.agent_id,
            explanation=list(r.explanation or []),
        )
        for r in rows
    ]
    return items, int(total or 0)
