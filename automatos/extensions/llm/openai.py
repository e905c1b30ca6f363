"""OpenAI: chat completions and embeddings through the official ``openai`` SDK.

Registers the LLM provider ``openai`` and the embedding provider ``openai`` in a workspace that has
an API key: its own (extension config ``api_key``) or else the platform's (``OPENAI_API_KEY``).

Workspace config (``PUT /api/workspaces/{id}/extensions/automatos.llm.openai``), all optional:
``api_key``; ``base_url`` (an OpenAI-compatible endpoint; needs ``api_key``); ``timeout`` (seconds
per attempt, default 120, at most 600); ``max_retries`` (default 2, at most 10);
``max_tokens_param`` (``max_completion_tokens``, the default, or ``max_tokens`` for compatible
servers that only know the older name); ``embedding_model`` (default ``text-embedding-3-small``);
``embedding_dimensions`` (required for a model not in :data:`EMBEDDING_DIMENSIONS`; for the
``text-embedding-3-*`` models it asks the API for shortened vectors); ``embedding_batch_size``
(texts per request, default 256, at most 2048).

Decisions:
- **Retries are the SDK's**: it retries connection errors, timeouts, 408, 409, 429 and 5xx with
  exponential backoff and jitter, and honours ``retry-after-ms``/``retry-after``. We only set
  ``max_retries`` explicitly; a failure that is left after them becomes a
  :class:`~automatos.kernel.errors.ProviderError` whose ``kind`` says what the caller can do.
- **The platform key goes only to the platform's endpoint.** A workspace config that sets
  ``base_url`` without its own ``api_key`` is refused (``ValueError`` in the hook, which the kernel
  counts against this extension): otherwise any workspace admin could send ``OPENAI_API_KEY`` to a
  server of their choosing. The endpoint is config ``base_url``, else ``OPENAI_BASE_URL``, else
  ``https://api.openai.com/v1`` — always passed explicitly, so the SDK reads no endpoint from the
  environment on its own.
- **Errors never carry the key**: error details are written here from the status, the error code
  and the server's message with the key and anything shaped like a key removed; an authentication
  failure does not repeat the server's message at all (OpenAI's echoes part of the key). The SDK
  exception is not chained (``from None``): its text may hold the unredacted body.
- **One connection pool per event loop**, shared by every provider object: building an SDK client
  with its own pool costs ~25 ms (TLS context), with the shared pool ~0.1 ms. The pool holds no
  credentials; the key lives in the per-workspace SDK client, created on first use.
- **Lazy SDK import**: ``import openai`` costs about half a second, so it happens on first use,
  not when the kernel loads its extensions.
- Streams ask for ``stream_options={"include_usage": True}``: the last chunk carries the usage,
  which becomes the last :class:`~automatos.kernel.types.StreamEvent`. Only the first choice is
  read (we never ask for ``n > 1``).
- **Tools** (function calling): ``options["tools"]`` become ``tools`` of type ``function`` (name,
  description, the JSON Schema; an empty schema is sent as an empty object schema) and
  ``tool_choice`` is passed when it is ``auto``, ``none`` or ``required``. An answer's
  ``tool_calls`` become :class:`~automatos.kernel.types.ToolCall` (arguments as the model wrote
  them); a stream's pieces of each call are joined by index and handed over whole on the last
  event. Conversation messages carry them back: an assistant message's ``tool_calls``, a ``tool``
  message's ``tool_call_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import msgspec

from automatos.extensions.llm._common import (
    LLMEndpointSettings,
    SDKConfig,
    config_int,
    http_url,
)
from automatos.extensions.llm._sdk import SDKConnection, SDKPools, SDKProvider
from automatos.kernel.errors import ProviderError
from automatos.kernel.extras import require
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.settings import FieldDoc, Secret, SettingsGroup, setting
from automatos.kernel.types import ChatMessage, Completion, EmbeddingProvider, LLMProvider, StreamEvent, ToolCall

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "EMBEDDING_DIMENSIONS",
    "OpenAIConfig",
    "OpenAIConnection",
    "OpenAIEmbeddingProvider",
    "OpenAIProvider",
    "OpenAISettings",
    "extension_config_schema",
    "register_embedding_providers",
    "register_llm_providers",
    "register_settings",
    "resolve_connection",
]

require("openai")  # the SDK is imported on first use; without it, quarantine now with the extra to install

NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
EMBEDDING_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
"""Native vector length of OpenAI's embedding models."""
SHORTENABLE = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
"""Models that accept the ``dimensions`` parameter."""


