"""The recipes engine on the embedded default (issue 15): overhead per step, and many runs at once.

The real app in process (SQLite, in-process KV, the local runner), a workspace whose ``cards`` tool
(a provider joined to its view, :class:`tests.tools.fakes.FakePlugin`) answers at once, and a recipe
of ``--steps`` tool steps that only call it. Measured, side by side each round:

- **tool alone**: the provider's ``execute``;
- **per step through the engine**: ``RecipeEngine.advance`` of a run, step after step, as the local
  runner chains them (``chain=True``: a step's closing transaction picks the next), divided by the
  steps — the run locked and read with its checkpoints, the template rendered, the tool run through
  ``ToolService.run_for_recipe`` (schema check), the step's log to the blob store, and in one
  transaction the audit row, the checkpoint, its events and the next step's ``running`` checkpoint;
- **overhead per step** = the two's difference (goal: under 5 ms median on the embedded default).

Then ``--runs`` runs of that recipe started at once through the API and driven by the local runner
(``RECIPES_CONCURRENCY``, per-workspace slots): every run must finish ``succeeded`` with each step
checkpointed exactly once; reported as steps per second. (Two ``automatos worker`` processes on
PostgreSQL + Redis are ``bench/recipes_workers.py``.)

``--backends production`` runs the same on PostgreSQL + Redis (the suite's embedded servers, or
``DATABASE_URL``/``REDIS_URL``): the goal there is under 10 ms.

Run: .venv/bin/python bench/recipes.py [--rounds 5] [--runs-per-round 40] [--steps 5] [--runs 1000]
     [--backends embedded|production]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from common import fmt, header, median, quiet, table, verdict
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.kernel.db import models as m
from automatos.recipes.models import RecipeRun, RecipeStepRun
from automatos.recipes.runner import LocalRunner
from tests.helpers import container_of, make_container, serve_app
from tests.tools.fakes import FakePlugin, Plugins

GOAL_MS = 5.0
ALICE = {"X-Test-User": "alice"}


async def run(rounds: int, per_round: int, steps: int, many: int, backends: dict[str, Any]) -> int:
    goal = GOAL_MS if not backends else 10.0
    with tempfile.TemporaryDirectory(prefix="automatos-bench-recipes-") as tmp:
        container = make_container(Path(tmp), feature_sandbox=False, rate_limit_default="10000000/minute", **backends)
        async with serve_app(create_app(container)) as client:
            kernel = client.app.state["kernel"]
            async with kernel.store.sessionmaker.begin() as session:
                session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
            made = await client.post("/api/workspaces", json={"slug": "bench", "name": "Bench"}, headers=ALICE)
            headers = {**ALICE, "X-Workspace-ID": made.json()["id"]}
            cards = FakePlugin("cards", ["card"])
            await Plugins(kernel).set(made.json()["id"], cards)
            definition = {
                "steps": [
                    {"id": f"s{i}", "tool": "cards__card", "arguments": {"url": "https://bench.test/{{ inputs.n }}"}}
                    for i in range(steps)
                ]
            }
            created = await client.post(
                "/api/recipes", json={"slug": "noop", "name": "No-op", "definition": definition}, headers=headers
            )
            assert created.status_code == 201, created.text
            runner = container_of(client).recipe_runner()
            assert isinstance(runner, LocalRunner)
            engine = container_of(client).recipe_engine()
            workspace = await kernel.directory.workspace(made.json()["id"])

            async def drive(run_id: str) -> None:
                advanced = await engine.advance(run_id, chain=True)
                while advanced.again:
                    advanced = await engine.advance(run_id, chain=True, picked=advanced.picked)

            async def start() -> str:
                got = await client.post("/api/recipes/noop/runs", json={"inputs": {"n": 1}}, headers=headers)
                assert got.status_code == 202, got.text
                return str(got.json()["id"])

            await runner.stop()  # the engine is driven by hand for the per-step figure
            for _ in range(3):  # warm: schemas checked, the view built, SQLite's pages in
                await drive(await start())
            alone: list[float] = []
            per_step: list[float] = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(per_round * steps):
                    await cards.execute(workspace.id, "cards__card", {"url": "https://bench.test/1"})
                alone.append((time.perf_counter() - t0) * 1000 / (per_round * steps))
                ids = [await start() for _ in range(per_round)]
                t0 = time.perf_counter()
                for run_id in ids:
                    await drive(run_id)
                per_step.append((time.perf_counter() - t0) * 1000 / (per_round * steps))
            cards.calls.clear()
            overhead = median(per_step) - median(alone)

            await runner.start()
            t0 = time.perf_counter()
            ids = [await start() for _ in range(many)]
            await runner.idle()
            elapsed = time.perf_counter() - t0
            async with kernel.store.sessionmaker() as session:
                statuses: dict[str, Any] = dict(
                    (
                        await session.execute(
                            select(RecipeRun.status, func.count())
                            .group_by(RecipeRun.status)
                            .where(RecipeRun.id.in_(ids))
                        )
                    ).all()
                )
                checkpoints = await session.scalar(
                    select(func.count()).select_from(RecipeStepRun).where(RecipeStepRun.run_id.in_(ids))
                )
                twice = await session.scalar(
                    select(func.count())
                    .select_from(RecipeStepRun)
                    .where(RecipeStepRun.run_id.in_(ids), RecipeStepRun.attempt > 1)
                )
    all_ok = statuses == {"succeeded": many}
    once = checkpoints == many * steps and not twice
    where = "PostgreSQL + Redis" if backends else "the embedded default"
    header(f"Recipes on {where}: overhead per step, and many runs at once")
    table(
        ["measure", "value", "goal", "verdict"],
        [
            ["tool alone (ms)", fmt(median(alone)), "", ""],
            [f"per step through the engine ({steps}-step runs, ms)", fmt(median(per_step)), "", ""],
            ["overhead per step (ms, median)", fmt(overhead), f"< {goal:g}", verdict(overhead < goal)],
            [f"{many} runs at once: succeeded", str(statuses.get("succeeded", 0)), str(many), verdict(all_ok)],
            ["checkpoints (each step exactly once)", str(checkpoints), str(many * steps), verdict(once)],
            ["tool calls", str(len(cards.calls)), str(many * steps), verdict(len(cards.calls) == many * steps)],
            ["throughput (steps/s, one process)", f"{many * steps / elapsed:,.0f}", "", ""],
        ],
    )
    rounds_ms = [f"{p:.3f}/{a:.4f}" for p, a in zip(per_step, alone, strict=True)]
    print("per-round ms per step (engine / tool alone):", rounds_ms)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs-per-round", type=int, default=40)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--backends", choices=["embedded", "production"], default="embedded")
    args = parser.parse_args()
    quiet()
    if args.backends == "embedded":
        return asyncio.run(run(args.rounds, args.runs_per_round, args.steps, args.runs, {}))
    from tests.services import start_postgres, start_redis

    postgres, redis = start_postgres(), start_redis()
    try:
        return asyncio.run(fresh(args, postgres.url, redis.url))
    finally:
        redis.stop()
        postgres.stop()


async def fresh(args: argparse.Namespace, postgres: str, redis: str) -> int:
    from tests.services import fresh_database

    async with fresh_database(postgres) as database_url:
        backends = {"database_url": database_url, "redis_url": redis}
        return await run(args.rounds, args.runs_per_round, args.steps, args.runs, backends)


if __name__ == "__main__":
    raise SystemExit(main())
