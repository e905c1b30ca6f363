"""Chat under load: many concurrent turns on a small pool, with every cache cold.

A turn reads platform settings, the base prompt and the workspace's providers; each is cached, and a
cold cache reads the database. Read inside the turn's transaction, that second read needed a second
connection while the first was held: enough concurrent chats held every connection and waited for
another (QueuePool limit reached, 500s). Now they are read before the transaction opens, and the
pool refuses a second checkout by one task outright in tests (``STRICT_CHECKOUTS``).

The caches are emptied by hand (settings, the prompt cache, the workspace's hook view), not by
sleeping past their expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from automatos.agents import models as am
from automatos.api.app import create_app
from automatos.chat import models as cm
from automatos.kernel.core import Kernel
from automatos.kernel.db import pool as db_pool
from tests.agents.test_chat import add_agent, as_user, build_world, rows
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.helpers import database_url as param_database_url

POOL_SIZE = 2
MAX_OVERFLOW = 10
"""SQLAlchemy's default overflow: the pool opens at most POOL_SIZE + MAX_OVERFLOW connections."""
CONCURRENT = 3 * (POOL_SIZE + MAX_OVERFLOW)
UNLIMITED = "100000/minute"
"""The rate limiter is not under test."""


def _checkouts(strict: bool) -> Iterator[None]:
    before = db_pool.STRICT_CHECKOUTS
    db_pool.STRICT_CHECKOUTS = strict
    try:
        yield
    finally:
        db_pool.STRICT_CHECKOUTS = before


@pytest.fixture
def strict() -> Iterator[None]:
    """A second checkout by one task raises instead of being logged."""
    yield from _checkouts(True)


@pytest.fixture
def lenient() -> Iterator[None]:
    """Production behaviour: a second checkout by one task is logged, not refused."""
    yield from _checkouts(False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with param_database_url(request, tmp_path, name="load.db", prefix="automatos_load_") as url:
        yield url


async def cool_down(client: AppClient, kernel: Kernel, workspace_id: str) -> None:
    """Empty every cache a turn reads: platform settings and prices, the prompt cache, the hook view."""
    container = container_of(client)
    container.settings_registry().forget()
    container.llm_catalog().forget_prices()
    await kernel.backends.kv.with_namespace("prompts:").delete("agent.base")
    kernel.views.forget(workspace_id)


async def burst(client: Any, workspace_id: str, count: int, **body: Any) -> list[int]:
    async def one(i: int) -> int:
        response = await client.post(
            "/api/chat",
            json={"agent": "helper", "content": f"hello {i}", "stream": False, **body},
            headers=as_user("alice", workspace_id),
        )
        return int(response.status_code)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def test_concurrent_chats_with_cold_caches_need_one_connection_each(
    tmp_path: Path, database_url: str, strict: None
) -> None:
    container = make_container(
        tmp_path,
        database_url=database_url,
        database_pool_size=POOL_SIZE,
        database_pool_timeout=5.0,
        database_workspace_share=CONCURRENT,  # the pool, not the workspace share, is under test here
        rate_limit_default=UNLIMITED,
    )
    app = create_app(container)
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        world = await build_world(client, kernel)
        alpha = world.ids["alpha"]
        for _ in range(2):  # cold, then cold again: both bursts fully answered
            await cool_down(client, kernel, alpha)
            statuses = await burst(client, alpha, CONCURRENT)
            assert statuses == [201] * CONCURRENT
        answers = await rows(kernel, cm.ChatMessage, workspace_id=alpha, role="assistant")
        assert len(answers) == 2 * CONCURRENT and {a.status for a in answers} == {"complete"}
        pool = kernel.engine.sync_engine.pool
        assert isinstance(pool, db_pool.FairPool) and pool.owners.nested == 0


async def test_stateless_turns_with_cold_caches_need_one_connection_each(tmp_path: Path, strict: None) -> None:
    app = create_app(
        make_container(
            tmp_path, database_pool_size=POOL_SIZE, database_workspace_share=CONCURRENT, rate_limit_default=UNLIMITED
        )
    )
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        world = await build_world(client, kernel)
        alpha = world.ids["alpha"]
        await cool_down(client, kernel, alpha)

        async def one(i: int) -> int:
            response = await client.post(
                "/v1/chat/completions",
                json={"model": "helper", "messages": [{"role": "user", "content": f"hi {i}"}]},
                headers=as_user("alice", alpha),
            )
            return int(response.status_code)

        assert await asyncio.gather(*(one(i) for i in range(CONCURRENT))) == [200] * CONCURRENT
        usage = await rows(kernel, cm.LLMUsage, workspace_id=alpha)
        assert len(usage) == CONCURRENT


async def test_a_nested_session_is_caught_in_tests(tmp_path: Path, strict: None) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app):
        kernel: Kernel = app.state["kernel"]
        sessions = kernel.store.sessionmaker
        async with sessions() as outer:
            await outer.get(cm.Prompt, "agent.base")
            with pytest.raises(db_pool.NestedCheckoutError, match="second database connection"):
                async with sessions() as inner:
                    await inner.get(cm.Prompt, "agent.base")
        # one after the other is the rule, and it holds
        async with sessions() as first:
            await first.get(cm.Prompt, "agent.base")
        async with sessions() as second:
            await second.get(cm.Prompt, "agent.base")


