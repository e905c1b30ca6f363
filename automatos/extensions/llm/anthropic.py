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
- **Tools**: ``options["tools"]`` become ``tools`` (name, description, ``input_schema``) and
  ``tool_choice`` ``auto``/``required``/``none`` becomes ``{"type": "auto"|"any"|"none"}``. An
  answer's ``tool_use`` blocks become :class:`~automatos.kernel.types.ToolCall` (the input as JSON
  text); streamed, each block's ``input_json_delta`` pieces are joined and handed over whole on the
  last event. Back in the conversation, an assistant message's calls are ``tool_use`` blocks (input
  that is not a JSON object is sent as ``{"arguments": text}``) and a ``tool`` message is a
  ``tool_result`` block in the user's turn (consecutive results share one turn, as the API wants;
  one without ``tool_call_id`` is plain user text, as any other role).
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

import json
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
from automatos.kernel.types import ChatMessage, Completion, LLMProvider, StreamEvent, ToolCall

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


def _blocks(message: ChatMessage) -> str | list[dict[str, Any]]:
    """A message's content for the Messages API: its text, or blocks when it carries tool use."""
    if message.role == "tool" and message.tool_call_id:
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}]
    if not message.tool_calls:
        return message.content
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    for call in message.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = None
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": arguments if isinstance(arguments, dict) else {"arguments": call.arguments},
            }
        )
    return blocks


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def _conversation(messages: Sequence[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, turns)`` for the Messages API; see the module docstring."""
    system = [m.content for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"  # a tool result is the user's turn
        content = _blocks(message)
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            if isinstance(previous, str) and isinstance(content, str):
                turns[-1] = {"role": role, "content": f"{previous}\n\n{content}"}
            else:
                turns[-1] = {"role": role, "content": _as_blocks(previous) + _as_blocks(content)}
        else:
            turns.append({"role": role, "content": content})
    if not turns:
        raise ProviderError(NAME, "bad_request", "the conversation has no user or assistant messages")
    return ("\n\n".join(system) if system else None), turns


_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


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
        tools = options.get("tools")
        if tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters or {"type": "object"}}
                for t in tools
            ]
            choice = _TOOL_CHOICES.get(str(options.get("tool_choice")))
            if choice is not None:
                params["tool_choice"] = choice
        return params

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        params = self._params(messages, model, options)
        with self.connection.errors():
            response: Any = await self._sdk().messages.create(**params)
        usage = response.usage
        calls = tuple(
            ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input))
            for block in response.content
            if block.type == "tool_use"
        )
        return Completion(
            text="".join(block.text for block in response.content if block.type == "text"),
            model=response.model or model,
            prompt_tokens=_prompt_tokens(usage),
            completion_tokens=usage.output_tokens,
            finish_reason=STOP_REASONS.get(response.stop_reason or "end_turn", "stop"),
            tool_calls=calls,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        params = self._params(messages, model, options)
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        stop_reason: str | None = None
        calls: dict[int, dict[str, str]] = {}  # tool_use blocks by index: id, name, the input's JSON pieces
        with self.connection.errors():
            events: Any = await self._sdk().messages.create(**params, stream=True)
            async with events:  # closes the response if our consumer stops early
                async for event in events:
                    if event.type == "message_start":
                        prompt_tokens = _prompt_tokens(event.message.usage)
                        completion_tokens = event.message.usage.output_tokens
                    elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                        block = event.content_block
                        calls[event.index] = {"id": block.id, "name": block.name, "arguments": ""}
                    elif event.type == "content_block_delta":
                        if event.delta.type == "text_delta" and event.delta.text:
                            yield StreamEvent(delta=event.delta.text)
                        elif event.delta.type == "input_json_delta" and event.index in calls:
                            calls[event.index]["arguments"] += event.delta.partial_json or ""
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        completion_tokens = event.usage.output_tokens
                        if event.usage.input_tokens is not None:
                            prompt_tokens = _prompt_tokens(event.usage)
        yield StreamEvent(
            finish_reason=STOP_REASONS.get(stop_reason or "end_turn", "stop"),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tool_calls=tuple(
                ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"] or "{}") for _, c in sorted(calls.items())
            ),
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
