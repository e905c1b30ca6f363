"""Chat with agents: ``/api/chat`` (sessions, messages, sending) and ``/api/usage``.

Sending a message (``POST /api/chat/sessions/{id}/messages``, or ``POST /api/chat`` which also opens
a session when none is named) answers, by default, as Server-Sent Events::

    event: start   data: {"session_id", "user_message_id", "message_id", "agent_id", "provider", "model"}
    event: delta   data: {"delta": "…"}            (one per token, as the provider produces them)
    event: tool_call    data: {"id", "name", "arguments"}             (before the tool runs)
    event: tool_result  data: {"id", "name", "arguments", "ok", "error", "truncated", "ran", "ms", "content"}
    event: done    data: {"message_id", "finish_reason", "status", "usage": {…, "cost"}}
    event: error   data: problem+json of a provider failure after the first token

An agent with tools (its assigned plugins' tools; the caller must hold ``tools.use``, else none are
offered) has them offered to its model and its calls run by :mod:`automatos.chat.tool_loop`, within
the turn's limits (platform settings ``chat.tool_max_calls``, ``chat.tool_seconds``,
``chat.tool_result_chars``); each call and result is a ``tool`` message of the session (its
``tool_call`` says which call), the answer comes after them — streamed token by token — and the
usage counts every model call of the turn.

With ``"stream": false`` the answer is one JSON document. A provider that fails before its first
token gets a 502 problem+json naming it, in both modes (one the workspace has not enabled or
configured: a 409 naming ``model_settings.provider``); the assistant message is kept with
``status: "error"``. A client that disconnects stops the generation
and the message keeps what was produced (``status: "cancelled"``). See :mod:`automatos.chat.service`
and :mod:`automatos.chat.turn`.

``POST /api/chat`` without ``agent`` and without ``session_id`` asks the router
(:mod:`automatos.api.controllers.routing`, docs/routing.md) which agent answers, before the chat's
transaction opens; the answer carries ``X-Routing-Agent-ID``, ``X-Routing-Confidence``,
``X-Routing-Type`` and ``X-Routing-Tier``. No agent out of the router (and no default agent): 422
naming ``agent``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from automatos.api.controllers.routing import routed_agent, routing_headers
from automatos.api.dependencies import Scoped, request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.api.problems import TYPE_BASE
from automatos.chat.records import MessageRecord, SessionRecord, UsageRecord, UsageTotals
from automatos.chat.service import ChatService
from automatos.chat.tool_loop import ToolStep, step_record
from automatos.chat.turn import Turn
from automatos.kernel.errors import ProviderError
from automatos.kernel.http import holds
from automatos.kernel.permissions import Permission
from automatos.kernel.types import StreamEvent, ToolCall

__all__ = ["ChatController", "UsageController", "sse_headers"]

Content = Annotated[str, msgspec.Meta(min_length=1, max_length=1_000_000, description="The message text.")]
Title = Annotated[str, msgspec.Meta(max_length=300)]
AgentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="The agent's id or slug.")]


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    agent: AgentRef
    title: Title = ""


class SessionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title


class MessageSend(msgspec.Struct, forbid_unknown_fields=True):
    content: Content
    stream: bool = True
    """Answer as Server-Sent Events (default) or as one JSON document."""


class ChatSend(msgspec.Struct, forbid_unknown_fields=True):
    content: Content
    agent: AgentRef | None = None
    """The agent (id or slug); without it (and without ``session_id``) the router chooses."""
    session_id: str | None = None
    """Continue this session; a new one is opened when it is not given."""
    stream: bool = True


class Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float


class ChatAnswer(msgspec.Struct):
    session_id: str
    user_message_id: str
    message: MessageRecord
    usage: Usage


class UsagePage(msgspec.Struct):
    items: list[UsageRecord]
    total: int
    offset: int
    limit: int
    totals: UsageTotals


def sse_headers() -> dict[str, str]:
    return {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _event(name: bytes, data: Any) -> bytes:
    return b"event: " + name + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


_DELTA_HEAD = b'event: delta\ndata: {"delta":'
_DELTA_TAIL = b"}\n\n"


def _delta(event: StreamEvent) -> bytes:
    return _DELTA_HEAD + msgspec.json.encode(event.delta) + _DELTA_TAIL if event.delta else b""


def provider_problem(exc: ProviderError) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + exc.type_slug,
        "title": exc.title,
        "status": exc.status_code,
        "detail": exc.detail,
        "provider": exc.provider,
        "kind": exc.kind,
    }


def _item(item: StreamEvent | ToolCall | ToolStep) -> bytes:
    if isinstance(item, StreamEvent):
        return _delta(item)
    if isinstance(item, ToolCall):
        return _event(b"tool_call", {"id": item.id, "name": item.name, "arguments": item.arguments})
    return _event(b"tool_result", {**step_record(item), "content": item.content})


async def _sse(turn: Turn) -> Stream:
    """Start the provider (its failure before the first token is the caller's 502), then stream."""
    events = turn.events()
    try:
        first: StreamEvent | ToolCall | ToolStep | None = await anext(events)
    except StopAsyncIteration:
        first = None
    start = _event(
        b"start",
        {
            "session_id": turn.session_id,
            "user_message_id": turn.user_message_id,
            "message_id": turn.message_id,
            "agent_id": turn.agent_id,
            "provider": turn.provider_name,
            "model": turn.model,
        },
    )

    async def body() -> AsyncIterator[bytes]:
        async with contextlib.aclosing(events):
            yield start + (_item(first) if first is not None else b"")
            try:
                async for event in events:
                    chunk = _item(event)
                    if chunk:
                        yield chunk
            except ProviderError as exc:
                yield _event(b"error", {**provider_problem(exc), "message_id": turn.message_id})
                return
        result = turn.result
        if result is not None:
            yield _event(
                b"done",
                {
                    "message_id": result.message_id,
                    "session_id": result.session_id,
                    "finish_reason": result.finish_reason,
                    "status": result.status,
                    "model": result.model,
                    "usage": {
                        "prompt_tokens": result.prompt_tokens,
                        "completion_tokens": result.completion_tokens,
                        "total_tokens": result.total_tokens,
                        "cost": result.cost,
                    },
                },
            )

    return Stream(body(), media_type="text/event-stream", headers=sse_headers())


async def _answer(service: ChatService, scope: Scoped, turn: Turn, stream: bool) -> Response[Any] | Stream:
    if stream:
        return await _sse(turn)
    result = await turn.complete()
    assert result.message_id is not None and result.session_id is not None and result.user_message_id is not None
    message = await service.get_message(scope.workspace.id, result.message_id)
    answer = ChatAnswer(
        session_id=result.session_id,
        user_message_id=result.user_message_id,
        message=message,
        usage=Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            total_tokens=result.total_tokens,
            cost=result.cost,
        ),
    )
    return Response(answer, status_code=201)


