"""OpenAI-compatible endpoints: existing OpenAI clients talk to Automatos agents unchanged.

- ``GET /v1/models``: the workspace's active agents, as models (``id`` is the agent's slug);
  ``GET /v1/models/{id}`` one of them (404 for an agent that is paused, archived, another
  workspace's, or not there).
- ``POST /v1/chat/completions``: ``model`` is an agent's slug (or id), or ``auto``: the router
  (docs/routing.md) chooses on the last user message, before the turn starts, and the answer
  carries ``X-Routing-Agent-ID``, ``X-Routing-Confidence``, ``X-Routing-Type`` and ``X-Routing-Tier``
  (and the chosen agent's slug as ``model``); no agent out of the router and no default agent → 422
  naming ``model``. The agent's persona, skills
  and instructions come first as the system prompt, then the caller's ``messages``. Streaming
  answers are ``chat.completion.chunk`` events ending with ``data: [DONE]``; with
  ``stream_options.include_usage`` a last chunk carries the usage, as OpenAI's does. Both answer
  200, as OpenAI does.
- ``POST /v1/embeddings``: vectors from the workspace's embedding providers; ``model`` names one
  (its model name, e.g. ``offline-hashed-bow-256``, its provider name, or ``provider/model``).

Authentication is an Automatos API key (``Authorization: Bearer atk_…``, which is what the
``openai`` client sends as its ``api_key``); the key's workspace is the one used. Usage is recorded
per call like chat's; the conversation itself is the caller's and is not stored.

What is honoured and refused, and the service behind these routes, are
:mod:`automatos.chat.openai_compat`'s; this module is the wire format.

Errors are problem+json like everywhere else, with an extra ``error`` member in OpenAI's shape
(``message``, ``type``, ``param``, ``code``; :mod:`automatos.api.openai_errors`) so OpenAI clients
show the reason.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from automatos.api.controllers.chat import sse_headers
from automatos.api.controllers.routing import routed_agent, routing_headers
from automatos.api.dependencies import request_context, scoped, services
from automatos.api.openai_errors import openai_error
from automatos.api.problems import exception_handlers
from automatos.chat.openai_compat import CompletionRequest, EmbeddingRequest
from automatos.chat.turn import Turn
from automatos.kernel.errors import AutomatosError, ProviderError
from automatos.kernel.http import holds
from automatos.kernel.permissions import Permission
from automatos.kernel.types import StreamEvent, ToolCall

__all__ = ["OpenAIController"]

log = logging.getLogger("automatos.api")


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "cancelled": "stop", "error": "stop"}


def _finish(reason: str) -> str:
    return _FINISH.get(reason, reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop")


def _with_openai_error(exc_type: type[Exception]) -> Any:
    base = exception_handlers[exc_type]

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response: Response[Any] = base(request, exc)
        if isinstance(response.content, dict):
            if isinstance(exc, ProviderError) and exc.kind == "not_enabled":
                response.content["field"] = "model"  # what a /v1 caller chose the agent (and provider) by
                # OpenAI's SDKs retry a 409 unless told not to: retrying cannot enable the provider
                response.headers["x-should-retry"] = "false"
            response.content["error"] = openai_error(response.content)
        return response

    return handler


def _chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


def _calls(calls: Sequence[ToolCall], *, indexed: bool = False) -> list[dict[str, Any]]:
    """Tool calls as OpenAI writes them (with ``index`` in a stream's delta)."""
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        | ({"index": i} if indexed else {})
        for i, c in enumerate(calls)
    ]


async def _texts(turn: Turn) -> AsyncGenerator[StreamEvent, None]:
    """The turn's text events: its stream, or — with tools — the tool loop's, the tools' own steps
    left out (the agent's calls run here; the client sees its answer and the calls of its own tools)."""
    if turn.tools is None:
        async with contextlib.aclosing(turn.stream()) as events:
            async for event in events:
                yield event
        return
    async with contextlib.aclosing(turn.events()) as items:
        async for item in items:
            if isinstance(item, StreamEvent):
                yield item


