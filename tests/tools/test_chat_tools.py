"""``/api/chat`` with an agent that has tools: the offline model calls them (``/tool NAME {json}``),
the calls run through the agent's permissions, results go back to the model, and the session keeps
every call and result as a ``tool`` message; over SSE each call is a ``tool_call`` event and each
result a ``tool_result`` event. A caller without ``tools.use`` gets no tools offered."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from automatos.chat import models as cm
from automatos.chat.tool_loop import ToolStep
from automatos.kernel.db import models as m
from automatos.kernel.errors import ProviderError
from automatos.kernel.types import ToolCall
from tests.helpers import container_of, sse
from tests.tools.conftest import HEADERS, World
from tests.tools.fakes import FakePlugin


def in_alpha(world: World) -> dict[str, str]:
    return {**HEADERS, "X-Workspace-ID": world.ids["alpha"]}


async def cards(world: World) -> FakePlugin:
    plugin = FakePlugin("cards", ["card"], assignments={world.ids["writer"]: 0})
    other = FakePlugin("other", ["x"], assignments={"someone-else": 0})
    await world.plugins.set(world.ids["alpha"], plugin, other)
    return plugin


MESSAGE = 'A card for a.test please.\n/tool cards__card {"url": "https://a.test"}\n/tool other__x {}'


async def test_the_agent_calls_its_tool_and_answers_with_the_result(world: World) -> None:
    plugin = await cards(world)
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": MESSAGE, "stream": False}, headers=in_alpha(world)
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert plugin.calls == [(world.ids["alpha"], "cards__card", {"url": "https://a.test"})]
    answer = body["message"]["content"]
    assert answer.startswith('[offline] tool results: cards__card → {"ok":true,"result":{"tool":"cards__card"')
    assert "other__x → " in answer and '"kind":"refused"' in answer
    # two model calls, both counted
    assert len(world.recorder.seen) == 2 and body["usage"]["prompt_tokens"] > 0
    # the model was offered the agent's tool only, and saw the results after its calls
    second = world.recorder.seen[-1]
    assert [m.role for m in second[-3:]] == ["assistant", "tool", "tool"]
    messages = (
        await world.client.get(f"/api/chat/sessions/{body['session_id']}/messages", headers=in_alpha(world))
    ).json()["items"]
    assert [(x["role"], (x["tool_call"] or {}).get("name")) for x in messages] == [
        ("user", None),
        ("tool", "cards__card"),
        ("tool", "other__x"),
        ("assistant", None),
    ]
    card, refused = messages[1], messages[2]
    assert card["tool_call"]["ok"] is True and card["tool_call"]["arguments"] == '{"url": "https://a.test"}'
    assert json.loads(card["content"])["result"]["arguments"] == {"url": "https://a.test"}
    assert refused["tool_call"]["ok"] is False and refused["tool_call"]["error"] == "refused"
    async with world.kernel.store.sessionmaker() as session:
        actions = list(
            await session.scalars(select(m.AuditLogEntry.action).where(m.AuditLogEntry.action.like("tool.%")))
        )
    assert sorted(actions) == ["tool.invoke", "tool.refused"]
    # the next turn's history leaves the tool messages out (the answer says what they gave)
    again = await world.client.post(
        f"/api/chat/sessions/{body['session_id']}/messages",
        json={"content": "thanks", "stream": False},
        headers=in_alpha(world),
    )
    assert again.status_code == 201, again.text
    assert [x.role for x in world.recorder.seen[-1][1:]] == ["user", "assistant", "user"]


async def test_over_sse_each_call_and_result_is_an_event(world: World) -> None:
    await cards(world)
    sent = await world.client.post("/api/chat", json={"agent": "writer", "content": MESSAGE}, headers=in_alpha(world))
    assert sent.status_code == 201 and sent.headers["content-type"].startswith("text/event-stream"), sent.text
    events = sse(sent.text)
    names = [name for name, _ in events]
    assert names[:5] == ["start", "tool_call", "tool_result", "tool_call", "tool_result"] and names[-1] == "done"
    assert set(names[5:-1]) == {"delta"} and len(names[5:-1]) > 3  # the answer, token by token
    call, result = events[1][1], events[2][1]
    assert call["name"] == "cards__card" and call["arguments"] == '{"url": "https://a.test"}'
    assert result["id"] == call["id"] and result["ok"] is True and result["content"].startswith('{"ok":true')
    assert events[4][1]["error"] == "refused"
    answer = "".join(data["delta"] for name, data in events if name == "delta")
    assert answer.startswith("[offline] tool results: cards__card")
    stored = await _session_messages(world, events[0][1]["session_id"])
    assert stored[-1]["content"] == answer and stored[-1]["status"] == "complete"
    done = events[-1][1]
    assert done["status"] == "complete" and done["usage"]["completion_tokens"] > 0


async def test_a_caller_without_tools_use_gets_no_tools(world: World) -> None:
    plugin = await cards(world)
    made = await world.client.post(
        "/api/api-keys",
        json={"name": "chat-only", "role": "member", "scopes": ["agents.use"]},
        headers=in_alpha(world),
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['key']}"}
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": MESSAGE, "stream": False}, headers=headers
    )
    assert sent.status_code == 201, sent.text
    assert plugin.calls == [] and sent.json()["message"]["content"].startswith("[offline] A card for a.test")


async def test_the_turns_call_limit_is_a_platform_setting(world: World) -> None:
    plugin = await cards(world)
    await world.kernel.settings_registry.set_platform("chat.tool_max_calls", 1, actor_id=None)
    text = "\n".join(['/tool cards__card {"url": "u"}'] * 3)
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": text, "stream": False}, headers=in_alpha(world)
    )
    assert sent.status_code == 201, sent.text
    assert len(plugin.calls) == 1
    messages = (
        await world.client.get(f"/api/chat/sessions/{sent.json()['session_id']}/messages", headers=in_alpha(world))
    ).json()["items"]
    assert [(x["tool_call"] or {}).get("ran") for x in messages if x["role"] == "tool"] == [True, False, False]


class FailingSecond:
    """The offline provider, failing its second call (the one after the tools ran)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    async def complete(self, messages: Any, *, model: str, **options: Any) -> Any:
        self.calls += 1
        if self.calls == 2:
            raise ProviderError("offline", "unavailable", "the model went away")
        return await self.inner.complete(messages, model=model, **options)

    def stream(self, messages: Any, *, model: str, **options: Any) -> Any:
        return self.inner.stream(messages, model=model, **options)


