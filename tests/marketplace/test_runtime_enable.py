"""Enabling approved plugins in workspaces through the API: the rules, the config, the audit, the view.

Alice (a developer) submits; Root (a platform admin) approves; Alice owns workspace A, Bob owns B.
``register`` and calls run in the app's own sandbox (a local worker pool).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.marketplace.models import PluginVersion
from automatos.marketplace.runtime.declarations import VersionRef
from automatos.marketplace.runtime.models import WorkspacePlugin
from automatos.marketplace.runtime.service import PluginsService
from automatos.sandbox.types import SandboxError, SandboxResult
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, make_bundle, problem, upload

__all__ = ["approved", "client", "enable", "plugins_of", "workspaces"]

PLUGIN = '''\
"""Greets, fails on purpose, and gives a skill."""


def greet(ctx, name):
    return {"hello": name, "env": dict(ctx.env), "plugin": dict(ctx.plugin), "workspace": ctx.workspace_id}


def boom(ctx):
    raise ValueError("kaput")


def register(ctx):
    ctx.add_tool(
        greet,
        description="Greets someone.",
        parameters={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    )
    ctx.add_tool(boom, description="Always fails.")
    ctx.add_skill("skills/extra.md")
'''

FAILING = """\
def register(ctx):
    raise ValueError("no registration today")
"""

PROVIDES = '[provides]\nskills = ["skills/hello.md"]\nprompts = ["prompts/hello.md"]\n'
FILES = {
    "skills/hello.md": b"# Hello skill\nSay hello politely.\n",
    "prompts/hello.md": b"You greet people.\n",
    "skills/extra.md": b"# Extra skill\nDeclared in register.\n",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute"))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))
        yield test_client


def plugins_of(client: AppClient) -> PluginsService:
    service: PluginsService = container_of(client).plugins()
    return service


async def approved(
    client: AppClient,
    name: str = "Hello Tools",
    version: str = "1.0.0",
    code: str = PLUGIN,
    *,
    files: dict[str, bytes] | None = None,
    extra: str = "",
    granted: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Upload (Alice), scan, approve (Root): the approved submission."""
    made = await upload(client, make_bundle(name, version, code, extra=extra, files=files or FILES), ALICE)
    assert made.status_code in (200, 201), made.text
    await container_of(client).marketplace().idle()
    body: dict[str, Any] = {"sha256": made.json()["sha256"], "override": True, "reason": "test"}
    if granted is not None:
        body["granted_permissions"] = granted
    done = await client.post(f"/api/admin/plugins/versions/{made.json()['id']}/approve", json=body, headers=ROOT)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def workspaces(client: AppClient) -> tuple[str, str]:
    a = await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)
    b = await client.post("/api/workspaces", json={"slug": "bravo", "name": "B"}, headers=BOB)
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    return a.json()["id"], b.json()["id"]


async def enable(client: AppClient, workspace: str, headers: dict[str, str], **body: Any) -> Any:
    return await client.post(f"/api/workspaces/{workspace}/plugins", json=body, headers=headers)


async def view_proxies(client: AppClient, workspace: str) -> dict[str, Any]:
    """The view's plugin proxies by name (its other extras — the tool policy, MCP, Composio — left out)."""
    kernel: Kernel = client.app.state["kernel"]
    view = await kernel.views.get(workspace)
    named = {getattr(p, "name", ""): p for p in view.proxies}
    return {name: p for name, p in named.items() if name.startswith("plugin:")}


