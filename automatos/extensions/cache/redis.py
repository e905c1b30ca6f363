"""Redis (or Valkey) key-value store and pub/sub: what several API nodes share.

Decisions:
- ``redis.asyncio`` from ``REDIS_URL``; each backend owns a blocking pool (64 connections: a burst
  of callers waits up to 10 s for a free one rather than failing) and closes it in ``close()``.
  Namespaced KV views share their parent's client and leave closing to it.
- Keys of a namespaced view are ``namespace:key`` — the same scheme as the memory backend, so data
  written through one is found through the other's view of the same name.
- ``incr`` is one Lua script (``EXISTS`` + ``INCRBY`` + ``PEXPIRE``) so the TTL is set exactly when
  the call creates the key, atomically, without relying on ``PEXPIRE NX`` semantics (which would
  also stamp a TTL on an existing counter that has none).
- Pub/sub multiplexes every subscription of the process over ONE connection: a reader task fans
  messages out to per-subscriber bounded queues (:class:`QueueSubscription`), and a channel is
  ``SUBSCRIBE``d on the server once, however many local subscribers it has. ``subscribe`` returns
  only after the server confirmed the ``SUBSCRIBE``, so nothing published afterwards is missed.
  Subscribe/unsubscribe commands go out under one lock so their order on the wire is the order
  they were asked for (an unsubscribe racing a re-subscribe cannot leave the channel dropped).
- A dropped connection is retried with backoff and redis-py re-subscribes every channel on
  reconnect; messages published while disconnected are lost (Redis pub/sub is at most once —
  consumers that need completeness re-check their source, as the kernel's view recheck does, or
  read the kernel bus journal). The retries log one warning a minute, not one per attempt.
- These classes raise when Redis is down: the sandbox's ``kv`` capability must not read a missing
  value as absent. Callers for whom Redis is only a cache fail open themselves
  (:class:`automatos.kernel.faults.FailOpen`: the prompt cache, the kernel bus's publish).
- The URL may carry a password: it is never logged, and errors are logged by type and message only.
- :class:`RedisQueueServer` is the ``redis`` queue backend: the job queue (``automatos.jobs``) gets
  its clients, pub/sub and KV from it, so it never imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

from automatos.extensions.cache.memory import QueueSubscription, check_namespace, check_ttl
from automatos.kernel.backends import BackendContext, KVBackend, PubSubBackend, QueueBackend
from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.faults import FailOpen
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.tasks import cancel_and_wait
from automatos.kernel.types import BackendFactory

__all__ = [
    "RedisKV",
    "RedisPubSub",
    "RedisQueueServer",
    "register_kv_backends",
    "register_pubsub_backends",
    "register_queue_backends",
]

log = logging.getLogger(__name__)

# KEYS[1] counter; ARGV[1] amount; ARGV[2] ttl in ms, 0 for none. TTL only when this call creates it.
_INCR_SCRIPT = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


def _ms(ttl: float) -> int:
    """Redis expiries are whole milliseconds; a positive TTL never rounds down to 'no expiry'."""
    return max(1, round(ttl * 1000))


def _client(url: str, *, max_connections: int = 64, socket_timeout: float = 10, **options: Any) -> Redis:
    """A client owning a pool that makes a burst of callers wait for a connection instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=socket_timeout,
        **options,
    )
    return Redis.from_pool(pool)


