"""MCP servers a workspace adds: their tools join the registry, calls reach them, failures stay contained.

A real MCP server (the ``mcp`` SDK's :class:`MCPServer`, streamable HTTP, stateless) is served by
uvicorn on a free 127.0.0.1 port in the test's loop; it refuses any request without the expected
``Authorization`` header. The app runs with ``MCP_ALLOW_PRIVATE`` on (the server is on loopback).
Alice owns alpha (Mia is a member there, Vera a viewer); Bob owns bravo.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from sqlalchemy import select, text

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.types import Workspace
from automatos.tools.mcp.client import Target, call_tool, url_problem
from automatos.tools.mcp.provider import tool_specs
from tests.helpers import AppClient, as_user, container_of, make_container, serve_app, serve_http, two_workspaces
from tests.services import free_port

TOKEN = "Bearer s3cret-mcp-token"
SERVERS = "/api/tools/mcp-servers"
STDIO_SERVER = Path(__file__).parent / "mcp_stdio_server.py"


def quiet_server(name: str) -> MCPServer:
    """An SDK MCP server that leaves the root logger as it was (MCPServer calls basicConfig)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return MCPServer(name, log_level="WARNING")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def bearer_only(server: MCPServer, token: str, seen: list[str | None]) -> Any:
    """``server``'s streamable HTTP app (stateless, JSON), answering 401 to any request without
    ``Authorization: <token>``; every request's header is appended to ``seen``."""
    inner = server.streamable_http_app(stateless_http=True, json_response=True)

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            got = dict(scope["headers"]).get(b"authorization")
            seen.append(got.decode() if got is not None else None)
            if got != token.encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await inner(scope, receive, send)

    return guarded


