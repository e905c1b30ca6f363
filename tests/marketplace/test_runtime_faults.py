"""Faults under the plugin runtime and the tools API: a killed worker, Redis down, PostgreSQL
restarting, a one-connection pool, and queue mode without a worker.

Real components throughout: the app's own sandbox (a local worker pool, or queue mode with a
worker served in this process), the suite's PostgreSQL (or one of this module's own, stopped and
started again), a Redis-compatible server of the test's own (killed and started again). What is
asserted is what a user sees — a result or a 503 problem+json, never a 500 — that nothing is
half-written or lost, and that everything recovers without a restart. Progress is sequenced by
outcomes (a key the plugin wrote, a view that changed), never by sleeping; the only waits are
liveness bounds for background work, and they end as soon as it happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.extensions.auth.api_keys.service import create_key
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.db.pool import FairPool
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.runtime.declarations import PluginRunner
from automatos.marketplace.runtime.host import kv_namespace
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin
from automatos.sandbox.pool import WorkerPool
from tests.agents.test_chat import add_agent
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.marketplace.test_runtime_enable import approved, enable, view_proxies, workspaces
from tests.marketplace.test_submissions import ALICE, problem
from tests.services import PostgresServer, RedisServer, fresh_database
from tests.tools.prompts import record_prompts

PLUGIN = '''\
"""Tools for fault tests: one runs until stopped, one keeps a counter, one echoes, one raises."""


def hang(ctx):
    ctx.kv.set("started", 1)
    turns = 0
    while True:
        turns += 1


def count(ctx):
    value = (ctx.kv.get("count") or 0) + 1
    ctx.kv.set("count", value)
    return {"count": value}


def echo(ctx, text):
    return {"echo": text}


def boom(ctx):
    raise ValueError("kaput")


def register(ctx):
    ctx.add_tool(hang, description="Runs until stopped.")
    ctx.add_tool(count, description="Counts its calls.")
    text = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    ctx.add_tool(echo, description="Echoes.", parameters=text)
    ctx.add_tool(boom, description="Always fails.")
'''

PROVIDES = '[provides]\nskills = ["skills/faults.md"]\n'
FILES = {"skills/faults.md": b"# Fault skill\nStay calm under faults.\n"}
NODE = {"rate_limit_default": "100000/minute", "api_key_pepper": "runtime-faults-pepper"}
DEADLINE = 15.0
"""Liveness bound for background work (a view rebuilt, a worker replaced); reached only when broken."""


# --- helpers ---------------------------------------------------------------------------------------


async def users(kernel: Kernel) -> None:
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))


@contextlib.asynccontextmanager
async def node(tmp_path: Path, name: str, **settings: Any) -> AsyncIterator[tuple[AppClient, Kernel]]:
    app = create_app(make_container(tmp_path / name, **{**NODE, **settings}))
    async with serve_app(app) as client:
        yield client, app.state["kernel"]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await check():
        assert loop.time() < deadline, f"{what}: not within {DEADLINE} s"
        await asyncio.sleep(0.02)


async def faulty(client: AppClient, name: str = "Fault Tools", version: str = "1.0.0") -> str:
    """Upload, scan and approve the fault plugin; its slug."""
    await approved(client, name, version, PLUGIN, files=FILES, extra=PROVIDES)
    return name.lower().replace(" ", "-")


async def invoke(client: AppClient, tool: str, headers: dict[str, str], **arguments: Any) -> Any:
    return await client.post(f"/api/tools/{tool}/invoke", json={"arguments": arguments}, headers=headers)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def unavailable(response: Any) -> dict[str, Any]:
    body = problem(response, 503)
    assert int(response.headers["retry-after"]) > 0
    return body


def local_pool(client: AppClient) -> WorkerPool:
    sandbox = container_of(client).sandbox().sandbox
    pool = getattr(sandbox, "pool", None)
    assert isinstance(pool, WorkerPool)
    return pool


async def audits(kernel: Kernel, workspace: str, action: str) -> list[m.AuditLogEntry]:
    async with kernel.store.sessionmaker() as session:
        query = select(m.AuditLogEntry).where(m.AuditLogEntry.workspace_id == workspace)
        return list((await session.scalars(query.where(m.AuditLogEntry.action == action))).all())


# --- 1. a sandbox worker killed in the middle of a plugin call ---------------------------------------


async def test_a_worker_killed_mid_call_is_a_result_and_the_next_call_works(tmp_path: Path) -> None:
    settings = {"sandbox_pool_size": 1, "plugins_quarantine_after": 2}
    async with node(tmp_path, "a", **settings) as (client, kernel):
        await users(kernel)
        slug = await faulty(client)
        a, _ = await workspaces(client)
        assert (await enable(client, a, ALICE, slug=slug)).status_code == 201
        in_a = {**ALICE, "X-Workspace-ID": a}
        pool = local_pool(client)
        started = kernel.backends.kv.with_namespace(kv_namespace(a, slug))
        for round_ in range(2):  # as many as PLUGINS_QUARANTINE_AFTER: a death is not the plugin's failure
            await started.delete("started")
            call = asyncio.ensure_future(invoke(client, f"{slug}__hang", in_a))

            async def running() -> bool:
                return await started.get("started") is not None

            await eventually(running, "the plugin's call running in the worker")
            (pid,) = pool.pids
            os.kill(pid, signal.SIGKILL)
            answer = await call
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["ok"] is False and body["error"]["kind"] == "worker", body
            assert "SIGKILL" in body["error"]["message"]
            # the pool replaced the worker: the next call runs
            echoed = await invoke(client, f"{slug}__echo", in_a, text=f"after {round_}")
            assert echoed.status_code == 200 and echoed.json()["result"] == {"echo": f"after {round_}"}, echoed.text
            assert pool.pids and pid not in pool.pids
        listed = await client.get(f"/api/workspaces/{a}/plugins/{slug}", headers=ALICE)
        assert listed.json()["status"] == "active", listed.text
        assert f"plugin:{slug}" in await view_proxies(client, a)
        entries = await audits(kernel, a, "tool.invoke")
        killed = [e.data for e in entries if e.data["tool"] == f"{slug}__hang"]
        assert [(d["ok"], d["error"]) for d in killed] == [(False, "worker")] * 2


# --- 2. Redis down --------------------------------------------------------------------------------


def proxy_names(kernel: Kernel, workspace: str) -> set[str]:
    view = kernel.views.cached(workspace)
    if view is None:
        return set()
    return {name for p in view.proxies if (name := str(getattr(p, "name", ""))).startswith("plugin:")}


async def stored_version(kernel: Kernel, workspace: str) -> int:
    async with kernel.store.sessionmaker() as session:
        version = await session.scalar(select(m.Workspace.extensions_version).where(m.Workspace.id == workspace))
    return int(version or 0)


@pytest.mark.redis
async def test_redis_down_under_calls_content_quarantine_and_enabling(tmp_path: Path, redis: RedisServer) -> None:
    shared = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}", "redis_url": redis.url}
    b_settings = {"feature_sandbox": False, "bus_poll_seconds": 3600.0, "recheck_seconds": 0.1}
    async with (
        node(tmp_path, "a", plugins_quarantine_after=2, **shared) as (client, kernel),
        node(tmp_path, "b", **b_settings, **shared) as (_, kernel_b),
    ):
        assert kernel.backends.kv.name == "redis" and kernel_b.backends.pubsub.name == "redis"
        await users(kernel)
        slug = await faulty(client)
        spare = await faulty(client, "Spare Tools")
        a, _ = await workspaces(client)
        in_a = {**ALICE, "X-Workspace-ID": a}
        assert (await enable(client, a, ALICE, slug=slug)).status_code == 201
        helper = await add_agent(kernel, a, "helper")
        assigned = await client.put(f"/api/agents/{helper}/plugins", json={"plugins": [slug]}, headers=in_a)
        assert assigned.status_code == 200, assigned.text
        recorder = await record_prompts(client, a)
        chat = {"agent": "helper", "content": "hi", "stream": False}
        assert (await client.post("/api/chat", json=chat, headers=in_a)).status_code == 201
        assert "Stay calm under faults." in recorder.system()
        assert (await invoke(client, f"{slug}__count", in_a)).json()["result"] == {"count": 1}
        await kernel_b.views.get(a)
        assert f"plugin:{slug}" in proxy_names(kernel_b, a)

        redis.kill()
        # a plugin's ctx.kv: the capability's failure reaches it as a capability error, a result
        for _ in range(2):  # PLUGINS_QUARANTINE_AFTER calls: a backend down is not the plugin's failure
            counted = await invoke(client, f"{slug}__count", in_a)
            assert counted.status_code == 200, counted.text
            error = counted.json()["error"]
            assert counted.json()["ok"] is False and error["kind"] == "capability", counted.text
            assert "kv." in error["message"]
        assert (await client.get(f"/api/workspaces/{a}/plugins/{slug}", headers=ALICE)).json()["status"] == "active"
        # content for the chat: the blob store answers, the chat carries the skill
        misses = container_of(client).plugins().host.contents.misses
        answered = await client.post("/api/chat", json={**chat, "content": "during"}, headers=in_a)
        assert answered.status_code == 201, answered.text
        assert "Stay calm under faults." in recorder.system()
        assert container_of(client).plugins().host.contents.misses > misses
        # enabling: written in the database, answered; the bus could not publish it
        failures = kernel.bus.publishing.failures
        made = await enable(client, a, ALICE, slug=spare)
        assert made.status_code == 201 and made.json()["status"] == "active", made.text
        assert kernel.bus.publishing.failures > failures
        assert f"plugin:{spare}" in await view_proxies(client, a)  # this node at once
        # quarantine counting fails open: each result is answered, the count kept in this process
        for _ in range(2):
            failed = await invoke(client, f"{spare}__boom", in_a)
            assert failed.status_code == 200 and failed.json()["error"]["kind"] == "runtime", failed.text
        quarantined = await client.get(f"/api/workspaces/{a}/plugins/{spare}", headers=ALICE)
        assert quarantined.json()["status"] == "quarantined", quarantined.text

        redis.start()  # empty: what it held is gone
        # the other node's view catches up by its re-check loop (pub/sub lost the messages)
        version = await stored_version(kernel, a)

        async def caught_up() -> bool:
            view = kernel_b.views.cached(a)
            return view is not None and view.version == version

        await eventually(caught_up, "node B's view of A after the outage")
        assert proxy_names(kernel_b, a) == {f"plugin:{slug}"}  # the spare joined and left (quarantined)

        async def kv_again() -> bool:
            answer = await invoke(client, f"{slug}__count", in_a)
            assert answer.status_code == 200, answer.text
            return bool(answer.json()["ok"])

        await eventually(kv_again, "ctx.kv working again after Redis came back")
        assert (await client.post("/api/chat", json=chat, headers=in_a)).status_code == 201
        assert "Stay calm under faults." in recorder.system()


# --- 3. PostgreSQL restarting ---------------------------------------------------------------------


class BeforeRegister:
    """The app's plugin runner, with ``before()`` awaited ahead of each ``register`` run."""

    def __init__(self, inner: PluginRunner, before: Callable[[], Awaitable[None]]) -> None:
        self.inner, self.before = inner, before

    async def run_plugin(self, job: Any, **options: Any) -> Any:
        if job.action == "register":
            await self.before()
        return await self.inner.run_plugin(job, **options)


