"""Chat through the API: sessions, messages, SSE and JSON answers, usage, errors, disconnects, tenancy.

The offline provider (the embedded default) answers; where a provider must fail, a small provider
that fails on cue is put in the workspace's provider list — everything else (the chat service, the
database, the API) is the real thing.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from automatos.agents import models as am
from automatos.api.app import create_app
from automatos.chat import models as cm
from automatos.extensions.llm.openai import OpenAIConnection, OpenAIProvider
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import ProviderError
from automatos.kernel.hooks import Collected
from automatos.kernel.types import ChatMessage, Completion, StreamEvent, Workspace
from tests.helpers import AppClient, container_of, make_container, serve_app, serve_http, sse


def as_user(user: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"X-Test-User": user}
    if workspace:
        headers["X-Workspace-ID"] = workspace
    return headers


class World:
    def __init__(self, client: AppClient, kernel: Kernel) -> None:
        self.client = client
        self.kernel = kernel
        self.ids: dict[str, str] = {}


async def add_agent(kernel: Kernel, workspace_id: str, slug: str, **fields: Any) -> str:
    async with kernel.store.sessionmaker.begin() as session:
        agent = am.Agent(workspace_id=workspace_id, slug=slug, name=slug.title(), **fields)
        session.add(agent)
        await session.flush()
        return agent.id


async def build_world(client: AppClient, kernel: Kernel) -> World:
    world = World(client, kernel)
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="alice", email="alice@a.example", display_name="alice"))
        session.add(m.User(id="bob", email="bob@b.example", display_name="bob"))
        session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
        session.add(m.User(id="vera", email="vera@a.example", display_name="vera"))
    for user, slug in (("alice", "alpha"), ("bob", "bravo")):
        response = await client.post(
            "/api/workspaces", json={"slug": slug, "name": slug.title()}, headers=as_user(user)
        )
        assert response.status_code == 201, response.text
        world.ids[slug] = response.json()["id"]
    await client.post(
        f"/api/workspaces/{world.ids['alpha']}/members",
        json={"email": "vera@a.example", "role": "viewer"},
        headers=as_user("alice"),
    )
    world.ids["helper"] = await add_agent(kernel, world.ids["alpha"], "helper")
    world.ids["b-agent"] = await add_agent(kernel, world.ids["bravo"], "b-secret-agent")
    return world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        yield await build_world(client, app.state["kernel"])


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    return body


async def rows(kernel: Kernel, model: Any, **where: Any) -> list[Any]:
    async with kernel.store.sessionmaker() as session:
        query = select(model).filter_by(**where)
        return list((await session.execute(query)).scalars().all())


# --- answers ---------------------------------------------------------------------------------------


async def test_json_answer_is_persisted_with_usage(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    response = await client.post(
        "/api/chat",
        json={"agent": "helper", "content": "hello there", "stream": False},
        headers=as_user("alice", alpha),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"]["content"] == "[offline] hello there"
    assert body["message"]["status"] == "complete" and body["message"]["role"] == "assistant"
    assert body["usage"]["completion_tokens"] == 3 and body["usage"]["prompt_tokens"] > 0
    session_id = body["session_id"]
    listed = (await client.get(f"/api/chat/sessions/{session_id}/messages", headers=as_user("alice", alpha))).json()
    assert [(x["role"], x["status"]) for x in listed["items"]] == [("user", "complete"), ("assistant", "complete")]
    assert listed["items"][0]["id"] == body["user_message_id"]
    session = (await client.get(f"/api/chat/sessions/{session_id}", headers=as_user("alice", alpha))).json()
    assert session["title"] == "hello there" and session["agent_id"] == world.ids["helper"]
    usage = (await client.get("/api/usage", headers=as_user("alice", alpha))).json()
    assert usage["total"] == 1 and usage["totals"]["calls"] == 1
    item = usage["items"][0]
    assert (item["provider"], item["agent_id"], item["message_id"]) == (
        "offline",
        world.ids["helper"],
        body["message"]["id"],
    )
    assert item["total_tokens"] == item["prompt_tokens"] + item["completion_tokens"] == body["usage"]["total_tokens"]


async def test_streamed_answer_events_and_record(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    created = await client.post("/api/chat/sessions", json={"agent": "helper"}, headers=as_user("alice", alpha))
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    response = await client.post(
        f"/api/chat/sessions/{session_id}/messages",
        json={"content": "stream me three words"},
        headers=as_user("alice", alpha),
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    start, done = events[0][1], events[-1][1]
    text = "".join(data["delta"] for name, data in events if name == "delta")
    assert text == "[offline] stream me three words"
    assert done["message_id"] == start["message_id"] and done["status"] == "complete"
    assert done["usage"]["completion_tokens"] == len(events) - 2
    (answer,) = await rows(world.kernel, cm.ChatMessage, id=start["message_id"])
    assert (answer.content, answer.status, answer.workspace_id) == (text, "complete", alpha)
    (usage,) = await rows(world.kernel, cm.LLMUsage, message_id=start["message_id"])
    assert usage.completion_tokens == done["usage"]["completion_tokens"]


async def test_history_and_system_prompt_reach_the_provider(world: World) -> None:
    kernel, alpha = world.kernel, world.ids["alpha"]
    async with kernel.store.sessionmaker.begin() as session:
        persona = am.Persona(slug="calm", name="Calm", system_prompt="You stay calm.", workspace_id=None)
        skill = am.Skill(slug="brief", name="Brief", instructions="Answer in one line.", workspace_id=alpha)
        other = am.Skill(slug="other", name="Other", instructions="B's own skill.", workspace_id=world.ids["bravo"])
        session.add_all([persona, skill, other])
        base = await session.get(cm.Prompt, "agent.base")  # seeded on start
        assert base is not None
        base.body = "You are {agent_name} of {workspace_name}. {x}"
        await session.flush()
        ids = (persona.id, skill.id, other.id)
    agent_id = await add_agent(
        kernel, alpha, "composed", persona_id=ids[0], skill_ids=[ids[1], ids[2]], instructions="Sign as Composed."
    )
    service = container_of(world.client).chat()
    workspace = await kernel.directory.workspace(alpha)
    assert workspace is not None
    chat = await service.create_session(alpha, "composed", "", actor_id="alice")
    first = await service.start_turn(workspace, chat.id, "one", actor_id="alice", request_id="r1")
    await first.complete()
    second = await service.start_turn(workspace, chat.id, "two", actor_id="alice", request_id="r2")
    system = second.messages[0]
    assert system.role == "system"
    assert system.content == (
        "You are Composed of Alpha. {x}\n\nYou stay calm.\n\n## Skill: Brief\nAnswer in one line.\n\nSign as Composed."
    )
    assert "B's own skill" not in system.content  # another workspace's skill never leaks in
    assert [(x.role, x.content) for x in second.messages[1:]] == [
        ("user", "one"),
        ("assistant", "[offline] one"),
        ("user", "two"),
    ]
    assert second.agent_id == agent_id
    await second.complete()


async def test_history_is_limited_by_the_platform_setting(world: World) -> None:
    kernel, alpha = world.kernel, world.ids["alpha"]
    async with kernel.store.sessionmaker.begin() as session:
        await session.merge(am.PlatformSetting(key="chat.history_limit", value=2))
    container_of(world.client).settings_registry().forget()
    service = container_of(world.client).chat()
    workspace = await kernel.directory.workspace(alpha)
    assert workspace is not None
    chat = await service.create_session(alpha, "helper", "", actor_id="alice")
    for word in ("a", "b", "c"):
        await (await service.start_turn(workspace, chat.id, word, actor_id="alice", request_id=None)).complete()
    turn = await service.start_turn(workspace, chat.id, "d", actor_id="alice", request_id=None)
    assert turn.messages[0].role == "system"  # the seeded base prompt
    assert [x.content for x in turn.messages[1:]] == ["c", "[offline] c", "d"]
    await turn.complete()


# --- bad input -------------------------------------------------------------------------------------


async def test_bad_input_is_named(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    headers = as_user("alice", alpha)
    body = problem(await client.post("/api/chat", json={"agent": "nobody", "content": "hi"}, headers=headers), 404)
    assert body["field"] == "agent"
    body = problem(await client.post("/api/chat/sessions", json={"agent": "nobody"}, headers=headers), 404)
    assert body["field"] == "agent"
    body = problem(await client.post("/api/chat/sessions/nope/messages", json={"content": "x"}, headers=headers), 404)
    assert body["field"] == "session_id"
    body = problem(await client.post("/api/chat", json={"agent": "helper", "content": ""}, headers=headers), 422)
    assert body["field"] == "content"
    body = problem(await client.post("/api/chat", json={"agent": "helper", "text": "x"}, headers=headers), 422)
    assert body["field"] in ("text", "content")
    await add_agent(world.kernel, alpha, "other")
    chat = (await client.post("/api/chat/sessions", json={"agent": "helper"}, headers=headers)).json()
    body = problem(
        await client.post(
            "/api/chat", json={"agent": "other", "content": "x", "session_id": chat["id"]}, headers=headers
        ),
        422,
    )
    assert body["field"] == "agent" and "another agent" in body["detail"]
    async with world.kernel.store.sessionmaker.begin() as session:
        await session.merge(am.PlatformSetting(key="chat.max_message_chars", value=5))
    container_of(world.client).settings_registry().forget()
    body = problem(
        await client.post("/api/chat", json={"agent": "helper", "content": "too long"}, headers=headers), 422
    )
    assert body["field"] == "content" and "at most 5" in body["detail"]
    assert await rows(world.kernel, cm.ChatMessage, workspace_id=alpha) == []  # nothing half-written


async def test_viewer_reads_but_cannot_chat(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    body = problem(
        await client.post("/api/chat", json={"agent": "helper", "content": "hi"}, headers=as_user("vera", alpha)), 403
    )
    assert "agents.use" in body["detail"]
    assert (await client.get("/api/chat/sessions", headers=as_user("vera", alpha))).status_code == 200
    assert (await client.get("/api/usage", headers=as_user("vera", alpha))).status_code == 403


# --- providers that fail ---------------------------------------------------------------------------


class FailingProvider:
    """Fails when asked: before the first token, or after ``after`` tokens."""

    name = "flaky"

    def __init__(self, after: int | None = None) -> None:
        self.after = after

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        raise ProviderError(self.name, "unavailable", "upstream is down (503)")

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        if self.after is None:
            raise ProviderError(self.name, "unavailable", "upstream is down (503)")
        for i in range(self.after):
            yield StreamEvent(delta=f" w{i}")
        raise ProviderError(self.name, "timeout", "upstream stopped answering")


def use_provider(world: World, provider: Any) -> None:
    resolver = container_of(world.client).llm_providers()
    original = resolver.llm_providers

    async def providers(workspace: Workspace) -> Collected[Any]:
        got = await original(workspace)
        return Collected(items={**got.items, provider.name: provider}, sources=dict(got.sources))

    resolver.llm_providers = providers  # type: ignore[method-assign]


@pytest.mark.parametrize("stream", [False, True])
async def test_provider_not_enabled_is_a_409_naming_the_setting_and_the_message_is_kept(
    world: World, stream: bool
) -> None:
    """The workspace's configuration, not an upstream failure: a 409 an admin can act on, never a 5xx."""
    kernel, client, alpha = world.kernel, world.client, world.ids["alpha"]
    await add_agent(kernel, alpha, "gpt", model_settings={"provider": "openai", "model": "gpt-5-mini"})  # priced
    response = await client.post(
        "/api/chat", json={"agent": "gpt", "content": "hi", "stream": stream}, headers=as_user("alice", alpha)
    )
    body = problem(response, 409)
    assert body["provider"] == "openai" and "openai" in body["detail"]
    assert body["field"] == "model_settings.provider" and body["kind"] == "not_enabled"
    assert body["type"].endswith("/provider-not-enabled") and "admin must enable" in body["detail"]
    user, answer = sorted(await rows(kernel, cm.ChatMessage, workspace_id=alpha), key=lambda r: r.created_at)
    assert (user.role, user.content, user.status) == ("user", "hi", "complete")
    assert answer.status == "error" and answer.error["provider"] == "openai" and answer.error["kind"] == "not_enabled"
    (usage,) = await rows(kernel, cm.LLMUsage, workspace_id=alpha)
    assert usage.status == "error"
    # nothing was sent anywhere: nothing is charged, no tokens are made up
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost) == (0, 0, 0.0)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_provider_that_refuses_the_connection_costs_nothing(world: World, stream: bool) -> None:
    kernel, client, alpha = world.kernel, world.client, world.ids["alpha"]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    # the real OpenAI provider (its SDK, its error mapping), pointed at the closed port
    use_provider(world, OpenAIProvider(OpenAIConnection("sk-test", closed, 5.0, 0, "platform")))
    await add_agent(kernel, alpha, "gpt", model_settings={"provider": "openai", "model": "gpt-5-mini"})  # priced
    response = await client.post(
        "/api/chat", json={"agent": "gpt", "content": "hi", "stream": stream}, headers=as_user("alice", alpha)
    )
    body = problem(response, 502)
    assert body["provider"] == "openai" and body["kind"] == "unavailable" and "127.0.0.1" in body["detail"]
    (usage,) = await rows(kernel, cm.LLMUsage, workspace_id=alpha)
    assert usage.status == "error" and (usage.prompt_tokens, usage.completion_tokens, usage.cost) == (0, 0, 0.0)


