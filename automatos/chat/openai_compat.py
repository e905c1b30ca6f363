"""The OpenAI-compatible service behind ``/v1``: what is honoured, agents as models, completions, embeddings.

Honest about what it does: only what is honoured is accepted. Chat completions honour ``model``,
``messages`` (roles ``system``, ``developer``, ``user``, ``assistant`` with or without
``tool_calls``, ``tool`` with the ``tool_call_id`` it answers; text content or text parts),
``stream``, ``stream_options.include_usage``, ``temperature``, ``max_tokens`` /
``max_completion_tokens``, ``tools`` and ``tool_choice`` (``auto``, ``none``, ``required``), and
``user`` (accepted; it changes nothing). A parameter that would change the answer but is not
honoured (``functions``, a named ``tool_choice``, ``parallel_tool_calls: false``,
``response_format``, ``stop``, ``logprobs``, ``seed``, penalties, ``n`` other than 1, ``top_p``
other than 1, ``audio``, ``modalities``, ``prediction``, …) is refused with a 422 naming it,
unless it carries its default value; so is any field OpenAI does not define, and ``function``
messages.

**Tools.** The agent's own tools (its assigned plugins', when the API key holds ``tools.use``) run
here, as in ``/api/chat`` (:mod:`automatos.chat.tool_loop`), and the client gets the answer. The
client's ``tools`` are offered to the model as well and never run here: a round in which the model
calls one of them ends the completion with those calls (``tool_calls``, ``finish_reason``
``tool_calls``; streamed, as indexed ``delta.tool_calls``); the client runs them and sends the
results back as ``tool`` messages. A client tool named like one of the agent's is a 422 naming
``tools[i].function.name``.

A completion is a stateless chat turn (:meth:`automatos.chat.service.ChatService.start_stateless`):
the conversation is the caller's and is not stored; usage is recorded like chat's. Embeddings come
from the workspace's embedding providers (``model`` names one by its model name, its provider name,
or ``provider/model``) and are recorded as one usage row priced from the catalogue. The wire format
(chunks, response bodies, OpenAI-shaped errors) is the controller's (:mod:`automatos.api.controllers.openai_compat`).
"""

from __future__ import annotations

import base64
import logging
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from automatos.agents import models as am
from automatos.agents.records import find_agent
from automatos.chat import models as cm
from automatos.chat.turn import Turn
from automatos.kernel.db.queries import lookable
from automatos.kernel.errors import NotFoundError, ProviderError, ValidationError
from automatos.kernel.types import ChatMessage, EmbeddingProvider, ToolCall, ToolSpec, Workspace

if TYPE_CHECKING:
    from automatos.chat.service import ChatService
    from automatos.kernel.core import Kernel
    from automatos.llm.catalog import ModelCatalog
    from automatos.llm.providers import ProviderResolver

__all__ = [
    "EMBEDDING_MAX_CHARS",
    "EMBEDDING_MAX_INPUTS",
    "EMBEDDING_MAX_TOTAL_CHARS",
    "CompletionRequest",
    "EmbeddingRequest",
    "InMessage",
    "OpenAICompatService",
    "StreamOptions",
    "TextPart",
]

log = logging.getLogger("automatos.chat")

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


ToolName = Annotated[str, msgspec.Meta(pattern="^[a-zA-Z0-9_-]{1,64}$")]


class CalledFunction(msgspec.Struct, forbid_unknown_fields=True):
    name: ToolName
    arguments: Annotated[str, msgspec.Meta(max_length=1_000_000)]


