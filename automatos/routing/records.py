"""What the router writes and reads back: decision rows (written in batches), unrouted events, the
workspace's stored configuration.

Decisions are written off the request path: :class:`DecisionRecorder` keeps them in memory and one
background task writes what gathered in one multi-row ``INSERT`` shortly after
(:data:`FLUSH_DELAY_SECONDS`), so a route holds no database connection for its record and a cache
hit answers without one. The rows' ids are drawn there too, not per request: ``uuid4`` reads the
kernel's random source with the GIL released, and while the batch writer's thread holds the GIL a
request paid up to a switch interval for it (``bench/routing.py`` measured 12 µs a route on average).
A decision is therefore in the table a moment after its answer, not before
— readers that must see the latest (the unrouted list, tests) call :meth:`DecisionRecorder.flush`
first. Pending rows are written at shutdown (``RouterService.stop``); past :data:`MAX_PENDING` (the
database far behind or down) new rows are dropped and counted (``dropped``), never the request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db.base import new_id
from automatos.kernel.faults import FailOpen
from automatos.routing.models import RoutingConfigRow, RoutingDecisionRow

__all__ = ["FLUSH_DELAY_SECONDS", "MAX_PENDING", "DecisionRecorder", "UnroutedEvent", "read_config", "unrouted_page"]

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
        self.pending: list[dict[str, Any]] = []
        self.dropped = 0
        """Rows not written: more than :data:`MAX_PENDING` waited, or the write failed."""
        self.written = 0
        self._task: asyncio.Task[Any] | None = None
        self._lock = asyncio.Lock()
        self._writing = FailOpen("writing routing decisions", log, timeout=None, then="dropping them")

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row (the columns of ``routing_decisions``, ``id`` drawn when written if absent);
        written within :attr:`delay`."""
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self.pending.append(row)
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
                for row in batch:
                    if "id" not in row:
                        row["id"] = new_id()
                try:
                    async with self.sessionmaker.begin() as session:
                        await session.execute(insert(RoutingDecisionRow), batch)
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
