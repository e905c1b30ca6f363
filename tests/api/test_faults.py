"""Faults: Redis and PostgreSQL going away under the app, and one tenant flooding the database.

Each test starts what it kills: its own Redis-compatible server (stopped and started again on the
same port) or its own embedded PostgreSQL (stopped with ``pg_ctl`` and started again on the same
data directory). The app runs as it does in production: PostgreSQL, ``REDIS_URL`` (so the cache,
pub/sub and rate limits are Redis), two app instances where another node must see a change.

What is asserted is what a user sees: no 500, 503 problem+json with ``Retry-After`` where the
database is gone, every answered chat stored, every revocation effective on the other node, and
recovery without a restart. Progress is sequenced by outcomes (so many chats done, then kill),
never by sleeping; the only waits are liveness bounds for something another node does in the
background (journal polling), and they end as soon as it happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.chat import models as cm
from automatos.extensions.auth.api_keys import create_key
from automatos.kernel.core import Kernel
from automatos.kernel.db import pool as db_pool
from automatos.kernel.request_context import CURRENT_CONTEXT
from automatos.kernel.types import RequestContext, Workspace
from tests.agents.test_chat import add_agent, rows, sse
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.services import PostgresServer, RedisServer, fresh_database
from tests.workspaces.helpers import new_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PEPPER = "faults-test-pepper-shared-by-both-nodes"
NODE = {
    "api_key_pepper": PEPPER,
    "rate_limit_default": "100000/minute",  # the limiter is not under test (it fails open on its own)
    "bus_poll_seconds": 0.2,  # the journal is how the other node learns during an outage
}
DEADLINE = 15.0
"""Liveness bound for what another node does in the background; reached only when it is broken."""


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_url, prefix="automatos_faults_") as url:
        yield url


# --- helpers ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def node(tmp_path: Path, name: str, **settings: Any) -> AsyncIterator[tuple[AppClient, Kernel]]:
    app = create_app(make_container(tmp_path / name, **{**NODE, **settings}))
    async with serve_app(app) as client:
        yield client, app.state["kernel"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def default_workspace(kernel: Kernel) -> Workspace:
    workspace = await kernel.store.get_workspace("default")
    assert workspace is not None
    return workspace


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``check()`` holds (another node's background work); fails after :data:`DEADLINE`."""
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE} s"
        await asyncio.sleep(0.05)


def unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert "unavailable" in response.json()["detail"] or "connection" in response.json()["detail"]


# --- Redis ---------------------------------------------------------------------------------------


async def test_chat_answers_while_redis_is_down_and_uses_it_again_after(
    tmp_path: Path, database: str, redis: RedisServer
) -> None:
    async with node(tmp_path, "a", database_url=database, redis_url=redis.url) as (client, kernel):
        workspace = await default_workspace(kernel)
        await add_agent(kernel, workspace.id, "helper")
        _, key = await create_key(kernel, workspace.id, "chatter", "member")
        prompt_cache = container_of(client).prompts().cache
        prompt_cache.retry_seconds = 0.0  # ask Redis again at once: recovery is under test, not pacing
        prompts = kernel.backends.kv.with_namespace("prompts:")

        async def chat(text: str, stream: bool) -> dict[str, Any]:
            response = await client.post(
                "/api/chat", json={"agent": "helper", "content": text, "stream": stream}, headers=bearer(key)
            )
            assert response.status_code == 201, response.text
            if stream:
                events = sse(response.text)
                assert events[-1][0] == "done" and events[-1][1]["status"] == "complete", events
                return {"message_id": events[-1][1]["message_id"]}
            body: dict[str, Any] = response.json()
            assert body["message"]["content"] == f"[offline] {text}"
            return {"message_id": body["message"]["id"]}

        await chat("before", False)
        assert await prompts.get("agent.base") is not None  # the base prompt is cached in Redis
        redis.kill()
        failures = prompt_cache.failures
        answered = [await chat(f"during {i}", i % 2 == 1) for i in range(4)]
        assert prompt_cache.failures > failures  # the cache was asked, failed, and was done without
        edited = await client.put(
            "/api/prompts/agent.base", json={"body": "You are {agent_name}, patient."}, headers=bearer(key)
        )
        assert edited.status_code in (200, 403), edited.text  # a member may not edit; either way not a 500
        redis.start()  # empty: what it held is gone

        async def cached_again() -> bool:
            await chat("after", False)
            return await prompts.get("agent.base") is not None

        await eventually(cached_again, "the prompt cache in use again after Redis came back")
        for item in answered:
            (message,) = await rows(kernel, cm.ChatMessage, id=item["message_id"])
            assert message.status == "complete" and message.content.startswith("[offline] during")


