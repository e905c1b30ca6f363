"""Tools through ``/v1/chat/completions`` with the official ``openai`` client: the agent's own tools
run here and the client gets the answer; the client's own tools (``tools``) are offered too and the
model's calls of them come back as ``tool_calls`` for the client to run and answer."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.tools.conftest import HEADERS, World
from tests.tools.fakes import FakePlugin

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def sdk(world: World, scopes: list[str] | None = None) -> openai.AsyncOpenAI:
    body: dict[str, Any] = {"name": "sdk"} | ({"role": "member", "scopes": scopes} if scopes else {})
    made = await world.client.post(
        "/api/api-keys", json=body, headers={**HEADERS, "X-Workspace-ID": world.ids["alpha"]}
    )
    assert made.status_code == 201, made.text
    return openai.AsyncOpenAI(
        base_url=str(world.client.base_url).rstrip("/") + "/v1",
        api_key=made.json()["key"],
        http_client=world.client,  # type: ignore[arg-type]  # an httpx.AsyncClient on the app
        max_retries=0,
    )


async def cards(world: World) -> FakePlugin:
    plugin = FakePlugin("cards", ["card"], assignments={world.ids["writer"]: 0})
    await world.plugins.set(world.ids["alpha"], plugin)
    return plugin


async def test_the_agents_own_tools_run_here_and_the_client_gets_the_answer(world: World) -> None:
    plugin = await cards(world)
    client = await sdk(world)
    ask = 'card please\n/tool cards__card {"url": "https://v1.test"}'
    done = await client.chat.completions.create(model="writer", messages=[{"role": "user", "content": ask}])
    message = done.choices[0].message
    assert done.choices[0].finish_reason == "stop" and message.tool_calls is None
    assert message.content is not None and message.content.startswith("[offline] tool results: cards__card → ")
    assert plugin.calls == [(world.ids["alpha"], "cards__card", {"url": "https://v1.test"})]
    stream: Any = await client.chat.completions.create(
        model="writer", messages=[{"role": "user", "content": ask}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == message.content and len(plugin.calls) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_the_clients_tools_come_back_as_tool_calls_and_their_results_are_read(world: World, stream: bool) -> None:
    client = await sdk(world)
    ask = 'Weather in Oslo?\n/tool weather {"city": "Oslo"}'
    messages: list[Any] = [{"role": "user", "content": ask}]
    if stream:
        chunks: Any = await client.chat.completions.create(
            model="writer", messages=messages, tools=[WEATHER], stream=True
        )
        calls: dict[int, dict[str, str]] = {}
        finish = None
        async for chunk in chunks:
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                for piece in choice.delta.tool_calls or []:
                    call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = piece.id or call["id"]
                    if piece.function is not None:
                        call["name"] += piece.function.name or ""
                        call["arguments"] += piece.function.arguments or ""
        assert finish == "tool_calls"
        got = [(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())]
    else:
        done = await client.chat.completions.create(model="writer", messages=messages, tools=[WEATHER])
        assert done.choices[0].finish_reason == "tool_calls" and done.choices[0].message.content is None
        got = [(c.id, c.function.name, c.function.arguments) for c in done.choices[0].message.tool_calls or []]  # type: ignore[union-attr]
    [(call_id, name, arguments)] = got
    assert name == "weather" and json.loads(arguments) == {"city": "Oslo"}
    # the client runs it and sends the result back: the model reads it and answers
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    answer = await client.chat.completions.create(model="writer", messages=messages, tools=[WEATHER])
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.content == "[offline] tool results: weather → sunny"


async def test_bad_tools_are_refused_by_name(world: World) -> None:
    await cards(world)
    client = await sdk(world)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name"),
        ({"tools": [WEATHER, WEATHER]}, "tools[1].function.name"),
        (
            {"tools": [{**WEATHER, "function": {**WEATHER["function"], "name": "cards__card"}}]},
            "tools[0].function.name",
        ),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"tool_choice": {"type": "function", "function": {"name": "weather"}}}, "tool_choice"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
    ]
    for extra, param in cases:
        with pytest.raises(openai.UnprocessableEntityError) as bad:
            await client.chat.completions.create(
                model="writer", messages=[{"role": "user", "content": "hi"}], extra_body=extra
            )
        assert bad.value.body["param"] == param, (extra, bad.value.body)  # type: ignore[index]


async def test_a_key_without_tools_use_runs_no_agent_tool(world: World) -> None:
    plugin = await cards(world)
    client = await sdk(world, scopes=["agents.use"])
    done = await client.chat.completions.create(
        model="writer", messages=[{"role": "user", "content": '/tool cards__card {"url": "x"}'}]
    )
    assert plugin.calls == [] and done.choices[0].message.content == '[offline] /tool cards__card {"url": "x"}'
