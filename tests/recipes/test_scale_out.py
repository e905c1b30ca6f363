"""Issue 15's scale-out proof: two API processes and two recipe workers, each an OS process of its
own (:mod:`tests.recipes.node`), on PostgreSQL + Redis + S3 (moto).

- enabling an extension through node A reaches node B;
- a rate limit is shared: requests alternating between the nodes are counted once;
- a run started through node A streams its progress to a client connected to node B;
- the worker holding the run is killed with SIGKILL in the middle of a step (an MCP tool the test
  serves, held until then): the run finishes on the other worker, every step checkpointed
  ``succeeded`` exactly once, nothing lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from automatos.kernel.db import models as m
from automatos.recipes.models import RecipeRun, RecipeStepRun
from tests.helpers import running_kernel, serve_http, sse
from tests.services import free_port, fresh_database
from tests.tools.test_mcp_client import bearer_only, quiet_server

ROOT = Path(__file__).resolve().parents[2]
ALICE = {"X-Test-User": "alice"}
TOKEN = "Bearer scale-out-token"


class Held:
    """An MCP server whose ``note`` tool waits until released, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    def app(self) -> Any:
        server = quiet_server("held")

        @server.tool()
        async def note(text: str) -> str:
            """Write a note down."""
            self.calls.append(text)
            self.called.set()
            await self.release.wait()
            return f"noted: {text}"

        return bearer_only(server, TOKEN, [])


@asynccontextmanager
async def node(tmp: Path, name: str, role: str, settings: dict[str, Any], port: int = 0) -> AsyncIterator[Any]:
    own = {**settings, "data_dir": str(tmp / name)}
    args = [sys.executable, "-m", "tests.recipes.node", role, json.dumps(own)] + ([str(port)] if port else [])
    log = open(tmp / f"{name}.log", "wb")  # noqa: ASYNC230 - closed below; a local file at start
    process = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=log, stderr=log, env=dict(os.environ))
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def ready(client: httpx.AsyncClient, tmp: Path, name: str) -> None:
    for _ in range(600):
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError((tmp / f"{name}.log").read_text()[-3000:])


