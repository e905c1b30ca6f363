"""Anthropic: the Messages API through the official ``anthropic`` SDK.

Registers the LLM provider ``anthropic`` in a workspace that has an API key: its own (extension
config ``api_key``) or else the platform's (``ANTHROPIC_API_KEY``).

Workspace config (``PUT /api/workspaces/{id}/extensions/automatos.llm.anthropic``), all optional:
``api_key``; ``base_url`` (needs ``api_key``); ``timeout`` (seconds per attempt, default 120, at most
600); ``max_retries`` (default 2, at most 10); ``max_tokens`` (the default answer length when the
caller gives none, default 1024 — the API requires one).

Decisions:
- **Messages**: every ``system`` message goes, in order, into the ``system`` parameter (joined by a
  blank line); the others become ``user``/``assistant`` turns — any other role is sent as ``user`` —
  and consecutive turns of one role are merged, so a conversation stored with extra roles or
  repeated turns is still a valid request.
- **Options**: ``max_tokens`` as given, else config ``max_tokens``, else 1024. ``temperature`` is
  accepted and not sent: the Messages API this SDK (2.x) speaks has no sampling-temperature
  parameter, and sending an unknown one would fail every request of an agent that sets it.
- **Streaming** uses ``messages.create(stream=True)``: text deltas become
  :class:`~automatos.kernel.types.StreamEvent` deltas; usage comes from ``message_start`` (input
  tokens) and ``message_delta`` (cumulative output tokens). Prompt tokens include cache reads and
  writes. Stop reasons are reported in the OpenAI vocabulary the rest of Automatos uses
  (``end_turn``/``stop_sequence`` → ``stop``, ``max_tokens`` → ``length``, ``tool_use`` →
  ``tool_calls``, ``refusal`` → ``content_filter``).
- **Errors and retries** as for OpenAI (see :mod:`automatos.extensions.llm.openai`): the SDK retries
  connection errors, timeouts, 408/409/429/5xx (529 "overloaded" included) with backoff and honours
  ``retry-after``; what is left becomes a ``ProviderError`` whose text never holds the key.
  "prompt is too long" (and 413 ``request_too_large``) is ``context_length``; an ``error`` event in
  the middle of a stream is classified by its ``type`` (``overloaded_error`` → ``unavailable``).
- The platform key goes only to the platform's endpoint (config ``base_url`` requires config
  ``api_key``); one connection pool per event loop; the SDK (over a second to import) is imported
  on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

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
from automatos.kernel.types import ChatMessage, Completion, LLMProvider, StreamEvent

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "AnthropicConfig",
    "AnthropicConnection",
    "AnthropicProvider",
    "AnthropicSettings",
    "extension_config_schema",
    "register_llm_providers",
    "register_settings",
    "resolve_connection",
]

require("anthropic")  # the SDK is imported on first use; without it, quarantine now with the extra to install

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_KINDS_BY_TYPE = {
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "invalid_request_error": 400,
    "timeout_error": 504,
    "api_error": 500,
    "overloaded_error": 529,
}
"""Error ``type`` → the HTTP status it comes with, to classify an ``error`` event inside a stream."""


class AnthropicSettings(SettingsGroup, frozen=True, kw_only=True):
    """The platform's Anthropic key and endpoint (a workspace may bring its own in its configuration)."""

    OWNER: ClassVar[str] = "automatos.llm.anthropic"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("ANTHROPIC_API_KEY", "anthropic_api_key", "string (secret)"),
        setting("ANTHROPIC_BASE_URL", "anthropic_base_url", "http(s) URL", valid=http_url),
    )

    anthropic_api_key: Secret | None = None
    """Platform Anthropic key (never logged)."""
    anthropic_base_url: str | None = None
    """Anthropic endpoint the platform key is sent to; empty for ``https://api.anthropic.com``."""


