"""Recipe steps through the job queue (``RECIPES_RUNNER=queue``): the API enqueues, a worker serves
``recipes.advance`` one step per job and enqueues the next, its sweep takes up runs nobody enqueued,
and a worker stopped mid-step hands its run back so another finishes it without repeating a step."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.jobs.backend import queue_backend
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.recipes.queue import QueueRunner, serve
from automatos.recipes.settings import RecipeSettings
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.recipes.test_recipes import INPUTS, THREE
from tests.tools.fakes import FakePlugin, Plugins

ALICE = {"X-Test-User": "alice"}


class Queued:
    def __init__(self, client: AppClient, ids: dict[str, str], cards: FakePlugin) -> None:
        self.client, self.ids, self.cards = client, ids, cards
        self.kernel: Kernel = client.app.state["kernel"]

    def alpha(self) -> dict[str, str]:
        return {**ALICE, "X-Workspace-ID": self.ids["alpha"]}

    async def status(self, run_id: str) -> dict[str, Any]:
        got = await self.client.get(f"/api/recipes/runs/{run_id}", headers=self.alpha())
        body: dict[str, Any] = got.json()
        return body

    async def finished(self, run_id: str) -> dict[str, Any]:
        """The run once it finished: its events stream ends then (no polling loop here)."""
        streamed = await self.client.get(f"/api/recipes/runs/{run_id}/events", headers=self.alpha(), timeout=120)
        assert streamed.status_code == 200, streamed.text
        return await self.status(run_id)


@pytest.fixture
async def queued(tmp_path: Path, redis_url: str) -> AsyncIterator[Queued]:
    container = make_container(
        tmp_path,
        feature_sandbox=False,
        redis_url=redis_url,
        recipes_runner="queue",
        recipes_queue_name=f"test-recipes-{uuid.uuid4().hex[:8]}",
        recipes_sweep_seconds=0.2,
        recipes_heartbeat_seconds=0.2,
        recipes_stale_seconds=60,
        rate_limit_default="100000/minute",
    )
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "alpha"}, headers=ALICE)
        ids = {"alpha": made.json()["id"]}
        cards = FakePlugin("cards", ["card"])
        await Plugins(kernel).set(ids["alpha"], cards)
        world = Queued(client, ids, cards)
        for slug in ("triager", "writer"):
            await client.post("/api/agents", json={"name": slug, "slug": slug}, headers=world.alpha())
        made = await client.post(
            "/api/recipes",
            json={"slug": "triage", "name": "Triage", "definition": {"inputs": INPUTS, "steps": THREE}},
            headers=world.alpha(),
        )
        assert made.status_code == 201, made.text
        yield world


async def _worker(world: Queued, stop: asyncio.Event) -> None:
    container = container_of(world.client)
    settings = world.kernel.current_settings
    backend = await queue_backend(container.hooks(), settings)
    await serve(container.recipe_engine(), backend, settings.group(RecipeSettings), stop_event=stop, grace_seconds=1)


async def test_the_api_enqueues_and_a_worker_advances_step_by_step(queued: Queued) -> None:
    assert isinstance(container_of(queued.client).recipe_runner(), QueueRunner)
    started = await queued.client.post(
        "/api/recipes/triage/runs", json={"inputs": {"ticket": "t", "url": "https://q.test"}}, headers=queued.alpha()
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert (await queued.status(run_id))["status"] == "queued"  # nothing runs in the API process
    stop = asyncio.Event()
    worker = asyncio.create_task(_worker(queued, stop))
    try:
        done = await queued.finished(run_id)
    finally:
        stop.set()
        await worker
    assert [(s["step"], s["attempt"], s["status"]) for s in done["steps"]] == [
        ("triage", 1, "succeeded"),
        ("card", 1, "succeeded"),
        ("answer", 1, "succeeded"),
    ]
    assert len(queued.cards.calls) == 1


async def test_a_worker_stopped_mid_step_hands_the_run_back(queued: Queued) -> None:
    """The first worker is cancelled while a step runs (past its grace): the run is handed back, and
    the next worker finishes it; no finished step runs twice."""
    gate = asyncio.Event()
    original = queued.cards.execute

    async def slow(workspace_id: str, tool: str, arguments: Any) -> Any:
        gate.set()
        await asyncio.sleep(3600)  # never finishes: the worker is stopped under it
        return await original(workspace_id, tool, arguments)

    queued.cards.execute = slow  # type: ignore[method-assign]
    started = await queued.client.post(
        "/api/recipes/triage/runs", json={"inputs": {"ticket": "t", "url": "https://k.test"}}, headers=queued.alpha()
    )
    run_id = started.json()["id"]
    stop = asyncio.Event()
    first = asyncio.create_task(_worker(queued, stop))
    await asyncio.wait_for(gate.wait(), 30)
    first.cancel()  # a second signal: abort at once
    with pytest.raises(asyncio.CancelledError):
        await first
    handed = await queued.status(run_id)
    assert handed["status"] == "running" and [s["status"] for s in handed["steps"]] == ["succeeded", "running"]
    queued.cards.execute = original  # type: ignore[method-assign]
    stop2 = asyncio.Event()
    second = asyncio.create_task(_worker(queued, stop2))
    try:
        done = await queued.finished(run_id)
    finally:
        stop2.set()
        await second
    steps = [(s["step"], s["attempt"], s["status"]) for s in done["steps"]]
    assert steps == [("triage", 1, "succeeded"), ("card", 1, "succeeded"), ("answer", 1, "succeeded")]
    assert len(queued.cards.calls) == 1  # the card ran to the end once, under the same key
