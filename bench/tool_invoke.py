"""``POST /api/tools/{name}/invoke`` end to end on a warm pool, and the sandbox's share of it.

A real marketplace plugin: a bundle with a no-op ``ping`` tool (a one-property JSON Schema) is
uploaded, scanned, approved and enabled in a workspace through the API (the test suite's helpers,
``tests/marketplace/test_runtime_enable.py``), so the call takes the production path: the request
middleware (auth, rate limit, statistics), the workspace's hook view and its plugin proxy, the
JSON Schema check, the proxy's bundle modules (cached), ``SandboxService.run_plugin`` on a warm
``WorkerPool(2)`` (OS confinement as the platform has it), and the audit row.

Each call gives four figures:

- **end to end**: the client's time for the whole request (in-process ASGI by default; ``--http``:
  uvicorn on loopback with a keep-alive connection);
- **tool call**: ``duration_ms`` of the answer, the registry's call into the proxy (what the API
  spends around it — auth, view, schema check, audit write, encoding — is end to end minus this);
- **sandbox round trip**: ``usage.total_ms``, the pool's round trip to a worker and back (waiting
  for a free worker included);
- **in worker**: ``usage.wall_ms``, compiling the bundle's modules and calling the handler.

Warm-up calls first; then ``--rounds`` rounds of ``--runs`` sequential calls. Reported: medians and
p95 overall, per-round medians, and the sandbox's share (round trip / end to end) per round.
Goal (issue 12): end to end under 10 ms median.

Run: .venv/bin/python bench/tool_invoke.py [--runs 300] [--rounds 5] [--http]   (~20 s)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from common import fmt, header, median, percentile, quiet, table, verdict

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import make_container, serve_app, serve_http
from tests.marketplace.test_runtime_enable import approved, enable
from tests.marketplace.test_submissions import ALICE

PLUGIN = '''\
"""A no-op tool: what a plugin call costs when the tool itself costs nothing."""


def ping(ctx, text=""):
    return {"pong": text}


def register(ctx):
    ctx.add_tool(
        ping,
        description="Answers pong.",
        parameters={"type": "object", "properties": {"text": {"type": "string", "maxLength": 100}}},
    )
'''

GOAL_MS = 10.0
FIGURES = ("end to end", "tool call", "sandbox round trip", "in worker")


@asynccontextmanager
async def client_for(app: Any, http: bool) -> AsyncIterator[httpx.AsyncClient]:
    if not http:
        async with serve_app(app) as client:
            yield client
        return
    async with serve_http(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        client.app = app  # type: ignore[attr-defined]  # like AppClient: the setup reaches the kernel
        yield client


async def _setup(client: Any) -> tuple[str, dict[str, str]]:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
    await approved(client, name="Bench Tools", code=PLUGIN)
    made = await client.post("/api/workspaces", json={"slug": "bench", "name": "Bench"}, headers=ALICE)
    assert made.status_code == 201, made.text
    workspace = made.json()["id"]
    enabled = await enable(client, workspace, ALICE, slug="bench-tools")
    assert enabled.status_code in (200, 201), enabled.text
    headers = {**ALICE, "X-Workspace-ID": workspace}
    listed = (await client.get("/api/tools", params={"source": "plugin"}, headers=headers)).json()
    names = [t["name"] for t in listed["items"]]
    assert names == ["bench-tools__ping"], listed
    return names[0], headers


async def _calls(client: Any, url: str, headers: dict[str, str], n: int) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {k: [] for k in FIGURES}
    body = {"arguments": {"text": "hi"}}
    for _ in range(n):
        started = time.perf_counter()
        response = await client.post(url, json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        answer = response.json()
        assert response.status_code == 200 and answer["ok"], response.text
        got["end to end"].append(elapsed)
        got["tool call"].append(answer["duration_ms"])
        got["sandbox round trip"].append(answer["usage"]["total_ms"])
        got["in worker"].append(answer["usage"]["wall_ms"])
    return got


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http", action="store_true", help="through uvicorn on loopback, not in-process ASGI")
    args = parser.parse_args()
    quiet()
    header(
        f"POST /api/tools/{{name}}/invoke, a real plugin on a warm WorkerPool(2) ({'HTTP' if args.http else 'ASGI'})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        container = make_container(
            Path(tmp), sandbox_pool_size=2, rate_limit_default="10000000/minute", rate_limit_routes=()
        )
        app = create_app(container)
        async with client_for(app, args.http) as client:
            quiet()  # again: the app's logging set-up ran at start
            logging.getLogger("httpx").setLevel(logging.WARNING)
            name, headers = await _setup(client)
            url = f"/api/tools/{name}/invoke"
            await _calls(client, url, headers, 100)  # warm: workers, module caches, views, settings
            everything: dict[str, list[float]] = {k: [] for k in FIGURES}
            per_round: dict[str, list[float]] = {k: [] for k in FIGURES}
            shares: list[float] = []
            for _ in range(args.rounds):
                got = await _calls(client, url, headers, args.runs)
                for kind in FIGURES:
                    everything[kind].extend(got[kind])
                    per_round[kind].append(median(got[kind]))
                shares.append(median(got["sandbox round trip"]) / median(got["end to end"]))
    rows = [
        [
            kind,
            fmt(median(everything[kind]), 3),
            fmt(percentile(everything[kind], 95), 3),
            " ".join(fmt(v, 3) for v in per_round[kind]),
        ]
        for kind in FIGURES
    ]
    table(["figure", "median ms", "p95 ms", "per-round medians ms"], rows)
    e2e = median(everything["end to end"])
    sandbox = median(everything["sandbox round trip"])
    each = " ".join(fmt(s) for s in shares)
    print(f"sandbox share (round trip / end to end), per round: {each}; median {fmt(median(shares))}")
    print(f"outside the sandbox (end to end - round trip, medians): {fmt(e2e - sandbox, 3)} ms")
    print(f"goal: end to end under {GOAL_MS:g} ms median: {fmt(e2e, 3)} ms — {verdict(e2e < GOAL_MS)}")


if __name__ == "__main__":
    asyncio.run(main())
