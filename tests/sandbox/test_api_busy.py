"""``POST /api/sandbox/run`` when no worker is free in time: 503 problem+json, nothing ran.

The app runs with a real one-worker pool whose wait is short; the test holds that worker with a run
of its own (a snippet parked in a capability call the test controls), so the outcome never depends
on speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from automatos.api.app import create_app
from automatos.sandbox import Limits, LocalSandbox, WorkerPool
from tests.helpers import make_container, serve_app
from tests.sandbox.test_api import build, problem
from tests.sandbox.waiting import GATED, Gate


async def test_a_run_that_finds_no_free_worker_is_a_503_naming_the_reason(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, sandbox_pool_size=1, rate_limit_routes=()))
    async with serve_app(app) as client:
        world = await build(client)
        service = app.state["container"].sandbox()
        started = service.sandbox
        await started.stop()
        pool = WorkerPool(1, idle_wait=0.5)
        await pool.start()
        service.sandbox = LocalSandbox(pool)
        try:
            gate = Gate()
            holder = asyncio.ensure_future(pool.run(GATED, capabilities=[gate], limits=Limits(wall_seconds=300)))
            await gate.entered_event.wait()
            body: dict[str, Any] = problem(await world.run("alice", "alpha", {"code": "result = 1"}), 503)
            assert body["reason"] == "busy" and "no sandbox worker was free" in body["detail"]
            gate.open.set()
            assert (await holder).ok
            served = await world.run("alice", "alpha", {"code": "result = 1"})
            assert served.status_code == 200 and served.json()["result"] == 1
        finally:
            service.sandbox = started
            await pool.stop()
