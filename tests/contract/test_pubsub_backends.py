"""One contract for every pub/sub backend: memory and Redis (a real valkey/redis server).

Backends come from the extensions' ``register_pubsub_backends`` hook implementations through a real
pluggy manager. Channel names are unique per test because the Redis server is shared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from automatos.extensions.cache import memory as memory_module
from automatos.extensions.cache import redis as redis_module
from automatos.kernel.backends import BackendContext, PubSubBackend, Subscription
from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import Settings
from tests.helpers import backend_factories

__all__: list[str] = []


FACTORIES = backend_factories("pubsub", memory_module, redis_module)


def _build(name: str, redis_url: str | None) -> PubSubBackend:
    backend = FACTORIES[name](BackendContext(settings=Settings(redis_url=redis_url)))
    assert isinstance(backend, PubSubBackend) and backend.name == name
    return backend


@pytest.fixture(params=["memory", "redis"])
async def pubsub(request: pytest.FixtureRequest) -> AsyncIterator[PubSubBackend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    backend = _build(request.param, url)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def channel() -> str:
    return f"test-{uuid.uuid4().hex}"


async def receive(subscription: Subscription, wait: float = 2.0) -> bytes:
    return await asyncio.wait_for(anext(subscription), wait)


async def assert_silent(subscription: Subscription, wait: float = 0.15) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(subscription), wait)


async def assert_ended(subscription: Subscription) -> None:
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(subscription), 2.0)


def test_hooks_register_both_backends() -> None:
    assert set(FACTORIES) == {"memory", "redis"}


def test_redis_factory_needs_a_url() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        _build("redis", None)


async def test_check_passes(pubsub: PubSubBackend) -> None:
    await pubsub.check()


async def test_every_subscriber_gets_every_message_in_order(pubsub: PubSubBackend, channel: str) -> None:
    first = await pubsub.subscribe(channel)
    second = await pubsub.subscribe(channel)
    assert first.channel == channel
    sent = [f"message-{i}".encode() for i in range(50)]
    for message in sent:
        await pubsub.publish(channel, message)
    assert [await receive(first) for _ in sent] == sent
    assert [await receive(second) for _ in sent] == sent
    await assert_silent(first)
    await first.aclose()
    await second.aclose()


async def test_publish_right_after_subscribe_is_delivered(pubsub: PubSubBackend, channel: str) -> None:
    for i in range(5):  # repeated: a subscription that is not really ready would lose one sometimes
        subscription = await pubsub.subscribe(f"{channel}-{i}")
        await pubsub.publish(f"{channel}-{i}", b"now")
        assert await receive(subscription) == b"now"
        await subscription.aclose()


async def test_channels_are_isolated(pubsub: PubSubBackend, channel: str) -> None:
    on_a = await pubsub.subscribe(f"{channel}-a")
    on_b = await pubsub.subscribe(f"{channel}-b")
    await pubsub.publish(f"{channel}-b", b"for b")
    await pubsub.publish(f"{channel}-a", b"for a")
    await pubsub.publish(f"{channel}-other", b"for nobody")
    assert await receive(on_a) == b"for a"
    assert await receive(on_b) == b"for b"
    await assert_silent(on_a)
    await assert_silent(on_b)
    await on_a.aclose()
    await on_b.aclose()


async def test_nothing_published_before_subscribing_arrives(pubsub: PubSubBackend, channel: str) -> None:
    await pubsub.publish(channel, b"early")
    subscription = await pubsub.subscribe(channel)
    await pubsub.publish(channel, b"late")
    assert await receive(subscription) == b"late"
    await assert_silent(subscription)
    await subscription.aclose()


async def test_binary_and_empty_payloads_survive(pubsub: PubSubBackend, channel: str) -> None:
    subscription = await pubsub.subscribe(channel)
    payload = bytes(range(256))
    await pubsub.publish(channel, payload)
    await pubsub.publish(channel, b"")
    assert await receive(subscription) == payload
    assert await receive(subscription) == b""
    await subscription.aclose()


async def test_aclose_ends_only_that_subscription(pubsub: PubSubBackend, channel: str) -> None:
    leaving = await pubsub.subscribe(channel)
    staying = await pubsub.subscribe(channel)
    await leaving.aclose()
    await leaving.aclose()  # idempotent
    await assert_ended(leaving)
    await pubsub.publish(channel, b"after")
    assert await receive(staying) == b"after"
    await assert_ended(leaving)
    await staying.aclose()


async def test_aclose_wakes_a_waiting_consumer(pubsub: PubSubBackend, channel: str) -> None:
    subscription = await pubsub.subscribe(channel)
    received: list[bytes] = []
    first_arrived = asyncio.Event()

    async def consume() -> None:
        async for message in subscription:
            received.append(message)
            first_arrived.set()

    task = asyncio.create_task(consume())
    await pubsub.publish(channel, b"one")
    await asyncio.wait_for(first_arrived.wait(), 2)
    await asyncio.sleep(0.02)  # the consumer is now waiting for a second message
    await subscription.aclose()
    await asyncio.wait_for(task, 2)
    assert received == [b"one"]


async def test_context_manager_closes_the_subscription(pubsub: PubSubBackend, channel: str) -> None:
    async with await pubsub.subscribe(channel) as subscription:
        await pubsub.publish(channel, b"inside")
        assert await receive(subscription) == b"inside"
    await assert_ended(subscription)


async def test_resubscribing_after_closing_works(pubsub: PubSubBackend, channel: str) -> None:
    for round_ in range(3):
        subscription = await pubsub.subscribe(channel)
        await pubsub.publish(channel, f"round {round_}".encode())
        assert await receive(subscription) == f"round {round_}".encode()
        await subscription.aclose()


async def test_concurrent_subscribes(pubsub: PubSubBackend, channel: str) -> None:
    names = [f"{channel}-{i % 4}" for i in range(20)]
    subscriptions = await asyncio.gather(*(pubsub.subscribe(name) for name in names))
    for i in range(4):
        await pubsub.publish(f"{channel}-{i}", f"to {i}".encode())
    for name, subscription in zip(names, subscriptions, strict=True):
        assert await receive(subscription) == f"to {name.rsplit('-', 1)[1]}".encode()
        await assert_silent(subscription, 0.02)
    await asyncio.gather(*(subscription.aclose() for subscription in subscriptions))


async def test_closing_the_backend_ends_subscriptions(request: pytest.FixtureRequest, channel: str) -> None:
    for name in ("memory", "redis"):
        backend = _build(name, request.getfixturevalue("redis_url") if name == "redis" else None)
        subscription = await backend.subscribe(channel)
        await backend.publish(channel, b"last")
        assert await receive(subscription) == b"last"
        await backend.close()
        await assert_ended(subscription)
        with pytest.raises(RuntimeError):
            await backend.subscribe(channel)


# -- Redis specifics: one server connection for all local subscribers, and reconnection ------------


async def _numsub(client: Redis, channel: str) -> int:
    return int(dict(await client.pubsub_numsub(channel))[channel.encode()])


async def test_redis_multiplexes_subscribers_on_one_subscription(redis_url: str, channel: str) -> None:
    backend = _build("redis", redis_url)
    client = Redis.from_url(redis_url)
    try:
        first = await backend.subscribe(channel)
        second = await backend.subscribe(channel)
        assert await _numsub(client, channel) == 1
        await first.aclose()
        assert await _numsub(client, channel) == 1
        await second.aclose()
        for _ in range(200):  # UNSUBSCRIBE is sent by aclose; the server applies it right after
            if await _numsub(client, channel) == 0:
                break
            await asyncio.sleep(0.01)
        assert await _numsub(client, channel) == 0
    finally:
        await backend.close()
        await client.aclose()


async def test_redis_subscribe_waits_for_the_server_confirmation(redis_url: str, channel: str) -> None:
    backend = _build("redis", redis_url)
    client = Redis.from_url(redis_url)
    try:
        warm = await backend.subscribe(f"{channel}-warm")  # the subscriber connection exists now
        await client.client_pause(300, all=True)  # the server holds every command for 300 ms
        started = time.monotonic()
        subscription = await backend.subscribe(channel)
        assert time.monotonic() - started >= 0.2  # returned only once SUBSCRIBE was acknowledged
        assert await _numsub(client, channel) == 1
        await client.publish(channel, b"confirmed")
        assert await receive(subscription) == b"confirmed"
        await subscription.aclose()
        await warm.aclose()
    finally:
        await backend.close()
        await client.aclose()


async def test_redis_subscription_survives_a_dropped_connection(redis_url: str, channel: str) -> None:
    backend = _build("redis", redis_url)
    client = Redis.from_url(redis_url)
    try:
        subscription = await backend.subscribe(channel)
        assert await client.client_kill_filter(_type="pubsub") >= 1
        deadline = time.monotonic() + 8
        got: bytes | None = None
        while got is None and time.monotonic() < deadline:
            await client.publish(channel, b"are you there")
            try:
                got = await asyncio.wait_for(anext(subscription), 0.2)
            except TimeoutError:
                continue
        assert got == b"are you there"
        await subscription.aclose()
    finally:
        await backend.close()
        await client.aclose()