async def test_a_revocation_during_a_redis_outage_answers_and_reaches_the_other_node(
    tmp_path: Path, database: str, redis: RedisServer
) -> None:
    shared = {"database_url": database, "redis_url": redis.url}
    async with node(tmp_path, "a", **shared) as (client_a, kernel_a), node(tmp_path, "b", **shared) as (client_b, _):
        workspace = await default_workspace(kernel_a)
        _, owner = await create_key(kernel_a, workspace.id, "owner", "owner")
        victim, key = await create_key(kernel_a, workspace.id, "victim", "member")
        assert (await client_b.get("/api/chat/sessions", headers=bearer(key))).status_code == 200  # warm on B
        redis.kill()
        revoked = await client_a.delete(f"/api/api-keys/{victim.id}", headers=bearer(owner))
        assert revoked.status_code == 204, revoked.text  # committed, so answered: not a 500
        assert kernel_a.bus.publishing.failures >= 1  # pub/sub could not carry it…
        refused_a = await client_a.get("/api/chat/sessions", headers=bearer(key))
        assert refused_a.status_code == 401, refused_a.text

        async def refused_on_b() -> bool:  # …the journal did
            return (await client_b.get("/api/chat/sessions", headers=bearer(key))).status_code == 401

        await eventually(refused_on_b, "node B refusing the key revoked on A while Redis was down")
        redis.start()


# --- PostgreSQL ------------------------------------------------------------------------------------


