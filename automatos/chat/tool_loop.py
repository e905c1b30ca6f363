"""The tool loop: an agent's model calls tools until it answers, within a turn's limits (issue 14).

:func:`run_tool_loop` offers the model its tools (``tools`` among the provider's options), runs each
:class:`~automatos.kernel.types.ToolCall` it asks for through ``execute``, feeds every result back as
a ``tool`` message, and calls the model again — until it answers text, or a limit of the turn is
reached (:class:`ToolLimits`). The loop knows nothing of where tools come from or who may use them:
``execute`` does (the chat service hands in one that re-checks the agent's permissions at
execution and audits, :meth:`automatos.tools.service.ToolService.run_for_agent`).

Decisions:
- **Every call the model makes counts** against ``max_calls`` — one that fails its schema, names a
  tool that does not exist or is refused included, as the issue asks: a model that keeps getting
  its arguments wrong is stopped like one that keeps calling. The calls past the limit are not run;
  each gets a tool error saying so (a model needs an answer to every call it made).
- **Time**: ``seconds`` from the loop's start, read from the injected ``clock`` (tests pass a fake
  one; nothing here mixes it with the event loop's time). It is checked before each call: a call
  already running is not cut here (its source bounds it: the registry's execute timeout, the
  sandbox's limits); the calls after it are refused.
- **Once a limit is hit** the model is called one last time with ``tool_choice: none`` and the
  tools still listed (so it can read its own earlier calls), and what it says is the answer, even if
  it asks for tools again (those calls are dropped, the finish reason is ``stop``).
- **What the model sees of a result** is JSON text: ``{"ok": true, "result": …}`` or
  ``{"ok": false, "error": {"kind", "message", …}}``; past ``result_chars`` characters it is cut
  and a note says so — ``… [truncated: N characters, M shown]`` — and the step says
  ``truncated``.
- **Usage** is the sum over every model call of the loop; ``model_calls`` says how many there were.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any

import msgspec

from automatos.kernel.types import ChatMessage, Completion, LLMProvider, StreamEvent, ToolCall, ToolResult, ToolSpec

__all__ = [
    "LoopResult",
    "ToolLimits",
    "ToolStep",
    "ToolUse",
    "iterate_tool_loop",
    "run_tool_loop",
    "step_record",
    "tool_message_content",
]

Execute = Callable[[ToolCall], Awaitable[ToolResult]]
_encode = msgspec.json.Encoder().encode


class ToolLimits(msgspec.Struct, frozen=True, kw_only=True):
    """A turn's bounds on tool use."""

    max_calls: int = 8
    """Tool calls per turn (each call the model makes, whatever its outcome)."""
    seconds: float = 60.0
    """From the loop's start; no call starts after it."""
    result_chars: int = 16_000
    """Characters of one result the model is shown at most."""


class ToolStep(msgspec.Struct, frozen=True, kw_only=True):
    """One tool call of the turn and what came of it."""

    call: ToolCall
    ok: bool
    content: str
    """What the model was shown (JSON text, cut to ``result_chars``)."""
    error: str | None = None
    """The error's ``kind`` when not ``ok`` (``arguments``, ``refused``, ``not_found``, ``limit``…)."""
    truncated: bool = False
    ran: bool = True
    """False for a call refused by the turn's limits (never handed to ``execute``)."""
    ms: float = 0.0


class ToolUse(msgspec.Struct, kw_only=True):
    """What a turn needs to let its agent call tools: the tools offered, how a call runs, the limits."""

    tools: list[ToolSpec]
    execute: Execute
    limits: ToolLimits = ToolLimits()
    clock: Callable[[], float] = time.monotonic
    external: frozenset[str] = frozenset()
    """Tools the caller runs itself (``/v1`` clients' own): see :func:`iterate_tool_loop`."""


def step_record(step: ToolStep, argument_chars: int = 16_000) -> dict[str, Any]:
    """A step as a ``tool`` message's ``tool_call`` (stored with the session) and an SSE ``tool_result``."""
    return {
        "id": step.call.id,
        "name": step.call.name,
        "arguments": step.call.arguments[:argument_chars],
        "ok": step.ok,
        "error": step.error,
        "truncated": step.truncated,
        "ran": step.ran,
        "ms": step.ms,
    }


class LoopResult(msgspec.Struct, kw_only=True):
    completion: Completion
    """The model's last answer (text), its usage the loop's total."""
    messages: list[ChatMessage]
    """What the loop added to the conversation, in order: each assistant message with its tool
    calls, then one ``tool`` message per call."""
    steps: list[ToolStep]
    model_calls: int
    stopped: str | None = None
    """``calls`` or ``time`` when a limit ended the tool use; ``None`` when the model answered."""


def tool_message_content(result: ToolResult, limit: int) -> tuple[str, bool]:
    """A result as the model sees it (see the module docstring) and whether it was cut."""
    body: dict[str, Any] = {"ok": True, "result": result.result} if result.ok else {"ok": False, "error": result.error}
    try:
        text = _encode(body).decode()
    except (TypeError, msgspec.EncodeError):
        text = _encode({"ok": result.ok, "result": repr(result.result)[:limit]}).decode()
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}… [truncated: {len(text)} characters, {limit} shown]", True


