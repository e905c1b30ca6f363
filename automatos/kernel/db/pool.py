"""The kernel's connection pool: a per-workspace share of connections, one connection per task.

Two rules keep one busy tenant (or one careless code path) from stalling everybody:

- **A workspace holds at most its share of connections** (``DATABASE_WORKSPACE_SHARE``; by default
  half the pool, at least one). The workspace is the current request's
  (:data:`automatos.kernel.request_context.CURRENT_CONTEXT`); work outside a request — start-up, background
  loops, authentication before the workspace is known — is not metered. A checkout beyond the share
  waits for one of the workspace's own connections to come back, at most ``DATABASE_POOL_TIMEOUT``
  seconds, then fails with :class:`~automatos.kernel.errors.ServiceUnavailableError` (503 with
  ``Retry-After``) instead of queueing forever. Other workspaces are not behind it in that queue:
  they draw on the rest of the pool. The count is per process (each API process has a pool of its
  own); it is not shared across nodes.
- **A task never holds two connections at once.** A task that waits for a second connection while
  holding one can deadlock the pool when enough tasks do it together (each holds one, all wait for
  another). The pool notices a second checkout by the same task: with :data:`STRICT_CHECKOUTS` (the
  test suite turns it on) it raises :class:`NestedCheckoutError` naming the place; otherwise it logs
  a warning (throttled) and lets the nested checkout bypass the workspace share, so the workspace
  cannot deadlock on itself.

:func:`unmetered` lets a block skip the share: finishing work already admitted (recording the end of
a chat turn) must not queue behind new work of the same workspace.

The share is taken *before* a connection is drawn from the pool (waiting never holds a connection)
and given back when the connection is returned. Connections are returned by SQLAlchemy from a task
of its own, so the owner of each checkout is remembered on the pool, not read from the context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_

from automatos.kernel.errors import ServiceUnavailableError
from automatos.kernel.request_context import CURRENT_CONTEXT

__all__ = [
    "RETRY_AFTER_SECONDS",
    "STRICT_CHECKOUTS",
    "FairPool",
    "NestedCheckoutError",
    "WorkspaceShares",
    "default_share",
    "unmetered",
]

log = logging.getLogger("automatos.db")

STRICT_CHECKOUTS = False
"""Raise :class:`NestedCheckoutError` on a second checkout by one task (the test suite sets it)."""
RETRY_AFTER_SECONDS = 2
"""What a 503 for a workspace over its share tells the client to wait."""
WARNING_INTERVAL_SECONDS = 60.0

_UNMETERED: ContextVar[bool] = ContextVar("automatos_db_unmetered", default=False)


class NestedCheckoutError(AssertionError):
    """A task asked for a second database connection while it held one (see the module docstring)."""


def default_share(pool_size: int) -> int:
    """The share of a workspace when ``DATABASE_WORKSPACE_SHARE`` is not set: half the pool."""
    return max(1, pool_size // 2)


@contextlib.contextmanager
def unmetered() -> Iterator[None]:
    """Checkouts in this block do not count against the workspace's share."""
    token = _UNMETERED.set(True)
    try:
        yield
    finally:
        _UNMETERED.reset(token)


class _Share:
    __slots__ = ("held", "waiters")

    def __init__(self) -> None:
        self.held = 0
        self.waiters: deque[asyncio.Future[None]] = deque()


class WorkspaceShares:
    """How many connections each workspace holds, and who waits for one (one event loop)."""

    def __init__(self, limit: int, wait: float) -> None:
        if limit < 1:
            raise ValueError("a workspace's share must be at least one connection")
        self.limit = limit
        self.wait = wait
        self.refused = 0
        """Checkouts refused because their workspace's share stayed exhausted for ``wait`` seconds."""
        self._shares: dict[str, _Share] = {}

    def held(self, workspace_id: str) -> int:
        share = self._shares.get(workspace_id)
        return share.held if share is not None else 0

    def take(self, workspace_id: str) -> None:
        """Take one of the workspace's connections; wait (from inside SQLAlchemy's greenlet) if none is free."""
        share = self._shares.get(workspace_id)
        if share is None:
            share = self._shares[workspace_id] = _Share()
        if share.held < self.limit and not share.waiters:
            share.held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        share.waiters.append(waiter)
        try:
            await_(asyncio.wait_for(asyncio.shield(waiter), self.wait))
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                if isinstance(exc, TimeoutError):
                    return  # handed over just as the wait ran out: ours after all
                self.give(workspace_id)  # handed over, but we are cancelled: pass it on
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    share.waiters.remove(waiter)
                self._forget_if_idle(workspace_id, share)
            if isinstance(exc, TimeoutError):
                self.refused += 1
                raise ServiceUnavailableError(
                    f"this workspace is using all of its {self.limit} database connection(s) on this node "
                    f"and none came free within {self.wait:g} s; retry shortly",
                    retry_after=RETRY_AFTER_SECONDS,
                ) from None
            raise

    def give(self, workspace_id: str) -> None:
        """Give a connection back: to the workspace's next waiter, else to the pool."""
        share = self._shares.get(workspace_id)
        if share is None:
            return
        while share.waiters:
            waiter = share.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # handed over: ``held`` stays as it is
                return
        share.held -= 1
        self._forget_if_idle(workspace_id, share)

    def _forget_if_idle(self, workspace_id: str, share: _Share) -> None:
        if share.held <= 0 and not share.waiters:
            self._shares.pop(workspace_id, None)


