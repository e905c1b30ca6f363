"""A small in-process TTL cache with single-flight loading: :class:`TTLCache`.

Generic (it knows no feature): values expire ``ttl`` seconds after they were loaded, and concurrent
misses of one key wait for one load, so a cold cache under load costs one load per key, not one per
caller. A loader that fails raises to every waiter and caches nothing (the next call loads again); a
loader that is cancelled hands the load to the next waiter. ``clock`` is injectable, so tests expire
entries without sleeping. Used for the platform settings' values and the model catalogue's prices.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

K = TypeVar("K")
V = TypeVar("V")


class _Abandoned(Exception):
    """The task loading a cache entry was cancelled; whoever waited for it loads it again."""


class TTLCache(Generic[K, V]):
    """A small in-process cache: values expire ``ttl`` seconds after they were loaded.

    Concurrent misses of one key wait for one load. ``clock`` is injectable (tests expire entries
    without sleeping).
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._data: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        while True:
            hit = self._data.get(key)
            if hit is not None and hit[0] > self.clock():
                return hit[1]
            pending = self._loading.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except _Abandoned:  # its loader was cancelled: load it ourselves
                continue
        pending = self._loading[key] = asyncio.get_running_loop().create_future()
        try:
            value = await load()
        except BaseException as exc:
            pending.set_exception(exc if isinstance(exc, Exception) else _Abandoned())
            pending.exception()  # retrieved here: waiters re-raise it themselves
            raise
        else:
            pending.set_result(value)
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (self.clock() + self.ttl, value)
            return value
        finally:
            del self._loading[key]

    def drop(self, key: K | None = None) -> None:
        if key is None:
            self._data.clear()
        else:
            self._data.pop(key, None)
