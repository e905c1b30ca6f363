"""OpenAI-compatible endpoints: existing OpenAI clients talk to Automatos agents unchanged.

- ``GET /v1/models``: the workspace's active agents, as models (``id`` is the agent's slug);
  ``GET /v1/models/{id}`` one of them (404 for an agent that is paused, archived, another
  workspace's, or not there).
- ``POST /v1/chat/completions``: ``model`` is an agent's slug (or id); the agent's persona, skills
  and instructions come first as the system prompt, then the caller's ``messages``. Streaming
  answers are ``chat.completion.chunk`` events ending with ``data: [DONE]``; with
  ``stream_options.include_usage`` a last chunk carries the usage, as OpenAI's does. Both answer
  200, as OpenAI does.
- ``POST /v1/embeddings``: vectors from the workspace's embedding providers; ``model`` names one
  (its model name, e.g. ``offline-hashed-bow-256``, its provider name, or ``provider/model``).

Authentication is an Automatos API key (``Authorization: Bearer atk_…``, which is what the
``openai`` client sends as its ``api_key``); the key's workspace is the one used. Usage is recorded
per call like chat's; the conversation itself is the caller's and is not stored.

Honest about what it does: only what is honoured is accepted. Chat completions honour ``model``,
``messages`` (roles ``system``, ``developer``, ``user``, ``assistant``; text content or text
parts), ``stream``, ``stream_options.include_usage``, ``temperature``, ``max_tokens`` /
``max_completion_tokens``, and ``user`` (accepted; it changes nothing). A parameter that would
change the answer but is not honoured (``tools``, ``tool_choice``, ``functions``,
``response_format``, ``stop``, ``logprobs``, ``seed``, penalties, ``n`` other than 1, ``top_p``
other than 1, ``audio``, ``modalities``, ``prediction``, …) is refused with a 422 naming it,
unless it carries its default value; so is any field OpenAI does not define, and ``tool`` /
``function`` messages (no tools exist yet to have produced them). ``model: "auto"`` (routing)
arrives with the router.

Errors are problem+json like everywhere else, with an extra ``error`` member in OpenAI's shape
(``message``, ``type``, ``param``, ``code``; :mod:`automatos.api.openai_errors`) so OpenAI clients
show the reason.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from automatos.agents import models as am
from automatos.agents.records import find_agent
from automatos.agents.runtime import agents_of
from automatos.api.controllers.chat import sse_headers
from automatos.api.dependencies import request_context, scoped
from automatos.api.openai_errors import openai_error
from automatos.api.problems import exception_handlers
from automatos.chat.service import ChatService, Turn
from automatos.kernel.errors import AutomatosError, NotFoundError, ProviderError, ValidationError
from automatos.kernel.permissions import Permission
from automatos.kernel.types import ChatMessage, EmbeddingProvider, Workspace

__all__ = ["EMBEDDING_MAX_CHARS", "EMBEDDING_MAX_INPUTS", "EMBEDDING_MAX_TOTAL_CHARS", "OpenAIController"]

log = logging.getLogger("automatos.api")

EMBEDDING_MAX_INPUTS = 2048
"""Most texts one ``/v1/embeddings`` call may carry (OpenAI's own bound)."""
EMBEDDING_MAX_CHARS = 32_000
"""Longest text, in characters (about 8,000 tokens: the input limit of OpenAI's embedding models)."""
EMBEDDING_MAX_TOTAL_CHARS = 1_000_000
"""Most characters in all of one call's texts together, so one request cannot hold a provider for minutes."""


class TextPart(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    text: str | None = None
    # OpenAI's other part kinds, known so that refusing them says "only text" (see _text_of) rather
    # than "unknown field"; any other key is refused like everywhere in /v1
    image_url: Any = None
    input_audio: Any = None
    file: Any = None


class InMessage(msgspec.Struct, forbid_unknown_fields=True):
    # ``tool``/``function`` are known roles so that refusing them names ``messages[i].role``
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    # what tool calling puts on messages: refused naming ``messages[i].<field>`` (see _refuse_unhonoured)
    tool_calls: Any = None
    tool_call_id: Any = None
    function_call: Any = None
    refusal: Any = None
    audio: Any = None


_MESSAGE_UNHONOURED = ("tool_calls", "tool_call_id", "function_call", "refusal", "audio")


class StreamOptions(msgspec.Struct, forbid_unknown_fields=True):
    include_usage: bool = False


def _absent(value: Any) -> bool:
    return value is None


def _default(*fine: Any) -> Callable[[Any], bool]:
    """A predicate: ``value`` is absent or one of the values that mean "OpenAI's default"."""
    return lambda value: value is None or any(value == f and type(value) is type(f) for f in fine)


_UNHONOURED: dict[str, Callable[[Any], bool]] = {
    "tools": _absent,
    "tool_choice": _default("none"),
    "parallel_tool_calls": _absent,
    "functions": _absent,
    "function_call": _default("none"),
    "response_format": _default({"type": "text"}),
    "stop": _default([]),
    "logprobs": _default(False),
    "top_logprobs": _absent,
    "logit_bias": _default({}),
    "seed": _absent,
    "presence_penalty": _default(0, 0.0),
    "frequency_penalty": _default(0, 0.0),
    "n": _default(1),
    "top_p": _default(1, 1.0),
    "audio": _absent,
    "modalities": _default(["text"]),
    "prediction": _absent,
    "reasoning_effort": _absent,
    "verbosity": _absent,
    "web_search_options": _absent,
    "service_tier": _default("auto", "default"),
    "store": _default(False),
    "metadata": _default({}),
}
"""OpenAI's parameters that would change the answer but are not honoured: each is refused (422
naming it) unless it is absent or holds its default. Fields OpenAI does not define at all are
refused by ``forbid_unknown_fields``."""
_HONOURED = "model, messages, stream, stream_options, temperature, max_tokens, max_completion_tokens, user"


class CompletionRequest(msgspec.Struct, forbid_unknown_fields=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    messages: Annotated[list[InMessage], msgspec.Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    user: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    """Accepted so clients that send it keep working; it changes nothing."""
    # refused unless absent or default (see _UNHONOURED): declared so the refusal can name them
    tools: Any = None
    tool_choice: Any = None
    parallel_tool_calls: Any = None
    functions: Any = None
    function_call: Any = None
    response_format: Any = None
    stop: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    logit_bias: Any = None
    seed: Any = None
    presence_penalty: Any = None
    frequency_penalty: Any = None
    n: Any = None
    top_p: Any = None
    audio: Any = None
    modalities: Any = None
    prediction: Any = None
    reasoning_effort: Any = None
    verbosity: Any = None
    web_search_options: Any = None
    service_tier: Any = None
    store: Any = None
    metadata: Any = None


class EmbeddingRequest(msgspec.Struct, forbid_unknown_fields=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    input: str | list[Any]
    """A text or a list of texts; token arrays are refused by name in :func:`_embedding_texts`."""
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, msgspec.Meta(ge=1, le=65_536)] | None = None
    user: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


def _refuse_unhonoured(data: CompletionRequest) -> None:
    for name, harmless in _UNHONOURED.items():
        if not harmless(getattr(data, name)):
            raise ValidationError(
                f"{name} is not supported by Automatos' OpenAI-compatible API, and it is refused rather than"
                f" ignored; supported parameters: {_HONOURED}",
                field=name,
            )
    for i, message in enumerate(data.messages):
        if message.role in ("tool", "function"):
            raise ValidationError(
                f"{message.role!r} messages are not supported: agents have no tools to call yet",
                field=f"messages[{i}].role",
            )
        if message.name is not None:
            raise ValidationError("participant names on messages are not supported", field=f"messages[{i}].name")
        for name in _MESSAGE_UNHONOURED:
            if getattr(message, name) is not None:
                raise ValidationError(
                    f"{name} on messages is not supported: agents have no tools to call yet",
                    field=f"messages[{i}].{name}",
                )


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


_ROLES = {"developer": "system"}
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
                yield b"data: " + msgspec.json.encode({"error": openai_error(error)}) + b"\n\n"
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

    @get("/models/{model:str}", summary="One of the workspace's active agents as an OpenAI model")
    async def get_model(self, request: Request[Any, Any, Any], model: FromPath[str]) -> ModelCard:
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_READ)
        agent = None
        if 0 < len(model) <= 100 and "\x00" not in model:
            async with kernel.store.sessionmaker() as session:
                agent = await find_agent(session, scope.workspace.id, model)
        if agent is None or agent.status != "active":
            raise NotFoundError(f"model {model[:100]!r} is not an active agent of this workspace", field="model")
        return ModelCard(id=agent.slug, created=int(agent.created_at.timestamp()), owned_by=scope.workspace.slug)

    @post(
        "/chat/completions",
        summary="Chat with an agent through OpenAI's chat completions API",
        status_code=200,  # OpenAI answers 200, streamed or not (Litestar's POST default is 201)
    )
    async def chat_completions(
        self, request: Request[Any, Any, Any], data: JSONBody[CompletionRequest]
    ) -> Response[Any] | Stream:
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        _refuse_unhonoured(data)
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

    @post("/embeddings", summary="Embed texts with one of the workspace's embedding providers", status_code=200)
    async def embeddings(self, request: Request[Any, Any, Any], data: JSONBody[EmbeddingRequest]) -> dict[str, Any]:
        kernel, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        texts = _embedding_texts(data.input)
        provider = await _embedder(kernel, scope.workspace, data.model)
        if data.dimensions is not None and data.dimensions != provider.dimensions:
            raise ValidationError(
                f"model {data.model!r} makes vectors of {provider.dimensions} dimensions; other lengths are not"
                " offered (change the provider's configuration instead)",
                field="dimensions",
            )
        try:
            vectors = await provider.embed(texts)
        except ProviderError:
            raise
        except Exception as exc:  # an extension's failure is the provider's 502, never our 500
            log.warning("embedding provider %s failed: %s", provider.name, type(exc).__name__)
            raise ProviderError(
                provider.name, "unavailable", f"the embedding call failed ({type(exc).__name__})"
            ) from None
        if len(vectors) != len(texts):
            raise ProviderError(provider.name, "unavailable", f"returned {len(vectors)} vectors for {len(texts)} texts")
        model_name = str(getattr(provider, "model", provider.name))
        tokens = sum(len(t) for t in texts) // 4 + len(texts)  # an estimate, as chat's prompt estimate
        await _record_embedding_usage(kernel, scope.workspace.id, provider.name, model_name, tokens, ctx.request_id)
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encoded(v, data.encoding_format)}
                for i, v in enumerate(vectors)
            ],
            "model": model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _embedding_texts(value: str | list[Any]) -> list[str]:
    """The texts to embed; token arrays are refused (tokens of which tokenizer?), bounds enforced."""
    texts: list[Any] = [value] if isinstance(value, str) else list(value)
    if not texts:
        raise ValidationError("input must hold at least one text", field="input")
    if not all(isinstance(t, str) for t in texts):
        raise ValidationError(
            "token arrays are not supported: send the text (a string or a list of strings)", field="input"
        )
    if len(texts) > EMBEDDING_MAX_INPUTS:
        raise ValidationError(f"at most {EMBEDDING_MAX_INPUTS} texts per call, not {len(texts)}", field="input")
    for i, text in enumerate(texts):
        where = "input" if isinstance(value, str) else f"input[{i}]"
        if not text:
            raise ValidationError("texts must not be empty", field=where)
        if len(text) > EMBEDDING_MAX_CHARS:
            raise ValidationError(f"texts are at most {EMBEDDING_MAX_CHARS} characters, not {len(text)}", field=where)
    if sum(len(t) for t in texts) > EMBEDDING_MAX_TOTAL_CHARS:
        raise ValidationError(f"the texts together are at most {EMBEDDING_MAX_TOTAL_CHARS} characters", field="input")
    return texts


def _names(provider: EmbeddingProvider) -> set[str]:
    model = getattr(provider, "model", None)
    return {provider.name} | ({str(model), f"{provider.name}/{model}"} if model else set())


async def _embedder(kernel: Any, workspace: Workspace, model: str) -> EmbeddingProvider:
    """The workspace's embedding provider ``model`` names (its model, its name, or ``provider/model``)."""
    providers = (await agents_of(kernel).embedding_providers(workspace)).items.values()
    for provider in providers:
        if model in _names(provider):
            return provider
    offered = sorted(str(getattr(p, "model", p.name)) for p in providers)
    raise NotFoundError(
        f"model {model[:200]!r} is not an embedding model of this workspace"
        f" (available: {', '.join(offered) or 'none'})",
        field="model",
    )


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    """OpenAI's ``base64``: little-endian float32, which is what the ``openai`` client asks for by default."""
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


async def _record_embedding_usage(
    kernel: Any, workspace_id: str, provider: str, model: str, tokens: int, request_id: str | None
) -> None:
    """One ``llm_usage`` row, priced from the catalog; losing it is logged, the vectors are still the caller's."""
    try:
        input_price, _ = await agents_of(kernel).price(provider, model)
        async with kernel.store.sessionmaker.begin() as session:
            session.add(
                am.LLMUsage(
                    workspace_id=workspace_id,
                    provider=provider,
                    model=model,
                    prompt_tokens=tokens,
                    completion_tokens=0,
                    total_tokens=tokens,
                    cost=tokens * input_price,
                    status="complete",
                    request_id=request_id,
                )
            )
    except Exception:
        log.exception("could not record the usage of an embeddings call (request %s)", request_id)
