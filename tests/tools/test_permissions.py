"""Who may call which tool: agents' apps (``agent_app_assignments``), the workspace's switches
(``workspace_tool_config``), agents' intents — at selection and again at execution — the apps
catalogue, and the meta-tools an agent with many tools gets instead of their schemas."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from automatos.kernel.db import models as m
from tests.tools.conftest import HEADERS, World
from tests.tools.fakes import FakeApp, FakePlugin


def in_alpha(world: World) -> dict[str, str]:
    return {**HEADERS, "X-Workspace-ID": world.ids["alpha"]}


FILES = {"read_file": "read", "write_file": "write", "wipe_disk": "destructive"}


async def setup(world: World) -> tuple[FakePlugin, FakeApp]:
    cards = FakePlugin("cards", ["card"], assignments={world.ids["writer"]: 0})
    files = FakeApp("files", FILES)
    await world.plugins.set(world.ids["alpha"], cards, files)
    return cards, files


async def names(world: World, path: str) -> list[str]:
    got = await world.client.get(path, headers=in_alpha(world))
    assert got.status_code == 200, got.text
    return [t["name"] for t in got.json()["items"]]


async def give_files(world: World) -> None:
    put = await world.client.put(
        "/api/agents/writer/apps", json={"apps": [{"source": "mcp", "app": "files"}]}, headers=in_alpha(world)
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"agent_id": world.ids["writer"], "apps": [{"source": "mcp", "app": "files"}]}


async def audits(world: World, action: str) -> list[dict[str, Any]]:
    async with world.kernel.store.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(m.AuditLogEntry).where(
                    m.AuditLogEntry.workspace_id == world.ids["alpha"], m.AuditLogEntry.action == action
                )
            )
        ).all()
    return [dict(r.data or {}) for r in rows]


async def test_apps_are_listed_with_their_counts_and_filter_the_tools(world: World) -> None:
    await setup(world)
    apps = (await world.client.get("/api/tools/apps", headers=in_alpha(world))).json()
    assert apps["total"] == 3, apps  # with the test extension's builtin app
    assert [(a["source"], a["app"], a["provider"], a["tools"], a["disabled"]) for a in apps["items"]][1:] == [
        ("mcp", "files", "mcp:files", 3, 0),
        ("plugin", "cards", "plugin:cards", 1, 0),
    ]
    only = (await world.client.get("/api/tools/apps?source=plugin", headers=in_alpha(world))).json()
    assert [a["app"] for a in only["items"]] == ["cards"]
    assert await names(world, "/api/tools?app=files") == ["files__read_file", "files__write_file", "files__wipe_disk"]
    assert await names(world, "/api/tools?app=cards&source=plugin") == ["cards__card"]
    assert await names(world, "/api/tools?app=nothing") == []


async def test_an_agent_gets_an_apps_tools_within_its_intents(world: World) -> None:
    await setup(world)
    assert await names(world, "/api/agents/writer/tools") == ["cards__card"]
    await give_files(world)
    # destructive tools need an explicit opt-in
    assert await names(world, "/api/agents/writer/tools") == ["cards__card", "files__read_file", "files__write_file"]
    patched = await world.client.patch(
        "/api/agents/writer", json={"tool_intents": ["destructive", "read"]}, headers=in_alpha(world)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tool_intents"] == ["read", "destructive"]
    assert await names(world, "/api/agents/writer/tools") == ["files__read_file", "files__wipe_disk"]
    got = await world.client.get("/api/agents/writer/apps", headers=in_alpha(world))
    assert got.json()["apps"] == [{"source": "mcp", "app": "files"}]
    assert len(await audits(world, "agent.apps_set")) == 1


async def test_bad_assignments_and_intents_are_refused_by_name(world: World) -> None:
    await setup(world)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"apps": [{"source": "mcp", "app": "files"}, {"source": "mcp", "app": "nope"}]}, "apps[1]"),
        ({"apps": [{"source": "plugin", "app": "cards"}]}, "apps[0]"),
        ({"apps": [{"source": "ftp", "app": "files"}]}, "apps[0].source"),
        ({"apps": "files"}, "apps"),
    ]
    for body, field in cases:
        put = await world.client.put("/api/agents/writer/apps", json=body, headers=in_alpha(world))
        assert put.status_code == 422, (body, put.text)
        assert put.headers["content-type"].startswith("application/problem+json")
        assert put.json()["field"] == field, put.json()
    bad = await world.client.patch("/api/agents/writer", json={"tool_intents": ["admin"]}, headers=in_alpha(world))
    assert bad.status_code == 422 and bad.json()["field"] == "tool_intents[0]", bad.text
    missing = await world.client.put("/api/agents/nobody/apps", json={"apps": []}, headers=in_alpha(world))
    assert missing.status_code == 404 and missing.json()["field"] == "agent"


async def test_switches_take_tools_and_apps_out_everywhere(world: World) -> None:
    _, files = await setup(world)
    await give_files(world)
    off = await world.client.put(
        "/api/tools/config/mcp/files/files__write_file", json={"enabled": False}, headers=in_alpha(world)
    )
    assert off.status_code == 200, off.text
    assert off.json() == {"source": "mcp", "app": "files", "tool": "files__write_file", "enabled": False}
    assert "files__write_file" not in await names(world, "/api/tools")
    assert "files__write_file" not in await names(world, "/api/agents/writer/tools")
    invoked = await world.client.post(
        "/api/tools/files__write_file/invoke", json={"arguments": {}}, headers=in_alpha(world)
    )
    assert invoked.status_code == 403 and invoked.json()["field"] == "name", invoked.text
    assert files.calls == []
    apps = (await world.client.get("/api/tools/apps?source=mcp", headers=in_alpha(world))).json()["items"]
    assert (apps[0]["tools"], apps[0]["disabled"]) == (2, 1)
    # the whole app off; its tool's own switch on wins over the app's
    await world.client.put("/api/tools/config/mcp/files/*", json={"enabled": False}, headers=in_alpha(world))
    await world.client.put(
        "/api/tools/config/mcp/files/files__read_file", json={"enabled": True}, headers=in_alpha(world)
    )
    assert await names(world, "/api/tools?app=files") == ["files__read_file"]
    listed = (await world.client.get("/api/tools/config", headers=in_alpha(world))).json()
    assert listed["total"] == 3
    for tool in ("*", "files__write_file"):
        gone = await world.client.delete(f"/api/tools/config/mcp/files/{tool}", headers=in_alpha(world))
        assert gone.status_code == 204, gone.text
    assert len(await names(world, "/api/tools?app=files")) == 3
    again = await world.client.delete("/api/tools/config/mcp/files/*", headers=in_alpha(world))
    assert again.status_code == 404
    for path, field in [
        ("/api/tools/config/ftp/files/*", "source"),
        ("/api/tools/config/mcp/fi%20les/*", "app"),
        ("/api/tools/config/mcp/files/no%20tool", "tool"),
    ]:
        bad = await world.client.put(path, json={"enabled": False}, headers=in_alpha(world))
        assert bad.status_code == 422 and bad.json()["field"] == field, (path, bad.text)
    assert {a["tool"] for a in await audits(world, "tool.switched")} == {"files__write_file", "*", "files__read_file"}


async def test_calls_are_checked_again_at_execution(world: World) -> None:
    """The offline model calls tools by name whatever it was offered: each call is judged when it runs."""
    files = FakeApp("files", {**FILES, "list_dir": "read"})
    await world.plugins.set(world.ids["alpha"], files)
    await give_files(world)
    await world.client.patch("/api/agents/writer", json={"tool_intents": ["read"]}, headers=in_alpha(world))
    off = {"enabled": False}
    await world.client.put("/api/tools/config/mcp/files/files__read_file", json=off, headers=in_alpha(world))
    message = "\n".join(
        [
            "Go.",
            '/tool files__read_file {"path": "a"}',
            '/tool files__write_file {"path": "b"}',
            '/tool files__wipe_disk {"path": "/"}',
            '/tool files__list_dir {"path": "/"}',
        ]
    )
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": message, "stream": False}, headers=in_alpha(world)
    )
    assert sent.status_code == 201, sent.text
    assert files.calls == [(world.ids["alpha"], "files__list_dir", {"path": "/"})]
    answer = sent.json()["message"]["content"]
    assert "files__write_file → " in answer and "may not call write tools" in answer
    assert "files__wipe_disk → " in answer and "may not call destructive tools" in answer
    assert "files__read_file → " in answer and "switched off in this workspace" in answer
    reasons = sorted(a["reason"] for a in await audits(world, "tool.refused"))
    assert reasons == ["intent destructive not allowed", "intent write not allowed", "switched off in this workspace"]


async def test_many_tools_become_two_meta_tools(world: World) -> None:
    many = FakeApp("files", {f"op_{i}": "read" for i in range(30)} | {"archive_report": "write"})
    await world.plugins.set(world.ids["alpha"], many)
    await give_files(world)
    await world.kernel.settings_registry.set_platform("chat.tool_meta_threshold", 10, actor_id=None)
    message = '/tool search_tools {"query": "archive report", "limit": 2}\n/then\n' + (
        '/tool call_tool {"name": "files__archive_report", "arguments": {"path": "r.txt"}}'
    )
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": message, "stream": False}, headers=in_alpha(world)
    )
    assert sent.status_code == 201, sent.text
    # the model was offered the two meta-tools only
    offered = world.recorder.options[0]["tools"]
    assert [t.name for t in offered] == ["search_tools", "call_tool"]
    assert many.calls == [(world.ids["alpha"], "files__archive_report", {"path": "r.txt"})]
    messages = (
        await world.client.get(f"/api/chat/sessions/{sent.json()['session_id']}/messages", headers=in_alpha(world))
    ).json()["items"]
    tools = [x for x in messages if x["role"] == "tool"]
    found = json.loads(tools[0]["content"])
    assert found["ok"] and found["result"][0]["name"] == "files__archive_report"
    assert found["result"][0]["parameters"]["type"] == "object" and len(found["result"]) <= 2
    assert json.loads(tools[1]["content"])["result"] == {"did": "files__archive_report", "path": "r.txt"}
    # a call through call_tool is judged like a direct one: intents, switches, the agent's apps
    await world.client.patch("/api/agents/writer", json={"tool_intents": ["read"]}, headers=in_alpha(world))
    refused = await world.client.post(
        "/api/chat",
        json={
            "agent": "writer",
            "content": '/tool call_tool {"name": "files__archive_report", "arguments": {}}',
            "stream": False,
        },
        headers=in_alpha(world),
    )
    assert "may not call write tools" in refused.json()["message"]["content"]
    assert len(many.calls) == 1


async def test_a_workspace_cannot_touch_another_workspaces_agents_or_switches(world: World) -> None:
    await setup(world)
    made = await world.client.post("/api/workspaces", json={"slug": "beta", "name": "Beta"}, headers=HEADERS)
    beta = made.json()["id"]
    in_beta = {**HEADERS, "X-Workspace-ID": beta}
    other = await world.client.post("/api/agents", json={"name": "Other", "slug": "other"}, headers=in_beta)
    assert other.status_code == 201, other.text
    await world.plugins.set(beta, FakeApp("files", FILES))
    # alpha's switch leaves beta's tools on; alpha cannot reach beta's agent by id
    await world.client.put("/api/tools/config/mcp/files/*", json={"enabled": False}, headers=in_alpha(world))
    beta_tools = (await world.client.get("/api/tools?app=files", headers=in_beta)).json()
    assert beta_tools["total"] == 3
    assert (await world.client.get("/api/tools/config", headers=in_beta)).json()["total"] == 0
    agent = other.json()["id"]
    body = {"apps": [{"source": "mcp", "app": "files"}]}
    crossed = await world.client.put(f"/api/agents/{agent}/apps", json=body, headers=in_alpha(world))
    assert crossed.status_code == 404 and crossed.json()["field"] == "agent"
    assert (await world.client.get(f"/api/agents/{agent}/tools", headers=in_alpha(world))).status_code == 404
    assert (await world.client.get(f"/api/agents/{agent}/apps", headers=in_beta)).json()["apps"] == []