# --- settings and connection --------------------------------------------------------------------


class OpenAISettings(SettingsGroup, frozen=True, kw_only=True):
    """The platform's OpenAI key and endpoint (a workspace may bring its own in its configuration)."""

    OWNER: ClassVar[str] = "automatos.llm.openai"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("OPENAI_API_KEY", "openai_api_key", "string (secret)"),
        setting("OPENAI_BASE_URL", "openai_base_url", "http(s) URL", valid=http_url),
    )

    openai_api_key: Secret | None = None
    """Platform OpenAI key (never logged)."""
    openai_base_url: str | None = None
    """OpenAI endpoint (or an OpenAI-compatible server) the platform key is sent to; empty for
    ``https://api.openai.com/v1``."""


@dataclass(frozen=True)
class OpenAIConnection(SDKConnection):
    """Where and how to call the API (``source`` ``platform`` means ``OPENAI_API_KEY``)."""

    PROVIDER = NAME
    SDK = "openai"
    CLIENT = "AsyncOpenAI"
    ERROR = "OpenAIError"
    KEY_VARIABLE = "OPENAI_API_KEY"
    TITLE = "OpenAI"
    DEFAULT_URL = DEFAULT_BASE_URL
    SETTINGS = OpenAISettings
    POOLS = SDKPools("openai")

    def status_error(self, exc: Exception) -> ProviderError | None:
        import openai

        if isinstance(exc, openai.APIStatusError):
            return self._refusal(exc.status_code, exc.code, exc.body, exc.response.headers, exc.request_id)
        if isinstance(exc, openai.APIError):
            # An error event inside a stream (HTTP 200): classify it by its code.
            code = str(exc.code or exc.type or "")
            status = 429 if "rate" in code else 400 if "context" in code or "invalid" in code else 500
            return self._refusal(status, exc.code, exc.body, {}, None, in_stream=True)
        return None

    def _refusal(
        self,
        status: int,
        code: str | None,
        body: object,
        headers: Mapping[str, str],
        request_id: str | None,
        *,
        in_stream: bool = False,
    ) -> ProviderError:
        return self.refusal(
            status,
            body,
            label=code,
            headers=headers,
            request_id=request_id,
            in_stream=in_stream,
            rate="quota exhausted" if code == "insufficient_quota" else "rate limited",
            too_long=code == "context_length_exceeded",
        )


# --- providers ----------------------------------------------------------------------------------


_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