@pytest.mark.parametrize("stream", [False, True])
async def test_provider_down_is_a_502_naming_it(world: World, stream: bool) -> None:
    use_provider(world, FailingProvider())
    await add_agent(world.kernel, world.ids["alpha"], "flaky", model_settings={"provider": "flaky", "model": "m"})
    response = await world.client.post(
        "/api/chat",
        json={"agent": "flaky", "content": "hi", "stream": stream},
        headers=as_user("alice", world.ids["alpha"]),
    )
    body = problem(response, 502)
    assert body["provider"] == "flaky" and body["kind"] == "unavailable" and "503" in body["detail"]
    statuses = {r.role: r.status for r in await rows(world.kernel, cm.ChatMessage, workspace_id=world.ids["alpha"])}
    assert statuses == {"user": "complete", "assistant": "error"}


async def test_provider_failing_mid_stream_sends_an_error_event_and_keeps_the_partial(world: World) -> None:
    use_provider(world, FailingProvider(after=3))
    await add_agent(world.kernel, world.ids["alpha"], "flaky", model_settings={"provider": "flaky", "model": "m"})
    response = await world.client.post(
        "/api/chat", json={"agent": "flaky", "content": "hi"}, headers=as_user("alice", world.ids["alpha"])
    )
    assert response.status_code == 201
    events = sse(response.text)
    assert [name for name, _ in events] == ["start", "delta", "delta", "delta", "error"]
    error = events[-1][1]
    assert error["status"] == 502 and error["provider"] == "flaky" and error["kind"] == "timeout"
    (answer,) = await rows(world.kernel, cm.ChatMessage, id=events[0][1]["message_id"])
    assert (answer.content, answer.status, answer.error["kind"]) == (" w0 w1 w2", "error", "timeout")


