"""``/mcp``: a workspace's tools over MCP, through the official ``mcp`` SDK's own client.

The app runs under uvicorn on a loopback port (the SDK opens its own connections); the client is
``ClientSession`` over ``streamable_http_client`` with an ``httpx2`` client carrying an API key.
Both protocol eras are exercised: the ``initialize`` handshake and the 2026-07-28 ``server/discover``.

Alice owns workspace alpha, which has the ``ledger`` provider (joined to alpha's view only, as a
plugin's proxy is); Bob owns bravo. The test extension's ``echo`` is in every workspace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import PARSE_ERROR, CallToolResult, PaginatedRequestParams, TextContent
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.api.plugin import KernelPlugin
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.types import ToolResult, ToolSpec
from automatos.tools.mcp.server import FORBIDDEN
from automatos.tools.service import arguments_digest
from tests.helpers import as_user, make_container, serve_app, serve_http

ACCOUNT: dict[str, Any] = {
    "type": "object",
    "properties": {"account": {"type": "string", "minLength": 1}, "cents": {"type": "integer"}},
    "required": ["account"],
    "additionalProperties": False,
}


class Ledger:
    """A tool provider of workspace alpha: ``ledger__balance`` (read), ``ledger__wipe`` (destructive),
    ``ledger__fail`` (answers an error), ``ledger__pay`` (write)."""

    name = "ledger"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]:
        intents = {"balance": "read", "pay": "write", "wipe": "destructive", "fail": "read"}
        return [
            ToolSpec(
                name=f"ledger__{tool}",
                description=f"{tool} an account",
                parameters=ACCOUNT,
                provider=self.name,
                source="builtin",
                app="ledger",
                intent=intent,
            )
            for tool, intent in intents.items()
        ]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        self.calls.append((workspace_id, tool, dict(arguments)))
        if tool == "ledger__fail":
            return ToolResult(ok=False, error={"kind": "runtime", "message": "the ledger is closed"})
        return ToolResult(ok=True, result={"account": arguments["account"], "balance": 4200, "tool": tool})


class World:
    def __init__(self, url: str, client: httpx.AsyncClient, kernel: Kernel, app: Any, ledger: Ledger) -> None:
        self.url, self.client, self.kernel, self.app, self.ledger = url, client, kernel, app, ledger
        self.ids: dict[str, str] = {}

    async def key(self, user: str, workspace: str, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"name": f"mcp-{user}"} | ({"role": "member", "scopes": scopes} if scopes else {})
        made = await self.client.post("/api/api-keys", json=body, headers=as_user(user, self.ids[workspace]))
        assert made.status_code == 201, made.text
        key: str = made.json()["key"]
        return key

    @asynccontextmanager
    async def session(self, key: str, era: str = "legacy") -> AsyncIterator[ClientSession]:
        """The SDK's session on ``/mcp`` with ``key``, past the handshake (``legacy``) or discovery (``modern``)."""
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
            streamable_http_client(f"{self.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            if era == "legacy":
                await session.initialize()
            else:
                await session.discover()
            yield session


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("mcp-server"), feature_sandbox=False, rate_limit_default="100000/minute"
    )
    app = create_app(container)
    async with serve_http(app) as url, httpx.AsyncClient(base_url=url) as client:
        kernel: Kernel = app.state["kernel"]
        ledger = Ledger()
        world = World(url, client, kernel, app, ledger)
        async with kernel.store.sessionmaker.begin() as session:
            for user in ("alice", "bob"):
                session.add(m.User(id=user, email=f"{user}@example.test", display_name=user))
        for user, slug in (("alice", "alpha"), ("bob", "bravo")):
            made = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers=as_user(user))
            assert made.status_code == 201, made.text
            world.ids[slug] = made.json()["id"]

        async def extras(workspace_id: str) -> list[object]:
            return [ledger] if workspace_id == world.ids["alpha"] else []

        kernel.views.add_extras(extras)
        rebuilt = kernel.views.invalidate(world.ids["alpha"])
        if rebuilt is not None:
            await rebuilt
        yield world


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent), result
    return result.content[0].text


