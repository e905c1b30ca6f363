"""Faults under recipe runs (issue 15): Redis killed, PostgreSQL restarted, the KV backend and the
blob store failing, while runs are started and advanced.

The rule under test: the API answers what it can, fails open where docs/recipes.md says so (a queue
that cannot be reached leaves the run ``queued``; a scratchpad that cannot be read is ``{}``; a log
the store cannot take is lost, never the step), answers 503 problem+json — not 500 — for what it
cannot, loses no run, and recovers by itself once the service is back; every step ends checkpointed
``succeeded`` exactly once.

Real components: the suite's PostgreSQL (a server of this module's own where it is stopped), a
Redis-compatible server of each test's own (SIGKILLed and started again, empty), the local blob
store on a disk that refuses the write. Nothing depends on the wall clock: the engine's clock is
injected (:class:`Clock`), and a run goes stale — its holder silent for ``RECIPES_STALE_SECONDS`` —
only when a test says that much time passed (:meth:`Clock.jump`). Progress is sequenced by outcomes
(a tool called, a checkpoint written); the only waits are bounded polls for what a sweeper does in
the background, and they end as soon as it happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.jobs.backend import queue_backend
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.types import IDEMPOTENCY_KEY, ToolResult
from automatos.recipes.engine import Advanced, RecipeEngine
from automatos.recipes.queue import QueueRunner, serve
from automatos.recipes.runner import LocalRunner
from automatos.recipes.settings import RecipeSettings
from tests.helpers import AppClient, container_of, make_container, serve_app, sse
from tests.recipes.test_recipes import INPUTS, THREE
from tests.services import PostgresServer, RedisServer, fresh_database
from tests.tools.fakes import FakePlugin, Plugins

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ALICE = {"X-Test-User": "alice"}
STALE = 3600.0
"""``RECIPES_STALE_SECONDS`` here: never reached by the wall clock, only by :meth:`Clock.jump`."""
DEADLINE = 90.0
"""Liveness bound for what a sweeper or worker does in the background; reached only when it is broken."""
SUCCEEDED_ONCE = [("triage", 1, "succeeded"), ("card", 1, "succeeded"), ("answer", 1, "succeeded")]
RUNS = "/api/recipes/runs"


class Clock:
    """The engine's clock: one millisecond later at every reading (checkpoints keep their order),
    and ``jump(seconds)`` later when a test says that much time passed."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def jump(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Gate:
    """The ``cards__card`` tool held until :meth:`open`; every call's idempotency key recorded."""

    def __init__(self, cards: FakePlugin) -> None:
        self.keys: list[str] = []
        self.opened = asyncio.Event()
        self._called = asyncio.Condition()
        self._original = cards.execute
        cards.execute = self.execute  # type: ignore[method-assign]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        async with self._called:
            self.keys.append(IDEMPOTENCY_KEY.get() or "<none>")
            self._called.notify_all()
        await self.opened.wait()
        return await self._original(workspace_id, tool, arguments)

    async def called(self, times: int) -> None:
        async with asyncio.timeout(DEADLINE), self._called:
            await self._called.wait_for(lambda: len(self.keys) >= times)

    def open(self) -> None:
        self.opened.set()


class Advances:
    """The engine's ``advance`` calls in flight, watched on the instance (the in-process runner and
    the queue worker's jobs call it there): :meth:`settled` waits for those running now to end."""

    def __init__(self, engine: RecipeEngine) -> None:
        self.calls: set[asyncio.Future[None]] = set()
        original = engine.advance

        async def advance(run_id: str, **kwargs: Any) -> Advanced:
            ended = asyncio.get_running_loop().create_future()
            self.calls.add(ended)
            try:
                return await original(run_id, **kwargs)
            finally:
                ended.set_result(None)
                self.calls.discard(ended)

        engine.advance = advance  # type: ignore[method-assign]

    async def settled(self) -> None:
        running = set(self.calls)
        if running:
            _, late = await asyncio.wait(running, timeout=DEADLINE)
            assert not late, f"{len(late)} advance(s) still running after {DEADLINE} s"


