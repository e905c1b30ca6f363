"""The tool loop (automatos/chat/tool_loop.py) driven by the offline provider's deterministic tool calls.

The offline provider calls tools from ``/tool NAME {json}`` lines of the last user message (rounds
split by ``/then``); ``execute`` here is a scripted fake that records what it was handed. Time is a
fake clock the fake tools advance: nothing depends on the machine's speed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from automatos.chat.tool_loop import LoopResult, ToolLimits, iterate_tool_loop, run_tool_loop, tool_message_content
from automatos.extensions.llm.offline import OfflineProvider
from automatos.kernel.types import ChatMessage, StreamEvent, ToolCall, ToolResult, ToolSpec

TOOLS = [
    ToolSpec(name="weather", description="the weather in a city", parameters={"type": "object"}),
    ToolSpec(name="echo", description="echoes", parameters={"type": "object"}),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tools_that(
    answers: dict[str, Callable[[dict[str, Any]], Any]], clock: Clock | None = None, cost: float = 0.0
) -> tuple[Callable[[ToolCall], Awaitable[ToolResult]], list[ToolCall]]:
    seen: list[ToolCall] = []

    async def execute(call: ToolCall) -> ToolResult:
        seen.append(call)
        if clock is not None:
            clock.now += cost
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            return ToolResult(ok=False, error={"kind": "arguments", "message": "the arguments are not JSON"})
        answer = answers.get(call.name)
        if answer is None:
            return ToolResult(ok=False, error={"kind": "not_found", "message": f"no tool {call.name}"})
        return ToolResult(ok=True, result=answer(arguments))

    return execute, seen


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="You are helpful."), ChatMessage(role="user", content=text)]


# --- the offline provider's syntax ---------------------------------------------------------------


async def test_offline_calls_tools_only_when_offered_and_answers_from_their_results() -> None:
    provider = OfflineProvider()
    text = 'What is the weather?\n/tool weather {"city": "Oslo"}\n/tool echo'
    plain = await provider.complete(user(text), model="offline-echo")
    assert plain.tool_calls == () and plain.text.startswith("[offline] What is the weather?")
    none = await provider.complete(user(text), model="offline-echo", tools=TOOLS, tool_choice="none")
    assert none.tool_calls == ()
    asked = await provider.complete(user(text), model="offline-echo", tools=TOOLS)
    assert asked.finish_reason == "tool_calls" and asked.text == ""
    assert [(c.name, c.arguments) for c in asked.tool_calls] == [("weather", '{"city": "Oslo"}'), ("echo", "{}")]
    again = await provider.complete(user(text), model="offline-echo", tools=TOOLS)
    assert again.tool_calls == asked.tool_calls  # deterministic ids
    assert len({c.id for c in asked.tool_calls}) == 2 and all(c.id.startswith("call_") for c in asked.tool_calls)
    history = [
        *user(text),
        ChatMessage(role="assistant", content="", tool_calls=asked.tool_calls),
        ChatMessage(
            role="tool", content='{"ok":true,"result":"sunny"}', tool_call_id=asked.tool_calls[0].id, name="weather"
        ),
        ChatMessage(role="tool", content='{"ok":true,"result":{}}', tool_call_id=asked.tool_calls[1].id, name="echo"),
    ]
    answer = await provider.complete(history, model="offline-echo", tools=TOOLS)
    assert answer.tool_calls == () and answer.finish_reason == "stop"
    assert (
        answer.text == '[offline] tool results: weather → {"ok":true,"result":"sunny"}; echo → {"ok":true,"result":{}}'
    )
    # the stream says the same: one last event with the calls, deltas of the answer after results
    events = [e async for e in provider.stream(user(text), model="offline-echo", tools=TOOLS)]
    assert len(events) == 1 and events[0].tool_calls == asked.tool_calls and events[0].finish_reason == "tool_calls"
    streamed = "".join([e.delta async for e in provider.stream(history, model="offline-echo", tools=TOOLS)])
    assert streamed == answer.text


async def test_rounds_unknown_tools_and_bad_json_are_passed_on_as_written() -> None:
    text = "/tool weather {not json\n/then\n/tool nowhere {}\n/tool echo []"
    clock = Clock()
    execute, seen = tools_that({"weather": lambda a: "sunny", "echo": lambda a: a}, clock)
    result = await run_tool_loop(
        OfflineProvider(), user(text), model="offline-echo", tools=TOOLS, execute=execute, clock=clock
    )
    assert [c.name for c in seen] == ["weather", "nowhere", "echo"]
    assert [c.arguments for c in seen] == ["{not json", "{}", "[]"]
    assert [(s.ok, s.error) for s in result.steps] == [(False, "arguments"), (False, "not_found"), (True, None)]
    assert result.model_calls == 3 and result.stopped is None
    # assistant(calls) tool, assistant(calls) tool tool — every call answered, in order
    assert [m.role for m in result.messages] == ["assistant", "tool", "assistant", "tool", "tool"]
    assert [m.tool_call_id for m in result.messages if m.role == "tool"] == [c.id for c in seen]
    assert result.completion.text.startswith("[offline] tool results: nowhere → ")
    assert result.completion.finish_reason == "stop" and result.completion.tool_calls == ()


async def test_usage_is_the_sum_of_every_model_call() -> None:
    provider = OfflineProvider()
    text = '/tool weather {"city": "Lima"}'
    execute, _ = tools_that({"weather": lambda a: f"warm in {a['city']}"})
    result = await run_tool_loop(provider, user(text), model="offline-echo", tools=TOOLS, execute=execute)
    first = await provider.complete(user(text), model="offline-echo", tools=TOOLS)
    second = await provider.complete([*user(text), *result.messages], model="offline-echo", tools=TOOLS)
    assert result.completion.prompt_tokens == first.prompt_tokens + second.prompt_tokens
    assert result.completion.completion_tokens == first.completion_tokens + second.completion_tokens
    assert result.completion.text == '[offline] tool results: weather → {"ok":true,"result":"warm in Lima"}'


async def test_the_call_limit_stops_the_tools_and_every_call_still_gets_an_answer() -> None:
    text = "\n".join(["/tool echo {}"] * 3 + ["/then"] + ["/tool echo {}"] * 3)
    execute, seen = tools_that({"echo": lambda a: "ok"})
    result = await run_tool_loop(
        OfflineProvider(),
        user(text),
        model="offline-echo",
        tools=TOOLS,
        execute=execute,
        limits=ToolLimits(max_calls=4),
    )
    assert len(seen) == 4 and result.stopped == "calls"
    assert [s.ran for s in result.steps] == [True, True, True, True, False, False]
    assert json.loads(result.steps[-1].content)["error"] == {
        "kind": "limit",
        "message": "not run: at most 4 tool calls per turn",
    }
    # the model was asked once more, without tools (tool_choice none), and answered text
    assert result.model_calls == 3 and result.completion.tool_calls == ()
    assert result.completion.text.startswith("[offline] tool results: echo → ")


async def test_the_time_limit_is_checked_before_each_call_on_the_injected_clock() -> None:
    text = "/tool echo {}\n/tool echo {}\n/tool echo {}"
    clock = Clock()
    execute, seen = tools_that({"echo": lambda a: "ok"}, clock, cost=4.0)
    result = await run_tool_loop(
        OfflineProvider(),
        user(text),
        model="offline-echo",
        tools=TOOLS,
        execute=execute,
        limits=ToolLimits(seconds=6.0),
        clock=clock,
    )
    assert len(seen) == 2 and result.stopped == "time"  # 0 s, 4 s: run; 8 s: past the 6 s
    assert [s.ms for s in result.steps if s.ran] == [4000.0, 4000.0]
    assert "6 s for tools are over" in result.steps[2].content and result.model_calls == 2


async def test_a_big_result_is_cut_and_says_so() -> None:
    execute, _ = tools_that({"echo": lambda a: "x" * 5000})
    result = await run_tool_loop(
        OfflineProvider(),
        user("/tool echo {}"),
        model="offline-echo",
        tools=TOOLS,
        execute=execute,
        limits=ToolLimits(result_chars=100),
    )
    step = result.steps[0]
    assert step.truncated and step.content.endswith("… [truncated: 5023 characters, 100 shown]")
    assert step.content.startswith('{"ok":true,"result":"xxx') and len(step.content) < 200
    content, cut = tool_message_content(ToolResult(ok=False, error={"kind": "runtime", "message": "boom"}), 100)
    assert not cut and json.loads(content) == {"ok": False, "error": {"kind": "runtime", "message": "boom"}}


@pytest.mark.parametrize("tools", [[], TOOLS])
async def test_without_calls_the_loop_is_one_model_call(tools: list[ToolSpec]) -> None:
    execute, seen = tools_that({})
    result = await run_tool_loop(
        OfflineProvider(), user("hello there"), model="offline-echo", tools=tools, execute=execute
    )
    assert result.model_calls == 1 and seen == [] and result.messages == [] and result.steps == []
    assert result.completion.text == "[offline] hello there"


async def test_streamed_the_answer_comes_token_by_token_and_the_calls_in_between() -> None:
    execute, seen = tools_that({"weather": lambda a: "sunny"})
    items = [
        item
        async for item in iterate_tool_loop(
            OfflineProvider(),
            user('/tool weather {"city": "Oslo"}'),
            model="offline-echo",
            tools=TOOLS,
            execute=execute,
            stream=True,
        )
    ]
    kinds = [type(item).__name__ for item in items]
    assert kinds[:2] == ["ToolCall", "ToolStep"] and kinds[-1] == "LoopResult"
    deltas = [item.delta for item in items if isinstance(item, StreamEvent)]
    result = items[-1]
    assert isinstance(result, LoopResult) and len(deltas) > 3 and "".join(deltas) == result.completion.text
    assert result.completion.text == '[offline] tool results: weather → {"ok":true,"result":"sunny"}'
    assert result.model_calls == 2 and len(seen) == 1 and result.completion.completion_tokens > 0