class McpTestServer:
    """The tools ``lookup`` (read-only) and ``note``; what reached it (the Authorization headers)."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.notes: list[str] = []

    def app(self) -> Any:
        server = quiet_server("test-files")

        @server.tool(annotations=ToolAnnotations(read_only_hint=True))
        def lookup(key: str) -> str:
            """Look a key up."""
            return f"value of {key}"

        @server.tool()
        def note(text: str) -> str:
            """Write a note down."""
            self.notes.append(text)
            return f"noted: {text}"

        return bearer_only(server, TOKEN, self.authorizations)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        async with serve_http(self.app(), log_level="warning") as base:
            yield f"{base}/mcp"


class World:
    def __init__(self, client: AppClient, kernel: Kernel, ids: dict[str, str], mcp: McpTestServer, url: str) -> None:
        self.client, self.kernel, self.ids, self.mcp, self.url = client, kernel, ids, mcp, url

    async def call(self, method: str, user: str, workspace: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=as_user(user, self.ids[workspace]), **kwargs)

    async def add(self, name: str, url: str, *, user: str = "alice", workspace: str = "alpha") -> dict[str, Any]:
        made = await self.call(
            "POST", user, workspace, SERVERS, json={"name": name, "url": url, "headers": {"Authorization": TOKEN}}
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def tools(self, user: str = "vera", workspace: str = "alpha") -> dict[str, dict[str, Any]]:
        listed = await self.call("GET", user, workspace, "/api/tools", params={"source": "mcp"})
        assert listed.status_code == 200, listed.text
        return {t["name"]: t for t in listed.json()["items"]}


def problem(response: httpx.Response, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field, body
    return str(body["detail"])


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("mcp-client"),
        feature_sandbox=False,
        mcp_allow_private=True,
        mcp_timeout_seconds=10.0,
        rate_limit_default="100000/minute",
    )
    mcp = McpTestServer()
    async with serve_app(create_app(container)) as client, mcp.serving() as url:
        kernel: Kernel = client.app.state["kernel"]
        ids = await two_workspaces(client)
        world = World(client, kernel, ids, mcp, url)
        added = await world.add("files", url)
        ids["files"] = added["id"]
        yield world


async def workspace(world: World, name: str) -> Workspace:
    found = await world.kernel.store.get_workspace(world.ids[name])
    assert found is not None
    return found


# --- adding a server: its tools join the registry ----------------------------------------------------


async def test_a_server_s_tools_join_the_workspace_s_tools(world: World) -> None:
    server = (await world.call("GET", "alice", "alpha", f"{SERVERS}/{world.ids['files']}")).json()
    assert server["status"] == "ok" and server["status_reason"] is None
    assert server["tools_count"] == 2 and sorted(server["tools"]) == ["files__lookup", "files__note"]
    assert server["header_names"] == ["Authorization"] and server["transport"] == "http"
    tools = await world.tools()
    assert set(tools) == {"files__lookup", "files__note"}
    lookup, note = tools["files__lookup"], tools["files__note"]
    assert lookup["source"] == "mcp" and lookup["app"] == "files" and lookup["provider"] == "mcp:files"
    assert lookup["intent"] == "read" and note["intent"] == "write"
    assert lookup["description"] == "Look a key up."
    assert lookup["parameters"]["properties"]["key"]["type"] == "string"
    assert lookup["parameters"]["required"] == ["key"]
    listed = (await world.call("GET", "alice", "alpha", SERVERS)).json()
    assert listed["total"] == 1 and listed["offset"] == 0 and [s["name"] for s in listed["items"]] == ["files"]


async def test_invoking_a_tool_calls_the_server_with_the_headers(world: World) -> None:
    before = len(world.mcp.authorizations)
    got = await world.call("POST", "mia", "alpha", "/api/tools/files__lookup/invoke", json={"arguments": {"key": "k1"}})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["ok"] is True and body["tool"] == "files__lookup"
    assert body["result"] == {"result": "value of k1"}
    noted = await world.call(
        "POST", "mia", "alpha", "/api/tools/files__note/invoke", json={"arguments": {"text": "hi"}}
    )
    assert noted.status_code == 200 and noted.json()["result"] == {"result": "noted: hi"}
    assert world.mcp.notes[-1] == "hi"
    sent = world.mcp.authorizations[before:]
    assert sent and all(a == TOKEN for a in sent)
    bad = await world.call("POST", "mia", "alpha", "/api/tools/files__lookup/invoke", json={"arguments": {}})
    assert problem(bad, 422, "arguments.key")  # the server's schema, checked before the call


async def test_headers_are_never_answered_nor_stored_readable(world: World) -> None:
    secret = TOKEN.split()[1]
    for path in (SERVERS, f"{SERVERS}/{world.ids['files']}"):
        got = await world.call("GET", "alice", "alpha", path)
        assert got.status_code == 200 and secret not in got.text
    async with world.kernel.store.sessionmaker() as session:
        raw = (await session.execute(text("SELECT credentials FROM mcp_servers"))).scalars().all()
        entries = (
            (await session.execute(select(m.AuditLogEntry).where(m.AuditLogEntry.action.like("mcp_server.%"))))
            .scalars()
            .all()
        )
    assert raw and all(value and secret not in value and "Authorization" not in value for value in raw)
    assert entries and all(secret not in str(e.data) for e in entries)
    created = [e for e in entries if e.action == "mcp_server.created" and e.target_id == world.ids["files"]]
    assert created and created[0].data["header_names"] == ["Authorization"] and created[0].actor_id == "alice"


# --- a server that is down -----------------------------------------------------------------------------


async def test_a_server_that_stops_makes_its_tools_unavailable_not_the_workspace(world: World) -> None:
    flaky = McpTestServer()
    async with flaky.serving() as url:
        added = await world.add("flaky", url)
        assert added["status"] == "ok" and added["tools_count"] == 2
    # stopped: a call says why, the tools stay listed (from the stored listing), /api/tools answers
    invoked = await world.call(
        "POST", "mia", "alpha", "/api/tools/flaky__lookup/invoke", json={"arguments": {"key": "k"}}
    )
    assert invoked.status_code == 503, invoked.text  # the invoke API's answer for kind "unavailable"
    assert "cannot connect to the server" in invoked.json()["detail"]
    result = (
        await container_of(world.client)
        .tool_registry()
        .execute(await workspace(world, "alpha"), "flaky__lookup", {"key": "k"})
    )
    assert result.ok is False and result.error is not None
    assert result.error["kind"] == "unavailable" and "cannot connect to the server" in result.error["message"]
    refreshed = await world.call("POST", "alice", "alpha", f"{SERVERS}/{added['id']}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["status"] == "unavailable" and "cannot connect" in body["status_reason"]
    assert body["tools_count"] == 2  # the last listing is kept: the tools come back with the server
    tools = await world.tools()
    assert "flaky__lookup" in tools and "files__lookup" in tools
    fine = await world.call("POST", "mia", "alpha", "/api/tools/files__lookup/invoke", json={"arguments": {"key": "x"}})
    assert fine.status_code == 200 and fine.json()["ok"] is True
    deleted = await world.call("DELETE", "alice", "alpha", f"{SERVERS}/{added['id']}")
    assert deleted.status_code == 204
    assert "flaky__lookup" not in await world.tools()


async def test_a_server_down_when_added_is_saved_unavailable_with_the_reason(world: World) -> None:
    added = await world.add("nowhere", f"http://127.0.0.1:{free_port()}/mcp")
    assert added["status"] == "unavailable" and added["tools_count"] == 0
    assert "cannot connect to the server" in added["status_reason"]
    assert not [n for n in await world.tools() if n.startswith("nowhere__")]
    assert (await world.call("DELETE", "alice", "alpha", f"{SERVERS}/{added['id']}")).status_code == 204


async def test_wrong_headers_are_a_reason_and_new_ones_refresh(world: World) -> None:
    added = await world.add("patched", world.url)
    path = f"{SERVERS}/{added['id']}"
    wrong = await world.call("PATCH", "alice", "alpha", path, json={"headers": {"Authorization": "Bearer nope"}})
    assert wrong.status_code == 200, wrong.text
    assert wrong.json()["status"] == "unavailable" and "HTTP 401" in wrong.json()["status_reason"]
    invoked = await world.call(
        "POST", "mia", "alpha", "/api/tools/patched__lookup/invoke", json={"arguments": {"key": "a"}}
    )
    assert invoked.status_code == 503 and "HTTP 401" in invoked.json()["detail"]
    right = await world.call("PATCH", "alice", "alpha", path, json={"headers": {"Authorization": TOKEN}})
    assert right.json()["status"] == "ok" and right.json()["status_reason"] is None
    off = await world.call("PATCH", "alice", "alpha", path, json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert "patched__lookup" not in await world.tools()
    on = await world.call("PATCH", "alice", "alpha", path, json={"enabled": True})
    assert on.json()["enabled"] is True and on.json()["status"] == "ok"
    assert "patched__lookup" in await world.tools()
    assert (await world.call("DELETE", "alice", "alpha", path)).status_code == 204
    async with world.kernel.store.sessionmaker() as session:
        actions = (
            await session.scalars(select(m.AuditLogEntry.action).where(m.AuditLogEntry.target_id == added["id"]))
        ).all()
    assert sorted(set(actions)) == ["mcp_server.created", "mcp_server.deleted", "mcp_server.updated"]


# --- who may, and where --------------------------------------------------------------------------------


async def test_another_workspace_sees_neither_the_server_nor_its_tools(world: World) -> None:
    path = f"{SERVERS}/{world.ids['files']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"enabled": False}),
        ("DELETE", "", None),
        ("POST", "/refresh", None),
    ):
        got = await world.call(method, "bob", "bravo", path + suffix, json=body)
        problem(got, 404, "id")
    assert (await world.call("GET", "bob", "bravo", SERVERS)).json()["total"] == 0
    assert await world.tools("bob", "bravo") == {}
    invoked = await world.call(
        "POST", "bob", "bravo", "/api/tools/files__lookup/invoke", json={"arguments": {"key": "k"}}
    )
    assert invoked.status_code == 404
    still = (await world.call("GET", "alice", "alpha", path)).json()
    assert still["enabled"] is True  # bob's PATCH changed nothing


async def test_members_and_viewers_cannot_manage_servers(world: World) -> None:
    for user in ("mia", "vera"):
        assert (await world.call("GET", user, "alpha", SERVERS)).status_code == 403
        made = await world.call("POST", user, "alpha", SERVERS, json={"name": "mine", "url": world.url})
        assert made.status_code == 403
        refreshed = await world.call("POST", user, "alpha", f"{SERVERS}/{world.ids['files']}/refresh")
        assert refreshed.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "u1", "url": "ftp://example.com/mcp"}, "url"),
        ({"name": "u2", "url": "not a url"}, "url"),
        ({"name": "u3", "url": "http://user:pw@example.com/mcp"}, "url"),
        ({"name": "u4"}, "url"),
        ({"name": "Bad Name", "url": "https://example.com/mcp"}, "name"),
        ({"name": "u5", "transport": "carrier-pigeon", "url": "https://example.com/mcp"}, "transport"),
        ({"name": "u6", "url": "https://example.com/mcp", "headers": {"Bad Header": "x"}}, "headers.Bad Header"),
        ({"name": "u7", "url": "https://example.com/mcp", "headers": {"X-A": "line\nbreak"}}, "headers.X-A"),
    ],
)
async def test_bad_servers_are_refused_naming_the_field(world: World, body: dict[str, Any], field: str) -> None:
    problem(await world.call("POST", "alice", "alpha", SERVERS, json=body), 422, field)


async def test_a_name_is_unique_in_the_workspace(world: World) -> None:
    again = await world.call("POST", "alice", "alpha", SERVERS, json={"name": "files", "url": world.url})
    problem(again, 409, "name")


async def test_stdio_is_for_platform_admins_only(world: World) -> None:
    body = {"name": "local", "transport": "stdio", "command": [sys.executable, str(STDIO_SERVER)]}
    detail = problem(await world.call("POST", "alice", "alpha", SERVERS, json=body), 403, "transport")
    assert "platform admin" in detail
    made = await world.call("POST", "alice;admin", "alpha", SERVERS, json=body)
    assert made.status_code == 201, made.text
    server = made.json()
    assert server["status"] == "ok", server
    assert server["tools"] == ["local__shout"] and server["command"] == body["command"]
    tools = await world.tools()
    assert tools["local__shout"]["intent"] == "read" and tools["local__shout"]["app"] == "local"
    shouted = await world.call(
        "POST", "mia", "alpha", "/api/tools/local__shout/invoke", json={"arguments": {"text": "hi"}}
    )
    assert shouted.status_code == 200 and shouted.json()["result"] == {"result": "HI"}
    assert (await world.call("DELETE", "alice", "alpha", f"{SERVERS}/{server['id']}")).status_code == 204


# --- the rules, without the app ------------------------------------------------------------------------


def test_private_addresses_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:8000/mcp", "http://localhost/mcp", "http://169.254.169.254/", "http://[::1]/mcp"):
        assert url_problem(url, allow_private=False) is not None, url
        assert url_problem(url, allow_private=True) is None, url
    assert url_problem("https://mcp.example.com/mcp", allow_private=False) is None


async def test_a_name_that_resolves_to_a_private_address_is_refused_when_connecting(world: World) -> None:
    target = Target(transport="http", url=world.url, headers={"Authorization": TOKEN})
    refused = await call_tool(target, "lookup", {"key": "k"}, seconds=5, allow_private=False)
    assert refused.ok is False and refused.error is not None and refused.error["kind"] == "unavailable"
    assert "MCP_ALLOW_PRIVATE" in refused.error["message"]
    allowed = await call_tool(target, "lookup", {"key": "k"}, seconds=5, allow_private=True)
    assert allowed.ok is True and allowed.result == {"result": "value of k"}


def test_tool_names_are_sanitised_and_unsafe_ones_left_out() -> None:
    listed: list[dict[str, Any]] = [
        {"name": "read.file", "description": "d", "input_schema": {"type": "object"}, "intent": "read"},
        {"name": "read_file", "input_schema": {}},  # the same name once sanitised: left out
        {"name": "x" * 60},  # too long with the prefix
        {"name": ""},
        {"name": "wipe", "intent": "destructive", "input_schema": None},
    ]
    specs, names = tool_specs("srv", listed)
    assert [s.name for s in specs] == ["srv__read_file", "srv__wipe"]
    assert names == {"srv__read_file": "read.file", "srv__wipe": "wipe"}
    assert specs[0].intent == "read" and specs[1].intent == "destructive"
    assert specs[1].parameters == {"type": "object"} and all(s.source == "mcp" and s.app == "srv" for s in specs)