class RedisKV(KVBackend):
    """Cache and counters in Redis; ``with_namespace`` views share the connection pool."""

    name = "redis"

    def __init__(self, client: Redis, *, prefix: str = "", owns_client: bool = False) -> None:
        self._redis = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._incr = client.register_script(_INCR_SCRIPT)

    @classmethod
    def from_url(cls, url: str) -> RedisKV:
        return cls(_client(url), owns_client=True)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._key(key))
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()  # only if someone built the client with decode_responses

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_ttl(ttl)
        await self._redis.set(self._key(key), bytes(value), px=None if ttl is None else _ms(ttl))

    async def delete(self, key: str) -> bool:
        return int(await self._redis.delete(self._key(key))) > 0

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        check_ttl(ttl)
        millis = 0 if ttl is None else _ms(ttl)
        try:
            value = await self._incr(keys=[self._key(key)], args=[int(amount), millis])
        except ResponseError as exc:
            if "not an integer" in str(exc) or "overflow" in str(exc):
                detail = f"the value under {key!r} is not a 64-bit integer (or would overflow)"
                raise ValidationError(detail, field="key") from None
            raise
        return int(value)

    async def ttl(self, key: str) -> float | None:
        millis = int(await self._redis.pttl(self._key(key)))
        return None if millis < 0 else millis / 1000  # -1: no expiry, -2: no key

    def with_namespace(self, namespace: str) -> RedisKV:
        check_namespace(namespace)
        return RedisKV(self._redis, prefix=f"{self._prefix}{namespace}:")

    async def check(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


@dataclass
class _Channel:
    """Local state of one server-side subscription."""

    ready: asyncio.Future[None]
    subscribers: set[QueueSubscription] = field(default_factory=set)


class RedisPubSub(PubSubBackend):
    """Pub/sub over Redis with every local subscription multiplexed on one connection."""

    name = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        owns_client: bool = False,
        subscribe_timeout: float = 10.0,
        max_pending: int = 10_000,
    ) -> None:
        self._redis = client
        self._owns_client = owns_client
        self._subscribe_timeout = subscribe_timeout
        self._max_pending = max_pending
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._channels: dict[str, _Channel] = {}
        # SUBSCRIBE confirmations arrive in the order the commands were sent, per channel.
        self._pending: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._reading = FailOpen("the redis pub/sub connection", log, retry_seconds=0.0, then="retrying with backoff")

    @classmethod
    def from_url(cls, url: str) -> RedisPubSub:
        # Health checks make a silently dead subscriber connection fail (and reconnect) within 30 s.
        return cls(_client(url, health_check_interval=30), owns_client=True)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._redis.publish(channel, bytes(message))

    async def subscribe(self, channel: str) -> QueueSubscription:
        if self._closed:
            raise RuntimeError("the pub/sub backend is closed")
        subscription = QueueSubscription(channel, on_close=self._release, max_pending=self._max_pending)
        state = self._channels.get(channel)
        if state is None:
            state = _Channel(asyncio.get_running_loop().create_future())
            self._channels[channel] = state
            state.subscribers.add(subscription)
            try:
                await self._send_subscribe(channel, state.ready)
            except BaseException as exc:
                # Subscribers that joined meanwhile wait on ``ready``: fail them too, not by timeout.
                if not state.ready.done():
                    failure = exc if isinstance(exc, Exception) else RuntimeError("subscribing was cancelled")
                    state.ready.set_exception(failure)
                    state.ready.exception()  # retrieved here; the joiners re-raise it themselves
                await subscription.aclose()
                raise
        else:
            state.subscribers.add(subscription)
        try:
            # not ``wait_for``: on Python 3.11 it swallows a cancel that arrives as ``ready`` completes
            async with asyncio.timeout(self._subscribe_timeout):
                await asyncio.shield(state.ready)
        except BaseException:
            await subscription.aclose()
            raise
        return subscription

    async def _send_subscribe(self, channel: str, confirmed: asyncio.Future[None]) -> None:
        async with self._send_lock:
            pubsub = await self._ensure_reader()
            waiting = self._pending.setdefault(channel.encode(), deque())
            waiting.append(confirmed)  # before sending: the reader may see the reply first
            try:
                await pubsub.subscribe(channel)
            except BaseException:
                with contextlib.suppress(ValueError):
                    waiting.remove(confirmed)
                raise

    async def _release(self, subscription: QueueSubscription) -> None:
        """A subscriber left; the last one of a channel unsubscribes it on the server."""
        state = self._channels.get(subscription.channel)
        if state is None or subscription not in state.subscribers:
            return
        state.subscribers.discard(subscription)
        if state.subscribers:
            return
        del self._channels[subscription.channel]
        if self._closed or self._pubsub is None:
            return
        pubsub = self._pubsub
        try:
            async with self._send_lock:
                await pubsub.unsubscribe(subscription.channel)
        except Exception as exc:
            # Not re-subscribed on reconnect; a late message for it finds no subscriber and is dropped.
            pubsub.channels.pop(subscription.channel.encode(), None)
            log.warning("unsubscribing a redis channel failed: %s: %s", type(exc).__name__, exc)

    async def _ensure_reader(self) -> PubSub:
        if self._pubsub is None:
            pubsub = self._redis.pubsub()
            await pubsub.connect()
            self._pubsub = pubsub
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(self._pubsub), name="automatos-redis-pubsub")
        return self._pubsub

    async def _read_loop(self, pubsub: PubSub) -> None:
        failures = 0
        while not self._closed:  # a cancel that redis-py turned into an error still ends it
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(0.1 * 2**failures, 5.0)
                self._reading.failed(exc)  # one warning a minute, however long the outage
                await asyncio.sleep(delay)
                continue
            failures = 0
            if message is not None:
                try:
                    self._dispatch(message)
                except Exception:  # one bad message must not stop delivery for every subscriber
                    log.exception("dispatching a redis pub/sub message failed")

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        raw_channel = message.get("channel")
        if not isinstance(raw_channel, bytes):
            return
        if kind == "message":
            state = self._channels.get(raw_channel.decode("utf-8", "surrogateescape"))
            if state is not None:
                data = message["data"]
                for subscription in tuple(state.subscribers):
                    subscription.push(data)
        elif kind == "subscribe":
            waiting = self._pending.get(raw_channel)
            if waiting:
                confirmed = waiting.popleft()
                if not waiting:
                    del self._pending[raw_channel]
                if not confirmed.done():
                    confirmed.set_result(None)

    async def check(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        """Stop the reader, end every subscription (after what is queued), release the pool."""
        self._closed = True
        if self._reader is not None:
            await cancel_and_wait(self._reader)
            self._reader = None
        channels, self._channels = self._channels, {}
        for state in channels.values():
            if not state.ready.done():
                state.ready.set_exception(RuntimeError("the pub/sub backend was closed"))
            for subscription in state.subscribers:
                subscription.end()
        self._pending.clear()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._owns_client:
            await self._redis.aclose()


def _redis_url(ctx: BackendContext, family: str) -> str:
    url = ctx.settings.redis_url
    if not url:
        raise SettingsError(f"{family.upper()}_BACKEND=redis needs REDIS_URL (redis://[:password@]host:port/db)")
    return url


class RedisQueueServer(QueueBackend):
    """The job queue's server (``automatos.jobs``): clients, pub/sub and KV on ``REDIS_URL``."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self._url = url

    def client(self, *, socket_timeout: float, max_connections: int) -> Redis:
        # health checks: a silently dead connection fails (and reconnects) instead of hanging a job
        return _client(
            self._url, max_connections=max_connections, socket_timeout=socket_timeout, health_check_interval=30
        )

    def pubsub(self) -> RedisPubSub:
        return RedisPubSub.from_url(self._url)

    def kv(self) -> RedisKV:
        return RedisKV.from_url(self._url)


def _kv_factory(ctx: BackendContext) -> RedisKV:
    return RedisKV.from_url(_redis_url(ctx, "kv"))


def _pubsub_factory(ctx: BackendContext) -> RedisPubSub:
    return RedisPubSub.from_url(_redis_url(ctx, "pubsub"))


@hookimpl
def register_kv_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Redis-backed cache: shared by every API node."""
    register("redis", _kv_factory)


@hookimpl
def register_pubsub_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Redis pub/sub: reaches every node, used for cache invalidation and live progress."""
    register("redis", _pubsub_factory)


@hookimpl
def register_queue_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Redis as the job queue's server (sandbox runs in ``SANDBOX_MODE=queue``)."""
    register("redis", lambda ctx: RedisQueueServer(_redis_url(ctx, "queue")))