class World:
    def __init__(self, client: AppClient, workspace: str, cards: FakePlugin, clock: Clock) -> None:
        self.client, self.workspace, self.cards, self.clock = client, workspace, cards, clock
        self.kernel: Kernel = client.app.state["kernel"]
        self.engine: RecipeEngine = container_of(client).recipe_engine()

    def alpha(self) -> dict[str, str]:
        return {**ALICE, "X-Workspace-ID": self.workspace}

    async def recipe(self, steps: list[dict[str, Any]], *, slug: str = "triage", inputs: Any = None) -> None:
        definition: dict[str, Any] = {"steps": steps, **({"inputs": inputs} if inputs is not None else {})}
        made = await self.client.post(
            "/api/recipes", json={"slug": slug, "name": slug.title(), "definition": definition}, headers=self.alpha()
        )
        assert made.status_code == 201, made.text

    async def start(self, inputs: dict[str, Any], recipe: str = "triage") -> dict[str, Any]:
        started = await self.client.post(f"/api/recipes/{recipe}/runs", json={"inputs": inputs}, headers=self.alpha())
        assert started.status_code == 202, started.text
        body: dict[str, Any] = started.json()
        return body

    async def get(self, run_id: str) -> dict[str, Any]:
        got = await self.client.get(f"{RUNS}/{run_id}", headers=self.alpha())
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def finished(self, *run_ids: str) -> list[dict[str, Any]]:
        """The runs once every one finished (the sweepers and workers do it in the background)."""
        done: dict[str, dict[str, Any]] = {}

        async def all_done() -> bool:
            for run_id in run_ids:
                if run_id not in done:
                    got = await self.get(run_id)
                    if got["status"] in ("succeeded", "failed", "cancelled"):
                        done[run_id] = got
            return len(done) == len(run_ids)

        await eventually(all_done, f"runs {run_ids} finished")
        return [done[run_id] for run_id in run_ids]

    async def events(self, run_id: str) -> list[tuple[str, Any]]:
        got = await self.client.get(f"{RUNS}/{run_id}/events", headers=self.alpha(), timeout=DEADLINE)
        assert got.status_code == 200, got.text
        return sse(got.text)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``check()`` holds; fails after :data:`DEADLINE` (a bound, not a timing assertion)."""
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE} s"
        await asyncio.sleep(0.05)


async def logged(caplog: pytest.LogCaptureFixture, text: str, times: int = 1) -> None:
    """Until ``text`` was logged ``times`` times: what happens in the background, sequenced by outcome."""

    async def enough() -> bool:
        return sum(text in record.getMessage() for record in caplog.records) >= times

    await eventually(enough, f"{text!r} logged {times} times")


def unavailable(response: Any) -> None:
    """A 503 problem+json with ``Retry-After``: the client retries, nothing is wrong with its request."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


def checkpoints(run: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(s["step"], s["attempt"], s["status"]) for s in run["steps"]]


def kinds(events: list[tuple[str, Any]], kind: str) -> Counter[str]:
    """How many ``kind`` events each step has in a run's log."""
    return Counter(data["step"] for name, data in events if name == kind)


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_url, prefix="automatos_recipe_faults_") as url:
        yield url


@contextlib.asynccontextmanager
async def _world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    container = make_container(
        tmp_path,
        feature_sandbox=False,
        rate_limit_default="100000/minute",
        recipes_sweep_seconds=0.2,
        recipes_heartbeat_seconds=0.2,
        recipes_stale_seconds=STALE,
        **settings,
    )
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        clock = Clock()
        container.recipe_engine().clock = clock
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "alpha"}, headers=ALICE)
        assert made.status_code == 201, made.text
        cards = FakePlugin("cards", ["card"])
        await Plugins(kernel).set(made.json()["id"], cards)
        world = World(client, made.json()["id"], cards, clock)
        for slug in ("triager", "writer"):
            agent = await client.post("/api/agents", json={"name": slug, "slug": slug}, headers=world.alpha())
            assert agent.status_code == 201, agent.text
        yield world


async def _serve_worker(world: World, stop: asyncio.Event, ready: asyncio.Event) -> None:
    """``automatos worker --queue recipes`` in this loop, on the app's own engine (and so its clock)."""
    container = container_of(world.client)
    settings = world.kernel.current_settings
    backend = await queue_backend(container.hooks(), settings)
    await serve(world.engine, backend, settings.group(RecipeSettings), stop_event=stop, grace_seconds=1, ready=ready)


class Worker:
    def __init__(self, world: World) -> None:
        self.stop, self.ready = asyncio.Event(), asyncio.Event()
        self.task = asyncio.ensure_future(_serve_worker(world, self.stop, self.ready))

    async def started(self) -> None:
        async with asyncio.timeout(DEADLINE):
            await asyncio.wait([self.task, asyncio.ensure_future(self.ready.wait())], return_when="FIRST_COMPLETED")
        if self.task.done():
            await self.task  # its failure, said
        assert self.ready.is_set()

    async def close(self) -> None:
        self.stop.set()
        async with asyncio.timeout(DEADLINE):
            await self.task