@dataclass(frozen=True)
class AnthropicConnection(SDKConnection):
    """Where and how to call the API (``source`` ``platform`` means ``ANTHROPIC_API_KEY``)."""

    PROVIDER = NAME
    SDK = "anthropic"
    CLIENT = "AsyncAnthropic"
    ERROR = "AnthropicError"
    KEY_VARIABLE = "ANTHROPIC_API_KEY"
    TITLE = "Anthropic"
    DEFAULT_URL = DEFAULT_BASE_URL
    SETTINGS = AnthropicSettings
    POOLS = SDKPools("anthropic")

    def status_error(self, exc: Exception) -> ProviderError | None:
        import anthropic

        if not isinstance(exc, anthropic.APIStatusError):
            return None
        in_stream = exc.status_code < 400  # an ``error`` event in a 200 stream
        status = _KINDS_BY_TYPE.get(str(exc.type), 500) if in_stream else exc.status_code
        return self.refusal(
            status,
            exc.body,
            label=str(exc.type or ""),
            headers=exc.response.headers,
            request_id=exc.request_id,
            in_stream=in_stream,
            failure="the API is overloaded" if status == 529 else "the API failed",
        )


def _conversation(messages: Sequence[ChatMessage]) -> tuple[str | None, list[dict[str, str]]]:
    """``(system, turns)`` for the Messages API; see the module docstring."""
    system = [m.content for m in messages if m.role == "system"]
    turns: list[dict[str, str]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1] = {"role": role, "content": f"{turns[-1]['content']}\n\n{message.content}"}
        else:
            turns.append({"role": role, "content": message.content})
    if not turns:
        raise ProviderError(NAME, "bad_request", "the conversation has no user or assistant messages")
    return ("\n\n".join(system) if system else None), turns


class AnthropicProvider(SDKProvider):
    """The Messages API (``complete`` and ``stream``) through the ``anthropic`` SDK."""

    name = NAME

    def __init__(self, connection: AnthropicConnection, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        super().__init__(connection)
        self.default_max_tokens = default_max_tokens

    def _params(self, messages: Sequence[ChatMessage], model: str, options: Mapping[str, Any]) -> dict[str, Any]:
        system, turns = _conversation(messages)
        max_tokens = options.get("max_tokens")
        params: dict[str, Any] = {
            "model": model,
            "messages": turns,
            "max_tokens": self.default_max_tokens if max_tokens is None else max_tokens,
        }
        if system is not None:
            params["system"] = system
        return params

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        params = self._params(messages, model, options)
        with self.connection.errors():
            response: Any = await self._sdk().messages.create(**params)
        usage = response.usage
        return Completion(
            text="".join(block.text for block in response.content if block.type == "text"),
            model=response.model or model,
            prompt_tokens=_prompt_tokens(usage),
            completion_tokens=usage.output_tokens,
            finish_reason=STOP_REASONS.get(response.stop_reason or "end_turn", "stop"),
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        params = self._params(messages, model, options)
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        stop_reason: str | None = None
        with self.connection.errors():
            events: Any = await self._sdk().messages.create(**params, stream=True)
            async with events:  # closes the response if our consumer stops early
                async for event in events:
                    if event.type == "message_start":
                        prompt_tokens = _prompt_tokens(event.message.usage)
                        completion_tokens = event.message.usage.output_tokens
                    elif event.type == "content_block_delta":
                        if event.delta.type == "text_delta" and event.delta.text:
                            yield StreamEvent(delta=event.delta.text)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        completion_tokens = event.usage.output_tokens
                        if event.usage.input_tokens is not None:
                            prompt_tokens = _prompt_tokens(event.usage)
        yield StreamEvent(
            finish_reason=STOP_REASONS.get(stop_reason or "end_turn", "stop"),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )


def _prompt_tokens(usage: Any) -> int:
    """Input tokens, cache writes and cache reads: all of them are prompt the model read."""
    return sum(
        getattr(usage, name, None) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(AnthropicSettings)
    register(LLMEndpointSettings)


resolve_connection = AnthropicConnection.for_workspace
"""The connection a workspace gets (``resolve_connection(settings, config)``), or ``None`` without a key."""


class AnthropicConfig(SDKConfig, kw_only=True):
    """A workspace's configuration of the Anthropic provider (see the module docstring), checked when written."""

    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = DEFAULT_MAX_TOKENS


@hookimpl
def extension_config_schema() -> type[AnthropicConfig]:
    return AnthropicConfig


@hookimpl
def register_llm_providers(
    register: Callable[[LLMProvider], None], settings: Settings, config: Mapping[str, Any]
) -> None:
    conn = resolve_connection(settings, config)
    if conn is None:
        return
    default_max_tokens = config_int(NAME, config, "max_tokens", DEFAULT_MAX_TOKENS, 1, 1_000_000)
    register(AnthropicProvider(conn, default_max_tokens=default_max_tokens))