class ChatController(Controller):
    path = "/api/chat"
    tags = ["chat"]

    @post("/", summary="Send a message to an agent (opens a session unless one is named); SSE by default")
    async def chat(self, request: Request[Any, Any, Any], data: JSONBody[ChatSend]) -> Response[Any] | Stream:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        service = services(request).chat()
        session_id, agent, routed = data.session_id, None, None
        if session_id is None:
            chosen = data.agent
            if chosen is None:  # the router chooses, before the chat's transaction opens
                routed = await routed_agent(
                    request, scope.workspace, data.content, field="agent", text_field="content", source="chat"
                )
                chosen = routed.agent_id
            assert chosen is not None
            session_id = (await service.create_session(scope.workspace.id, chosen, "", actor_id=scope.principal.id)).id
        else:
            agent = data.agent  # the named session must be with this agent (checked in the same transaction)
        turn = await service.start_turn(
            scope.workspace,
            session_id,
            data.content,
            actor_id=scope.principal.id,
            request_id=ctx.request_id,
            agent_ref=agent,
            use_tools=holds(ctx, Permission.TOOLS_USE),
        )
        response = await _answer(service, scope, turn, data.stream)
        if routed is not None:
            response.headers.update(routing_headers(routed))
        return response

    @post("/sessions", summary="Open a chat session with an agent")
    async def create_session(self, request: Request[Any, Any, Any], data: JSONBody[SessionCreate]) -> SessionRecord:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        return (
            await services(request)
            .chat()
            .create_session(scope.workspace.id, data.agent, data.title, actor_id=scope.principal.id)
        )

    @get("/sessions", summary="The workspace's chat sessions, most recent first")
    async def list_sessions(
        self,
        request: Request[Any, Any, Any],
        agent: Annotated[str | None, QueryParameter(description="Only sessions with this agent (id or slug).")] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[SessionRecord]:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        items, total = (
            await services(request)
            .chat()
            .list_sessions(scope.workspace.id, agent_ref=agent, offset=offset, limit=limit)
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/sessions/{session_id:str}", summary="One chat session")
    async def get_session(self, request: Request[Any, Any, Any], session_id: FromPath[str]) -> SessionRecord:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        return await services(request).chat().get_session(scope.workspace.id, session_id)

    @patch("/sessions/{session_id:str}", summary="Rename a chat session")
    async def update_session(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], data: JSONBody[SessionUpdate]
    ) -> SessionRecord:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        return await services(request).chat().update_session(scope.workspace.id, session_id, title=data.title)

    @delete("/sessions/{session_id:str}", summary="Archive a chat session", status_code=204)
    async def archive_session(self, request: Request[Any, Any, Any], session_id: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        await services(request).chat().archive_session(scope.workspace.id, session_id)

    @get("/sessions/{session_id:str}/messages", summary="A session's messages, oldest first")
    async def list_messages(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], offset: Offset = 0, limit: Limit = 100
    ) -> Page[MessageRecord]:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        items, total = (
            await services(request).chat().list_messages(scope.workspace.id, session_id, offset=offset, limit=limit)
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @post("/sessions/{session_id:str}/messages", summary="Send a message in a session; SSE by default")
    async def send_message(
        self, request: Request[Any, Any, Any], session_id: FromPath[str], data: JSONBody[MessageSend]
    ) -> Response[Any] | Stream:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        service = services(request).chat()
        turn = await service.start_turn(
            scope.workspace,
            session_id,
            data.content,
            actor_id=scope.principal.id,
            request_id=ctx.request_id,
            use_tools=holds(ctx, Permission.TOOLS_USE),
        )
        return await _answer(service, scope, turn, data.stream)


class UsageController(Controller):
    path = "/api/usage"
    tags = ["usage"]

    @get("/", summary="LLM calls of the workspace with tokens and cost, newest first, and their totals")
    async def list_usage(
        self,
        request: Request[Any, Any, Any],
        agent_id: Annotated[str | None, QueryParameter(description="Only this agent's calls.")] = None,
        provider: Annotated[str | None, QueryParameter(description="Only this provider's calls.")] = None,
        since: Annotated[datetime | None, QueryParameter(description="Only calls at or after (ISO 8601).")] = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> UsagePage:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.USAGE_READ)
        items, total, totals = (
            await services(request)
            .chat()
            .list_usage(
                scope.workspace.id, agent_id=agent_id, provider=provider, since=since, offset=offset, limit=limit
            )
        )
        return UsagePage(items=items, total=total, offset=offset, limit=limit, totals=totals)