async def tool_invokes(world: World, workspace: str) -> list[m.AuditLogEntry]:
    async with world.kernel.store.sessionmaker() as session:
        query = select(m.AuditLogEntry).where(
            m.AuditLogEntry.action == "tool.invoke", m.AuditLogEntry.workspace_id == world.ids[workspace]
        )
        return list((await session.execute(query)).scalars().all())


# --- listing and calling ----------------------------------------------------------------------------


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_a_key_lists_and_calls_its_workspaces_tools(world: World, era: str) -> None:
    key = await world.key("alice", "alpha")
    async with world.session(key, era) as session:
        listed = await session.list_tools()
        names = [t.name for t in listed.tools]
        assert names == ["echo", "ledger__balance", "ledger__pay", "ledger__wipe", "ledger__fail"]
        assert listed.next_cursor is None
        by_name = {t.name: t for t in listed.tools}
        balance = by_name["ledger__balance"]
        assert balance.description == "balance an account" and balance.input_schema == ACCOUNT
        assert balance.annotations is not None and balance.annotations.read_only_hint is True
        wipe = by_name["ledger__wipe"].annotations
        assert wipe is not None and (wipe.read_only_hint, wipe.destructive_hint) == (False, True)
        pay = by_name["ledger__pay"].annotations
        assert pay is not None and (pay.read_only_hint, pay.destructive_hint) == (False, False)
        assert by_name["echo"].input_schema == {"type": "object"}  # MCP wants an object schema at the root

        before = len(await tool_invokes(world, "alpha"))
        arguments = {"account": f"main-{era}", "cents": 5}
        called = await session.call_tool("ledger__balance", arguments)
    assert called.is_error is False
    expected = {"account": f"main-{era}", "balance": 4200, "tool": "ledger__balance"}
    assert called.structured_content == expected
    assert text_of(called) == '{"account":"main-' + era + '","balance":4200,"tool":"ledger__balance"}'
    assert world.ledger.calls[-1] == (world.ids["alpha"], "ledger__balance", arguments)
    # audited as the REST invoke is: one tool.invoke entry with the arguments' hash, never the arguments
    entries = await tool_invokes(world, "alpha")
    assert len(entries) == before + 1
    entry = next(e for e in entries if e.data["sha256"] == arguments_digest(arguments))
    assert entry.target_id == "ledger__balance" and entry.data["provider"] == "ledger" and entry.data["ok"] is True
    assert f"main-{era}" not in str(entry.data)


async def test_another_workspaces_key_sees_none_of_its_tools(world: World) -> None:
    key = await world.key("bob", "bravo")
    calls = len(world.ledger.calls)
    async with world.session(key) as session:
        listed = await session.list_tools()
        assert [t.name for t in listed.tools] == ["echo"]
        refused = await session.call_tool("ledger__balance", {"account": "main"})
        echoed = await session.call_tool("echo", {"from": "bravo"})
    assert refused.is_error is True and "does not exist in this workspace" in text_of(refused)
    assert refused.structured_content == {
        "error": {
            "status": 404,
            "title": "Not found",
            "detail": "tool 'ledger__balance' does not exist in this workspace",
            "field": "name",
        }
    }
    assert len(world.ledger.calls) == calls  # nothing of alpha's ran
    assert echoed.is_error is False and echoed.structured_content == {"from": "bravo"}
    assert await tool_invokes(world, "bravo") and all(e.target_id == "echo" for e in await tool_invokes(world, "bravo"))
    # nor may bob's key name alpha
    answer = await world.client.post(
        "/mcp", json=PING, headers={"Authorization": f"Bearer {key}", "X-Workspace-ID": world.ids["alpha"], **JSON}
    )
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("application/problem+json")


async def test_listing_pages_through_every_tool(world: World) -> None:
    plugin = world.app.plugins.get(KernelPlugin)
    plugin.mcp.page_size = 2
    key = await world.key("alice", "alpha")
    try:
        async with world.session(key, "modern") as session:
            names: list[str] = []
            cursors: list[str] = []
            page = await session.list_tools()
            while True:
                names += [t.name for t in page.tools]
                if page.next_cursor is None:
                    break
                cursors.append(page.next_cursor)
                page = await session.list_tools(params=PaginatedRequestParams(cursor=page.next_cursor))
            with pytest.raises(MCPError) as bad:
                await session.list_tools(params=PaginatedRequestParams(cursor="not-a-cursor"))
    finally:
        plugin.mcp.page_size = 100
    rest = await world.client.get("/api/tools", headers={"Authorization": f"Bearer {key}"})
    assert names == [t["name"] for t in rest.json()["items"]] and len(names) == 5
    assert cursors == ["2", "4"]
    assert "cursor" in bad.value.message