def _refused(call: ToolCall, kind: str, message: str) -> ToolStep:
    content, _ = tool_message_content(ToolResult(ok=False, error={"kind": kind, "message": message}), 10_000)
    return ToolStep(call=call, ok=False, content=content, error=kind, ran=False)


async def run_tool_loop(provider: LLMProvider, messages: Sequence[ChatMessage], **arguments: Any) -> LoopResult:
    """Call the model with its tools until it answers (see the module docstring): the last item of
    :func:`iterate_tool_loop`, given the same keyword arguments."""
    async for item in iterate_tool_loop(provider, messages, **arguments):
        if isinstance(item, LoopResult):
            return item
    raise AssertionError("the tool loop ended without a result")  # pragma: no cover - the generator always ends so


async def iterate_tool_loop(
    provider: LLMProvider,
    messages: Sequence[ChatMessage],
    *,
    model: str,
    tools: Sequence[ToolSpec],
    execute: Execute,
    options: dict[str, Any] | None = None,
    limits: ToolLimits | None = None,
    clock: Callable[[], float] = time.monotonic,
    external: Collection[str] = (),
    stream: bool = False,
) -> AsyncIterator[StreamEvent | ToolCall | ToolStep | LoopResult]:
    """:func:`run_tool_loop` step by step, for a stream: each :class:`ToolCall` before it runs, its
    :class:`ToolStep` after, and the :class:`LoopResult` last.

    ``stream``: every model call is the provider's ``stream``, and its text deltas are yielded as
    they come (:class:`StreamEvent`), so the answer reaches the client token by token; the
    provider's last event gives the round's tool calls and usage. Text a model writes before its
    tool calls is streamed too; the result's completion holds the last round's text.

    ``external``: names of tools the caller runs itself. A round in which the model calls any of
    them ends the loop: the result's completion carries those calls (``finish_reason``
    ``tool_calls``) for the caller to run and send back; the round's other calls are not run (the
    model asks again once it has the caller's results)."""
    limits = limits or ToolLimits()
    history = list(messages)
    added: list[ChatMessage] = []
    steps: list[ToolStep] = []
    prompt_tokens = completion_tokens = model_calls = 0
    stopped: str | None = None
    deadline = clock() + limits.seconds
    base = dict(options or {})
    while True:
        asked = dict(base, tools=list(tools)) if tools else dict(base)
        if stopped is not None:
            asked["tool_choice"] = "none"
        if stream:
            parts: list[str] = []
            last: StreamEvent | None = None
            async with contextlib.aclosing(provider.stream(history, model=model, **asked)) as events:  # type: ignore[type-var]
                async for event in events:
                    if event.delta:
                        parts.append(event.delta)
                        yield StreamEvent(delta=event.delta)
                    if event.finish_reason is not None or event.tool_calls:
                        last = event
            completion = Completion(
                text="".join(parts),
                model=model,
                prompt_tokens=(last.prompt_tokens if last is not None else None) or 0,
                completion_tokens=(last.completion_tokens if last is not None else None) or len(parts),
                finish_reason=(last.finish_reason if last is not None else None) or "stop",
                tool_calls=last.tool_calls if last is not None else (),
            )
        else:
            completion = await provider.complete(history, model=model, **asked)
        model_calls += 1
        prompt_tokens += completion.prompt_tokens
        completion_tokens += completion.completion_tokens
        theirs = tuple(c for c in completion.tool_calls if c.name in external) if stopped is None else ()
        if theirs:
            final = msgspec.structs.replace(
                completion,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                tool_calls=theirs,
                finish_reason="tool_calls",
            )
            yield LoopResult(completion=final, messages=added, steps=steps, model_calls=model_calls, stopped=None)
            return
        if not completion.tool_calls or stopped is not None or not tools:
            final = msgspec.structs.replace(
                completion,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                tool_calls=(),
                finish_reason="stop" if completion.tool_calls else completion.finish_reason,
            )
            yield LoopResult(completion=final, messages=added, steps=steps, model_calls=model_calls, stopped=stopped)
            return
        assistant = ChatMessage(role="assistant", content=completion.text, tool_calls=completion.tool_calls)
        history.append(assistant)
        added.append(assistant)
        for call in completion.tool_calls:
            made = sum(1 for s in steps if s.ran)
            if made >= limits.max_calls:
                stopped = stopped or "calls"
                step = _refused(call, "limit", f"not run: at most {limits.max_calls} tool calls per turn")
            elif clock() >= deadline:
                stopped = stopped or "time"
                step = _refused(call, "limit", f"not run: the turn's {limits.seconds:g} s for tools are over")
            else:
                yield call
                started = clock()
                result = await execute(call)
                content, cut = tool_message_content(result, limits.result_chars)
                error = result.error.get("kind") if result.error else None
                step = ToolStep(
                    call=call,
                    ok=result.ok,
                    content=content,
                    error=str(error) if error is not None else (None if result.ok else "error"),
                    truncated=cut,
                    ms=round((clock() - started) * 1000, 3),
                )
            steps.append(step)
            yield step
            reply = ChatMessage(role="tool", content=step.content, tool_call_id=call.id, name=call.name)
            history.append(reply)
            added.append(reply)
        if stopped is None and clock() >= deadline:
            stopped = "time"
