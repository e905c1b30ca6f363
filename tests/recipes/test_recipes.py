"""Recipes end to end on the embedded default: versioned definitions, runs advanced step by step by
the in-process runner (the engine's one code path), checkpoints, retries, conditions, approvals,
control, the event log over SSE, resuming a run a stopped process left, and bad input by name."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.recipes.models import RecipeRun, RecipeStepRun
from automatos.recipes.runner import LocalRunner
from tests.helpers import AppClient, container_of, database_settings, make_container, serve_app, sse
from tests.tools.fakes import FakePlugin, Plugins

ALICE = {"X-Test-User": "alice"}


class World:
    def __init__(self, client: AppClient, plugins: Plugins, ids: dict[str, str], cards: FakePlugin) -> None:
        self.client, self.plugins, self.ids, self.cards = client, plugins, ids, cards
        self.kernel: Kernel = client.app.state["kernel"]

    def alpha(self) -> dict[str, str]:
        return {**ALICE, "X-Workspace-ID": self.ids["alpha"]}

    @property
    def runner(self) -> LocalRunner:
        runner = container_of(self.client).recipe_runner()
        assert isinstance(runner, LocalRunner)  # the embedded default
        return runner

    async def recipe(self, steps: list[dict[str, Any]], *, slug: str = "triage", inputs: Any = None) -> dict[str, Any]:
        definition: dict[str, Any] = {"steps": steps}
        if inputs is not None:
            definition["inputs"] = inputs
        made = await self.client.post(
            "/api/recipes", json={"slug": slug, "name": slug.title(), "definition": definition}, headers=self.alpha()
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def run(self, recipe: str, inputs: dict[str, Any] | None = None, *, wait: bool = True) -> dict[str, Any]:
        started = await self.client.post(
            f"/api/recipes/{recipe}/runs", json={"inputs": inputs or {}}, headers=self.alpha()
        )
        assert started.status_code == 202, started.text
        if wait:
            await self.runner.idle()
        return await self.get(started.json()["id"])

    async def get(self, run_id: str) -> dict[str, Any]:
        got = await self.client.get(f"/api/recipes/runs/{run_id}", headers=self.alpha())
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body


async def _world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    container = make_container(tmp_path, feature_sandbox=False, **settings)
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.test", display_name="bob"))
        ids: dict[str, str] = {}
        for slug, who in (("alpha", "alice"), ("bravo", "bob")):
            made = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers={"X-Test-User": who})
            ids[slug] = made.json()["id"]
        plugins = Plugins(kernel)
        cards = FakePlugin("cards", ["card", "boom"], schemas={"boom": {"type": "object"}})
        await plugins.set(ids["alpha"], cards)
        world = World(client, plugins, ids, cards)
        for slug in ("triager", "writer"):
            agent = await client.post("/api/agents", json={"name": slug, "slug": slug}, headers=world.alpha())
            assert agent.status_code == 201, agent.text
        yield world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for got in _world(tmp_path):
        yield got


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with database_settings(request) as settings:
        async for got in _world(tmp_path, **settings):
            yield got


THREE: list[dict[str, Any]] = [
    {"id": "triage", "agent": "triager", "input": "Triage: {{ inputs.ticket }}"},
    {"id": "card", "tool": "cards__card", "arguments": {"url": "{{ inputs.url }}", "options": {"depth": 1}}},
    {"id": "answer", "agent": "writer", "input": "Answer using {{ steps.card.output.arguments.url }}"},
]
INPUTS = {
    "type": "object",
    "properties": {"ticket": {"type": "string"}, "url": {"type": "string"}},
    "required": ["ticket"],
}


async def test_a_run_goes_through_its_steps_with_templates_and_checkpoints(world: World) -> None:
    await world.recipe(THREE, inputs=INPUTS)
    run = await world.run("triage", {"ticket": "printer on fire", "url": "https://a.test"})
    assert run["status"] == "succeeded" and run["error"] is None and run["version"] == 1, run
    steps = {s["step"]: s for s in run["steps"]}
    assert [s["step"] for s in run["steps"]] == ["triage", "card", "answer"]
    assert all(s["status"] == "succeeded" and s["attempt"] == 1 for s in run["steps"])
    assert (
        steps["triage"]["output"]["text"].startswith("[offline]")
        and "printer on fire" in steps["triage"]["output"]["text"]
    )
    assert steps["card"]["output"]["arguments"] == {"url": "https://a.test", "options": {"depth": 1}}
    assert steps["card"]["idempotency_key"] == f"{run['id']}:card:1"
    assert "https://a.test" in steps["answer"]["output"]["text"]
    logged = await world.client.get(steps["card"]["log_url"])  # the step's full log, pre-signed
    assert logged.status_code == 200, logged.text
    log = logged.json()
    assert (log["step"], log["attempt"], log["kind"], log["error"]) == ("card", 1, "tool", None)
    assert (
        log["arguments"] == {"url": "https://a.test", "options": {"depth": 1}}
        and log["output"] == steps["card"]["output"]
    )
    assert world.cards.calls == [
        (world.ids["alpha"], "cards__card", {"url": "https://a.test", "options": {"depth": 1}})
    ]
    events = await world.client.get(f"/api/recipes/runs/{run['id']}/events", headers=world.alpha())
    got = sse(events.text)
    kinds = [name for name, _ in got if name != "step.tokens"]
    assert kinds == ["run.queued", *["step.started", "step.finished"] * 3, "run.succeeded"]
    for agent_step in ("triage", "answer"):  # an agent step's text streams into the log as it comes
        names = [name for name, data in got if data.get("step") == agent_step]
        assert names[0] == "step.started" and names[-1] == "step.finished" and "step.tokens" in names, names
        pieces = [data for name, data in got if name == "step.tokens"]
        text = "".join(p["text"] for p in pieces if p["step"] == agent_step and p["attempt"] == 1)
        assert text == steps[agent_step]["output"]["text"], (text, steps[agent_step])
    assert not [name for name, data in got if name == "step.tokens" and data["step"] == "card"]


async def test_an_edit_is_a_new_version_and_a_run_keeps_its_own(world: World) -> None:
    await world.recipe([{"id": "ok", "approval": "Go on?"}, {"id": "first", "agent": "writer", "input": "v1"}])
    waiting = await world.run("triage")
    assert waiting["status"] == "waiting" and waiting["step"] == "ok"
    edited = await world.client.patch(
        "/api/recipes/triage",
        json={"definition": {"steps": [{"id": "second", "agent": "writer", "input": "v2"}]}},
        headers=world.alpha(),
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2, edited.text
    old = await world.client.get("/api/recipes/triage?version=1", headers=world.alpha())
    assert old.json()["definition"]["steps"][1]["input"] == "v1"
    approved = await world.client.post(f"/api/recipes/runs/{waiting['id']}/approve", json={}, headers=world.alpha())
    assert approved.status_code == 200, approved.text
    await world.runner.idle()
    done = await world.get(waiting["id"])
    assert done["status"] == "succeeded" and done["version"] == 1
    assert [s["step"] for s in done["steps"]] == ["ok", "first"]
    assert done["steps"][0]["output"]["approved"] is True and done["steps"][0]["output"]["by"] == "alice"
    assert (await world.run("triage"))["steps"][0]["step"] == "second"


async def test_retries_conditions_rejects_and_the_retry_of_a_failed_run(world: World) -> None:
    await world.recipe(
        [
            {"id": "maybe", "agent": "writer", "input": "x", "if": "inputs.go"},
            {"id": "boom", "tool": "cards__boom", "arguments": {}, "retries": 2, "backoff_seconds": 0},
        ]
    )
    run = await world.run("triage", {"go": False})
    assert run["status"] == "failed" and run["error"].startswith("step boom: tool cards__boom: provider"), run
    statuses = [(s["step"], s["attempt"], s["status"]) for s in run["steps"]]
    assert statuses == [("maybe", 1, "skipped"), ("boom", 1, "failed"), ("boom", 2, "failed"), ("boom", 3, "failed")]
    async with world.kernel.store.sessionmaker() as session:  # what was never set stays SQL NULL
        never = await session.execute(
            select(RecipeStepRun.step, RecipeStepRun.attempt).where(
                RecipeStepRun.run_id == run["id"], RecipeStepRun.output.is_(None)
            )
        )
    assert sorted(never.all()) == [("boom", 1), ("boom", 2), ("boom", 3), ("maybe", 1)]
    retried = await world.client.post(f"/api/recipes/runs/{run['id']}/retry", json={}, headers=world.alpha())
    assert retried.status_code == 200, retried.text
    await world.runner.idle()
    again = await world.get(run["id"])
    assert again["status"] == "failed" and [s["attempt"] for s in again["steps"] if s["step"] == "boom"] == [1, 2, 3, 4]
    assert [s["status"] for s in again["steps"] if s["step"] == "maybe"] == ["skipped"]  # never run again
    twice = await world.client.post(f"/api/recipes/runs/{run['id']}/approve", json={}, headers=world.alpha())
    assert twice.status_code == 409 and twice.json()["field"] == "status"
    # an approval rejected fails the run with who rejected it
    await world.recipe([{"id": "ok", "approval": "Ship?"}], slug="ship")
    waiting = await world.run("ship")
    rejected = await world.client.post(
        f"/api/recipes/runs/{waiting['id']}/reject", json={"comment": "no"}, headers=world.alpha()
    )
    assert rejected.json()["status"] == "failed" and rejected.json()["error"] == "step ok: rejected by alice"


async def test_a_template_error_fails_the_step_with_the_reason_and_cancel_stops_a_run(world: World) -> None:
    await world.recipe(
        [
            {"id": "card", "tool": "cards__card", "arguments": {"url": "https://b.test"}},
            {"id": "use", "agent": "writer", "input": "{{ steps.card.output.nothing.here }}"},
        ]
    )
    run = await world.run("triage")
    assert run["status"] == "failed"
    assert run["error"] == "step use: template: steps.card.output.nothing.here does not exist in this run"
    await world.recipe([{"id": "ok", "approval": "Wait"}], slug="hold")
    waiting = await world.run("hold")
    cancelled = await world.client.post(f"/api/recipes/runs/{waiting['id']}/cancel", json={}, headers=world.alpha())
    assert cancelled.json()["status"] == "cancelled"
    again = await world.client.post(f"/api/recipes/runs/{waiting['id']}/cancel", json={}, headers=world.alpha())
    assert again.status_code == 409


async def test_bad_definitions_and_inputs_are_refused_by_name(world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"steps": [{"id": "a", "agent": "nobody", "input": "x"}]}, "definition.steps[0].agent"),
        ({"steps": [{"id": "a", "tool": "no__tool", "arguments": {}}]}, "definition.steps[0].tool"),
        (
            {"steps": [{"id": "a", "agent": "writer", "input": "{{ steps.b.output }}"}, {"id": "b", "approval": "?"}]},
            "definition.steps[0].input",
        ),
        ({"steps": [{"id": "a", "agent": "writer", "input": "{{ nonsense }}"}]}, "definition.steps[0].input"),
        ({"steps": [{"id": "a", "agent": "writer"}]}, "definition.steps[0].input"),
        ({"steps": [{"id": "a", "agent": "writer", "tool": "cards__card", "input": "x"}]}, "definition.steps[0]"),
        ({"steps": [{"id": "a", "approval": "?"}, {"id": "a", "approval": "?"}]}, "definition.steps[1].id"),
        ({"steps": [{"id": "a", "approval": "?", "if": "steps.a.output"}]}, "definition.steps[0].if"),
        ({"steps": []}, "definition.steps"),
        ({"steps": [{"id": "A B", "approval": "?"}]}, "definition.steps[0].id"),
        ({"inputs": {"type": 5}, "steps": [{"id": "a", "approval": "?"}]}, "definition.inputs"),
    ]
    for definition, field in cases:
        made = await world.client.post(
            "/api/recipes", json={"slug": "bad", "name": "Bad", "definition": definition}, headers=world.alpha()
        )
        assert made.status_code == 422, (definition, made.text)
        assert made.headers["content-type"].startswith("application/problem+json")
        assert made.json()["field"] == field, (definition, made.json())
    await world.recipe(THREE, inputs=INPUTS)
    missing = await world.client.post("/api/recipes/triage/runs", json={"inputs": {"url": "x"}}, headers=world.alpha())
    assert missing.status_code == 422 and missing.json()["field"] == "inputs.ticket", missing.text
    wrong = await world.client.post("/api/recipes/triage/runs", json={"inputs": {"ticket": 5}}, headers=world.alpha())
    assert wrong.status_code == 422 and wrong.json()["field"] == "inputs.ticket"
    taken = await world.client.post(
        "/api/recipes", json={"slug": "triage", "name": "x", "definition": {"steps": THREE}}, headers=world.alpha()
    )
    assert taken.status_code == 409 and taken.json()["field"] == "slug"


async def test_another_workspace_sees_nothing(world: World) -> None:
    await world.recipe([{"id": "ok", "approval": "?"}])
    run = await world.run("triage")
    bravo = {"X-Test-User": "bob", "X-Workspace-ID": world.ids["bravo"]}
    for method, path in [
        ("GET", f"/api/recipes/runs/{run['id']}"),
        ("GET", f"/api/recipes/runs/{run['id']}/events"),
        ("POST", f"/api/recipes/runs/{run['id']}/approve"),
        ("GET", "/api/recipes/triage"),
        ("POST", "/api/recipes/triage/runs"),
    ]:
        got = await world.client.request(method, path, headers=bravo, json={} if method == "POST" else None)
        assert got.status_code == 404, (path, got.text)
    assert (await world.client.get("/api/recipes/runs", headers=bravo)).json()["total"] == 0


async def test_events_replay_after_last_event_id(world: World) -> None:
    await world.recipe(THREE, inputs=INPUTS)
    run = await world.run("triage", {"ticket": "t", "url": "https://c.test"})
    whole = await world.client.get(f"/api/recipes/runs/{run['id']}/events", headers=world.alpha())
    total = len(sse(whole.text))  # queued, 3 started/finished pairs, the agents' text pieces, succeeded
    got = await world.client.get(
        f"/api/recipes/runs/{run['id']}/events", headers={**world.alpha(), "Last-Event-ID": str(total - 3)}
    )
    blocks = [b for b in got.text.strip().split("\n\n") if b]
    assert [b.splitlines()[0] for b in blocks] == [f"id: {n}" for n in range(total - 2, total + 1)]
    assert [name for name, _ in sse(got.text)] == [name for name, _ in sse(whole.text)[-3:]]
    bad = await world.client.get(
        f"/api/recipes/runs/{run['id']}/events", headers={**world.alpha(), "Last-Event-ID": "x"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "Last-Event-ID"


async def test_a_run_left_running_resumes_without_repeating_a_finished_step(world: World) -> None:
    """A worker that stopped mid-step: the step runs again under the same attempt and idempotency key;
    the steps it had finished are not run again."""
    await world.recipe(THREE, inputs=INPUTS)
    await world.runner.stop()  # nothing advances: we play the stopped worker
    started = await world.client.post(
        "/api/recipes/triage/runs", json={"inputs": {"ticket": "t", "url": "https://d.test"}}, headers=world.alpha()
    )
    run_id = started.json()["id"]
    engine = container_of(world.client).recipe_engine()
    assert (await engine.advance(run_id)).again  # triage done
    picked = await engine._pick(run_id)  # the card step checkpointed "running", then the worker dies
    assert not isinstance(picked, type(None))
    async with world.kernel.store.sessionmaker.begin() as session:
        row = await session.get(RecipeStepRun, (run_id, "card", 1))
        assert row is not None and row.status == "running"
        held = await session.get(RecipeRun, run_id)
        assert held is not None and held.worker == engine.worker
        # another live worker holds it: left alone, by the sweep and by advance
        held.worker, held.heartbeat_at = "other-host:1:abc", datetime.now(UTC)
    assert await world.runner.sweep() == 0
    assert not (await engine.advance(run_id)).again and world.cards.calls == []
    async with world.kernel.store.sessionmaker.begin() as session:
        held = await session.get(RecipeRun, run_id)
        assert held is not None
        held.heartbeat_at = datetime.now(UTC) - timedelta(hours=1)  # that worker stopped saying so
    await world.runner.start()  # its sweep takes the run over from its checkpoints
    await world.runner.idle()
    done = await world.get(run_id)
    assert done["status"] == "succeeded", done
    assert [(s["step"], s["attempt"]) for s in done["steps"]] == [("triage", 1), ("card", 1), ("answer", 1)]
    assert len(world.cards.calls) == 1
    async with world.kernel.store.sessionmaker() as session:
        status = await session.scalar(select(RecipeRun.status).where(RecipeRun.id == run_id))
    assert status == "succeeded"
    assert json.dumps(done).count(f"{run_id}:card:1") == 1


async def test_runs_approvals_and_retries_on_each_database(any_db: World) -> None:
    """The engine's locking (SQLite's write lock, PostgreSQL's row lock) and its checkpoints, on both."""
    world = any_db
    await world.recipe([*THREE[:2], {"id": "ok", "approval": "Send?"}, THREE[2]], inputs=INPUTS)
    runs = [await world.run("triage", {"ticket": f"t{i}", "url": f"https://{i}.test"}, wait=False) for i in range(4)]
    await world.runner.idle()
    for run in runs:
        waiting = await world.get(run["id"])
        assert waiting["status"] == "waiting" and waiting["step"] == "ok", waiting
        approved = await world.client.post(f"/api/recipes/runs/{run['id']}/approve", json={}, headers=world.alpha())
        assert approved.status_code == 200, approved.text
    await world.runner.idle()
    for run in runs:
        done = await world.get(run["id"])
        assert done["status"] == "succeeded" and [s["step"] for s in done["steps"]] == [
            "triage",
            "card",
            "ok",
            "answer",
        ]
        events = await world.client.get(f"/api/recipes/runs/{run['id']}/events", headers=world.alpha())
        seqs = [int(b.splitlines()[0][4:]) for b in events.text.strip().split("\n\n")]
        assert seqs == list(range(1, len(seqs) + 1))  # one log per run, no gap, no repeat
    assert len(world.cards.calls) == 4


