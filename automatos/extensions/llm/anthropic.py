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
    LoopPool,
    SDKConfig,
    SDKConnection,
    config_int,
    config_key_and_url,
    config_seconds,
    http_url,
    looks_too_long,
    message_of,
    public_only_client,
    redact,
    retry_after,
)
from automatos.kernel.errors import ProviderError
from automatos.kernel.extras import require
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.settings import FieldDoc, Secret, SettingsGroup, setting
from automatos.kernel.types import ChatMessage, Completion, LLMProvider, StreamEvent

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

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
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
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


def _new_pool() -> Any:
    import anthropic

    return anthropic.DefaultAsyncHttpxClient()


_POOL = LoopPool(_new_pool)
_PUBLIC_POOL = LoopPool(lambda: public_only_client(_default_client_class()))
"""For a workspace's own ``base_url`` while ``LLM_ALLOW_PRIVATE_BASE_URL`` is off: public addresses only."""


def _default_client_class() -> Any:
    import anthropic

    return anthropic.DefaultAsyncHttpxClient


@dataclass(frozen=True)
class AnthropicConnection(SDKConnection):
    """Where and how to call the API, resolved from the workspace config and the settings
    (``source`` ``platform`` means ``ANTHROPIC_API_KEY``)."""

    def client(self) -> AsyncAnthropic:
        import anthropic

        pool = _PUBLIC_POOL if self.workspace_url and not self.allow_private else _POOL
        client: AsyncAnthropic = self._client(anthropic.AsyncAnthropic, pool)
        return client

    def error(self, exc: Exception) -> ProviderError:
        """The :class:`ProviderError` for an SDK exception; its text never holds the key."""
        import anthropic

        transport = self._transport_error(NAME, anthropic, exc)
        if transport is not None:
            return transport
        if isinstance(exc, anthropic.APIStatusError):
            in_stream = exc.status_code < 400  # an ``error`` event in a 200 stream
            status = _KINDS_BY_TYPE.get(str(exc.type), 500) if in_stream else exc.status_code
            return self._status_error(status, exc, in_stream=in_stream)
        return ProviderError(NAME, "unavailable", f"unexpected failure of the Anthropic client: {type(exc).__name__}")

    def _status_error(self, status: int, exc: Any, *, in_stream: bool) -> ProviderError:
        upstream = redact(message_of(exc.body), self.api_key)
        message = self.shown(upstream)  # a workspace's own endpoint: logged, not shown
        kind_of_error = redact(str(exc.type or ""), self.api_key)
        where = "in the stream" if in_stream else f"HTTP {status}"
        request_id = f" [request {exc.request_id}]" if exc.request_id else ""
        suffix = (f": {message}" if message else "") + request_id
        if status in (401, 402, 403):
            whose = "the workspace's key (config api_key)" if self.source == "workspace" else "ANTHROPIC_API_KEY"
            label = f", {kind_of_error}" if kind_of_error else ""
            return ProviderError(NAME, "auth", f"the API key was refused ({where}{label}); check {whose}{request_id}")
        if status == 429:
            wait = None if in_stream else retry_after(exc.response.headers)
            hint = f"; retry after {wait:g} s" if wait is not None else ""
            detail = f"rate limited ({where}, after up to {self.max_retries} retries){hint}{suffix}"
            return ProviderError(NAME, "rate_limit", detail, retry_after=wait)
        if status in (408, 504):
            return ProviderError(NAME, "timeout", f"the API timed out ({where}){suffix}")
        if status == 413 or (status == 400 and looks_too_long(upstream)):
            return ProviderError(
                NAME, "context_length", f"the conversation is too long for the model ({where}){suffix}"
            )
        if status in (400, 404, 422):
            return ProviderError(NAME, "bad_request", f"the request was refused ({where}){suffix}")
        what = "the API is overloaded" if status == 529 else "the API failed"
        return ProviderError(NAME, "unavailable", f"{what} ({where}, after up to {self.max_retries} retries){suffix}")


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


class AnthropicProvider:
    """The Messages API (``complete`` and ``stream``) through the ``anthropic`` SDK."""

    name = NAME

    def __init__(self, connection: AnthropicConnection, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.connection = connection
        self.default_max_tokens = default_max_tokens
        self._client: AsyncAnthropic | None = None

    def _sdk(self) -> AsyncAnthropic:
        if self._client is None:
            self._client = self.connection.client()
        return self._client

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
        import anthropic

        params = self._params(messages, model, options)
        try:
            response: Any = await self._sdk().messages.create(**params)
        except anthropic.AnthropicError as exc:
            raise self.connection.error(exc) from None
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
        import anthropic

        params = self._params(messages, model, options)
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        stop_reason: str | None = None
        try:
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
        except anthropic.AnthropicError as exc:
            raise self.connection.error(exc) from None
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


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(AnthropicSettings)
    register(LLMEndpointSettings)


def resolve_connection(settings: Settings, config: Mapping[str, Any]) -> AnthropicConnection | None:
    """The connection a workspace gets, or ``None`` when there is no key to use."""
    own = settings.group(AnthropicSettings)
    platform_key = own.anthropic_api_key.reveal() if own.anthropic_api_key else ""
    allow_private = settings.group(LLMEndpointSettings).llm_allow_private_base_url
    found = config_key_and_url(
        NAME, config, platform_key, own.anthropic_base_url or DEFAULT_BASE_URL, allow_private=allow_private
    )
    if found is None:
        return None
    key, base_url, source = found
    return AnthropicConnection(
        api_key=key,
        base_url=base_url,
        timeout=config_seconds(NAME, config, "timeout", DEFAULT_TIMEOUT, 600),
        max_retries=config_int(NAME, config, "max_retries", DEFAULT_MAX_RETRIES, 0, 10),
        source=source,
        workspace_url=bool(config.get("base_url")),
        allow_private=allow_private,
    )


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
