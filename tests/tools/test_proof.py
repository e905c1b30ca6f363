"""Issue 14's proof: one agent, three sources behind one registry, over SSE and through ``openai``.

The agent ``helper`` of workspace alpha is given:

- a real marketplace plugin (``Hello Tools``: uploaded, scanned, approved, enabled, assigned), whose
  ``greet`` runs in the app's sandbox;
- an MCP server the test starts (:class:`tests.tools.test_mcp_client.McpTestServer`, streamable
  HTTP on 127.0.0.1, behind a bearer token) — app ``files``;
- a Composio toolkit (``github``) through the real ``composio`` SDK against
  :class:`tests.tools.composio_fake.FakeComposio`: the catalogue synced, alpha's account connected
  through the OAuth flow.

The offline model calls one tool of each (``/tool`` lines) and answers with their results, in
``/api/chat`` over SSE and in ``/v1/chat/completions`` through the official ``openai`` client with
``model`` = the agent. Workspace bravo, with a github connection of its own, never lends it to alpha.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import text

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.tools.composio.provider import tool_name
from tests.helpers import AppClient, container_of, make_container, serve_app, sse
from tests.marketplace.test_runtime_enable import approved, enable
from tests.tools.composio_fake import API_KEY, FakeComposio
from tests.tools.test_mcp_client import TOKEN, McpTestServer

ALICE = {"X-Test-User": "alice"}
BOB = {"X-Test-User": "bob"}
ROOT = {"X-Test-User": "root;admin"}


class Proof:
    def __init__(self, client: AppClient, fake: FakeComposio, mcp: McpTestServer, ids: dict[str, str]) -> None:
        self.client, self.fake, self.mcp, self.ids = client, fake, mcp, ids

    def alpha(self) -> dict[str, str]:
        return {**ALICE, "X-Workspace-ID": self.ids["alpha"]}

    def bravo(self) -> dict[str, str]:
        return {**BOB, "X-Workspace-ID": self.ids["bravo"]}

    async def connect(self, headers: dict[str, str], app: str) -> str:
        """A Composio connection through the OAuth flow: initiate, the user consents, the callback."""
        made = await self.client.post("/api/tools/connections", json={"app": app}, headers=headers)
        assert made.status_code == 201, made.text
        connection = made.json()["connection"]
        self.fake.complete(connection["account_id"])
        back = await self.client.get("/api/composio/callback", params={"connection": connection["id"]})
        assert back.json()["status"] == "active", back.text
        return str(connection["account_id"])


@pytest.fixture
async def proof(tmp_path: Path) -> AsyncIterator[Proof]:
    fake = FakeComposio(toolkits={"github": 3})
    fake.start()
    mcp = McpTestServer()
    try:
        async with mcp.serving() as mcp_url:
            container = make_container(
                tmp_path,
                rate_limit_default="100000/minute",
                mcp_allow_private=True,
                mcp_timeout_seconds=10.0,
                composio_api_key=API_KEY,
                composio_base_url=fake.url,
                composio_max_retries=0,
                composio_timeout_seconds=5,
            )
            async with serve_app(create_app(container)) as client:
                kernel: Kernel = client.app.state["kernel"]
                async with kernel.store.sessionmaker.begin() as session:
                    session.add(
                        m.User(id="root", email="root@example.test", display_name="root", is_platform_admin=True)
                    )
                    session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
                    session.add(m.User(id="bob", email="bob@example.test", display_name="bob"))
                ids: dict[str, str] = {}
                for slug, who in (("alpha", ALICE), ("bravo", BOB)):
                    made = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers=who)
                    assert made.status_code == 201, made.text
                    ids[slug] = made.json()["id"]
                world = Proof(client, fake, mcp, ids)
                await _give_helper_three_sources(world, mcp_url)
                yield world
    finally:
        fake.stop()


async def _give_helper_three_sources(world: Proof, mcp_url: str) -> None:
    client, alpha = world.client, world.alpha()
    # the plugin: approved on the platform, enabled in alpha
    await approved(client)
    enabled = await enable(client, world.ids["alpha"], ALICE, slug="hello-tools")
    assert enabled.status_code == 201, enabled.text
    # the MCP server
    added = await client.post(
        "/api/tools/mcp-servers",
        json={"name": "files", "url": mcp_url, "headers": {"Authorization": TOKEN}},
        headers=alpha,
    )
    assert added.status_code == 201 and added.json()["status"] == "ok", added.text
    # Composio: the platform's catalogue synced, then alpha's and bravo's own github accounts
    started = await client.post("/api/composio/sync", headers=ROOT)
    assert started.status_code == 202, started.text
    await container_of(client).composio_catalogue().wait()
    world.ids["alpha-account"] = await world.connect(alpha, "github")
    world.ids["bravo-account"] = await world.connect(world.bravo(), "github")
    # the agent and what it may use
    agent = await client.post("/api/agents", json={"name": "Helper", "slug": "helper"}, headers=alpha)
    assert agent.status_code == 201, agent.text
    world.ids["helper"] = agent.json()["id"]
    plugins = await client.put("/api/agents/helper/plugins", json={"plugins": ["hello-tools"]}, headers=alpha)
    assert plugins.status_code == 200, plugins.text
    apps = [{"source": "mcp", "app": "files"}, {"source": "composio", "app": "github"}]
    given = await client.put("/api/agents/helper/apps", json={"apps": apps}, headers=alpha)
    assert given.status_code == 200, given.text


GITHUB = tool_name("github", "GITHUB_ACTION_0001")  # "create" in the fake: a write
ASK = "\n".join(
    [
        "Greet Ada, look up the key, and file it.",
        '/tool hello-tools__greet {"name": "Ada"}',
        '/tool files__lookup {"key": "k1"}',
        f'/tool {GITHUB} {{"title": "from the proof"}}',
    ]
)


def check_results(world: Proof, answer: str) -> None:
    assert answer.startswith("[offline] tool results: hello-tools__greet → "), answer
    assert '"hello":"Ada"' in answer
    assert 'files__lookup → {"ok":true,"result":{"result":"value of k1"}}' in answer
    assert f"{GITHUB} → " in answer and '"title":"from the proof"' in answer
    # alpha's own Composio account ran it, never bravo's
    assert [e["account"] for e in world.fake.executions] == [world.ids["alpha-account"]] * len(world.fake.executions)


async def test_an_agent_calls_a_plugin_a_composio_action_and_an_mcp_tool_over_sse(proof: Proof) -> None:
    tools = await proof.client.get("/api/agents/helper/tools", headers=proof.alpha())
    names = [t["name"] for t in tools.json()["items"]]
    assert names[0] == "hello-tools__greet" and "files__lookup" in names and GITHUB in names
    sent = await proof.client.post("/api/chat", json={"agent": "helper", "content": ASK}, headers=proof.alpha())
    assert sent.status_code == 201 and sent.headers["content-type"].startswith("text/event-stream"), sent.text
    events = sse(sent.text)
    kinds = [name for name, _ in events]
    assert kinds[:7] == ["start", *["tool_call", "tool_result"] * 3] and kinds[-1] == "done", kinds
    calls = [data for name, data in events if name == "tool_call"]
    results = [data for name, data in events if name == "tool_result"]
    assert [c["name"] for c in calls] == ["hello-tools__greet", "files__lookup", GITHUB]
    assert [r["ok"] for r in results] == [True, True, True], results
    answer = "".join(data["delta"] for name, data in events if name == "delta")
    check_results(proof, answer)
    assert events[-1][1]["status"] == "complete" and events[-1][1]["usage"]["prompt_tokens"] > 0
    # the session keeps the three calls and their results, then the answer
    session = events[0][1]["session_id"]
    stored = await proof.client.get(f"/api/chat/sessions/{session}/messages", headers=proof.alpha())
    roles = [(x["role"], (x["tool_call"] or {}).get("name")) for x in stored.json()["items"]]
    assert roles == [
        ("user", None),
        ("tool", "hello-tools__greet"),
        ("tool", "files__lookup"),
        ("tool", GITHUB),
        ("assistant", None),
    ]


async def test_the_same_through_the_openai_client_with_the_agent_as_model(proof: Proof) -> None:
    made = await proof.client.post("/api/api-keys", json={"name": "sdk"}, headers=proof.alpha())
    assert made.status_code == 201, made.text
    sdk = openai.AsyncOpenAI(
        base_url=str(proof.client.base_url).rstrip("/") + "/v1",
        api_key=made.json()["key"],
        http_client=proof.client,  # type: ignore[arg-type]  # an httpx.AsyncClient on the app
        max_retries=0,
    )
    done = await sdk.chat.completions.create(model="helper", messages=[{"role": "user", "content": ASK}])
    assert done.choices[0].finish_reason == "stop" and done.choices[0].message.tool_calls is None
    assert done.usage is not None and done.usage.prompt_tokens > 0
    check_results(proof, done.choices[0].message.content or "")
    stream: Any = await sdk.chat.completions.create(
        model="helper", messages=[{"role": "user", "content": ASK}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    check_results(proof, text)
    assert len(proof.fake.executions) == 2 and len(proof.mcp.authorizations) >= 2


async def test_bravos_connection_is_never_used_for_alpha_and_refusals_hold(proof: Proof) -> None:
    # bravo's github tools are bravo's: alpha cannot invoke through them, and alpha's calls use alpha's account
    invoked = await proof.client.post(
        f"/api/tools/{GITHUB}/invoke", json={"arguments": {"title": "direct"}}, headers=proof.alpha()
    )
    assert invoked.status_code == 200 and invoked.json()["ok"], invoked.text
    assert proof.fake.executions[-1]["account"] == proof.ids["alpha-account"]
    # a destructive action is not the agent's (intents), even though the model asks for it
    delete = tool_name("github", "GITHUB_ACTION_0002")
    asked = f'/tool {delete} {{"title": "x"}}'
    sent = await proof.client.post(
        "/api/chat", json={"agent": "helper", "content": asked, "stream": False}, headers=proof.alpha()
    )
    assert sent.status_code == 201, sent.text
    assert "may not call destructive tools" in sent.json()["message"]["content"]
    assert len(proof.fake.executions) == 1
    # the workspace switches the MCP app off: its tool is refused at execution, with the reason
    off = await proof.client.put("/api/tools/config/mcp/files/*", json={"enabled": False}, headers=proof.alpha())
    assert off.status_code == 200, off.text
    before = len(proof.mcp.authorizations)
    sent = await proof.client.post(
        "/api/chat",
        json={"agent": "helper", "content": '/tool files__lookup {"key": "k"}', "stream": False},
        headers=proof.alpha(),
    )
    assert "switched off in this workspace" in sent.json()["message"]["content"]
    assert len(proof.mcp.authorizations) == before
    # tokens are unreadable in the database
    kernel: Kernel = proof.client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        raw = (await session.execute(text("SELECT tokens FROM entity_connections"))).scalars().all()
    assert raw and all(t and "gho_plaintext_access_token" not in t for t in raw)
    assert json.dumps(raw).find("gho_") == -1