async def test_outside_tests_a_nested_session_is_logged_not_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, lenient: None
) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app):
        kernel: Kernel = app.state["kernel"]
        sessions = kernel.store.sessionmaker
        async with sessions() as outer:
            await outer.get(cm.Prompt, "agent.base")
            async with sessions() as inner:
                assert await inner.get(cm.Prompt, "agent.base") is not None
        pool = kernel.engine.sync_engine.pool
        assert isinstance(pool, db_pool.FairPool) and pool.owners.nested == 1
        assert "second database connection" in caplog.text


async def test_a_paused_agent_gets_no_new_turns_but_keeps_its_history(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        world = await build_world(client, kernel)
        alpha = world.ids["alpha"]
        agent_id = await add_agent(kernel, alpha, "napper")
        headers = as_user("alice", alpha)
        body = {"agent": "napper", "content": "hi", "stream": False}
        first = await client.post("/api/chat", json=body, headers=headers)
        assert first.status_code == 201, first.text
        session_id = first.json()["session_id"]
        async with kernel.store.sessionmaker.begin() as session:
            agent = await session.get(am.Agent, agent_id)
            assert agent is not None
            agent.status = "paused"
        attempts = [
            ("/api/chat", {"agent": "napper", "content": "again", "stream": False}, "agent"),
            ("/api/chat", {"agent": "napper", "content": "again", "session_id": session_id}, "agent"),
            (f"/api/chat/sessions/{session_id}/messages", {"content": "again"}, "agent"),
            (f"/api/chat/sessions/{session_id}/messages", {"content": "again", "stream": False}, "agent"),
            ("/v1/chat/completions", {"model": "napper", "messages": [{"role": "user", "content": "x"}]}, "model"),
            (
                "/v1/chat/completions",
                {"model": "napper", "messages": [{"role": "user", "content": "x"}], "stream": True},
                "model",
            ),
        ]
        for path, body, field in attempts:
            response = await client.post(path, json=body, headers=headers)
            assert response.status_code == 409, (path, response.text)
            assert "paused" in response.text, response.text
            if path.startswith("/api/"):
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["field"] == field
        messages = await rows(kernel, cm.ChatMessage, workspace_id=alpha, session_id=session_id)
        assert len(messages) == 2  # the refused turns wrote nothing
        assert len(await rows(kernel, cm.LLMUsage, workspace_id=alpha)) == 1
        listed = await client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
        assert listed.status_code == 200 and listed.json()["total"] == 2