async def written(kernel: Kernel, workspace: str) -> tuple[int, dict[str, int], list[str], dict[str, list[str]]]:
    """The workspace's version, its plugin audit entries by action, its plugins and its agents' plugins."""
    async with kernel.store.sessionmaker() as session:
        version = await session.scalar(select(m.Workspace.extensions_version).where(m.Workspace.id == workspace))
        actions = (
            await session.execute(
                select(m.AuditLogEntry.action, func.count())
                .where(m.AuditLogEntry.workspace_id == workspace)
                .where(m.AuditLogEntry.action.like("plugin.%") | (m.AuditLogEntry.action == "agent.plugins_set"))
                .group_by(m.AuditLogEntry.action)
            )
        ).all()
        rows = (
            await session.scalars(select(WorkspacePlugin.plugin_id).where(WorkspacePlugin.workspace_id == workspace))
        ).all()
        assigned = (
            await session.execute(
                select(AgentPlugin.agent_id, AgentPlugin.plugin_id)
                .where(AgentPlugin.workspace_id == workspace)
                .order_by(AgentPlugin.position)
            )
        ).all()
    agents: dict[str, list[str]] = {}
    for agent, plugin in assigned:
        agents.setdefault(agent, []).append(plugin)
    return int(version or 0), {a: int(n) for a, n in actions}, sorted(rows), agents


