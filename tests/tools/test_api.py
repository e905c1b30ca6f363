"""The tools API end to end: the app as in production (one sandbox worker), fake plugin proxies joined to
workspace alpha's view, the test extension's ``echo`` in every workspace.

Alice owns alpha (Mia is a member there, Vera a viewer); Bob owns bravo.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.tools.service import arguments_digest
from tests.helpers import AppClient, as_user, container_of, make_container, serve_app, two_workspaces
from tests.tools.fakes import FakePlugin, Plugins


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


class World:
    def __init__(self, client: AppClient, kernel: Kernel, ids: dict[str, str], cards: FakePlugin) -> None:
        self.client, self.kernel, self.ids, self.cards = client, kernel, ids, cards

    async def invoke(self, user: str, workspace: str, name: str, body: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/tools/{name}/invoke", json=body, headers=as_user(user, self.ids[workspace])
        )

    async def get(self, user: str, workspace: str, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=as_user(user, self.ids[workspace]))


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("tools-api"), sandbox_pool_size=1, rate_limit_default="100000/minute"
    )
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        ids = await two_workspaces(client)
        for slug, workspace in (("writer", "alpha"), ("reader", "alpha"), ("b-agent", "bravo")):
            owner = "alice" if workspace == "alpha" else "bob"
            made = await client.post(
                "/api/agents", json={"name": slug, "slug": slug}, headers=as_user(owner, ids[workspace])
            )
            assert made.status_code == 201, made.text
            ids[slug] = made.json()["id"]
        bad_schema = {"type": "object", "properties": {"url": {"type": "no-such-type"}}}
        cards = FakePlugin(
            "cards",
            ["card", "spin", "snippet", "down", "busy", "boom", "broken"],
            schemas={"broken": bad_schema},
            sandbox=container_of(client).sandbox(),
            assignments={ids["writer"]: 1},
        )
        plugins = Plugins(kernel)
        await plugins.set(
            ids["alpha"], FakePlugin("notes", ["note"], assignments={ids["writer"]: 0, ids["reader"]: 0}), cards
        )
        yield World(client, kernel, ids, cards)


# --- listing ----------------------------------------------------------------------------------------


async def test_the_workspace_lists_its_tools_with_their_source(world: World) -> None:
    listed = (await world.get("vera", "alpha", "/api/tools")).json()
    names = [t["name"] for t in listed["items"]]
    assert names[:3] == ["echo", "notes__note", "cards__card"] and listed["total"] == 9
    card = listed["items"][2]
    assert card["source"] == "plugin" and card["provider"] == "plugin:cards"
    assert card["parameters"]["required"] == ["url"]
    plugin_only = (await world.get("vera", "alpha", "/api/tools", source="plugin")).json()
    assert plugin_only["total"] == 8 and "echo" not in [t["name"] for t in plugin_only["items"]]
    builtin = (await world.get("vera", "alpha", "/api/tools", source="builtin")).json()
    assert [t["name"] for t in builtin["items"]] == ["echo"]
    searched = (await world.get("vera", "alpha", "/api/tools", q="NOTE of")).json()  # the description
    assert [t["name"] for t in searched["items"]] == ["notes__note"]
    page = (await world.get("vera", "alpha", "/api/tools", offset=1, limit=2)).json()
    assert [t["name"] for t in page["items"]] == ["notes__note", "cards__card"]
    assert (page["total"], page["offset"], page["limit"]) == (9, 1, 2)
    one = (await world.get("vera", "alpha", "/api/tools/cards__card")).json()
    assert one["name"] == "cards__card" and one["description"] == "card of cards"
    body = problem(await world.get("vera", "alpha", "/api/tools/nothing__here"), 404)
    assert body["field"] == "name" and "nothing__here" in body["detail"]


async def test_another_workspace_never_sees_a_plugin_tool(world: World) -> None:
    listed = (await world.get("bob", "bravo", "/api/tools")).json()
    assert [t["name"] for t in listed["items"]] == ["echo"]
    assert "cards" not in json.dumps(listed)
    problem(await world.get("bob", "bravo", "/api/tools/cards__card"), 404)
    calls = len(world.cards.calls)
    problem(await world.invoke("bob", "bravo", "cards__card", {"arguments": {"url": "x"}}), 404)
    assert len(world.cards.calls) == calls  # nothing ran
    # bob naming alpha is not a member there
    problem(await world.invoke("bob", "alpha", "cards__card", {"arguments": {"url": "x"}}), 403)
    # and alpha's agents are not bravo's
    problem(await world.get("bob", "bravo", f"/api/agents/{world.ids['writer']}/tools"), 404)


# --- invoking ---------------------------------------------------------------------------------------


async def test_a_member_invokes_a_tool(world: World) -> None:
    response = await world.invoke("mia", "alpha", "cards__card", {"arguments": {"url": "https://a.example"}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is True and answer["error"] is None and answer["tool"] == "cards__card"
    assert answer["result"] == {
        "tool": "cards__card",
        "workspace": world.ids["alpha"],
        "arguments": {"url": "https://a.example"},
    }
    assert world.cards.calls[-1] == (world.ids["alpha"], "cards__card", {"url": "https://a.example"})
    echoed = await world.invoke("mia", "alpha", "echo", {"arguments": {"anything": [1, 2]}})  # an extension's tool
    assert echoed.status_code == 200 and echoed.json()["result"] == {"anything": [1, 2]}
    empty = await world.invoke("mia", "alpha", "echo", {})  # arguments default to {}
    assert empty.status_code == 200 and empty.json()["result"] == {}


async def test_a_sandboxed_call_returns_its_result(world: World) -> None:
    response = await world.invoke("mia", "alpha", "cards__snippet", {"arguments": {"url": "abc"}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is True and answer["result"] == {"card": "ABC"}
    assert answer["usage"]["total_ms"] > 0 and answer["duration_ms"] > 0


async def test_a_limit_error_is_passed_through(world: World) -> None:
    response = await world.invoke("mia", "alpha", "cards__spin", {"arguments": {"url": "x"}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is False and answer["result"] is None
    error = answer["error"]
    assert error["kind"] == "limit" and error["limit"] in ("cpu_seconds", "wall_seconds")
    assert error["value"] is not None and error["message"]


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({}, "arguments.url", "required"),
        ({"url": 5}, "arguments.url", "type"),
        ({"url": ""}, "arguments.url", "minLength"),
        ({"url": "x", "options": {"depth": "deep"}}, "arguments.options.depth", "type"),
        ({"url": "x", "options": {"depth": -1}}, "arguments.options.depth", "minimum"),
        ({"url": "x", "colour": "red"}, "arguments.colour", "additionalProperties"),
        ({"url": "x", "options": {"width": 3}}, "arguments.options.width", "additionalProperties"),
    ],
)
async def test_arguments_that_fail_the_schema_are_named(
    world: World, arguments: dict[str, Any], field: str, rule: str
) -> None:
    calls = len(world.cards.calls)
    body = problem(await world.invoke("mia", "alpha", "cards__card", {"arguments": arguments}), 422)
    assert body["field"] == field and body["detail"].startswith(f"{field}: ") and body["rule"] == rule
    assert len(world.cards.calls) == calls  # nothing ran


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"arguments": [1]}, "arguments"), ({"arguments": "x"}, "arguments"), ({"args": {}}, "args")],
)
async def test_arguments_must_be_an_object(world: World, payload: Any, field: str) -> None:
    body = problem(await world.invoke("mia", "alpha", "cards__card", payload), 422)
    assert body["field"] == field


@pytest.mark.parametrize(
    ("arguments", "status"),
    [
        ({"url": "a\u0000b"}, 200),  # NUL: hashed for the audit, never stored
        ({"url": "é" * 5000}, 200),
        ({"url": "x", "options": {"depth": 10**30}}, 200),
        ({"url": "x", "options": {"depth": 1.5}}, 422),
        ({"url": "x", "options": None}, 422),
        ({"url": ["x"] * 1000}, 422),
    ],
)
async def test_odd_arguments_are_a_result_or_a_422(world: World, arguments: dict[str, Any], status: int) -> None:
    response = await world.invoke("mia", "alpha", "cards__card", {"arguments": arguments})
    if status == 422:
        body = problem(response, 422)
        assert body["field"].startswith("arguments.") and len(body["detail"]) < 400
    else:
        assert response.status_code == 200 and response.json()["ok"] is True, response.text


async def test_unknown_forbidden_unavailable_and_broken(world: World) -> None:
    body = problem(await world.invoke("mia", "alpha", "nope", {"arguments": {}}), 404)
    assert body["field"] == "name" and "nope" in body["detail"]
    body = problem(await world.invoke("vera", "alpha", "cards__card", {"arguments": {"url": "x"}}), 403)
    assert "tools.use" in body["detail"]
    body = problem(await world.invoke("mia", "alpha", "cards__down", {"arguments": {"url": "x"}}), 503)
    assert "not running" in body["detail"]
    body = problem(await world.invoke("mia", "alpha", "cards__busy", {"arguments": {"url": "x"}}), 503)
    assert body["reason"] == "busy"
    boom = await world.invoke("mia", "alpha", "cards__boom", {"arguments": {"url": "x"}})
    assert boom.status_code == 200 and boom.json()["error"]["kind"] == "provider"
    assert "hunter2" not in boom.text  # an exception's text never reaches the caller
    body = problem(await world.invoke("mia", "alpha", "cards__broken", {"arguments": {"url": "x"}}), 409)
    assert "JSON Schema is invalid" in body["detail"] and body["field"] == "name"
    too_big = await world.invoke("mia", "alpha", "cards__card", {"arguments": {"url": "x" * 1_100_000}})
    assert too_big.status_code == 413


async def test_a_key_narrowed_to_tools_use_may_invoke(world: World) -> None:
    made = await world.client.post(
        "/api/api-keys",
        json={"name": "tools-only", "role": "member", "scopes": ["tools.use"]},
        headers=as_user("alice", world.ids["alpha"]),
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['key']}"}
    response = await world.client.post(
        "/api/tools/cards__card/invoke", json={"arguments": {"url": "k"}}, headers=headers
    )
    assert response.status_code == 200 and response.json()["ok"] is True
    # narrowed to tools.use, it may not read the agents
    assert (await world.client.get("/api/agents", headers=headers)).status_code == 403


async def test_the_audit_keeps_a_hash_never_the_arguments(world: World) -> None:
    secret = "s3cr3t-argument-value"
    arguments = {"url": secret, "options": {"depth": 2}}
    response = await world.invoke("mia", "alpha", "cards__card", {"arguments": arguments})
    assert response.status_code == 200, response.text
    async with world.kernel.store.sessionmaker() as session:
        rows = (await session.execute(select(m.AuditLogEntry))).scalars().all()
    assert all(secret not in json.dumps(row.data) and secret not in row.target_id for row in rows)
    mine = [r for r in rows if r.action == "tool.invoke" and r.data["sha256"] == arguments_digest(arguments)]
    assert len(mine) == 1
    entry = mine[0]
    assert entry.workspace_id == world.ids["alpha"] and entry.actor_id == "mia" and entry.target_id == "cards__card"
    assert entry.data["provider"] == "plugin:cards" and entry.data["source"] == "plugin"
    assert entry.data["ok"] is True and entry.data["error"] is None and entry.data["duration_ms"] >= 0
    # the same arguments in another key order hash the same (canonical JSON)
    assert arguments_digest({"options": {"depth": 2}, "url": secret}) == entry.data["sha256"]
    spun = await world.invoke("mia", "alpha", "cards__spin", {"arguments": {"url": "y"}})
    assert spun.status_code == 200
    async with world.kernel.store.sessionmaker() as session:
        last = (
            (
                await session.execute(
                    select(m.AuditLogEntry)
                    .where(m.AuditLogEntry.action == "tool.invoke", m.AuditLogEntry.target_id == "cards__spin")
                    .order_by(m.AuditLogEntry.created_at.desc())
                )
            )
            .scalars()
            .first()
        )
    assert last is not None and last.data["ok"] is False and last.data["error"] == "limit"
    assert last.data["limit"] == spun.json()["error"]["limit"]
    listed = await world.client.get(
        f"/api/workspaces/{world.ids['alpha']}/audit", params={"action": "tool.invoke"}, headers=as_user("alice")
    )
    assert listed.status_code == 200 and listed.json()["total"] >= 2


# --- agents ------------------------------------------------------------------------------------------


async def test_an_agent_lists_its_assigned_plugins_tools_in_order(world: World) -> None:
    writer = (await world.get("vera", "alpha", f"/api/agents/{world.ids['writer']}/tools")).json()
    names = [t["name"] for t in writer["items"]]
    assert names[0] == "notes__note" and names[1:] == [
        "cards__card",
        "cards__spin",
        "cards__snippet",
        "cards__down",
        "cards__busy",
        "cards__boom",
        "cards__broken",
    ]
    by_slug = (await world.get("vera", "alpha", "/api/agents/reader/tools")).json()
    assert [t["name"] for t in by_slug["items"]] == ["notes__note"] and by_slug["total"] == 1
    body = problem(await world.get("vera", "alpha", f"/api/agents/{world.ids['b-agent']}/tools"), 404)
    assert body["field"] == "agent"
    b_agent = (await world.get("bob", "bravo", f"/api/agents/{world.ids['b-agent']}/tools")).json()
    assert b_agent["items"] == [] and b_agent["total"] == 0
