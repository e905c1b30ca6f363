"""``/health/ready``: cached for a second and shared, rate limited by address, details for admins only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from automatos.api.app import create_app
from automatos.api.controllers.health import READY_RATE_LIMIT
from automatos.api.readiness import ReadinessCache
from automatos.kernel.core import Kernel
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.services import free_port

ADMIN = {"X-Test-User": "root;admin"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serve_app(create_app(make_container(tmp_path))) as test_client:
        yield test_client


def kernel_of(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_callers_share_one_round_and_it_is_kept_a_second(client: AppClient) -> None:
    kernel = kernel_of(client)
    clock = Clock()
    cache = ReadinessCache(kernel, clock=clock)
    gate = asyncio.Event()
    calls = 0

    async def slow_check() -> None:
        nonlocal calls
        calls += 1
        await gate.wait()

    kernel.backends.kv.check = slow_check  # type: ignore[method-assign]
    waiting = [asyncio.ensure_future(cache.checks()) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting)
    assert calls == 1 and cache.rounds == 1 and all(r is results[0] for r in results)
    clock.now = 0.9  # within the second: the same answer, no new round
    assert await cache.checks() is results[0] and calls == 1
    clock.now = 1.1
    await cache.checks()
    assert calls == 2 and cache.rounds == 2


async def test_the_route_uses_the_shared_round(client: AppClient) -> None:
    cache = container_of(client).readiness()
    cache.clock = lambda: 0.0  # time stands still: every call inside the first one's second
    answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(15)))
    assert [r.status_code for r in answers] == [200] * 15
    assert cache.rounds == 1


async def test_anonymous_callers_see_ok_only_admins_see_details(client: AppClient) -> None:
    kernel = kernel_of(client)

    async def down() -> None:
        raise ConnectionError("redis at secret-host.internal:6379 refused user deploy")

    kernel.backends.kv.check = down  # type: ignore[method-assign]
    anonymous = await client.get("/health/ready")
    assert anonymous.status_code == 503 and anonymous.headers["retry-after"] == "1"
    body = anonymous.json()
    assert body["checks"]["kv:memory"] == {"ok": False} and body["checks"]["database"] == {"ok": True}
    assert "secret-host" not in anonymous.text and "environment" not in body
    # wrong credentials read as anonymous (a probe is never a 401)
    wrong = await client.get("/health/ready", headers={"Authorization": "Bearer atk_nope"})
    assert wrong.status_code == 503 and "secret-host" not in wrong.text
    admin = (await client.get("/health/ready", headers=ADMIN)).json()
    assert "secret-host.internal" in admin["checks"]["kv:memory"]["error"] and "ms" in admin["checks"]["database"]


async def test_readiness_is_rate_limited_by_address(client: AppClient) -> None:
    container_of(client).readiness().clock = lambda: 0.0
    amount = READY_RATE_LIMIT.amount
    answers = [await client.get("/health/ready") for _ in range(amount + 5)]
    statuses = [r.status_code for r in answers]
    assert statuses[:amount] == [200] * amount
    refused = answers[-1]
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1 and refused.headers["ratelimit-remaining"] == "0"
    assert int(answers[0].headers["ratelimit-limit"]) == amount
    assert (await client.get("/health")).status_code == 200  # liveness stays unlimited


async def test_database_down_reads_as_database_unavailable(client: AppClient) -> None:
    """PostgreSQL unreachable (nothing listens on the port): 503 naming the database, no exception text."""
    kernel = kernel_of(client)
    dead = create_async_engine(f"postgresql+asyncpg://u:p@127.0.0.1:{free_port()}/automatos")
    real = kernel.engine
    kernel.engine = dead
    try:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["detail"].startswith("database unavailable") and body["checks"]["database"] == {"ok": False}
        admin = (await client.get("/health/ready", headers=ADMIN)).json()
        assert admin["checks"]["database"]["ok"] is False and admin["checks"]["database"]["error"]
    finally:
        kernel.engine = real
        await dead.dispose()