async def _stream(turn: Turn, model: str, include_usage: bool) -> Stream:
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    events = _texts(turn)
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = None
    head = _chunk(cid, created, model, {"role": "assistant", "content": ""}, None)
    prefix = b'data: {"id":"' + cid.encode() + b'","object":"chat.completion.chunk","created":' + str(created).encode()
    prefix += b',"model":' + msgspec.json.encode(model) + b',"choices":[{"index":0,"delta":{"content":'
    suffix = b'},"finish_reason":null}]}\n\n'

    def piece(delta: str) -> bytes:
        return prefix + msgspec.json.encode(delta) + suffix if delta else b""

    async def body() -> AsyncIterator[bytes]:
        async with contextlib.aclosing(events):
            yield head + (piece(first.delta) if first is not None else b"")
            try:
                async for event in events:
                    if event.delta:
                        yield piece(event.delta)
            except ProviderError as exc:
                error = {"status": exc.status_code, "detail": exc.detail, "kind": exc.kind}
                yield b"data: " + msgspec.json.encode({"error": openai_error(error)}) + b"\n\n"
                return
        result = turn.result
        if turn.tool_calls:
            yield _chunk(cid, created, model, {"tool_calls": _calls(turn.tool_calls, indexed=True)}, None)
        yield _chunk(cid, created, model, {}, _finish(result.finish_reason if result else "stop"))
        if include_usage and result is not None:
            usage = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                    "total_tokens": result.total_tokens,
                },
            }
            yield b"data: " + msgspec.json.encode(usage) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return Stream(body(), media_type="text/event-stream", headers=sse_headers())


class OpenAIController(Controller):
    path = "/v1"
    tags = ["openai-compatible"]
    exception_handlers = {
        AutomatosError: _with_openai_error(AutomatosError),
        ValidationException: _with_openai_error(ValidationException),
        HTTPException: _with_openai_error(HTTPException),
    }

    @get("/models", summary="The workspace's agents as OpenAI models")
    async def list_models(self, request: Request[Any, Any, Any]) -> ModelList:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        agents = await services(request).openai_compat().agents(scope.workspace.id)
        return ModelList(
            data=[
                ModelCard(id=a.slug, created=int(a.created_at.timestamp()), owned_by=scope.workspace.slug)
                for a in agents
            ]
        )

    @get("/models/{model:str}", summary="One of the workspace's active agents as an OpenAI model")
    async def get_model(self, request: Request[Any, Any, Any], model: FromPath[str]) -> ModelCard:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        agent = await services(request).openai_compat().agent(scope.workspace.id, model)
        return ModelCard(id=agent.slug, created=int(agent.created_at.timestamp()), owned_by=scope.workspace.slug)

    @post(
        "/chat/completions",
        summary="Chat with an agent through OpenAI's chat completions API",
        status_code=200,  # OpenAI answers 200, streamed or not (Litestar's POST default is 201)
    )
    async def chat_completions(
        self, request: Request[Any, Any, Any], data: JSONBody[CompletionRequest]
    ) -> Response[Any] | Stream:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        compat = services(request).openai_compat()
        model, headers = data.model, {}
        agent = None
        if data.model == "auto":  # the router chooses, before the turn reads anything
            text = compat.routing_text(data)
            routed = await routed_agent(
                request, scope.workspace, text, field="model", text_field="messages", source="openai"
            )
            agent, model, headers = routed.agent_id, routed.agent_slug or data.model, routing_headers(routed)
        turn = await compat.start_completion(
            scope.workspace,
            data,
            ctx.request_id,
            agent=agent,
            use_tools=holds(ctx, Permission.TOOLS_USE),
            actor_id=scope.principal.id,
        )
        if data.stream:
            include_usage = data.stream_options is not None and data.stream_options.include_usage
            stream = await _stream(turn, model, include_usage)
            stream.headers.update(headers)
            return stream
        result = await turn.complete()
        body = {
            "id": "chatcmpl-" + uuid.uuid4().hex,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": result.text or None,
                        "tool_calls": _calls(turn.tool_calls),
                    }
                    if turn.tool_calls
                    else {"role": "assistant", "content": result.text},
                    "finish_reason": _finish(result.finish_reason),
                }
            ],
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.total_tokens,
            },
        }
        return Response(body, status_code=200, headers=headers)

    @post("/embeddings", summary="Embed texts with one of the workspace's embedding providers", status_code=200)
    async def embeddings(self, request: Request[Any, Any, Any], data: JSONBody[EmbeddingRequest]) -> dict[str, Any]:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        return await services(request).openai_compat().embed(scope.workspace, data, ctx.request_id)