# --- refusals ---------------------------------------------------------------------------------------

JSON = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


async def test_no_key_or_a_wrong_one_is_a_401_before_mcp(world: World) -> None:
    none = await world.client.post("/mcp", json=PING, headers=JSON)
    assert none.status_code == 401, none.text
    assert none.headers["content-type"].startswith("application/problem+json")
    assert none.headers["www-authenticate"].startswith("Bearer") and none.headers["x-request-id"]
    assert none.json()["field"] == "Authorization" and "API key" in none.json()["detail"]
    wrong = await world.client.post("/mcp", json=PING, headers={**JSON, "X-API-Key": "atk_not_a_key"})
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("application/problem+json")
    slash = await world.client.post("/mcp/", json=PING, headers=JSON)
    assert slash.status_code == 401
    for path in ("/mcp/anything", "/mcpx"):  # the endpoint is /mcp, nothing below or beside it
        assert (await world.client.post(path, json=PING, headers=JSON)).status_code == 404
    # the SDK's client gets no further: its handshake fails (it reports an HTTP error status as a
    # JSON-RPC internal error, raised out of its task groups)
    with pytest.raises(ExceptionGroup) as refused:
        async with world.session("atk_not_a_key"):
            pytest.fail("the handshake succeeded without a valid key")
    assert refused.group_contains(MCPError, match="error response")


async def test_bad_arguments_and_failures_are_errors_naming_what_is_wrong(world: World) -> None:
    key = await world.key("alice", "alpha")
    calls = len(world.ledger.calls)
    async with world.session(key) as session:
        missing = await session.call_tool("ledger__pay", {"cents": 3})
        wrong_type = await session.call_tool("ledger__pay", {"account": "a", "cents": "three"})
        extra = await session.call_tool("ledger__pay", {"account": "a", "colour": "red"})
        unknown = await session.call_tool("nope", {})
        failed = await session.call_tool("ledger__fail", {"account": "a"})
    for result, field, rule in (
        (missing, "arguments.account", "required"),
        (wrong_type, "arguments.cents", "type"),
        (extra, "arguments.colour", "additionalProperties"),
    ):
        assert result.is_error is True and field in text_of(result)
        assert result.structured_content is not None
        problem = result.structured_content["error"]
        assert (problem["status"], problem["field"], problem["rule"], problem["tool"]) == (
            422,
            field,
            rule,
            "ledger__pay",
        )
    assert len(world.ledger.calls) == calls + 1  # only ledger__fail ran: bad arguments never reach the tool
    assert unknown.is_error is True and "'nope' does not exist" in text_of(unknown)
    assert failed.is_error is True and text_of(failed) == "tool ledger__fail failed (runtime): the ledger is closed"
    assert failed.structured_content is not None and failed.structured_content["error"]["kind"] == "runtime"


async def test_a_key_narrowed_to_reading_may_list_but_not_call(world: World) -> None:
    reader = await world.key("alice", "alpha", scopes=["agents.read"])
    calls = len(world.ledger.calls)
    before = len(await tool_invokes(world, "alpha"))
    async with world.session(reader) as session:
        listed = await session.list_tools()
        refused = await session.call_tool("ledger__balance", {"account": "main"})
    assert "ledger__balance" in [t.name for t in listed.tools]
    assert refused.is_error is True and "tools.use" in text_of(refused)
    assert refused.structured_content is not None and refused.structured_content["error"]["status"] == 403
    assert len(world.ledger.calls) == calls and len(await tool_invokes(world, "alpha")) == before
    # a key narrowed to tools.use lists too (an MCP client lists what it calls: the SDK's call_tool
    # lists the tools after a call it has not seen listed), and calls
    caller = await world.key("alice", "alpha", scopes=["tools.use"])
    async with world.session(caller, "modern") as session:
        called = await session.call_tool("ledger__balance", {"account": "main"})
        assert "ledger__balance" in [t.name for t in (await session.list_tools()).tools]
    assert called.is_error is False and len(world.ledger.calls) == calls + 1
    # a key with neither may not list
    chatter = await world.key("alice", "alpha", scopes=["agents.use"])
    async with world.session(chatter) as session:
        with pytest.raises(MCPError) as denied:
            await session.list_tools()
    assert denied.value.code == FORBIDDEN and "agents.read or tools.use" in denied.value.message


