"""In-process key-value store and pub/sub: the embedded default, a cluster of one.

Decisions:
- Expiry uses ``time.monotonic`` so wall-clock jumps never expire or resurrect keys. Expired keys
  are dropped lazily when read, and a sweep (at most once per ``sweep_interval`` seconds, run from
  a write) removes the ones nobody reads again, so the dict does not grow without bound.
- Every operation finishes without awaiting, so each one — ``incr`` included — is atomic with
  respect to other tasks on the event loop. The store is not shared across threads or processes.
- Semantics follow Redis, so switching backends changes nothing a caller can see: ``set`` without
  ``ttl`` clears an earlier expiry, counters are 64-bit integers stored as their decimal bytes, and
  ``incr`` on anything else is a :class:`ValidationError`.
- Namespaced views prefix keys with ``namespace:`` in the one shared dict (Litestar's scheme, the
  same as :mod:`automatos.extensions.cache.redis`): a namespace reaches only its own keys and those
  of namespaces nested inside it.
- :class:`QueueSubscription` is the delivery end of a subscription for both this module and the
  Redis backend: a bounded queue per subscriber, so one stuck consumer costs a bounded amount of
  memory and never blocks a publisher; when full, the oldest message is dropped with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Final, cast

from automatos.kernel.backends import BackendContext, KVBackend, PubSubBackend, Subscription
from automatos.kernel.errors import ValidationError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import BackendFactory

__all__ = [
    "MemoryKV",
    "MemoryPubSub",
    "QueueSubscription",
    "check_namespace",
    "check_ttl",
    "register_kv_backends",
    "register_pubsub_backends",
]

log = logging.getLogger(__name__)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# The integers Redis accepts for INCRBY: no sign on zero, no leading zeros, no spaces.
_INTEGER = re.compile(rb"0|-?[1-9][0-9]*")
_END: Final = object()


def check_ttl(ttl: float | None) -> None:
    """Reject a non-positive TTL: Redis refuses it, so neither backend accepts it."""
    if ttl is not None and not ttl > 0:
        raise ValidationError(f"ttl must be a positive number of seconds, got {ttl!r}", field="ttl")


def check_namespace(namespace: str) -> None:
    """An empty namespace would alias its parent, which is what namespaces exist to prevent."""
    if not isinstance(namespace, str) or not namespace:
        raise ValidationError("namespace must be a non-empty string", field="namespace")


class _Store:
    """The dict every view of one :class:`MemoryKV` shares: key -> (value, deadline or None)."""

    def __init__(self, sweep_interval: float) -> None:
        self.data: dict[str, tuple[bytes, float | None]] = {}
        self.sweep_interval = sweep_interval
        self.last_sweep = time.monotonic()

    def live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self.data[key]
            return None
        return entry

    def maybe_sweep(self, now: float) -> None:
        if now - self.last_sweep < self.sweep_interval:
            return
        self.last_sweep = now
        expired = [k for k, (_, deadline) in self.data.items() if deadline is not None and deadline <= now]
        for key in expired:
            del self.data[key]


class MemoryKV(KVBackend):
    """A dict with TTLs and counters; namespaced views share the same store."""

    name = "memory"

    def __init__(self, *, sweep_interval: float = 1.0) -> None:
        self._store = _Store(sweep_interval)
        self._prefix = ""

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        entry = self._store.live(self._key(key), time.monotonic())
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_ttl(ttl)
        now = time.monotonic()
        self._store.data[self._key(key)] = (bytes(value), None if ttl is None else now + ttl)
        self._store.maybe_sweep(now)

    async def delete(self, key: str) -> bool:
        entry = self._store.live(self._key(key), time.monotonic())
        if entry is None:
            return False
        del self._store.data[self._key(key)]
        return True

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        check_ttl(ttl)
        now = time.monotonic()
        full = self._key(key)
        entry = self._store.live(full, now)
        if entry is None:
            current, deadline = 0, (None if ttl is None else now + ttl)
        else:
            if not _INTEGER.fullmatch(entry[0]):
                raise ValidationError(f"the value under {key!r} is not an integer", field="key")
            current, deadline = int(entry[0]), entry[1]
        value = current + int(amount)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValidationError(f"incrementing {key!r} would overflow a 64-bit integer", field="key")
        self._store.data[full] = (str(value).encode(), deadline)
        self._store.maybe_sweep(now)
        return value

    async def ttl(self, key: str) -> float | None:
        now = time.monotonic()
        entry = self._store.live(self._key(key), now)
        if entry is None or entry[1] is None:
            return None
        return entry[1] - now

    def with_namespace(self, namespace: str) -> MemoryKV:
        check_namespace(namespace)
        view = MemoryKV.__new__(MemoryKV)
        view._store, view._prefix = self._store, f"{self._prefix}{namespace}:"
        return view

    async def close(self) -> None:
        """Nothing to release; the data lives as long as the process (or the last reference)."""


class QueueSubscription(Subscription):
    """A subscriber's bounded queue, fed by a backend's ``push`` and drained by ``__anext__``."""

    def __init__(
        self,
        channel: str,
        *,
        on_close: Callable[[QueueSubscription], Awaitable[None]] | None = None,
        max_pending: int = 10_000,
    ) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._on_close = on_close
        self._max_pending = max_pending
        self._closed = False
        self._ended = False
        self._dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed or self._ended

    def push(self, message: bytes) -> None:
        """Queue ``message`` without blocking the publisher; drop the oldest one when full."""
        if self.closed:
            return
        if self._queue.qsize() >= self._max_pending:
            self._queue.get_nowait()
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning("subscriber on channel %r is too slow: dropped %d message(s)", self.channel, self._dropped)
        self._queue.put_nowait(message)

    def end(self) -> None:
        """The backend is going away: deliver what is queued, then stop iterating."""
        if not self.closed:
            self._ended = True
            self._queue.put_nowait(_END)

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END or self._closed:
            self._queue.put_nowait(_END)  # wake any other task iterating the same subscription
            raise StopAsyncIteration
        return cast(bytes, item)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(_END)
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            await on_close(self)


class MemoryPubSub(PubSubBackend):
    """Fan-out inside one process: every subscriber has its own queue."""

    name = "memory"

    def __init__(self, *, max_pending: int = 10_000) -> None:
        self._channels: dict[str, set[QueueSubscription]] = {}
        self._max_pending = max_pending
        self._closed = False

    async def publish(self, channel: str, message: bytes) -> None:
        data = bytes(message)
        for subscription in tuple(self._channels.get(channel, ())):
            subscription.push(data)

    async def subscribe(self, channel: str) -> QueueSubscription:
        if self._closed:
            raise RuntimeError("the pub/sub backend is closed")
        subscription = QueueSubscription(channel, on_close=self._release, max_pending=self._max_pending)
        self._channels.setdefault(channel, set()).add(subscription)
        return subscription

    async def _release(self, subscription: QueueSubscription) -> None:
        subscribers = self._channels.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._channels[subscription.channel]

    async def close(self) -> None:
        """End every subscription; their consumers stop after what is already queued."""
        self._closed = True
        channels, self._channels = self._channels, {}
        for subscribers in channels.values():
            for subscription in subscribers:
                subscription.end()


def _kv_factory(ctx: BackendContext) -> MemoryKV:
    return MemoryKV()


def _pubsub_factory(ctx: BackendContext) -> MemoryPubSub:
    return MemoryPubSub()


@hookimpl
def register_kv_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """The in-process cache: the default when no ``REDIS_URL`` is set."""
    register("memory", _kv_factory)


@hookimpl
def register_pubsub_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """In-process pub/sub: correct for one process, which is all the embedded default runs."""
    register("memory", _pubsub_factory)