async def test_disconnect_stops_generation_and_keeps_what_was_produced(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_http(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        kernel: Kernel = app.state["kernel"]
        world = await build_world(client, kernel)  # type: ignore[arg-type]
        alpha = world.ids["alpha"]
        response = await client.put(
            f"/api/workspaces/{alpha}/extensions/automatos.llm.offline",
            json={"enabled": True, "config": {"delay": 0.02}},
            headers=as_user("alice"),
        )
        assert response.status_code == 200, response.text
        words = " ".join(f"word{i}" for i in range(300))  # ~6 s at 20 ms per word
        received = b""
        async with client.stream(
            "POST", "/api/chat", json={"agent": "helper", "content": words}, headers=as_user("alice", alpha)
        ) as streaming:
            async for chunk in streaming.aiter_bytes():
                received += chunk
                if received.count(b"event: delta") >= 5:
                    break
        message_id = json.loads(received.split(b"\n\n")[0].split(b"data: ", 1)[1])["message_id"]
        answer = None
        for _ in range(200):
            (answer,) = await rows(kernel, cm.ChatMessage, id=message_id)
            if answer.status != "streaming":
                break
            await asyncio.sleep(0.05)
        assert answer is not None and answer.status == "cancelled"
        assert answer.content.startswith("[offline] word0") and len(answer.content) < len(words) / 2
        (usage,) = await rows(kernel, cm.LLMUsage, message_id=message_id)
        assert usage.status == "cancelled" and 5 <= usage.completion_tokens < 150


# --- tenancy ---------------------------------------------------------------------------------------


async def test_another_workspace_sees_and_touches_nothing(world: World) -> None:
    client, alpha, bravo = world.client, world.ids["alpha"], world.ids["bravo"]
    made = await client.post(
        "/api/chat",
        json={"agent": "b-secret-agent", "content": "b-secret words", "stream": False},
        headers=as_user("bob", bravo),
    )
    assert made.status_code == 201
    b_session, b_message = made.json()["session_id"], made.json()["message"]["id"]
    a = as_user("alice", alpha)
    for method, path, body in (
        ("GET", f"/api/chat/sessions/{b_session}", None),
        ("PATCH", f"/api/chat/sessions/{b_session}", {"title": "mine"}),
        ("DELETE", f"/api/chat/sessions/{b_session}", None),
        ("GET", f"/api/chat/sessions/{b_session}/messages", None),
        ("POST", f"/api/chat/sessions/{b_session}/messages", {"content": "hi", "stream": False}),
        ("POST", "/api/chat", {"agent": "b-secret-agent", "content": "hi"}),
        ("POST", "/api/chat", {"agent": "helper", "content": "hi", "session_id": b_session}),
        ("POST", "/api/chat/sessions", {"agent": world.ids["b-agent"]}),
    ):
        response = await client.request(method, path, json=body, headers=a)
        assert response.status_code == 404, (method, path, response.text)
        assert "b-secret words" not in response.text and b_message not in response.text  # (B's, not echoed input)
    for path in ("/api/chat/sessions", "/api/usage"):
        listed = await client.get(path, headers=a)
        assert listed.status_code == 200 and listed.json()["total"] == 0 and "b-secret" not in listed.text
    # and naming B in the header is refused outright
    assert (await client.get("/api/chat/sessions", headers=as_user("alice", bravo))).status_code == 403
    (kept,) = await rows(world.kernel, cm.ChatSession, id=b_session)
    assert kept.status == "active" and kept.title == "b-secret words"
    assert len(await rows(world.kernel, cm.ChatMessage, session_id=b_session)) == 2
    assert (await rows(world.kernel, cm.ChatMessage, id=b_message))[0].workspace_id == bravo


# --- prompts ---------------------------------------------------------------------------------------


async def test_prompt_registry_edit_reaches_the_next_chat(world: World) -> None:
    kernel, client, alpha = world.kernel, world.client, world.ids["alpha"]
    root = {"X-Test-User": "root;admin"}
    body = problem(await client.put("/api/prompts/agent.base", json={"body": "x"}, headers=as_user("alice")), 403)
    assert "platform admins" in body["detail"]
    seeded = (await client.get("/api/prompts/agent.base", headers=as_user("alice"))).json()
    made = await client.put("/api/prompts/agent.base", json={"body": "Base v1 for {agent_name}."}, headers=root)
    assert made.status_code == 200 and made.json()["version"] == seeded["version"] + 1
    service, workspace = container_of(world.client).chat(), await kernel.directory.workspace(alpha)
    assert workspace is not None
    chat = await service.create_session(alpha, "helper", "", actor_id="alice")

    async def system() -> str:
        turn = await service.start_turn(workspace, chat.id, "q", actor_id="alice", request_id=None)
        await turn.complete()
        return turn.messages[0].content

    assert await system() == "Base v1 for Helper."
    # a change behind the registry's back is not seen while the cached copy lives (60 s)...
    async with kernel.store.sessionmaker.begin() as session:
        (await session.get(cm.Prompt, "agent.base")).body = "changed by hand"  # type: ignore[union-attr]
    assert await system() == "Base v1 for Helper."
    # ...an edit through the registry is seen at once
    edited = await client.put("/api/prompts/agent.base", json={"body": "Base v2."}, headers=root)
    assert edited.json()["version"] == seeded["version"] + 2
    assert await system() == "Base v2."
    listed = (await client.get("/api/prompts", headers=as_user("alice"))).json()
    assert {"agent.base", "chat.title", "router.llm_classifier"} <= {p["slug"] for p in listed["items"]}
    new = await client.put("/api/prompts/team.greeting", json={"body": "Hello."}, headers=root)
    assert new.status_code == 200 and new.json()["version"] == 1
    assert problem(await client.put("/api/prompts/x.y", json={}, headers=root), 404)["field"] == "slug"
    assert problem(await client.get("/api/prompts/nope", headers=as_user("alice")), 404)["field"] == "slug"
    assert (await client.get("/api/prompts")).status_code == 401
    audit = await rows(kernel, m.AuditLogEntry, action="prompt.updated")
    versions = [a.data["version"] for a in sorted(audit, key=lambda a: a.created_at)]
    assert versions == [seeded["version"] + 1, seeded["version"] + 2, 1]