class _Owners:
    """Who holds which checked-out connection: per task, and the workspace share it took."""

    def __init__(self) -> None:
        self.by_record: dict[ConnectionPoolEntry, tuple[asyncio.Task[Any] | None, str | None]] = {}
        self.per_task: dict[asyncio.Task[Any], int] = {}
        self.nested = 0
        self.failed_connects = 0
        self._warned_at = self._connect_warned_at = float("-inf")

    def holds(self, task: asyncio.Task[Any] | None) -> bool:
        return task is not None and self.per_task.get(task, 0) > 0

    def add(self, record: ConnectionPoolEntry, task: asyncio.Task[Any] | None, workspace_id: str | None) -> None:
        self.by_record[record] = (task, workspace_id)
        if task is not None:
            self.per_task[task] = self.per_task.get(task, 0) + 1

    def remove(self, record: ConnectionPoolEntry) -> str | None:
        task, workspace_id = self.by_record.pop(record, (None, None))
        if task is not None:
            left = self.per_task.get(task, 0) - 1
            if left > 0:
                self.per_task[task] = left
            else:
                self.per_task.pop(task, None)
        return workspace_id

    def connect_failed(self, exc: Exception) -> None:
        self.failed_connects += 1
        now = time.monotonic()
        if now - self._connect_warned_at >= WARNING_INTERVAL_SECONDS:
            self._connect_warned_at = now
            log.warning(
                "cannot connect to the database (%s: %s); requests answer 503 until it is back "
                "(%d failed connection attempts so far)",
                type(exc).__name__,
                exc,
                self.failed_connects,
            )

    def nested_checkout(self, task: asyncio.Task[Any]) -> None:
        self.nested += 1
        where = f"task {task.get_name()!r} asked for a second database connection while it held one"
        if STRICT_CHECKOUTS:
            raise NestedCheckoutError(where + " (open the second session after the first one is closed)")
        now = time.monotonic()
        if now - self._warned_at >= WARNING_INTERVAL_SECONDS:
            self._warned_at = now
            log.warning("%s: this can exhaust the pool under load (%d such checkouts so far)", where, self.nested)


class FairPool(AsyncAdaptedQueuePool):
    """:class:`AsyncAdaptedQueuePool` with the workspace share and the one-connection-per-task check."""

    shares: WorkspaceShares | None = None
    _owners: _Owners | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.logger, logging.Logger):  # (``echo_pool`` wraps it; leave that alone)
            # SQLAlchemy names a pool's logger after its class: keep ours under ``sqlalchemy``, not
            # under ``automatos`` whose INFO level would print every pool dispose
            self.logger = logging.getLogger("sqlalchemy.pool.impl.FairPool")

    def configure(self, shares: WorkspaceShares | None) -> None:
        self.shares = shares
        self._owners = _Owners()

    @property
    def owners(self) -> _Owners:
        if self._owners is None:
            self._owners = _Owners()
        return self._owners

    def connect(self) -> PoolProxiedConnection:
        """A connection, or :class:`ServiceUnavailableError` when none can be had.

        A database that is down fails here (asyncpg raises ``OSError`` or one of its own errors
        while connecting, unwrapped by SQLAlchemy), and so does a pool that stays exhausted for
        ``timeout`` seconds: both are the client's 503 with ``Retry-After``, not a 500.
        """
        try:
            return super().connect()
        except (ServiceUnavailableError, NestedCheckoutError):
            raise
        except sa_exc.TimeoutError:
            raise ServiceUnavailableError(
                f"no database connection came free within {self._timeout:g} s; retry shortly",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None
        except Exception as exc:
            self.owners.connect_failed(exc)
            raise ServiceUnavailableError(
                "the database is unavailable; retry shortly", retry_after=RETRY_AFTER_SECONDS
            ) from exc

    def _do_get(self) -> ConnectionPoolEntry:
        owners = self.owners
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop: a synchronous caller, nothing to meter
            task = None
        metered: str | None = None
        if task is not None and owners.holds(task):
            owners.nested_checkout(task)
        elif self.shares is not None and not _UNMETERED.get():
            ctx = CURRENT_CONTEXT.get()
            if ctx is not None and ctx.workspace is not None:
                metered = ctx.workspace.id
                self.shares.take(metered)
        try:
            record = super()._do_get()
        except BaseException:
            if metered is not None and self.shares is not None:
                self.shares.give(metered)
            raise
        owners.add(record, task, metered)
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        workspace_id = self.owners.remove(record)
        try:
            super()._do_return_conn(record)
        finally:
            if workspace_id is not None and self.shares is not None:
                self.shares.give(workspace_id)

    def recreate(self) -> FairPool:
        pool = super().recreate()
        assert isinstance(pool, FairPool)
        pool.shares, pool._owners = self.shares, self._owners  # checkouts of the old pool still come back
        return pool
