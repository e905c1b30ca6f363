"""Failure stays where it happens: quarantine per workspace, and the platform's kill switch on every node.

- ``register`` raising: the plugin is enabled ``quarantined`` in that workspace, with the reason
  for its admins (not its viewers), and joins no view; everything else keeps working.
- Calls failing ``PLUGINS_QUARANTINE_AFTER`` times in a row quarantine the plugin in that
  workspace only (a success in between resets the count); an admin restores it.
- A platform admin's deactivation removes the proxy on this node at once and on a second node
  (another app on the same database, Redis pub/sub between them) within the bus' delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, make_container, serve_app
from tests.marketplace.test_runtime_enable import FAILING, approved, enable, view_proxies, workspaces
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, problem


async def _wait_for(predicate: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Poll until ``predicate()`` is true; a liveness deadline, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.02)


async def _users(kernel: Kernel) -> None:
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))


async def test_register_failure_and_failing_calls_quarantine_one_workspace(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute", plugins_quarantine_after=3))
    async with serve_app(app) as client:
        await _users(app.state["kernel"])
        await approved(client, "Broken Tools", code=FAILING)
        await approved(client)
        a, b = await workspaces(client)
        viewer = await client.post(
            f"/api/workspaces/{a}/members", json={"email": "carol@example.com", "role": "viewer"}, headers=ALICE
        )
        assert viewer.status_code == 201, viewer.text
        carol = {"X-Test-User": viewer.json()["user_id"]}
        # register raises: enabled, quarantined here, with the reason for admins only
        broken = await enable(client, a, ALICE, slug="broken-tools")
        assert broken.status_code == 201, broken.text
        assert broken.json()["status"] == "quarantined"
        assert broken.json()["status_reason"].startswith("register failed: runtime: ValueError: no registration today")
        seen = (await client.get(f"/api/workspaces/{a}/plugins/broken-tools", headers=carol)).json()
        assert seen["status"] == "quarantined" and seen["status_reason"] is None
        assert "plugin:broken-tools" not in await view_proxies(client, a)
        stays = problem(await client.post(f"/api/workspaces/{a}/plugins/broken-tools/restore", headers=ALICE), 409)
        assert "stays quarantined" in stays["detail"]
        # the same healthy plugin in A and B; calls failing in A quarantine it in A only
        assert (await enable(client, a, ALICE, slug="hello-tools")).status_code == 201
        assert (await enable(client, b, BOB, slug="hello-tools")).status_code == 201
        proxy_a = (await view_proxies(client, a))["plugin:hello-tools"]
        proxy_b = (await view_proxies(client, b))["plugin:hello-tools"]
        for _ in range(2):
            failed = await proxy_a.execute(a, "hello-tools__boom", {})
            assert not failed.ok and failed.error["kind"] == "runtime" and "kaput" in failed.error["message"]
        assert (await proxy_a.execute(a, "hello-tools__greet", {"name": "ok"})).ok  # resets the count
        for _ in range(2):
            assert not (await proxy_a.execute(a, "hello-tools__boom", {})).ok
        assert "plugin:hello-tools" in await view_proxies(client, a)  # two in a row: not yet
        assert not (await proxy_b.execute(b, "hello-tools__boom", {})).ok  # B's failures are B's
        assert not (await proxy_a.execute(a, "hello-tools__boom", {})).ok  # the third in a row
        assert "plugin:hello-tools" not in await view_proxies(client, a)
        listed = (await client.get(f"/api/workspaces/{a}/plugins/hello-tools", headers=ALICE)).json()
        assert listed["status"] == "quarantined" and "3 consecutive calls failed" in listed["status_reason"]
        assert "kaput" in listed["status_reason"]
        assert "plugin:hello-tools" in await view_proxies(client, b)
        assert (await proxy_b.execute(b, "hello-tools__greet", {"name": "still"})).ok
        # restored by A's admin: back in A's view
        restored = await client.post(f"/api/workspaces/{a}/plugins/hello-tools/restore", headers=ALICE)
        assert restored.status_code == 200 and restored.json()["status"] == "active", restored.text
        assert "plugin:hello-tools" in await view_proxies(client, a)
        assert problem(await client.post(f"/api/workspaces/{a}/plugins/hello-tools/restore", headers=ALICE), 409)


async def _proxies(kernel: Kernel, workspace: str) -> set[str]:
    view = kernel.views.cached(workspace)
    return set() if view is None else {getattr(p, "name", "") for p in view.proxies}


@pytest.mark.redis
async def test_deactivation_reaches_a_second_node(tmp_path: Path, redis_url: str) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    shared: dict[str, Any] = {"database_url": db, "redis_url": redis_url, "bus_poll_seconds": 3600.0}
    async with AsyncExitStack() as stack:
        app_a = create_app(make_container(tmp_path / "a", rate_limit_default="100000/minute", **shared))
        client: AppClient = await stack.enter_async_context(serve_app(app_a))
        await _users(app_a.state["kernel"])
        app_b = create_app(make_container(tmp_path / "b", feature_sandbox=False, **shared))
        await stack.enter_async_context(serve_app(app_b))
        node_b: Kernel = app_b.state["kernel"]
        assert node_b.backends.pubsub.name == "redis"
        await approved(client)
        a, _ = await workspaces(client)
        assert (await enable(client, a, ALICE, slug="hello-tools")).status_code == 201
        await node_b.views.get(a)
        await _wait_for(lambda: _has(node_b, a, "plugin:hello-tools"))
        off = await client.post("/api/admin/plugins/hello-tools/deactivate", json={"reason": "kill"}, headers=ROOT)
        assert off.status_code == 200, off.text
        assert "plugin:hello-tools" not in await view_proxies(client, a)  # this node: at once
        await _wait_for(lambda: _lacks(node_b, a, "plugin:hello-tools"))  # the other: through pub/sub
        on = await client.post("/api/admin/plugins/hello-tools/activate", json={"reason": "fixed"}, headers=ROOT)
        assert on.status_code == 200, on.text
        await _wait_for(lambda: _has(node_b, a, "plugin:hello-tools"))


async def _has(kernel: Kernel, workspace: str, name: str) -> bool:
    return name in await _proxies(kernel, workspace)


async def _lacks(kernel: Kernel, workspace: str, name: str) -> bool:
    return name not in await _proxies(kernel, workspace)
