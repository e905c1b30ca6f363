"""OpenAI-compatible endpoints: existing OpenAI clients talk to Automatos agents unchanged.

- ``GET /v1/models``: the workspace's active agents, as models (``id`` is the agent's slug).
- ``POST /v1/chat/completions``: ``model`` is an agent's slug (or id); the agent's persona, skills
  and instructions come first as the system prompt, then the caller's ``messages``. Streaming
  answers are ``chat.completion.chunk`` events ending with ``data: [DONE]``; with
  ``stream_options.include_usage`` a last chunk carries the usage, as OpenAI's does.

Authentication is an Automatos API key (``Authorization: Bearer atk_…``, which is what the
``openai`` client sends as its ``api_key``); the key's workspace is the one used. Usage is recorded
per call like chat's; the conversation itself is the caller's and is not stored.

Honoured parameters: ``model``, ``messages`` (text content, or text parts), ``stream``,
``stream_options.include_usage``, ``temperature``, ``max_tokens`` / ``max_completion_tokens``.
``n`` must be 1. Others OpenAI defines (``top_p``, ``stop``, ``user``, ``seed``…) are accepted and
ignored, so clients that send them keep working. ``model: "auto"`` (routing) arrives with the router.

Errors are problem+json like everywhere else, with an extra ``error`` member in OpenAI's shape
(``message``, ``type``, ``param``, ``code``) so OpenAI clients show the reason.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import JSONBody
from litestar.response import Stream

from automatos.agents.chat import ChatService, Turn
from automatos.api.context import request_context, scoped
from automatos.api.controllers.chat import sse_headers
from automatos.api.problems import exception_handlers
from automatos.kernel.errors import AutomatosError, NotFoundError, ProviderError, ValidationError
from automatos.kernel.permissions import Permission
from automatos.kernel.types import ChatMessage

__all__ = ["OpenAIController"]


class TextPart(msgspec.Struct):
    type: str
    text: str | None = None


class InMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class CompletionRequest(msgspec.Struct):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    messages: Annotated[list[InMessage], msgspec.Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=1)] | None = None
    top_p: float | None = None
    user: str | None = None


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


def _text(message: InMessage, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    texts: list[str] = []
    for part in message.content:
        if part.type != "text" or part.text is None:
            raise ValidationError(
                f"only text content is supported, not {part.type!r} parts", field=f"messages[{index}].content"
            )
        texts.append(part.text)
    return "".join(texts)


_ROLES = {"developer": "system", "tool": "user"}
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "cancelled": "stop", "error": "stop"}


def _finish(reason: str) -> str:
    return _FINISH.get(reason, reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop")


def _openai_error(body: dict[str, Any]) -> dict[str, Any]:
    status = int(body.get("status", 500))
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}
    detail, field = str(body.get("detail", "")), body.get("field")
    return {
        "message": f"{field}: {detail}" if field and not detail.startswith(str(field)) else detail,
        "type": kind.get(status, "invalid_request_error" if status < 500 else "api_error"),
        "param": body.get("field"),
        "code": body.get("kind"),
    }


def _with_openai_error(exc_type: type[Exception]) -> Any:
    base = exception_handlers[exc_type]

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response: Response[Any] = base(request, exc)
        if isinstance(response.content, dict):
            response.content["error"] = _openai_error(response.content)
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


async def _stream(turn: Turn, model: str, include_usage: bool) -> Stream:
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    events = turn.stream()
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
                yield b"data: " + msgspec.json.encode({"error": _openai_error(error)}) + b"\n\n"
                return
        result = turn.result
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
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        agents = await ChatService.of(kernel).active_agents(scope.workspace.id)
        return ModelList(
            data=[
                ModelCard(id=a.slug, created=int(a.created_at.timestamp()), owned_by=scope.workspace.slug)
                for a in agents
            ]
        )

    @post("/chat/completions", summary="Chat with an agent through OpenAI's chat completions API")
    async def chat_completions(
        self, request: Request[Any, Any, Any], data: JSONBody[CompletionRequest]
    ) -> Response[Any] | Stream:
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        if data.model == "auto":
            raise NotFoundError("model 'auto' (routing to an agent) is not available yet", field="model")
        conversation = [
            ChatMessage(role=_ROLES.get(m.role, m.role), content=_text(m, i)) for i, m in enumerate(data.messages)
        ]
        overrides = {"temperature": data.temperature, "max_tokens": data.max_completion_tokens or data.max_tokens}
        turn = await ChatService.of(kernel).start_stateless(
            scope.workspace, data.model, conversation, overrides=overrides, request_id=ctx.request_id
        )
        if data.stream:
            include_usage = data.stream_options is not None and data.stream_options.include_usage
            return await _stream(turn, data.model, include_usage)
        result = await turn.complete()
        body = {
            "id": "chatcmpl-" + uuid.uuid4().hex,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": data.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": _finish(result.finish_reason),
                }
            ],
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.total_tokens,
            },
        }
        return Response(body, status_code=200)