async def test_the_scratchpad_holds_notes_the_steps_read(world: World) -> None:
    await world.recipe(
        [
            {"id": "ok", "approval": "Notes first?"},
            {"id": "card", "tool": "cards__card", "arguments": {"url": "{{ scratchpad.target }}"}},
        ]
    )
    waiting = await world.run("triage")
    path = f"/api/recipes/runs/{waiting['id']}/scratchpad"
    assert (await world.client.get(path, headers=world.alpha())).json() == {}
    put = await world.client.put(f"{path}/target", json={"value": "https://pad.test"}, headers=world.alpha())
    assert put.status_code == 200 and put.json() == {"target": "https://pad.test"}, put.text
    await world.client.put(f"{path}/gone", json={"value": [1]}, headers=world.alpha())
    cleared = await world.client.put(f"{path}/gone", json={"value": None}, headers=world.alpha())
    assert cleared.json() == {"target": "https://pad.test"}
    key = f"recipes:scratchpad:{world.ids['alpha']}:{waiting['id']}"
    ttl = await world.kernel.backends.kv.ttl(key)
    assert ttl is not None and 0 < ttl <= 3600
    await world.client.post(f"/api/recipes/runs/{waiting['id']}/approve", json={}, headers=world.alpha())
    await world.runner.idle()
    done = await world.get(waiting["id"])
    assert done["status"] == "succeeded" and done["steps"][1]["output"]["arguments"] == {"url": "https://pad.test"}
    for bad_path, body, field in [
        (f"{path}/no%20key", {"value": 1}, "key"),
        (f"{path}/big", {"value": "x" * 70_000}, "value"),
    ]:
        got = await world.client.put(bad_path, json=body, headers=world.alpha())
        assert got.status_code == 422 and got.json()["field"] == field, got.text
    bravo = {"X-Test-User": "bob", "X-Workspace-ID": world.ids["bravo"]}
    assert (await world.client.get(path, headers=bravo)).status_code == 404


