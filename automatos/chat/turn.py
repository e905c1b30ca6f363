"""One call of an agent's provider, and the record of how it ended: :class:`Turn`.

:meth:`Turn.stream` (or :meth:`Turn.complete`) calls the provider. No write happens per token:
deltas are collected in memory and yielded. Whatever ends the turn, one transaction records it
(:class:`~automatos.chat.records.TurnEnd`): the assistant message's content, status, tokens and
finish reason, and one ``llm_usage`` row with the cost from the model catalogue.

- finished: ``complete``;
- the provider failed (or is not enabled here): ``error``, with the problem (provider, kind,
  detail) in ``error``;
- the consumer went away (client disconnect cancels the stream, or the iterator is closed):
  ``cancelled``, keeping what was produced. The write is shielded from the cancellation.

Tokens the provider did not report (a cancelled stream) are counted: completion tokens as the
deltas received, prompt tokens estimated at four characters per token; the usage row says
``cancelled`` so estimates are told apart from reported figures. A call that never reached the
provider (``ProviderError.sent`` is false) is recorded with zero tokens and cost 0. The record is
not held back by the workspace's share of database connections
(:func:`~automatos.kernel.db.pool.unmetered`): an admitted turn always gets written, retried while
SQLite answers "database is locked".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from automatos.chat import models as cm
from automatos.chat.records import TurnEnd, TurnResult
from automatos.chat.tool_loop import LoopResult, ToolStep, ToolUse, iterate_tool_loop, step_record
from automatos.kernel.db.base import utcnow
from automatos.kernel.db.pool import unmetered
from automatos.kernel.errors import ProviderError
from automatos.kernel.metrics import record_llm_usage
from automatos.kernel.types import ChatMessage, Completion, LLMProvider, StreamEvent, ToolCall, Workspace

if TYPE_CHECKING:
    from automatos.agents import models as am
    from automatos.chat.service import ChatService

__all__ = ["RECORD_ATTEMPTS", "RECORD_RETRY_PAUSE", "Turn"]

log = logging.getLogger("automatos.chat")
RECORD_ATTEMPTS = 5
"""Tries to write a turn's final record while SQLite answers "database is locked" (each try already
waits SQLite's busy timeout)."""
RECORD_RETRY_PAUSE = 0.05
"""Seconds before the second try; doubled for each next one, at most 1 s."""


def _estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages) // 4 + len(messages)