# --- the app's edge ---------------------------------------------------------------------------------


async def test_the_apps_body_limit_applies(world: World) -> None:
    key = await world.key("alice", "alpha")
    arguments = {"account": "x" * 1_100_000}
    params = {"name": "ledger__pay", "arguments": arguments}
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    calls = len(world.ledger.calls)
    too_big = await world.client.post("/mcp", json=body, headers={**JSON, "Authorization": f"Bearer {key}"})
    assert too_big.status_code == 413 and len(world.ledger.calls) == calls
    assert too_big.headers["content-type"].startswith("application/problem+json") and too_big.headers["x-request-id"]
    assert "1048576 bytes" in too_big.json()["detail"]


async def test_a_route_limit_on_post_mcp_applies(tmp_path: Path) -> None:
    container = make_container(tmp_path, feature_sandbox=False, rate_limit_routes=("POST /mcp=2/minute",))
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=as_user("alice"))
        key = await client.post("/api/api-keys", json={"name": "k"}, headers=as_user("alice", made.json()["id"]))
        headers = {**JSON, "Authorization": f"Bearer {key.json()['key']}"}
        answers = [await client.post("/mcp", json=PING, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429], answers[-1].text
    assert answers[0].json()["result"]["tools"][0]["name"] == "echo"
    assert answers[2].headers["content-type"].startswith("application/problem+json")
    assert answers[2].json()["detail"].endswith(f"on POST /mcp; retry in {answers[2].headers['retry-after']} s")


async def test_deeply_nested_json_is_refused_not_a_500(world: World) -> None:
    key = await world.key("alice", "alpha")
    for depth in (1_000, 100_000):
        body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ' + b"[" * depth + b"]" * depth + b"}"
        answer = await world.client.post("/mcp", content=body, headers={**JSON, "Authorization": f"Bearer {key}"})
        assert answer.status_code == 400, answer.text  # the SDK's parser bounds the nesting: a parse error
        assert answer.json()["error"]["code"] == PARSE_ERROR


# --- sessionless ------------------------------------------------------------------------------------


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next of ``ports`` in turn: a load balancer with no affinity."""

    def __init__(self, ports: list[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = ports
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[len(self.sent) % len(self.ports)]
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_any_api_process_answers_any_request(tmp_path: Path) -> None:
    """Two apps (two kernels, one database), the SDK's requests alternating between them: the
    handshake on one, the listing on the other, the calls on both."""
    first = create_app(make_container(tmp_path, feature_sandbox=False, rate_limit_default="100000/minute"))
    second = create_app(make_container(tmp_path, feature_sandbox=False, rate_limit_default="100000/minute"))
    async with serve_http(first) as one, serve_http(second) as two, httpx.AsyncClient(base_url=one) as client:
        kernel: Kernel = first.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=as_user("alice"))
        alpha = made.json()["id"]
        key = await client.post("/api/api-keys", json={"name": "k"}, headers=as_user("alice", alpha))
        ports = [httpx2.URL(one).port, httpx2.URL(two).port]
        balancer = RoundRobin([p for p in ports if p is not None])
        headers = {"Authorization": f"Bearer {key.json()['key']}"}
        async with (
            httpx2.AsyncClient(headers=headers, transport=balancer, timeout=30) as http,
            streamable_http_client(f"{one}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()  # the handshake's two POSTs: initialize, then initialized
            listed = await session.list_tools()
            first_call = await session.call_tool("echo", {"n": 1})
            second_call = await session.call_tool("echo", {"n": 2})
        served = [app.state["container"].route_stats().cell("POST /mcp")[0] for app in (first, second)]
    assert [t.name for t in listed.tools] == ["echo"]
    assert (first_call.structured_content, second_call.structured_content) == ({"n": 1}, {"n": 2})
    assert balancer.sent[:5] == [ports[0], ports[1], ports[0], ports[1], ports[0]]
    assert served[0] >= 2 and served[1] >= 2  # both processes answered /mcp
