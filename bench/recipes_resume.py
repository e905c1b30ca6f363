"""Resume after a killed worker (issue 15): from the kill to the step running again elsewhere.

A worker that is killed outright (SIGKILL) stops writing its heartbeat; another worker's sweep takes
the run over once the heartbeat is ``RECIPES_STALE_SECONDS`` old, at its next sweep (every
``RECIPES_SWEEP_SECONDS``). So the wait is between ``stale - heartbeat`` and ``stale + sweep``
seconds after the kill — with the defaults (heartbeat 5 s, stale 30 s, sweep 10 s) 25-40 s.

Measured on the embedded default, in one process: worker A's engine takes a run's step (its
``running`` checkpoint, its heartbeat) and is then never heard of again — what a SIGKILL leaves —
while worker B's runner sweeps with the settings given. Reported: the seconds from A's last
heartbeat (the worst moment to be killed) to B's call of the step's tool. The suite's scale-out test
(tests/recipes/test_scale_out.py) does the same with real processes and SIGKILL, on short intervals.

Run: .venv/bin/python bench/recipes_resume.py [--stale 30] [--sweep 10] [--samples 1]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from common import header, median, quiet, table

from automatos.api.app import create_app
from automatos.kernel.db import models as m
from automatos.recipes.engine import RecipeEngine
from tests.helpers import container_of, make_container, serve_app
from tests.tools.fakes import FakePlugin, Plugins

ALICE = {"X-Test-User": "alice"}


async def run(stale: float, sweep: float, samples: int) -> int:
    waits: list[float] = []
    with tempfile.TemporaryDirectory(prefix="automatos-bench-resume-") as tmp:
        container = make_container(
            Path(tmp), feature_sandbox=False, recipes_stale_seconds=stale, recipes_sweep_seconds=sweep
        )
        async with serve_app(create_app(container)) as client:
            kernel = client.app.state["kernel"]
            async with kernel.store.sessionmaker.begin() as session:
                session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
            made = await client.post("/api/workspaces", json={"slug": "bench", "name": "Bench"}, headers=ALICE)
            headers = {**ALICE, "X-Workspace-ID": made.json()["id"]}
            called = asyncio.Event()

            class Timed(FakePlugin):
                async def execute(self, workspace_id: str, tool: str, arguments: Any) -> Any:
                    called.set()
                    return await super().execute(workspace_id, tool, arguments)

            await Plugins(kernel).set(made.json()["id"], Timed("cards", ["card"]))
            steps = [{"id": "card", "tool": "cards__card", "arguments": {"url": "https://resume.test"}}]
            created = await client.post(
                "/api/recipes", json={"slug": "one", "name": "One", "definition": {"steps": steps}}, headers=headers
            )
            assert created.status_code == 201, created.text
            runner = container_of(client).recipe_runner()
            b = container_of(client).recipe_engine()
            a = RecipeEngine(kernel, b.chat, b.tools, worker="worker-a", stale_seconds=stale)
            for _ in range(samples):
                await runner.stop()  # B is down while A takes the run
                started = await client.post("/api/recipes/one/runs", json={"inputs": {}}, headers=headers)
                picked = await a._pick(started.json()["id"])  # A: the step checkpointed running, held, heartbeat now
                assert not hasattr(picked, "again"), picked
                killed = time.monotonic()  # A is killed right after its heartbeat: nothing more from it
                called.clear()
                await runner.start()  # B: its sweep at start and every `sweep` seconds
                await called.wait()
                waits.append(time.monotonic() - killed)
                await runner.idle()
    shown = ", ".join(f"{w:.1f}" for w in waits)
    header("Recipes: resume after a killed worker")
    table(
        ["settings", "seconds from the kill to the step running on the other worker"],
        [
            [
                f"stale {stale:g} s, sweep {sweep:g} s",
                f"{median(waits):.1f} (samples: {shown})",
            ]
        ],
    )
    print(f"bound: between {stale - 5:g} and {stale + sweep:g} s after the kill (heartbeat every 5 s)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stale", type=float, default=30.0)
    parser.add_argument("--sweep", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=1)
    args = parser.parse_args()
    quiet()
    return asyncio.run(run(args.stale, args.sweep, args.samples))


if __name__ == "__main__":
    raise SystemExit(main())