async def test_a_postgres_outage_is_503_with_retry_after_and_the_app_recovers(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    async with fresh_database(own_postgres.url, prefix="automatos_outage_") as url:
        async with node(tmp_path, "a", database_url=url, database_pool_timeout=2.0) as (client, kernel):
            workspace = await default_workspace(kernel)
            await add_agent(kernel, workspace.id, "helper")
            _, warm = await create_key(kernel, workspace.id, "warm", "member")
            _, cold = await create_key(kernel, workspace.id, "cold", "member")  # never used before the outage
            chat = {"agent": "helper", "content": "hi", "stream": False}
            assert (await client.get("/api/chat/sessions", headers=bearer(warm))).status_code == 200
            assert (await client.post("/api/chat", json=chat, headers=bearer(warm))).status_code == 201

            await asyncio.to_thread(own_postgres.stop)
            try:
                unavailable(await client.get("/api/chat/sessions", headers=bearer(warm)))
                unavailable(await client.post("/api/chat", json=chat, headers=bearer(warm)))
                unavailable(await client.post("/api/chat", json={**chat, "stream": True}, headers=bearer(warm)))
                unavailable(await client.get("/api/chat/sessions", headers=bearer(cold)))  # not a 401
                ready = await client.get("/health/ready")
                assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
            finally:
                await asyncio.to_thread(own_postgres.start)

            # the same process, no restart: dead pooled connections are replaced as they are checked out
            assert (await client.get("/api/chat/sessions", headers=bearer(warm))).status_code == 200
            assert (await client.post("/api/chat", json=chat, headers=bearer(cold))).status_code == 201

            async def ready_again() -> bool:  # readiness answers are cached for a second
                return (await client.get("/health/ready")).status_code == 200

            await eventually(ready_again, "/health/ready after PostgreSQL came back")


# --- one tenant flooding -----------------------------------------------------------------------------


async def test_a_flooding_workspace_does_not_stall_another(tmp_path: Path, database: str) -> None:
    settings = {"database_url": database, "database_pool_size": 4, "database_pool_timeout": 1.0}
    async with node(tmp_path, "a", **settings) as (client, kernel):
        default = await default_workspace(kernel)
        other = await new_workspace(kernel, "other", "Other")
        for workspace in (default, other):
            await add_agent(kernel, workspace.id, "helper")
        _, flooder = await create_key(kernel, default.id, "flooder", "member")
        _, neighbour = await create_key(kernel, other.id, "neighbour", "member")
        pool = kernel.engine.sync_engine.pool
        assert isinstance(pool, db_pool.FairPool) and pool.shares is not None and pool.shares.limit == 2

        # the flooding workspace's handlers hold every connection of its share…
        release = asyncio.Event()
        holding: list[asyncio.Event] = []

        async def hold() -> None:
            CURRENT_CONTEXT.set(RequestContext(request_id="flood", principal=None, workspace=default))
            async with kernel.store.sessionmaker() as session:
                await session.get(cm.Prompt, "agent.base")
                holding[-1].set()
                await release.wait()

        holders = []
        for _ in range(pool.shares.limit):
            holding.append(asyncio.Event())
            holders.append(asyncio.ensure_future(hold()))
            await holding[-1].wait()
        # …and it sends forty chats more on top
        chat = {"agent": "helper", "content": "hi", "stream": False}
        flood = [client.post("/api/chat", json=chat, headers=bearer(flooder)) for _ in range(40)]
        neighbourly = [
            client.get("/api/chat/sessions", headers=bearer(neighbour)),
            client.post("/api/chat", json=chat, headers=bearer(neighbour)),
        ]
        answers = await asyncio.gather(*flood, *neighbourly)
        flooded, served = answers[:40], answers[40:]
        assert [r.status_code for r in served] == [200, 201], [r.text for r in served]
        for response in flooded:  # refused fast and politely, never queued forever, never a 500
            unavailable(response)
        release.set()
        await asyncio.gather(*holders)
        again = [client.post("/api/chat", json=chat, headers=bearer(flooder)) for _ in range(8)]
        answers = await asyncio.gather(*again)
        assert {r.status_code for r in answers} == {201}  # its share back, the workspace is served again
        assert pool.shares.held(default.id) == 0 and pool.shares.refused >= 40


# --- the fault test: chats and revocations while Redis is killed and restarted --------------------------


async def test_chats_and_revocations_while_redis_is_killed_and_restarted(
    tmp_path: Path, database: str, redis: RedisServer
) -> None:
    shared = {"database_url": database, "redis_url": redis.url}
    async with (
        node(tmp_path, "a", **shared) as (client_a, kernel_a),
        node(tmp_path, "b", **shared) as (client_b, kernel_b),
    ):
        for client in (client_a, client_b):
            container_of(client).prompts().cache.retry_seconds = 0.05
        workspace = await default_workspace(kernel_a)
        await add_agent(kernel_a, workspace.id, "helper")
        _, owner = await create_key(kernel_a, workspace.id, "owner", "owner")
        keepers = [(await create_key(kernel_a, workspace.id, f"keeper-{i}", "member"))[1] for i in range(4)]
        victims = [await create_key(kernel_a, workspace.id, f"victim-{i}", "member") for i in range(8)]
        for client in (client_a, client_b):  # every key warm on both nodes
            for key in [*keepers, *(k for _, k in victims)]:
                assert (await client.get("/api/chat/sessions", headers=bearer(key))).status_code == 200

        answered: list[tuple[str, str]] = []  # (message id, text) of every chat answered
        statuses: list[int] = []
        progress = asyncio.Condition()
        stop = asyncio.Event()

        async def chatter(worker: int) -> None:
            clients = (client_a, client_b)
            turn = 0
            while not stop.is_set():
                turn += 1
                text, stream = f"w{worker} t{turn}", turn % 2 == 0
                response = await clients[turn % 2].post(
                    "/api/chat",
                    json={"agent": "helper", "content": text, "stream": stream},
                    headers=bearer(keepers[worker % len(keepers)]),
                )
                statuses.append(response.status_code)
                if response.status_code == 201:
                    if stream:
                        message_id = sse(response.text)[-1][1]["message_id"]
                    else:
                        message_id = response.json()["message"]["id"]
                    answered.append((message_id, text))
                async with progress:
                    progress.notify_all()

        async def chats_done(more: int) -> None:
            target = len(statuses) + more
            async with progress:
                await progress.wait_for(lambda: len(statuses) >= target)

        revocations: list[int] = []

        async def revoke(batch: list[Any]) -> None:
            for record, _ in batch:
                response = await client_a.delete(f"/api/api-keys/{record.id}", headers=bearer(owner))
                revocations.append(response.status_code)

        workers = [asyncio.ensure_future(chatter(i)) for i in range(6)]
        try:
            await chats_done(12)
            redis.kill()
            await asyncio.gather(revoke(victims[:4]), chats_done(24))  # all of it while Redis is gone
            redis.start()
            await asyncio.gather(revoke(victims[4:]), chats_done(24))  # and while the clients reconnect
            await chats_done(12)
        finally:
            stop.set()
            await asyncio.gather(*workers)

        assert set(statuses) == {201}, sorted(set(statuses))
        assert revocations == [204] * len(victims)
        # nothing lost: every answered chat is stored, complete, with its answer
        async with kernel_a.store.sessionmaker() as session:
            stored = {
                row.id: row
                for row in (
                    await session.execute(select(cm.ChatMessage).where(cm.ChatMessage.id.in_([m for m, _ in answered])))
                ).scalars()
            }
        assert len(stored) == len(answered) == len(statuses)
        for message_id, text in answered:
            assert (stored[message_id].status, stored[message_id].content) == ("complete", f"[offline] {text}")

        # every revocation effective on both nodes, every other key still good
        async def all_refused() -> bool:
            for client in (client_a, client_b):
                for _, key in victims:
                    if (await client.get("/api/chat/sessions", headers=bearer(key))).status_code != 401:
                        return False
            return True

        await eventually(all_refused, "every revoked key refused on both nodes")
        for client in (client_a, client_b):
            for key in keepers:
                assert (await client.get("/api/chat/sessions", headers=bearer(key))).status_code == 200

        # recovered by itself: Redis pub/sub carries messages between the nodes again, the cache is used
        subscription = await kernel_b.backends.pubsub.subscribe("automatos:faults-test")
        try:

            async def delivered() -> bool:
                await kernel_a.backends.pubsub.publish("automatos:faults-test", b"ping")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        return await anext(subscription) == b"ping"
                return False

            await eventually(delivered, "pub/sub between the nodes after Redis came back")
        finally:
            await subscription.aclose()
        prompts = kernel_a.backends.kv.with_namespace("prompts:")

        async def cached() -> bool:
            response = await client_a.post(
                "/api/chat", json={"agent": "helper", "content": "after", "stream": False}, headers=bearer(keepers[0])
            )
            assert response.status_code == 201
            return await prompts.get("agent.base") is not None

        await eventually(cached, "the prompt cache in use again")