@pytest.fixture
async def queued(tmp_path: Path, database: str, redis: RedisServer) -> AsyncIterator[World]:
    """The queue runner (``RECIPES_RUNNER=queue``) on PostgreSQL and this test's own Redis."""
    async with _world(
        tmp_path,
        database_url=database,
        redis_url=redis.url,
        recipes_runner="queue",
        recipes_queue_name=f"test-recipe-faults-{uuid.uuid4().hex[:8]}",
    ) as world:
        assert isinstance(container_of(world.client).recipe_runner(), QueueRunner)
        await world.recipe(THREE, inputs=INPUTS)
        yield world


# --- Redis down under the queue runner -------------------------------------------------------------


async def test_runs_started_while_redis_is_down_are_queued_and_a_worker_finishes_them(
    queued: World, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The API enqueues nothing while Redis is down, yet answers 202 with the run ``queued``
    (docs/recipes.md: a queue that cannot be reached leaves the run queued). Redis comes back empty
    (every job it held is gone): the worker, which lived through the outage, reconnects by itself and
    its sweep takes every run up from the database; each step runs and is checkpointed once."""
    worker = Worker(queued)
    await worker.started()
    try:
        redis.kill()
        runs = [await queued.start({"ticket": f"t{i}", "url": f"https://{i}.test"}) for i in range(3)]
        assert [run["status"] for run in runs] == ["queued"] * 3
        listed = await queued.client.get(RUNS, headers=queued.alpha())  # reads answer: they need no Redis
        assert listed.status_code == 200 and listed.json()["total"] == 3, listed.text
        for run in runs:
            assert (await queued.get(run["id"]))["status"] == "queued"
        await logged(caplog, "the recipes sweep failed")  # the worker's sweep found them, could not enqueue
        redis.start()
        done = await queued.finished(*(run["id"] for run in runs))
    finally:
        await worker.close()
    for run in done:
        assert run["status"] == "succeeded", run
        assert checkpoints(run) == SUCCEEDED_ONCE
        assert run["steps"][1]["idempotency_key"] == f"{run['id']}:card:1"
        events = await queued.events(run["id"])
        assert kinds(events, "step.started") == kinds(events, "step.finished") == Counter(triage=1, card=1, answer=1)
    assert sorted(call[2]["url"] for call in queued.cards.calls) == [f"https://{i}.test" for i in range(3)]


async def test_runs_in_flight_when_redis_dies_finish_after_it_is_back_without_a_step_twice(
    queued: World, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Three runs are in their tool step on the worker when Redis is killed. The steps finish and are
    checkpointed (the database is up), but the next advance cannot be enqueued and Redis comes back
    empty: the runs, held by nobody, are taken up by the sweep once their holder has been silent
    for ``RECIPES_STALE_SECONDS`` (the clock jumps), and finish; no finished step runs again."""
    gate = Gate(queued.cards)
    worker = Worker(queued)
    await worker.started()
    try:
        runs = [await queued.start({"ticket": f"t{i}", "url": f"https://{i}.test"}) for i in range(3)]
        await gate.called(3)  # every run is in its card step, on the worker
        redis.kill()
        gate.open()

        async def cards_checkpointed() -> bool:
            for run in runs:
                got = await queued.get(run["id"])
                if [s["status"] for s in got["steps"]] != ["succeeded", "succeeded"]:
                    return False
            return True

        await eventually(cards_checkpointed, "the card steps checkpointed while Redis is down")
        await logged(caplog, "the next step not enqueued", 3)  # an outage, said as one: not a worker's bug
        assert not [r for r in caplog.records if r.name == "automatos.jobs" and r.levelno >= logging.ERROR]
        for run in runs:  # between steps, held by nobody: nothing lost, nothing running
            assert (await queued.get(run["id"]))["status"] == "running"
        redis.start()
        queued.clock.jump(STALE + 1)  # their holder has been silent that long: the sweep takes them up
        done = await queued.finished(*(run["id"] for run in runs))
    finally:
        await worker.close()
    for run in done:
        assert run["status"] == "succeeded", run
        assert checkpoints(run) == SUCCEEDED_ONCE
        events = await queued.events(run["id"])
        assert kinds(events, "step.started") == kinds(events, "step.finished") == Counter(triage=1, card=1, answer=1)
    assert sorted(gate.keys) == sorted(f"{run['id']}:card:1" for run in runs)  # each card ran once
    assert len(queued.cards.calls) == 3


# --- PostgreSQL restarting under the local runner --------------------------------------------------


@pytest.mark.parametrize("runner", ["local", "queue"])
async def test_a_postgres_restart_mid_step_is_503_and_the_runs_resume_with_each_step_succeeded_once(
    tmp_path: Path, own_postgres: PostgresServer, redis: RedisServer, runner: str
) -> None:
    """Two runs are in their tool step — on the in-process runner, or on a queue worker — when
    PostgreSQL stops. The recipes API answers 503 problem+json for reads, starts, control, the
    scratchpad and the events (not 500). The steps end while the database is gone: their outcome
    cannot be checkpointed, so the runs stay ``running`` with the step ``running`` — nothing lost.
    After PostgreSQL is back (the same processes, no restart), the sweep takes them up once their
    holder has been silent for ``RECIPES_STALE_SECONDS`` (the clock jumps): the step runs again under
    the same idempotency key, and every step ends checkpointed ``succeeded`` exactly once."""
    settings: dict[str, Any] = {"database_pool_timeout": 2.0}
    if runner == "queue":
        settings |= {"redis_url": redis.url, "recipes_runner": "queue", "recipes_queue_name": f"q-{uuid.uuid4().hex}"}
    async with fresh_database(own_postgres.url, prefix="automatos_recipe_outage_") as url:
        async with _world(tmp_path, database_url=url, **settings) as world:
            expected = QueueRunner if runner == "queue" else LocalRunner
            assert isinstance(container_of(world.client).recipe_runner(), expected)
            worker = Worker(world) if runner == "queue" else None
            try:
                if worker is not None:
                    await worker.started()
                await _postgres_restarts_under_runs(world, own_postgres)
            finally:
                if worker is not None:
                    await worker.close()


async def _postgres_restarts_under_runs(world: World, own_postgres: PostgresServer) -> None:
    await world.recipe(THREE, inputs=INPUTS)
    await world.recipe([{"id": "ok", "approval": "Go?"}], slug="hold")
    waiting = await world.start({}, "hold")
    gate, advances = Gate(world.cards), Advances(world.engine)
    runs = [await world.start({"ticket": f"t{i}", "url": f"https://{i}.test"}) for i in range(2)]
    await gate.called(2)

    await asyncio.to_thread(own_postgres.stop)
    try:
        alpha, run_path = world.alpha(), f"{RUNS}/{runs[0]['id']}"
        unavailable(await world.client.get(run_path, headers=alpha))
        unavailable(await world.client.get(RUNS, headers=alpha))
        unavailable(await world.client.get("/api/recipes", headers=alpha))
        unavailable(await world.client.get("/api/recipes/triage", headers=alpha))
        start = {"inputs": {"ticket": "during"}}
        unavailable(await world.client.post("/api/recipes/triage/runs", json=start, headers=alpha))
        unavailable(await world.client.post(f"{RUNS}/{waiting['id']}/approve", json={}, headers=alpha))
        unavailable(await world.client.post(f"{run_path}/cancel", json={}, headers=alpha))
        unavailable(await world.client.put(f"{run_path}/scratchpad/n", json={"value": "x"}, headers=alpha))
        unavailable(await world.client.get(f"{run_path}/events", headers=alpha))
        gate.open()  # the steps end with nowhere to write their outcome
        await advances.settled()  # the runner or worker let go of them, and did not crash
    finally:
        await asyncio.to_thread(own_postgres.start)

    for run in runs:  # the pool replaces its dead connections as they are checked out
        left = await world.get(run["id"])
        assert left["status"] == "running" and left["step"] == "card", left
        assert [s["status"] for s in left["steps"]] == ["succeeded", "running"]
    assert (await world.get(waiting["id"]))["status"] == "waiting"  # untouched by the outage
    world.clock.jump(STALE + 1)  # the runs' holder has been silent that long
    done = await world.finished(*(run["id"] for run in runs))
    for run in done:
        assert run["status"] == "succeeded", run
        assert checkpoints(run) == SUCCEEDED_ONCE
        events = await world.events(run["id"])
        assert kinds(events, "step.finished") == Counter(triage=1, card=1, answer=1)
        assert kinds(events, "step.started") == Counter(triage=1, card=2, answer=1)  # the card ran again
    # each card ran twice (its first outcome never reached the database), under one key
    assert sorted(gate.keys) == sorted(f"{run['id']}:card:1" for run in runs for _ in range(2))
    # and the API is whole again: a new run starts and finishes
    after = await world.start({"ticket": "after", "url": "https://after.test"})
    (finished,) = await world.finished(after["id"])
    assert finished["status"] == "succeeded" and checkpoints(finished) == SUCCEEDED_ONCE


# --- the KV backend (the scratchpad) down ------------------------------------------------------------


async def test_the_scratchpad_down_is_empty_for_templates_and_503_for_the_api(
    tmp_path: Path, database: str, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis is the KV backend. While it is down, a step whose condition and arguments read the
    scratchpad still runs, with the scratchpad empty (logged); reading or setting a note answers
    503 problem+json, not 500. Redis back (empty), notes are set and read again."""
    async with _world(tmp_path, database_url=database, redis_url=redis.url) as world:
        runner = container_of(world.client).recipe_runner()
        assert isinstance(runner, LocalRunner)
        await world.recipe(
            [
                {"id": "ok", "approval": "Notes first?"},
                {
                    "id": "card",
                    "tool": "cards__card",
                    "if": "not scratchpad.hold",
                    "arguments": {"url": "notes: {{ scratchpad }}"},
                },
            ]
        )
        waiting = await world.start({})
        await runner.idle()
        pad = f"{RUNS}/{waiting['id']}/scratchpad"
        put = await world.client.put(f"{pad}/hold", json={"value": False}, headers=world.alpha())
        assert put.status_code == 200 and put.json() == {"hold": False}, put.text

        redis.kill()
        unavailable(await world.client.get(pad, headers=world.alpha()))
        unavailable(await world.client.put(f"{pad}/hold", json={"value": True}, headers=world.alpha()))
        unavailable(await world.client.put(f"{pad}/hold", json={"value": None}, headers=world.alpha()))
        with caplog.at_level(logging.WARNING, logger="automatos.recipes"):
            approved = await world.client.post(f"{RUNS}/{waiting['id']}/approve", json={}, headers=world.alpha())
            assert approved.status_code == 200, approved.text
            async with asyncio.timeout(DEADLINE):
                await runner.idle()
        done = await world.get(waiting["id"])
        assert done["status"] == "succeeded", done
        assert checkpoints(done) == [("ok", 1, "succeeded"), ("card", 1, "succeeded")]
        assert done["steps"][1]["output"]["arguments"] == {"url": "notes: {}"}  # the notes could not be read
        assert any("scratchpad could not be read" in r.getMessage() for r in caplog.records), caplog.text

        redis.start()  # empty: the notes it held are gone
        put = await world.client.put(f"{pad}/target", json={"value": "https://pad.test"}, headers=world.alpha())
        assert put.status_code == 200 and put.json() == {"target": "https://pad.test"}, put.text
        got = await world.client.get(pad, headers=world.alpha())
        assert got.status_code == 200 and got.json() == {"target": "https://pad.test"}, got.text


# --- the blob store failing ------------------------------------------------------------------------


async def test_a_blob_store_that_refuses_the_step_logs_loses_the_logs_never_the_steps(
    tmp_path: Path, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The local blob store's disk refuses the step logs (where their directory must be is a file):
    every step still succeeds, its ``log_url`` is null, the failure is logged, and nothing answers
    500. The disk fixed, the next run's logs are stored and linked again."""
    async with _world(tmp_path, database_url=database) as world:
        runner = container_of(world.client).recipe_runner()
        assert isinstance(runner, LocalRunner)
        await world.recipe(THREE, inputs=INPUTS)
        root = Path(world.kernel.backends.blob.root)  # type: ignore[attr-defined]  # the local store
        blocked = root / "recipes"
        shutil.rmtree(blocked, ignore_errors=True)
        blocked.parent.mkdir(parents=True, exist_ok=True)
        blocked.write_bytes(b"not a directory")
        with caplog.at_level(logging.WARNING, logger="automatos.recipes"):
            run = await world.start({"ticket": "t", "url": "https://blob.test"})
            async with asyncio.timeout(DEADLINE):
                await runner.idle()
        done = await world.get(run["id"])
        assert done["status"] == "succeeded" and checkpoints(done) == SUCCEEDED_ONCE, done
        assert [s["log_url"] for s in done["steps"]] == [None, None, None]
        assert sum("log was not stored" in r.getMessage() for r in caplog.records) == 3, caplog.text
        events = await world.events(run["id"])
        assert [name for name, _ in events][-1] == "run.succeeded"

        blocked.unlink()  # the disk takes writes again: no restart needed
        again = await world.start({"ticket": "t2", "url": "https://blob2.test"})
        async with asyncio.timeout(DEADLINE):
            await runner.idle()
        logged = await world.get(again["id"])
        assert logged["status"] == "succeeded" and all(s["log_url"] for s in logged["steps"]), logged
        fetched = await world.client.get(logged["steps"][1]["log_url"])
        assert fetched.status_code == 200 and fetched.json()["step"] == "card", fetched.text