async def _session_messages(world: World, session_id: str) -> list[dict[str, Any]]:
    listed = await world.client.get(f"/api/chat/sessions/{session_id}/messages", headers=in_alpha(world))
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_a_model_failing_after_the_tools_keeps_the_calls_and_the_error(world: World) -> None:
    plugin = await cards(world)
    world.recorder.inner = FailingSecond(world.recorder.inner)
    sent = await world.client.post(
        "/api/chat", json={"agent": "writer", "content": MESSAGE, "stream": False}, headers=in_alpha(world)
    )
    assert sent.status_code == 502, sent.text
    assert sent.headers["content-type"].startswith("application/problem+json")
    assert len(plugin.calls) == 1
    async with world.kernel.store.sessionmaker() as session:
        session_id = await session.scalar(select(cm.ChatSession.id))
        usage = list(await session.scalars(select(cm.LLMUsage)))
    assert session_id is not None
    messages = await _session_messages(world, session_id)
    assert [(x["role"], x["status"]) for x in messages] == [
        ("user", "complete"),
        ("tool", "complete"),
        ("tool", "complete"),
        ("assistant", "error"),
    ]
    assert messages[-1]["error"]["kind"] == "unavailable" and [u.status for u in usage] == ["error"]


async def test_a_client_leaving_during_the_tools_keeps_what_ran(world: World) -> None:
    plugin = await cards(world)
    service = container_of(world.client).chat()
    workspace = await world.kernel.directory.workspace(world.ids["alpha"])
    assert workspace is not None
    session = await service.create_session(workspace.id, world.ids["writer"], "", actor_id="alice")
    turn = await service.start_turn(workspace, session.id, MESSAGE, actor_id="alice", request_id="r-1", use_tools=True)
    events = turn.events()
    seen = []
    async for event in events:
        seen.append(event)
        if isinstance(event, ToolStep):
            break  # the client goes away after the first result
    await events.aclose()
    assert isinstance(seen[0], ToolCall) and len(plugin.calls) == 1
    messages = await _session_messages(world, session.id)
    assert [(x["role"], x["status"]) for x in messages] == [
        ("user", "complete"),
        ("tool", "complete"),
        ("assistant", "cancelled"),
    ]
    assert turn.result is not None and turn.result.status == "cancelled"