async def test_two_api_nodes_two_workers_a_killed_worker_loses_nothing(
    tmp_path: Path, postgres_url: str, redis_url: str, s3_endpoint_url: str
) -> None:
    held = Held()
    async with AsyncExitStack() as stack:
        database_url = await stack.enter_async_context(fresh_database(postgres_url))
        mcp_url = await stack.enter_async_context(serve_http(held.app(), log_level="warning")) + "/mcp"
        settings: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "s3_bucket": f"automatos-{uuid.uuid4().hex[:8]}",
            "s3_endpoint_url": s3_endpoint_url,
            "secret_key": "scale-out-proof-secret-key-0123456789abcdef",
            "api_key_pepper": "scale-out-proof-pepper-0123456789",
            "feature_sandbox": False,
            "mcp_allow_private": True,
            "rate_limit_default": "100000/minute",
            "rate_limit_routes": ["GET /api/me=6/minute"],
            "recipes_runner": "queue",
            "recipes_queue_name": f"proof-{uuid.uuid4().hex[:8]}",
            "recipes_heartbeat_seconds": 0.3,
            "recipes_stale_seconds": 2.0,
            "recipes_sweep_seconds": 0.3,
        }
        ports = {"a": free_port(), "b": free_port()}
        await stack.enter_async_context(node(tmp_path, "a", "api", settings, ports["a"]))
        await stack.enter_async_context(node(tmp_path, "b", "api", settings, ports["b"]))
        a = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['a']}", timeout=60))
        b = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['b']}", timeout=60))
        await ready(a, tmp_path, "a")
        await ready(b, tmp_path, "b")
        workers = {
            name: await stack.enter_async_context(node(tmp_path, name, "worker", settings)) for name in ("w1", "w2")
        }
        direct = await stack.enter_async_context(running_kernel(tmp_path / "c", **settings))
        async with direct.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))

        # a workspace, an agent, the MCP server, a recipe — all through node A
        made = await a.post("/api/workspaces", json={"slug": "alpha", "name": "Alpha"}, headers=ALICE)
        assert made.status_code == 201, made.text
        alpha = {**ALICE, "X-Workspace-ID": made.json()["id"]}
        assert (await a.post("/api/agents", json={"name": "W", "slug": "writer"}, headers=alpha)).status_code == 201
        server = {"name": "files", "url": mcp_url, "headers": {"Authorization": TOKEN}}
        added = await a.post("/api/tools/mcp-servers", json=server, headers=alpha)
        assert added.status_code == 201 and added.json()["status"] == "ok", added.text
        steps = [
            {"id": "first", "agent": "writer", "input": "Start: {{ inputs.ticket }}"},
            {"id": "note", "tool": "files__note", "arguments": {"text": "{{ inputs.ticket }}"}},
            {"id": "last", "agent": "writer", "input": "Done: {{ steps.note.output }}"},
        ]
        recipe = await a.post(
            "/api/recipes", json={"slug": "proof", "name": "Proof", "definition": {"steps": steps}}, headers=alpha
        )
        assert recipe.status_code == 201, recipe.text

        # enabling an extension through A reaches B
        path = f"/api/workspaces/{made.json()['id']}/extensions"
        off = await a.put(f"{path}/hello", json={"enabled": False}, headers=ALICE)
        assert off.status_code == 200, off.text
        for _ in range(200):
            listed = {e["name"]: e["enabled"] for e in (await b.get(path, headers=ALICE)).json()["items"]}
            if listed["hello"] is False:
                break
            await asyncio.sleep(0.02)
        assert listed["hello"] is False

        # a rate limit shared by the nodes: 6 a minute, counted across A and B
        answers = [(await (a if i % 2 else b).get("/api/me", headers=ALICE)).status_code for i in range(8)]
        assert answers == [200] * 6 + [429] * 2, answers

        # a run through A, watched from B, its worker killed mid-step
        started = await a.post("/api/recipes/proof/runs", json={"inputs": {"ticket": "T-1"}}, headers=alpha)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        watching = asyncio.create_task(b.get(f"/api/recipes/runs/{run_id}/events", headers=alpha, timeout=120))
        await asyncio.wait_for(held.called.wait(), 60)
        async with direct.store.sessionmaker() as session:
            holder = await session.scalar(select(RecipeRun.worker).where(RecipeRun.id == run_id))
        assert holder is not None
        pid = int(holder.split(":")[1])
        victim = next(name for name, p in workers.items() if p.pid == pid)
        workers[victim].send_signal(signal.SIGKILL)
        await workers[victim].wait()
        held.release.set()  # the dead worker's call may finish at the server: its answer is lost

        streamed = await asyncio.wait_for(watching, 120)
        events = sse(streamed.text)
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "run.succeeded", kinds
        assert kinds.count("step.finished") == 3 and "step.failed" not in kinds
        done = (await b.get(f"/api/recipes/runs/{run_id}", headers=alpha)).json()
        assert done["status"] == "succeeded", done
        assert [(s["step"], s["attempt"], s["status"]) for s in done["steps"]] == [
            ("first", 1, "succeeded"),
            ("note", 1, "succeeded"),
            ("last", 1, "succeeded"),
        ]
        async with direct.store.sessionmaker() as session:
            finished = (
                (
                    await session.execute(
                        select(RecipeStepRun.step).where(
                            RecipeStepRun.run_id == run_id, RecipeStepRun.status == "succeeded"
                        )
                    )
                )
                .scalars()
                .all()
            )
            survivor = await session.scalar(select(RecipeRun.worker).where(RecipeRun.id == run_id))
        assert sorted(finished) == ["first", "last", "note"]  # each step's output exactly once
        assert survivor is None and len(held.calls) == 2  # run again on the survivor, same key