@pytest.mark.postgres
async def test_postgres_restarting_under_enable_disable_assign_and_invoke(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    async with fresh_database(own_postgres.url, prefix="automatos_runtime_faults_") as url:
        settings = {"database_url": url, "database_pool_timeout": 2.0, "plugins_quarantine_after": 1}
        async with node(tmp_path, "a", **settings) as (client, kernel):
            await users(kernel)
            slug = await faulty(client)
            spare = await faulty(client, "Spare Tools")
            a, _ = await workspaces(client)
            in_a = {**ALICE, "X-Workspace-ID": a}
            assert (await enable(client, a, ALICE, slug=slug)).status_code == 201
            helper = await add_agent(kernel, a, "helper")
            _, key = await create_key(kernel, a, "caller", "member")
            member = bearer(key)
            assert (await invoke(client, f"{slug}__count", member)).json()["result"] == {"count": 1}  # warm
            before = await written(kernel, a)
            proxy = (await view_proxies(client, a))[f"plugin:{slug}"]
            plugins = container_of(client).plugins()
            runner = plugins.declarations.runner

            async def stop_postgres() -> None:
                await asyncio.to_thread(own_postgres.stop)

            plugins.declarations.runner = lambda: BeforeRegister(runner(), stop_postgres)
            try:
                # PostgreSQL goes away while the sandbox runs the new plugin's register: 503, nothing written
                unavailable(await enable(client, a, ALICE, slug=spare))
                plugins.declarations.runner = runner
                unavailable(await client.delete(f"/api/workspaces/{a}/plugins/{slug}", headers=ALICE))
                put = await client.put(f"/api/agents/{helper}/plugins", json={"plugins": [slug]}, headers=in_a)
                unavailable(put)
                # an enabled plugin's call needs the database only for its audit entry; as for a
                # sandbox run, an audit that cannot be written is a 503 (the call ran: it is not retried)
                unavailable(await invoke(client, f"{slug}__count", member))
                # a failure that should quarantine it cannot be written: the call's result is still given
                failed = await proxy.execute(a, f"{slug}__boom", {})
                assert failed.ok is False and failed.error is not None and failed.error["kind"] == "runtime"
            finally:
                plugins.declarations.runner = runner
                await asyncio.to_thread(own_postgres.start)
            counter = kernel.backends.kv.with_namespace(kv_namespace(a, slug))
            assert await counter.get("count") == b"2"  # it ran in the sandbox; its audit entry was lost
            assert await written(kernel, a) == before  # nothing half-written

            # the same process, no restart: every write works again, each with its bump and its entry
            made = await enable(client, a, ALICE, slug=spare)
            assert made.status_code == 201 and made.json()["status"] == "active", made.text
            put = await client.put(f"/api/agents/{helper}/plugins", json={"plugins": [spare, slug]}, headers=in_a)
            assert put.status_code == 200, put.text
            assert (await client.delete(f"/api/workspaces/{a}/plugins/{slug}", headers=ALICE)).status_code == 204
            echoed = await invoke(client, f"{spare}__echo", member, text="back")
            assert echoed.status_code == 200 and echoed.json()["result"] == {"echo": "back"}, echoed.text
            version, actions, rows, agents = await written(kernel, a)
            async with kernel.store.sessionmaker() as session:
                spare_id = await session.scalar(select(MarketplacePlugin.id).where(MarketplacePlugin.slug == spare))
            assert version == before[0] + 3
            assert actions == {**before[1], "plugin.enabled": 2, "plugin.disabled": 1, "agent.plugins_set": 1}
            assert rows == [spare_id] and agents == {helper: [spare_id]}
            invoked = [e.data["tool"] for e in await audits(kernel, a, "tool.invoke")]
            assert invoked == [f"{slug}__count", f"{spare}__echo"]


# --- 4. one database connection for everything ----------------------------------------------------


@pytest.fixture
async def one_connection(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """Settings of an app whose pool holds ONE PostgreSQL connection (no overflow) for everything."""
    from automatos.kernel.db import session as db_session

    made = db_session.engine_from_url

    def single(url: str, **kwargs: Any) -> Any:
        return made(url, **{**kwargs, "max_overflow": 0})

    monkeypatch.setattr(db_session, "engine_from_url", single)
    async with fresh_database(postgres_url, prefix="automatos_one_conn_") as url:
        yield {"database_url": url, "database_pool_size": 1, "database_pool_timeout": 5.0}


@pytest.mark.postgres
async def test_one_connection_serves_concurrent_enables_upgrades_calls_and_chats(
    tmp_path: Path, one_connection: dict[str, Any]
) -> None:
    async with node(tmp_path, "a", **one_connection) as (client, kernel):
        pool = kernel.engine.sync_engine.pool
        assert isinstance(pool, FairPool) and pool.size() == 1 and getattr(pool, "_max_overflow", None) == 0
        await users(kernel)
        slug = await faulty(client)
        others = [await faulty(client, name) for name in ("Spare Tools", "Third Tools")]
        a, _ = await workspaces(client)
        in_a = {**ALICE, "X-Workspace-ID": a}
        plugins = container_of(client).plugins()
        runner = plugins.declarations.runner
        probes: list[str] = []

        async def probe() -> None:  # while register runs in the sandbox, the one connection is free
            async def query() -> None:
                async with kernel.store.sessionmaker() as session:
                    await session.scalar(select(func.count()).select_from(m.Workspace))

            await asyncio.ensure_future(query())  # another task: it needs the connection itself
            probes.append("free")

        plugins.declarations.runner = lambda: BeforeRegister(runner(), probe)
        enables = [enable(client, a, ALICE, slug=s, version="1.0.0") for s in (slug, slug, *others)]
        answers = await asyncio.gather(*enables)
        plugins.declarations.runner = runner
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201, 201, 201, 409], [r.text for r in answers]  # the race: one wins, one is told
        assert problem(next(r for r in answers if r.status_code == 409), 409)["field"] == "slug"
        assert len(probes) >= 3
        helper = await add_agent(kernel, a, "helper")
        put = await client.put(f"/api/agents/{helper}/plugins", json={"plugins": [slug, *others]}, headers=in_a)
        assert put.status_code == 200, put.text
        await approved(client, "Fault Tools", "1.1.0", PLUGIN, files=FILES, extra=PROVIDES)
        chat = {"agent": "helper", "content": "hi", "stream": False}
        work = [
            client.post(f"/api/workspaces/{a}/plugins/{slug}/upgrade", json={}, headers=ALICE),
            *(invoke(client, f"{s}__echo", in_a, text=f"{i}") for i, s in enumerate([slug, *others] * 2)),
            *(client.post("/api/chat", json={**chat, "stream": i % 2 == 1}, headers=in_a) for i in range(4)),
        ]
        done = await asyncio.gather(*work)
        upgraded, calls, chats = done[0], done[1:7], done[7:]
        assert upgraded.status_code == 200 and upgraded.json()["version"] == "1.1.0", upgraded.text
        for i, call in enumerate(calls):
            assert call.status_code == 200 and call.json()["result"] == {"echo": f"{i}"}, call.text
        assert [c.status_code for c in chats] == [201] * 4, [c.text for c in chats]
        recorder = await record_prompts(client, a)
        assert (await client.post("/api/chat", json=chat, headers=in_a)).status_code == 201
        assert recorder.system().count("Stay calm under faults.") == 3  # each plugin's skill, once
        assert pool.checkedout() == 0


# --- 5. queue mode ----------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
async def test_queue_mode_runs_plugin_calls_and_answers_503_without_a_worker(tmp_path: Path, redis_url: str) -> None:
    from automatos.kernel.settings import load_settings
    from tests.sandbox.test_queue import serving

    queue = {"redis_url": redis_url, "sandbox_mode": "queue", "sandbox_queue_name": f"faults-{uuid.uuid4().hex[:10]}"}
    async with node(tmp_path, "a", **queue) as (client, kernel):
        await users(kernel)
        slug = await faulty(client)
        a, _ = await workspaces(client)
        in_a = {**ALICE, "X-Workspace-ID": a}
        # no worker serves the queue yet: register cannot run, a 503 with nothing written (not a quarantine)
        await kernel.settings_registry.set_platform("sandbox.timeout_seconds", 1, actor_id=None)
        refused = problem(await enable(client, a, ALICE, slug=slug), 503)
        assert refused["type"].endswith("sandbox-unavailable") and "no sandbox worker took" in refused["detail"]
        assert (await client.get(f"/api/workspaces/{a}/plugins", headers=ALICE)).json()["total"] == 0
        async with kernel.store.sessionmaker() as session:
            version = await session.scalar(select(PluginVersion))
        assert version is not None and version.declarations is None and version.declarations_error is None
        await kernel.settings_registry.set_platform("sandbox.timeout_seconds", 30, actor_id=None)
        async with serving(load_settings({}, sandbox_pool_size=1, **queue)):
            made = await enable(client, a, ALICE, slug=slug)  # register runs on the queue's worker
            assert made.status_code == 201 and made.json()["status"] == "active", made.text
            for expected in (1, 2):
                counted = await invoke(client, f"{slug}__count", in_a)
                assert counted.status_code == 200 and counted.json()["result"] == {"count": expected}, counted.text
        # no worker serves the queue: the call is withdrawn after its deadline (wall limit + margin), a 503
        await kernel.settings_registry.set_platform("sandbox.timeout_seconds", 1, actor_id=None)
        unserved = problem(await invoke(client, f"{slug}__echo", in_a, text="nobody"), 503)
        assert unserved["type"].endswith("sandbox-unavailable") and "no sandbox worker took" in unserved["detail"]
        listed = await client.get(f"/api/workspaces/{a}/plugins/{slug}", headers=ALICE)
        assert listed.json()["status"] == "active"  # a queue nobody serves is not the plugin's failure
        entries = await audits(kernel, a, "tool.invoke")
        assert [(e.data["ok"], e.data["error"]) for e in entries] == [(True, None), (True, None), (False, "worker")]