def _message(message: ChatMessage) -> dict[str, Any]:
    """A message in the Chat Completions shape: an assistant's ``tool_calls``, a tool's result."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    return out


class OpenAIProvider(SDKProvider):
    """Chat completions (``complete`` and ``stream``) through the ``openai`` SDK."""

    name = NAME

    def __init__(self, connection: OpenAIConnection, *, max_tokens_param: str = "max_completion_tokens") -> None:
        super().__init__(connection)
        self.max_tokens_param = max_tokens_param

    def _params(self, messages: Sequence[ChatMessage], model: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if not messages:
            raise ProviderError(NAME, "bad_request", "the conversation has no messages")
        params: dict[str, Any] = {"model": model, "messages": [_message(m) for m in messages]}
        if options.get("temperature") is not None:
            params["temperature"] = options["temperature"]
        if options.get("max_tokens") is not None:
            params[self.max_tokens_param] = options["max_tokens"]
        tools = options.get("tools")
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters or _OBJECT},
                }
                for t in tools
            ]
            if options.get("tool_choice") in ("auto", "none", "required"):
                params["tool_choice"] = options["tool_choice"]
        return params

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        params = self._params(messages, model, options)
        with self.connection.errors():
            response: Any = await self._sdk().chat.completions.create(**params)
        if not response.choices:
            raise ProviderError(NAME, "unavailable", "the answer had no choices")
        choice = response.choices[0]
        usage = response.usage
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
            for c in (choice.message.tool_calls or ())
            if getattr(c, "function", None) is not None
        )
        return Completion(
            text=choice.message.content or choice.message.refusal or "",
            model=response.model or model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason or "stop",
            tool_calls=calls,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        params = self._params(messages, model, options)
        finish: str | None = None
        usage: Any = None
        calls: dict[int, dict[str, str]] = {}  # the tool calls' pieces, by index, joined at the end
        with self.connection.errors():
            chunks: Any = await self._sdk().chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            async with chunks:  # closes the response if our consumer stops early
                async for chunk in chunks:
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        if choice.delta is not None and choice.delta.content:
                            yield StreamEvent(delta=choice.delta.content)
                        for piece in (choice.delta.tool_calls or ()) if choice.delta is not None else ():
                            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                            call["id"] = piece.id or call["id"]
                            if piece.function is not None:
                                call["name"] += piece.function.name or ""
                                call["arguments"] += piece.function.arguments or ""
                        if choice.finish_reason:
                            finish = choice.finish_reason
        yield StreamEvent(
            finish_reason=finish or "stop",
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            tool_calls=tuple(ToolCall(**calls[i]) for i in sorted(calls)),
        )


class OpenAIEmbeddingProvider(SDKProvider):
    """``embeddings.create`` in batches; every vector is checked to have ``dimensions`` values."""

    name = NAME

    def __init__(
        self, connection: OpenAIConnection, *, model: str, dimensions: int, shorten: bool, batch_size: int
    ) -> None:
        super().__init__(connection)
        self.model = model
        self.dimensions = dimensions
        self.shorten = shorten
        """Send ``dimensions`` to the API (shortened ``text-embedding-3-*`` vectors)."""
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        client = self._sdk()
        extra: dict[str, Any] = {"dimensions": self.dimensions} if self.shorten else {}
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with self.connection.errors():
                response = await client.embeddings.create(model=self.model, input=batch, **extra)
            items = sorted(response.data, key=lambda item: item.index)
            if len(items) != len(batch):
                raise ProviderError(NAME, "unavailable", f"{len(items)} vectors came back for {len(batch)} texts")
            for item in items:
                if len(item.embedding) != self.dimensions:
                    raise ProviderError(
                        NAME,
                        "bad_request",
                        f"model {self.model!r} returned vectors of length {len(item.embedding)}, expected "
                        f"{self.dimensions} (config embedding_dimensions)",
                    )
                vectors.append([float(x) for x in item.embedding])
        return vectors


# --- registration -------------------------------------------------------------------------------


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(OpenAISettings)
    register(LLMEndpointSettings)


resolve_connection = OpenAIConnection.for_workspace
"""The connection a workspace gets (``resolve_connection(settings, config)``), or ``None`` without a key."""


class OpenAIConfig(SDKConfig, kw_only=True):
    """A workspace's configuration of the OpenAI provider (see the module docstring), checked when written."""

    max_tokens_param: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    embedding_model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = DEFAULT_EMBEDDING_MODEL
    embedding_dimensions: Annotated[int, msgspec.Meta(ge=1, le=65536)] | None = None
    embedding_batch_size: Annotated[int, msgspec.Meta(ge=1, le=2048)] = 256


@hookimpl
def extension_config_schema() -> type[OpenAIConfig]:
    return OpenAIConfig


@hookimpl
def register_llm_providers(
    register: Callable[[LLMProvider], None], settings: Settings, config: Mapping[str, Any]
) -> None:
    conn = resolve_connection(settings, config)
    if conn is None:
        return
    param = config.get("max_tokens_param", "max_completion_tokens")
    if param not in ("max_completion_tokens", "max_tokens"):
        raise ValueError(f"{NAME}: config 'max_tokens_param' must be 'max_completion_tokens' or 'max_tokens'")
    register(OpenAIProvider(conn, max_tokens_param=param))


@hookimpl
def register_embedding_providers(
    register: Callable[[EmbeddingProvider], None], settings: Settings, config: Mapping[str, Any]
) -> None:
    conn = resolve_connection(settings, config)
    if conn is None:
        return
    model = config.get("embedding_model", DEFAULT_EMBEDDING_MODEL)
    if not isinstance(model, str) or not model:
        raise ValueError(f"{NAME}: config 'embedding_model' must be a model name")
    native = EMBEDDING_DIMENSIONS.get(model)
    asked = config.get("embedding_dimensions")
    if asked is None and native is None:
        raise ValueError(f"{NAME}: config 'embedding_dimensions' is required for embedding model {model!r}")
    dimensions = config_int(NAME, config, "embedding_dimensions", native or 0, 1, 65536)
    if native is not None and dimensions != native and (model not in SHORTENABLE or dimensions > native):
        raise ValueError(f"{NAME}: {model!r} makes vectors of {native} dimensions at most")
    register(
        OpenAIEmbeddingProvider(
            conn,
            model=model,
            dimensions=dimensions,
            shorten=model in SHORTENABLE and dimensions != native,
            batch_size=config_int(NAME, config, "embedding_batch_size", 256, 1, 2048),
        )
    )