async def test_a_routing_decision_starts_the_recipes_that_list_its_agent(world: World) -> None:
    one = [{"id": "note", "tool": "cards__card", "arguments": {"url": "https://r.test/{{ inputs.route.agent_slug }}"}}]
    made = await world.client.post(
        "/api/recipes",
        json={"slug": "for-triager", "name": "For", "definition": {"steps": one, "routes": ["triager"]}},
        headers=world.alpha(),
    )
    assert made.status_code == 201, made.text
    ids = {made.json()["id"]: "for-triager"}
    wants_ticket = {"type": "object", "required": ["ticket"]}  # refuses a routed message: skipped
    for slug, routes, inputs in (("any", ["*"], None), ("other", ["writer"], None), ("picky", ["*"], wants_ticket)):
        definition: dict[str, Any] = {"steps": one, "routes": routes, **({"inputs": inputs} if inputs else {})}
        got = await world.client.post(
            "/api/recipes", json={"slug": slug, "name": slug, "definition": definition}, headers=world.alpha()
        )
        assert got.status_code == 201, got.text
        ids[got.json()["id"]] = slug
    bravo = {"X-Test-User": "bob", "X-Workspace-ID": world.ids["bravo"]}  # another workspace's "*" recipe
    agent = await world.client.post("/api/agents", json={"name": "triager", "slug": "triager"}, headers=bravo)
    assert agent.status_code == 201, agent.text
    theirs = {"steps": [{"id": "a", "agent": "triager", "input": "x"}], "routes": ["*"]}
    got = await world.client.post(
        "/api/recipes", json={"slug": "any", "name": "x", "definition": theirs}, headers=bravo
    )
    assert got.status_code == 201, got.text

    plain = await world.client.post("/api/route", json={"message": "help", "agent": "triager"}, headers=world.alpha())
    assert plain.status_code == 200 and plain.json()["runs"] == [], plain.text  # only when asked
    body = {"message": "the printer is on fire", "agent": "triager", "source": "email", "start_recipes": True}
    routed = await world.client.post("/api/route", json=body, headers=world.alpha())
    assert routed.status_code == 200, routed.text
    answer = routed.json()
    assert answer["route_type"] == "agent" and answer["agent_slug"] == "triager" and len(answer["runs"]) == 2
    await world.runner.idle()
    runs = [await world.get(run_id) for run_id in answer["runs"]]
    assert sorted(ids[r["recipe_id"]] for r in runs) == ["any", "for-triager"], runs
    for run in runs:
        assert run["status"] == "succeeded" and run["origin"] == "route", run
        assert run["inputs"]["message"] == "the printer is on fire" and run["inputs"]["source"] == "email"
        assert run["inputs"]["route"]["agent_id"] == answer["agent_id"]
        assert run["inputs"]["route"]["tier"] == answer["tier"]
        assert run["steps"][0]["output"]["arguments"] == {"url": "https://r.test/triager"}
    listed = await world.client.get("/api/recipes/runs", headers=bravo)
    assert listed.status_code == 200 and listed.json()["total"] == 0, listed.text  # bravo's recipe never ran
    audit = await world.client.get(
        f"/api/workspaces/{world.ids['alpha']}/audit?action=recipe.run_started", headers=world.alpha()
    )
    assert audit.status_code == 200, audit.text
    origins = [e["data"]["origin"] for e in audit.json()["items"]]
    assert origins.count("route") == 2, origins


