"""One contract for every key-value backend: memory and Redis (a real valkey/redis server).

Backends are built through their extensions' ``register_kv_backends`` hook implementations via a
real pluggy manager, so the hook path is exercised too. Every test works in its own namespace.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from automatos.extensions.cache import memory as memory_module
from automatos.extensions.cache import redis as redis_module
from automatos.extensions.cache.memory import MemoryKV
from automatos.kernel.backends import BackendContext, KVBackend
from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.settings import Settings
from tests.helpers import backend_factories

__all__: list[str] = []


FACTORIES = backend_factories("kv", memory_module, redis_module)


@pytest.fixture(params=["memory", "redis"])
async def root_kv(request: pytest.FixtureRequest) -> AsyncIterator[KVBackend]:
    settings = Settings(redis_url=request.getfixturevalue("redis_url")) if request.param == "redis" else Settings()
    backend = FACTORIES[request.param](BackendContext(settings=settings))
    assert isinstance(backend, KVBackend) and backend.name == request.param
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def kv(root_kv: KVBackend) -> KVBackend:
    """A fresh namespace per test: the Redis server is shared by the whole session."""
    return root_kv.with_namespace(f"test-{uuid.uuid4().hex}")


def test_hooks_register_both_backends() -> None:
    assert set(FACTORIES) == {"memory", "redis"}


def test_redis_factory_needs_a_url() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        FACTORIES["redis"](BackendContext(settings=Settings()))


async def test_check_passes(root_kv: KVBackend) -> None:
    await root_kv.check()


async def test_round_trip_overwrite_and_missing(kv: KVBackend) -> None:
    assert await kv.get("k") is None
    await kv.set("k", b"\x00first\xff")
    assert await kv.get("k") == b"\x00first\xff"
    await kv.set("k", b"second")
    assert await kv.get("k") == b"second"
    await kv.set("empty", b"")
    assert await kv.get("empty") == b""


async def test_delete_reports_whether_something_was_removed(kv: KVBackend) -> None:
    await kv.set("k", b"v")
    assert await kv.delete("k") is True
    assert await kv.get("k") is None
    assert await kv.delete("k") is False
    assert await kv.delete("never-set") is False


async def test_ttl_expires_keys(kv: KVBackend) -> None:
    await kv.set("short", b"v", ttl=0.2)
    await kv.set("long", b"v", ttl=60)
    left = await kv.ttl("short")
    assert left is not None and 0 < left <= 0.2
    assert await kv.get("short") == b"v"
    await asyncio.sleep(0.3)
    assert await kv.get("short") is None
    assert await kv.ttl("short") is None
    assert await kv.delete("short") is False
    assert await kv.get("long") == b"v"
    left = await kv.ttl("long")
    assert left is not None and 59 < left <= 60


async def test_ttl_is_none_without_expiry_or_key(kv: KVBackend) -> None:
    await kv.set("k", b"v")
    assert await kv.ttl("k") is None
    assert await kv.ttl("missing") is None


async def test_set_without_ttl_clears_an_earlier_expiry(kv: KVBackend) -> None:
    await kv.set("k", b"v", ttl=0.2)
    await kv.set("k", b"w")
    assert await kv.ttl("k") is None
    await asyncio.sleep(0.3)
    assert await kv.get("k") == b"w"


@pytest.mark.parametrize("ttl", [0, -1, -0.5])
async def test_non_positive_ttl_is_rejected(kv: KVBackend, ttl: float) -> None:
    with pytest.raises(ValidationError) as info:
        await kv.set("k", b"v", ttl=ttl)
    assert info.value.field == "ttl"
    with pytest.raises(ValidationError):
        await kv.incr("n", ttl=ttl)
    assert await kv.get("k") is None and await kv.get("n") is None


async def test_incr_counts_and_stores_decimal_bytes(kv: KVBackend) -> None:
    assert await kv.incr("n") == 1
    assert await kv.incr("n", 5) == 6
    assert await kv.incr("n", -10) == -4
    assert await kv.get("n") == b"-4"
    await kv.set("m", b"41")
    assert await kv.incr("m") == 42


async def test_incr_refuses_non_integers_and_overflow(kv: KVBackend) -> None:
    await kv.set("text", b"abc")
    with pytest.raises(ValidationError) as info:
        await kv.incr("text")
    assert info.value.field == "key"
    assert await kv.get("text") == b"abc"
    await kv.set("big", str(2**63 - 1).encode())
    with pytest.raises(ValidationError):
        await kv.incr("big")
    assert await kv.get("big") == str(2**63 - 1).encode()


async def test_incr_ttl_applies_only_when_the_key_is_created(kv: KVBackend) -> None:
    assert await kv.incr("window", ttl=0.3) == 1
    assert await kv.incr("window", ttl=100) == 2
    left = await kv.ttl("window")
    assert left is not None and left <= 0.3
    await kv.set("forever", b"1")
    assert await kv.incr("forever", ttl=0.1) == 2
    assert await kv.ttl("forever") is None
    await asyncio.sleep(0.4)
    assert await kv.get("window") is None
    assert await kv.incr("window", ttl=100) == 1  # a new window starts from scratch
    assert await kv.get("forever") == b"2"


async def test_incr_is_atomic_under_concurrency(kv: KVBackend) -> None:
    results = await asyncio.gather(*(kv.incr("hits") for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    assert await kv.get("hits") == b"200"


async def test_namespaces_isolate_keys(kv: KVBackend) -> None:
    a, b = kv.with_namespace("a"), kv.with_namespace("b")
    await a.set("k", b"from-a")
    await b.set("k", b"from-b")
    assert await a.get("k") == b"from-a"
    assert await b.get("k") == b"from-b"
    assert await kv.get("k") is None
    assert await kv.with_namespace("a").get("k") == b"from-a"  # a second view of "a" is the same data
    nested = a.with_namespace("x")
    assert await nested.get("k") is None
    await nested.set("k", b"nested")
    assert await a.get("k") == b"from-a"
    assert await a.delete("k") is True
    assert await b.get("k") == b"from-b"
    assert await nested.get("k") == b"nested"
    assert await a.incr("n") == 1 and await b.incr("n") == 1
    await a.set("t", b"v", ttl=30)
    assert await b.ttl("t") is None


async def test_empty_namespace_is_rejected(kv: KVBackend) -> None:
    with pytest.raises(ValidationError) as info:
        kv.with_namespace("")
    assert info.value.field == "namespace"


# -- implementation-specific -------------------------------------------------------------------


async def test_memory_sweep_drops_expired_keys_nobody_reads() -> None:
    kv = MemoryKV(sweep_interval=0)
    await kv.set("gone", b"v", ttl=0.05)
    await kv.set("kept", b"v")
    await asyncio.sleep(0.1)
    await kv.set("trigger", b"v")  # writes run the sweep
    assert sorted(kv._store.data) == ["kept", "trigger"]