class CalledTool(msgspec.Struct, forbid_unknown_fields=True):
    """An assistant message's tool call, as a client sends the conversation back."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    function: CalledFunction
    type: Literal["function"] = "function"


class InMessage(msgspec.Struct, forbid_unknown_fields=True):
    # ``function`` is a known role so that refusing it names ``messages[i].role``
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: Annotated[list[CalledTool], msgspec.Meta(max_length=128)] | None = None
    """On an ``assistant`` message: the calls the model made (the client's tools' or the agent's)."""
    tool_call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    """On a ``tool`` message: the call it answers."""
    # refused naming ``messages[i].<field>`` (see _refuse_unhonoured)
    function_call: Any = None
    refusal: Any = None
    audio: Any = None


_MESSAGE_UNHONOURED = ("function_call", "refusal", "audio")


class FunctionDef(msgspec.Struct, forbid_unknown_fields=True):
    name: ToolName
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    parameters: dict[str, Any] = {}
    strict: bool | None = None


class ToolDef(msgspec.Struct, forbid_unknown_fields=True):
    """One of the client's own tools: offered to the model, never run here — the model's calls of
    it are answered to the client (``tool_calls``), which runs it and sends the result back."""

    type: Literal["function"]
    function: FunctionDef


class StreamOptions(msgspec.Struct, forbid_unknown_fields=True):
    include_usage: bool = False


def _absent(value: Any) -> bool:
    return value is None


def _default(*fine: Any) -> Callable[[Any], bool]:
    """A predicate: ``value`` is absent or one of the values that mean "OpenAI's default"."""
    return lambda value: value is None or any(value == f and type(value) is type(f) for f in fine)


_UNHONOURED: dict[str, Callable[[Any], bool]] = {
    "parallel_tool_calls": _default(True),
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
_HONOURED = (
    "model, messages, stream, stream_options, temperature, max_tokens, max_completion_tokens, user, tools, tool_choice"
)


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
    tools: Annotated[list[ToolDef], msgspec.Meta(max_length=128)] | None = None
    """The client's own tools (see :class:`ToolDef`); the agent's tools are offered as well."""
    tool_choice: Literal["auto", "none", "required"] | None = None
    # refused unless absent or default (see _UNHONOURED): declared so the refusal can name them
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


def _refuse_unhonoured(data: CompletionRequest) -> None:
    for name, harmless in _UNHONOURED.items():
        if not harmless(getattr(data, name)):
            raise ValidationError(
                f"{name} is not supported by Automatos' OpenAI-compatible API, and it is refused rather than"
                f" ignored; supported parameters: {_HONOURED}",
                field=name,
            )
    for i, message in enumerate(data.messages):
        if message.role == "function":
            raise ValidationError(
                "'function' messages (the deprecated function calling) are not supported: send 'tool' messages",
                field=f"messages[{i}].role",
            )
        if message.role == "tool" and message.tool_call_id is None:
            raise ValidationError("a 'tool' message names the call it answers", field=f"messages[{i}].tool_call_id")
        if message.tool_call_id is not None and message.role != "tool":
            raise ValidationError("only a 'tool' message answers a call", field=f"messages[{i}].tool_call_id")
        if message.tool_calls is not None and message.role != "assistant":
            raise ValidationError("only an 'assistant' message makes tool calls", field=f"messages[{i}].tool_calls")
        if message.name is not None:
            raise ValidationError("participant names on messages are not supported", field=f"messages[{i}].name")
        for name in _MESSAGE_UNHONOURED:
            if getattr(message, name) is not None:
                raise ValidationError(f"{name} on messages is not supported", field=f"messages[{i}].{name}")
    names = [t.function.name for t in data.tools or ()]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ValidationError(f"tool {name!r} is defined twice", field=f"tools[{i}].function.name")


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


async def _embedder(resolver: ProviderResolver, workspace: Workspace, model: str) -> EmbeddingProvider:
    """The workspace's embedding provider ``model`` names (its model, its name, or ``provider/model``)."""
    providers = (await resolver.embedding_providers(workspace)).items.values()
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


class OpenAICompatService:
    """The ``/v1`` operations on a workspace's agents and embedding providers."""

    def __init__(self, kernel: Kernel, chat: ChatService, providers: ProviderResolver, models: ModelCatalog) -> None:
        self.kernel = kernel
        self.chat = chat
        self.providers = providers
        self.models = models
        """Prices for the embeddings' usage rows."""

    async def agents(self, workspace_id: str) -> list[am.Agent]:
        """The workspace's active agents: its models."""
        return await self.chat.active_agents(workspace_id)

    async def agent(self, workspace_id: str, model: str) -> am.Agent:
        """The active agent ``model`` names (slug or id); 404 naming ``model`` for anything else."""
        agent = None
        if lookable(model) and len(model) <= 100:
            async with self.kernel.store.sessionmaker() as session:
                agent = await find_agent(session, workspace_id, model)
        if agent is None or agent.status != "active":
            raise NotFoundError(f"model {model[:100]!r} is not an active agent of this workspace", field="model")
        return agent

    @staticmethod
    def routing_text(data: CompletionRequest) -> str:
        """What ``model: "auto"`` routes on: the last ``user`` message's text (422 naming ``messages``
        when there is none; its parts checked as the completion would)."""
        _refuse_unhonoured(data)
        for i in range(len(data.messages) - 1, -1, -1):
            if data.messages[i].role == "user":
                return _text(data.messages[i], i)
        raise ValidationError("model 'auto' routes on the last user message, and there is none", field="messages")

    async def start_completion(
        self,
        workspace: Workspace,
        data: CompletionRequest,
        request_id: str | None,
        *,
        agent: str | None = None,
        use_tools: bool = False,
        actor_id: str | None = None,
    ) -> Turn:
        """A stateless turn with the agent ``data.model`` names (or ``agent``, the one the router chose
        for ``model: "auto"``: the API routes before calling this), on the caller's messages."""
        _refuse_unhonoured(data)
        if agent is None and data.model == "auto":
            raise NotFoundError("model 'auto' is routed by the API (POST /v1/chat/completions)", field="model")
        conversation = [
            ChatMessage(
                role=_ROLES.get(m.role, m.role),
                content=_text(m, i),
                tool_calls=tuple(
                    ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in m.tool_calls or ()
                ),
                tool_call_id=m.tool_call_id,
            )
            for i, m in enumerate(data.messages)
        ]
        overrides: dict[str, Any] = {
            "temperature": data.temperature,
            "max_tokens": data.max_completion_tokens or data.max_tokens,
            "tool_choice": data.tool_choice,
        }
        client_tools = [
            ToolSpec(
                name=t.function.name,
                description=t.function.description,
                parameters=t.function.parameters,
                provider="client",
                source="client",
            )
            for t in data.tools or ()
        ]
        return await self.chat.start_stateless(
            workspace,
            agent or data.model,
            conversation,
            overrides=overrides,
            request_id=request_id,
            client_tools=client_tools,
            use_tools=use_tools,
            actor_id=actor_id,
        )

    async def embed(self, workspace: Workspace, data: EmbeddingRequest, request_id: str | None) -> dict[str, Any]:
        """OpenAI's embeddings response for ``data``, its usage recorded."""
        texts = _embedding_texts(data.input)
        provider = await _embedder(self.providers, workspace, data.model)
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
        await self._record_usage(workspace.id, provider.name, model_name, tokens, request_id)
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encoded(v, data.encoding_format)}
                for i, v in enumerate(vectors)
            ],
            "model": model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def _record_usage(
        self, workspace_id: str, provider: str, model: str, tokens: int, request_id: str | None
    ) -> None:
        """One ``llm_usage`` row, priced from the catalog; losing it is logged, the vectors are still the caller's."""
        try:
            input_price, _ = await self.models.price(provider, model)
            async with self.kernel.store.sessionmaker.begin() as session:
                session.add(
                    cm.LLMUsage(
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