class Turn:
    """One call of an agent's provider, and the record of how it ended (see the module docstring)."""

    def __init__(
        self,
        service: ChatService,
        *,
        workspace: Workspace,
        agent: am.Agent,
        provider_name: str,
        provider: LLMProvider | None,
        model: str,
        options: dict[str, Any],
        messages: list[ChatMessage],
        request_id: str | None,
        session_id: str | None = None,
        user_message_id: str | None = None,
        message_id: str | None = None,
        tools: ToolUse | None = None,
    ) -> None:
        self.service = service
        self.workspace = workspace
        self.agent_id = agent.id
        self.agent_slug = agent.slug
        self.provider_name = provider_name
        self.provider = provider
        self.model = model
        self.options = options
        self.messages = messages
        self.request_id = request_id
        self.session_id = session_id
        self.user_message_id = user_message_id
        self.message_id = message_id
        self.tools = tools if tools is not None and tools.tools else None
        """The agent's tools for this turn (``None``: it has none, or the caller may not use them)."""
        self.steps: list[ToolStep] = []
        """The tool calls of the turn so far (stored with the turn's record)."""
        self.tool_calls: tuple[ToolCall, ...] = ()
        """Calls of the caller's own tools the answer asks for (``/v1`` clients' tools)."""
        self.result: TurnResult | None = None

    def _provider(self) -> LLMProvider:
        if self.provider is None:
            raise ProviderError(  # the workspace's configuration, not an upstream failure: a 409
                self.provider_name,
                "not_enabled",
                "this provider is not enabled or not configured in this workspace; "
                "a workspace admin must enable and configure the extension that provides it",
                sent=False,
            )
        return self.provider

    async def complete(self) -> TurnResult:
        """Call the provider (once, or as the tool loop needs); the result is recorded whatever
        happens. Raises ProviderError."""
        try:
            done = await self._completion()
        except ProviderError as exc:
            await self._finish("", None, None, "error", exc)
            raise
        except Exception as exc:
            error = self._contain(exc)
            await self._finish("", None, None, "error", error)
            raise error from exc
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._finish("", None, None, "cancelled", None)
            raise
        return await self._finish(
            done.text, done.prompt_tokens, done.completion_tokens, "complete", None, done.finish_reason, done.model
        )

    async def _completion(self) -> Completion:
        if self.tools is None:
            return await self._provider().complete(self.messages, model=self.model, **self.options)
        async with contextlib.aclosing(self._loop()) as items:
            async for item in items:
                if isinstance(item, LoopResult):
                    self.tool_calls = item.completion.tool_calls
                    return item.completion
        raise AssertionError("the tool loop ended without a result")  # pragma: no cover

    def _loop(self, *, stream: bool = False) -> AsyncGenerator[StreamEvent | ToolCall | ToolStep | LoopResult, None]:
        assert self.tools is not None
        tools = self.tools
        steps = self.steps

        async def run() -> AsyncGenerator[StreamEvent | ToolCall | ToolStep | LoopResult, None]:
            async for item in iterate_tool_loop(
                self._provider(),
                self.messages,
                model=self.model,
                tools=tools.tools,
                execute=tools.execute,
                options=self.options,
                limits=tools.limits,
                clock=tools.clock,
                external=tools.external,
                stream=stream,
            ):
                if isinstance(item, ToolStep):
                    steps.append(item)
                yield item

        return run()

    async def events(self) -> AsyncGenerator[StreamEvent | ToolCall | ToolStep, None]:
        """What ``/api/chat`` streams: the provider's events as they come or, when the agent has
        tools, the model's text deltas as they come, each :class:`ToolCall` before it runs and its
        :class:`ToolStep` after, then the last event with the usage (and the caller's own tool
        calls, on ``/v1``)."""
        if self.tools is None:
            async with contextlib.aclosing(self.stream()) as events:
                async for event in events:
                    yield event
            return
        text, finish, model = "", "stop", None
        usage: tuple[int | None, int | None] = (None, None)
        try:
            async with contextlib.aclosing(self._loop(stream=True)) as items:
                async for item in items:
                    if isinstance(item, StreamEvent):
                        text += item.delta  # what the client saw, kept if the turn is cut short
                        yield item
                    elif isinstance(item, LoopResult):
                        done = item.completion
                        self.tool_calls = done.tool_calls
                        text, usage, finish, model = (
                            done.text,
                            (done.prompt_tokens, done.completion_tokens),
                            done.finish_reason,
                            done.model,
                        )
                        yield StreamEvent(
                            finish_reason=finish,
                            prompt_tokens=usage[0],
                            completion_tokens=usage[1],
                            tool_calls=done.tool_calls,
                        )
                    else:
                        yield item
        except ProviderError as exc:
            await self._finish(text, *usage, "error", exc)
            raise
        except Exception as exc:
            error = self._contain(exc)
            await self._finish(text, *usage, "error", error)
            raise error from exc
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._finish(text, *usage, "cancelled", None)
            raise
        await self._finish(text, *usage, "complete", None, finish, model)

    async def stream(self) -> AsyncGenerator[StreamEvent, None]:
        """The provider's events, as they come; the turn is recorded when the iteration ends."""
        parts: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        finish = "stop"
        try:
            async with contextlib.aclosing(
                self._provider().stream(self.messages, model=self.model, **self.options)  # type: ignore[type-var]
            ) as upstream:
                async for event in upstream:
                    if event.delta:
                        parts.append(event.delta)
                    if event.finish_reason is not None:
                        finish = event.finish_reason
                    if event.prompt_tokens is not None:
                        prompt_tokens = event.prompt_tokens
                    if event.completion_tokens is not None:
                        completion_tokens = event.completion_tokens
                    yield event
        except ProviderError as exc:
            await self._finish("".join(parts), prompt_tokens, completion_tokens, "error", exc)
            raise
        except Exception as exc:
            error = self._contain(exc)
            await self._finish("".join(parts), prompt_tokens, completion_tokens, "error", error)
            raise error from exc
        except BaseException:  # the client went away (cancellation) or the consumer closed us
            with anyio.CancelScope(shield=True):
                await self._finish("".join(parts), prompt_tokens, completion_tokens or len(parts), "cancelled", None)
            raise
        await self._finish("".join(parts), prompt_tokens, completion_tokens, "complete", None, finish)

    def _contain(self, exc: Exception) -> ProviderError:
        """A provider that raised something else than ProviderError: an extension's bug, contained."""
        source = f"llm:{self.provider_name}"
        self.service.kernel.hooks.record_failure(source, "stream/complete", exc)
        return ProviderError(
            self.provider_name, "unavailable", f"the provider failed unexpectedly ({type(exc).__name__})"
        )

    async def _finish(
        self,
        text: str,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        status: str,
        error: ProviderError | None,
        finish_reason: str | None = None,
        model: str | None = None,
    ) -> TurnResult:
        used = model or self.model
        if error is not None and not error.sent:  # nothing reached the provider: nothing to pay for
            pt = ct = 0
            cost = 0.0
        else:
            pt = prompt_tokens if prompt_tokens is not None else _estimate_tokens(self.messages)
            ct = completion_tokens if completion_tokens is not None else 0
            if error is not None and completion_tokens is None:
                ct = len(text.split()) if text else 0
            with unmetered():
                input_price, output_price = await self.service.models.price(self.provider_name, used)
            cost = pt * input_price + ct * output_price
        finish = finish_reason or ("error" if status == "error" else "cancelled" if status == "cancelled" else "stop")
        self.result = TurnResult(
            text=text,
            provider=self.provider_name,
            model=used,
            prompt_tokens=pt,
            completion_tokens=ct,
            finish_reason=finish,
            cost=cost,
            status=status,
            message_id=self.message_id,
            session_id=self.session_id,
            user_message_id=self.user_message_id,
        )
        record_llm_usage(self.service.kernel, self.provider_name, used, pt, ct, cost)  # /metrics (kernel/metrics.py)
        problem = None
        if error is not None:
            problem = {"provider": error.provider, "kind": error.kind, "detail": error.detail}
        # the final record of a turn must not be lost: shielded (a disconnect mid-write would drop
        # it) and retried while SQLite answers "database is locked" (many writers at once)
        end = TurnEnd(
            text=text,
            status=status,
            problem=problem,
            model=used,
            prompt_tokens=pt,
            completion_tokens=ct,
            finish_reason=finish,
            cost=cost,
        )
        with anyio.CancelScope(shield=True):
            await self._record_with_retries(end)
        return self.result

    async def _record_with_retries(self, end: TurnEnd) -> None:
        """Write the turn's record; on SQLite's "database is locked" try again, at most
        :data:`RECORD_ATTEMPTS` times. The transaction is all or nothing, so a retry writes it once.
        What still fails is an ERROR naming the turn (the answer was delivered, or failed, already:
        raising would only lose the caller's answer too)."""
        turn = f"{self.message_id or '-'} (request {self.request_id or '-'}) of workspace {self.workspace.id}"
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                # finishing what was admitted does not queue behind the workspace's new work
                with unmetered():
                    await self._record(end)
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or attempt == RECORD_ATTEMPTS:
                    log.error(
                        "could not record chat turn %s after %d attempt(s); its usage row is lost: %s",
                        turn,
                        attempt,
                        exc.orig,
                        exc_info=True,
                    )
                    return
                log.warning("recording chat turn %s: database is locked; retrying (attempt %d)", turn, attempt)
                await asyncio.sleep(min(RECORD_RETRY_PAUSE * 2 ** (attempt - 1), 1.0))
            except Exception:
                log.exception("could not record chat turn %s; its usage row is lost", turn)
                return

    async def _record(self, end: TurnEnd) -> None:
        async with self.service.sessionmaker.begin() as session:
            answered: dict[str, Any] = {}
            if self.message_id is not None and self.session_id is not None and self.steps:
                # the calls and results between the user's message and the answer, in order: each a
                # ``tool`` message, then the answer moved after them (it was created when the turn began)
                base = utcnow()
                for i, step in enumerate(self.steps):
                    session.add(
                        cm.ChatMessage(
                            workspace_id=self.workspace.id,
                            session_id=self.session_id,
                            role="tool",
                            content=step.content,
                            status="complete",
                            tool_call=step_record(step),
                            created_at=base + timedelta(microseconds=i),
                        )
                    )
                answered["created_at"] = base + timedelta(microseconds=len(self.steps))
            if self.message_id is not None:
                await session.execute(
                    update(cm.ChatMessage)
                    .where(cm.ChatMessage.workspace_id == self.workspace.id, cm.ChatMessage.id == self.message_id)
                    .values(
                        **answered,
                        content=end.text,
                        status=end.status,
                        error=end.problem,
                        model=end.model,
                        prompt_tokens=end.prompt_tokens,
                        completion_tokens=end.completion_tokens,
                        finish_reason=end.finish_reason,
                    )
                )
            session.add(
                cm.LLMUsage(
                    workspace_id=self.workspace.id,
                    agent_id=self.agent_id,
                    session_id=self.session_id,
                    message_id=self.message_id,
                    provider=self.provider_name,
                    model=end.model,
                    prompt_tokens=end.prompt_tokens,
                    completion_tokens=end.completion_tokens,
                    total_tokens=end.prompt_tokens + end.completion_tokens,
                    cost=end.cost,
                    status=end.status,
                    request_id=self.request_id,
                )
            )