async def test_enable_runs_register_once_and_joins_the_view(client: AppClient) -> None:
    await approved(client, extra=PROVIDES)
    a, b = await workspaces(client)
    made = await enable(client, a, ALICE, slug="hello-tools", config={"EXAMPLE_TOKEN": "s3cret-token"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["slug"] == "hello-tools" and body["version"] == "1.0.0" and body["status"] == "active"
    assert body["config_keys"] == ["EXAMPLE_TOKEN"] and body["tools"] == 2
    assert "s3cret-token" not in made.text
    listed = await client.get(f"/api/workspaces/{a}/plugins", headers=ALICE)
    assert listed.status_code == 200 and listed.json()["total"] == 1 and "s3cret-token" not in listed.text
    # the row holds the config encrypted; the version holds the declarations
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        row = await session.scalar(select(WorkspacePlugin).where(WorkspacePlugin.workspace_id == a))
        version = await session.scalar(select(PluginVersion))
    assert row is not None and "s3cret-token" not in str(row.config) and row.config
    assert version is not None and [t["name"] for t in (version.declarations or {})["tools"]] == ["greet", "boom"]
    # the view of A has the proxy, its tools and content; B's has nothing
    proxies = await view_proxies(client, a)
    proxy = proxies["plugin:hello-tools"]
    tools = await proxy.list_tools(a)
    assert [t.name for t in tools] == ["hello-tools__greet", "hello-tools__boom"]
    assert {t.source for t in tools} == {"plugin"} and tools[0].parameters["required"] == ["name"]
    result = await proxy.execute(a, "hello-tools__greet", {"name": "Ada"})
    assert result.ok, result
    assert result.result["hello"] == "Ada" and result.result["env"] == {"EXAMPLE_TOKEN": "s3cret-token"}
    assert result.result["plugin"] == {"slug": "hello-tools", "version": "1.0.0"} and result.result["workspace"] == a
    items = await proxy.content(a)
    assert [(i.kind, i.name) for i in items] == [
        ("skill", "skills/hello.md"),
        ("prompt", "prompts/hello.md"),
        ("skill", "skills/extra.md"),
    ]
    assert items[0].text.startswith("# Hello skill") and items[0].source == "plugin:hello-tools"
    assert await view_proxies(client, b) == {}
    assert (await proxy.execute(b, "hello-tools__greet", {"name": "x"})).ok is False
    # the pre-warm builds the views of workspaces with plugins (off the request path)
    kernel_views = client.app.state["kernel"].views
    kernel_views.forget(a)
    assert await plugins_of(client).host.prewarm() == 1 and kernel_views.cached(a) is not None
    # audited, without the value
    async with kernel.store.sessionmaker() as session:
        entries = (await session.scalars(select(m.AuditLogEntry).where(m.AuditLogEntry.workspace_id == a))).all()
    enabled = [e for e in entries if e.action == "plugin.enabled"]
    assert len(enabled) == 1 and enabled[0].data["config_keys"] == ["EXAMPLE_TOKEN"]
    assert "s3cret-token" not in str(enabled[0].data)


async def test_the_rules_of_enabling_name_the_field(client: AppClient) -> None:
    await approved(client)
    await upload(client, make_bundle("Hello Tools", "2.0.0", PLUGIN, files=FILES), ALICE)  # never approved
    await container_of(client).marketplace().idle()
    a, _ = await workspaces(client)
    assert problem(await enable(client, a, ALICE, slug="nope"), 404)["field"] == "slug"
    assert problem(await enable(client, a, ALICE, slug="hello-tools", version="9.9.9"), 404)["field"] == "version"
    unapproved = problem(await enable(client, a, ALICE, slug="hello-tools", version="2.0.0"), 409)
    assert unapproved["field"] == "version" and "not approved" in unapproved["detail"]
    bad_key = problem(await enable(client, a, ALICE, slug="hello-tools", config={"OTHER": "x"}), 422)
    assert bad_key["field"] == "config.OTHER" and "EXAMPLE_TOKEN" in bad_key["detail"]
    too_long = problem(await enable(client, a, ALICE, slug="hello-tools", config={"EXAMPLE_TOKEN": "x" * 5000}), 422)
    assert too_long["field"] == "config.EXAMPLE_TOKEN"
    assert problem(await enable(client, a, BOB, slug="hello-tools"), 403)  # not a member of A
    # nothing was written by the refusals; the newest approved version by default
    made = await enable(client, a, ALICE, slug="hello-tools")
    assert made.status_code == 201 and made.json()["version"] == "1.0.0", made.text
    again = problem(await enable(client, a, ALICE, slug="hello-tools"), 409)
    assert again["field"] == "slug" and "already enabled" in again["detail"]


async def test_disable_upgrade_and_configure(client: AppClient) -> None:
    await approved(client, extra=PROVIDES)
    a, b = await workspaces(client)
    assert (await enable(client, a, ALICE, slug="hello-tools", config={"EXAMPLE_TOKEN": "one"})).status_code == 201
    url = f"/api/workspaces/{a}/plugins/hello-tools"
    # configuration: replaced, never answered
    patched = await client.patch(url, json={"config": {"EXAMPLE_TOKEN": "two-secret"}}, headers=ALICE)
    assert patched.status_code == 200 and patched.json()["config_keys"] == ["EXAMPLE_TOKEN"], patched.text
    assert "two-secret" not in patched.text
    proxy = (await view_proxies(client, a))["plugin:hello-tools"]
    assert proxy.env == {"EXAMPLE_TOKEN": "two-secret"}
    undeclared = await client.patch(url, json={"config": {"NOPE": "x"}}, headers=ALICE)
    assert problem(undeclared, 422)["field"] == "config.NOPE"
    # content is cached for 1.0.0; an upgrade drops it, and the new version runs
    await proxy.content(a)
    kernel: Kernel = client.app.state["kernel"]
    old_sha = proxy.ref.sha256
    assert await kernel.backends.kv.get(f"plugin-content:{old_sha}:skills/hello.md") is not None
    same = problem(await client.post(f"{url}/upgrade", json={}, headers=ALICE), 409)
    assert same["field"] == "version"
    await approved(client, version="1.1.0", extra=PROVIDES)
    up = await client.post(f"{url}/upgrade", json={}, headers=ALICE)
    assert up.status_code == 200 and up.json()["version"] == "1.1.0", up.text
    assert await kernel.backends.kv.get(f"plugin-content:{old_sha}:skills/hello.md") is None
    proxy = (await view_proxies(client, a))["plugin:hello-tools"]
    assert proxy.ref.version == "1.1.0" and proxy.env == {"EXAMPLE_TOKEN": "two-secret"}
    assert (await proxy.execute(a, "hello-tools__greet", {"name": "v2"})).result["plugin"]["version"] == "1.1.0"
    # B cannot touch A's rows
    assert problem(await client.delete(f"/api/workspaces/{a}/plugins/hello-tools", headers=BOB), 403)
    assert problem(await client.delete(f"/api/workspaces/{b}/plugins/hello-tools", headers=BOB), 404)["field"] == "slug"
    # disable: gone from the list and the view
    assert (await client.delete(url, headers=ALICE)).status_code == 204
    assert (await client.get(f"/api/workspaces/{a}/plugins", headers=ALICE)).json()["total"] == 0
    assert await view_proxies(client, a) == {}
    assert problem(await client.delete(url, headers=ALICE), 404)["field"] == "slug"
    async with kernel.store.sessionmaker() as session:
        actions = (
            await session.scalars(
                select(m.AuditLogEntry.action)
                .where(m.AuditLogEntry.workspace_id == a, m.AuditLogEntry.action.like("plugin.%"))
                .order_by(m.AuditLogEntry.created_at)
            )
        ).all()
    assert actions == ["plugin.enabled", "plugin.configured", "plugin.upgraded", "plugin.disabled"]


async def test_feature_flag_off_answers_503(client: AppClient) -> None:
    a, _ = await workspaces(client)
    kernel: Kernel = client.app.state["kernel"]
    await kernel.set_setting("FEATURE_MARKETPLACE", "false")
    for method, url in [
        ("GET", "/api/marketplace/plugins"),
        ("GET", f"/api/workspaces/{a}/plugins"),
        ("POST", f"/api/workspaces/{a}/plugins"),
    ]:
        answer = await client.request(
            method, url, json={"slug": "x"} if method == "POST" else None, headers={**ALICE, "X-Workspace-ID": a}
        )
        assert problem(answer, 503)["type"].endswith("marketplace-unavailable"), (method, url)


async def test_without_a_sandbox_enabling_answers_503_and_writes_nothing(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute", feature_sandbox=False))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))
        await approved(test_client)
        a, _ = await workspaces(test_client)
        answer = await enable(test_client, a, ALICE, slug="hello-tools")
        assert problem(answer, 503)["type"].endswith("sandbox-unavailable")
        assert (await test_client.get(f"/api/workspaces/{a}/plugins", headers=ALICE)).json()["total"] == 0
        async with kernel.store.sessionmaker() as session:
            version = await session.scalar(select(PluginVersion))
        assert version is not None and version.declarations is None and version.declarations_error is None


class _FailingRunner:
    """A sandbox whose ``register`` run hits a limit (as one may under load)."""

    async def run_plugin(self, job: Any, **kwargs: Any) -> SandboxResult:
        return SandboxResult(ok=False, error=SandboxError(kind="limit", message="cpu", limit="cpu_seconds", value=1))


async def test_a_failed_register_never_overwrites_stored_declarations(client: AppClient) -> None:
    """Two overlapping registers of one version: the one that failed must not erase the other's."""
    await approved(client)
    a, _ = await workspaces(client)
    assert (await enable(client, a, ALICE, slug="hello-tools")).status_code == 201
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        row = await session.scalar(select(PluginVersion))
    assert row is not None and row.declarations
    stale = dataclasses.replace(VersionRef.of(row, "hello-tools"), declarations=None)  # read before it was stored
    declarations = plugins_of(client).declarations
    runner = declarations.runner
    declarations.runner = lambda: _FailingRunner()
    try:
        got, error = await declarations.ensure(stale, workspace_id=a)
    finally:
        declarations.runner = runner
    assert got is None and error is not None and "cpu_seconds" in error
    async with kernel.store.sessionmaker() as session:
        again = await session.scalar(select(PluginVersion))
    assert again is not None and again.declarations == row.declarations and again.declarations_error is None
    assert "plugin:hello-tools" in await view_proxies(client, a)