async def test_routes_must_name_agents_of_the_workspace(world: World) -> None:
    one = [{"id": "note", "tool": "cards__card", "arguments": {"url": "https://r.test"}}]
    for routes, field in ((["triager", "ghost"], "definition.routes[1]"), ([""], "definition.routes[0]")):
        got = await world.client.post(
            "/api/recipes",
            json={"slug": "r", "name": "r", "definition": {"steps": one, "routes": routes}},
            headers=world.alpha(),
        )
        assert got.status_code == 422, got.text
        assert got.headers["content-type"].startswith("application/problem+json")
        assert field in got.text, got.text
    many = {"steps": one, "routes": ["*"] * 21}
    got = await world.client.post(
        "/api/recipes", json={"slug": "r", "name": "r", "definition": many}, headers=world.alpha()
    )
    assert got.status_code == 422 and "definition.routes" in got.text, got.text


async def test_a_chained_step_on_sqlite_is_three_trips_with_its_audit_row(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mechanism behind the embedded per-step figure (bench/recipes.py): a step closed and the
    next opened is one transaction of three trips to SQLite's thread — ``BEGIN IMMEDIATE`` with the
    run's read, its checkpoints, then every write with the ``COMMIT`` — and the tool call's audit
    row is in that last one, with the checkpoint it belongs to."""
    import aiosqlite

    steps = [
        {"id": f"s{i}", "tool": "cards__card", "arguments": {"url": "https://x.test/{{ inputs.n }}"}} for i in range(3)
    ]
    await world.recipe(steps, slug="chain")
    await world.run("chain", {"n": 0})  # the version's definition read once, and cached
    await world.runner.stop()
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sql = repr(args)
        if "recipe" in sql:
            trips.append(f"{fn.__name__}: {sql}")
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    started = await world.client.post("/api/recipes/chain/runs", json={"inputs": {"n": 1}}, headers=world.alpha())
    run_id = started.json()["id"]
    trips.clear()
    engine = container_of(world.client).recipe_engine()
    advanced = await engine.advance(run_id, chain=True)
    while advanced.again:
        advanced = await engine.advance(run_id, chain=True, picked=advanced.picked)
    monkeypatch.undo()
    assert advanced.status == "succeeded"
    assert len(trips) == 3 + 3 * len(steps), trips  # picking the first step, then three a step
    commits = [t for t in trips if t.startswith("_send_and_commit")]
    assert len(commits) == 1 + len(steps)
    assert "BEGIN IMMEDIATE" in trips[0] and "FROM recipe_runs" in trips[0]
    for closing in commits[1:]:  # each step's: its audit row, its checkpoint closed, the next
        assert "INSERT INTO audit_log" in closing and "UPDATE recipe_step_runs" in closing
    got = await world.get(run_id)
    assert [s["status"] for s in got["steps"]] == ["succeeded"] * 3
