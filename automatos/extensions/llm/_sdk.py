"""The connection and the provider shape the two Stainless-SDK providers (OpenAI, Anthropic) share.

A provider module declares only what differs — its SDK and client class, its base error class, the
variable of the platform key, how an SDK exception maps to a status, and how a request and an
answer look on the wire — and inherits the rest from here:

- :class:`SDKPools`: one HTTP pool per event loop and SDK (building a client with its own pool costs
  ~25 ms, its TLS context; with a shared one ~0.1 ms), and a second, public-addresses-only pool for a
  workspace's own ``base_url`` while ``LLM_ALLOW_PRIVATE_BASE_URL`` is off.
- :meth:`SDKConnection.resolve`: a workspace's key and endpoint (its own ``api_key`` wins; a
  workspace ``base_url`` needs it: the platform key only goes to the platform's endpoint), timeout
  and retries, from its configuration and the platform's settings.
- :meth:`SDKConnection.refusal`: what each HTTP status left after the SDK's retries means for the
  caller (``auth``, ``rate_limit``, ``timeout``, ``context_length``, ``bad_request``,
  ``unavailable``), in one wording; :meth:`SDKConnection.errors` turns the SDK's exceptions into
  :class:`~automatos.kernel.errors.ProviderError` (not chained: an SDK exception's text may hold the
  unredacted body).
- :class:`SDKProvider`: the SDK client, made on first use and kept by the provider object.

Private to :mod:`automatos.extensions.llm`; importing it imports no SDK (they are imported on first use).
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from automatos.extensions.llm._common import (
    LLMEndpointSettings,
    LoopPool,
    config_int,
    config_key_and_url,
    config_seconds,
    host,
    log,
    looks_too_long,
    message_of,
    never_connected,
    public_only_client,
    redact,
    retry_after,
)
from automatos.kernel.errors import ProviderError
from automatos.kernel.settings import Secret, Settings, SettingsGroup

__all__ = ["SDKConnection", "SDKPools", "SDKProvider"]

C = TypeVar("C", bound="SDKConnection")


class SDKPools:
    """The HTTP pools of one SDK (``openai``, ``anthropic``): shared, and public addresses only."""

    def __init__(self, sdk: str) -> None:
        self.sdk = sdk
        self.shared = LoopPool(lambda: self._client_class()())
        self.public = LoopPool(lambda: public_only_client(self._client_class()))
        """For a workspace's own ``base_url`` while ``LLM_ALLOW_PRIVATE_BASE_URL`` is off."""

    def _client_class(self) -> Any:
        return importlib.import_module(self.sdk).DefaultAsyncHttpxClient

    def pool(self, *, workspace_url: bool, allow_private: bool) -> LoopPool:
        return self.public if workspace_url and not allow_private else self.shared


@dataclass(frozen=True)
class SDKConnection(abc.ABC):
    """Where and how to call the API, resolved from the workspace's config and the settings
    (``source`` ``platform`` means the platform's key, :attr:`KEY_VARIABLE`)."""

    PROVIDER: ClassVar[str]
    """The provider's name (``ProviderError.provider``)."""
    SDK: ClassVar[str]
    """The SDK's module."""
    CLIENT: ClassVar[str]
    """Its async client class."""
    ERROR: ClassVar[str]
    """Its base exception class."""
    KEY_VARIABLE: ClassVar[str]
    """The platform key's variable, named when the key is refused."""
    TITLE: ClassVar[str]
    """The provider as a sentence names it (``OpenAI``)."""
    POOLS: ClassVar[SDKPools]
    SETTINGS: ClassVar[type[SettingsGroup]]
    """The provider's settings struct: its fields ``<PROVIDER>_api_key`` and ``<PROVIDER>_base_url``."""
    DEFAULT_URL: ClassVar[str]
    """The endpoint when neither the workspace nor the settings name one."""
    DEFAULT_TIMEOUT: ClassVar[float] = 120.0
    DEFAULT_MAX_RETRIES: ClassVar[int] = 2

    api_key: str = field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    source: str
    """``workspace`` (the workspace's own key) or ``platform`` (the platform's key setting)."""
    workspace_url: bool = False
    """``base_url`` came from the workspace's config: its hosts are checked when connecting (unless
    ``allow_private``) and its error bodies are logged, never shown to the caller (a member must not
    read what a server on the platform's network answered)."""
    allow_private: bool = True
    """``LLM_ALLOW_PRIVATE_BASE_URL``: a workspace ``base_url`` may reach private addresses."""

    @classmethod
    def for_workspace(cls: type[C], settings: Settings, config: Mapping[str, Any]) -> C | None:
        """The connection a workspace with ``config`` gets under ``settings``, or ``None`` when there
        is no key to use."""
        own = settings.group(cls.SETTINGS)
        key: Secret | None = getattr(own, f"{cls.PROVIDER}_api_key")
        url: str = getattr(own, f"{cls.PROVIDER}_base_url") or cls.DEFAULT_URL
        allow_private = settings.group(LLMEndpointSettings).llm_allow_private_base_url
        return cls.resolve(config, key, url, allow_private=allow_private)

    @classmethod
    def resolve(
        cls: type[C], config: Mapping[str, Any], platform_key: Secret | None, platform_url: str, *, allow_private: bool
    ) -> C | None:
        """The connection a workspace gets, or ``None`` when there is no key to use."""
        provider = cls.PROVIDER
        found = config_key_and_url(
            provider, config, platform_key.reveal() if platform_key else "", platform_url, allow_private=allow_private
        )
        if found is None:
            return None
        key, base_url, source = found
        return cls(
            api_key=key,
            base_url=base_url,
            timeout=config_seconds(provider, config, "timeout", cls.DEFAULT_TIMEOUT, 600),
            max_retries=config_int(provider, config, "max_retries", cls.DEFAULT_MAX_RETRIES, 0, 10),
            source=source,
            workspace_url=bool(config.get("base_url")),
            allow_private=allow_private,
        )

    def sdk(self) -> Any:
        return importlib.import_module(self.SDK)

    def client(self) -> Any:
        """An SDK client with this connection's key and endpoint, on this loop's pool."""
        pool = self.POOLS.pool(workspace_url=self.workspace_url, allow_private=self.allow_private)
        return getattr(self.sdk(), self.CLIENT)(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=pool.get(),
        )

    def shown(self, message: str) -> str:
        """What of an upstream error ``message`` (already redacted) the caller may read."""
        if not self.workspace_url or not message:
            return message
        log.warning("%s answered an error: %s", host(self.base_url), message)
        return ""

    def error(self, exc: Exception) -> ProviderError:
        """The :class:`ProviderError` for an SDK exception; its text never holds the key."""
        found = self._transport_error(exc) or self.status_error(exc)
        if found is not None:
            return found
        return ProviderError(
            self.PROVIDER, "unavailable", f"unexpected failure of the {self.TITLE} client: {type(exc).__name__}"
        )

    @abc.abstractmethod
    def status_error(self, exc: Exception) -> ProviderError | None:
        """The subclass's reading of an HTTP error (or an error event in a stream) of its SDK, through
        :meth:`refusal`; ``None`` for any other exception."""

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Around a call of the SDK: its exceptions become :class:`ProviderError` (not chained)."""
        base = getattr(self.sdk(), self.ERROR)
        try:
            yield
        except base as exc:
            raise self.error(exc) from None

    def _transport_error(self, exc: Exception) -> ProviderError | None:
        """A timeout or an unreachable server, after the SDK's own retries; ``None`` for anything else."""
        sdk = self.sdk()
        tries = f"{self.max_retries + 1} attempt{'s' if self.max_retries else ''}"
        sent = not never_connected(exc)  # refused, unresolvable, connect timeout: nothing is owed
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(self.PROVIDER, "timeout", f"no answer within {self.timeout:g} s ({tries})", sent=sent)
        if isinstance(exc, sdk.APIConnectionError):
            detail = f"could not reach {host(self.base_url)} ({tries})"
            return ProviderError(self.PROVIDER, "unavailable", detail, sent=sent)
        return None

    def refusal(
        self,
        status: int,
        body: object,
        *,
        label: str | None,
        headers: Mapping[str, str],
        request_id: str | None,
        in_stream: bool = False,
        rate: str = "rate limited",
        too_long: bool = False,
        failure: str = "the API failed",
    ) -> ProviderError:
        """What an HTTP error ``status`` (or one inside a stream) means, in words the caller can act on.

        ``label`` is the upstream's error code or type (redacted here), shown when the key is
        refused; ``rate`` words a 429; ``too_long`` says the upstream's code already means the
        context is too long; ``failure`` words any other status.
        """
        provider = self.PROVIDER
        upstream = redact(message_of(body), self.api_key)
        message = self.shown(upstream)  # a workspace's own endpoint: logged, not shown
        label = redact(label, self.api_key) if label else None
        where = "in the stream" if in_stream else f"HTTP {status}"
        request = f" [request {request_id}]" if request_id else ""
        suffix = (f": {message}" if message else "") + request
        if status in (401, 402, 403):
            whose = "the workspace's key (config api_key)" if self.source == "workspace" else self.KEY_VARIABLE
            detail = f"the API key was refused ({where}{', ' + label if label else ''}); check {whose}{request}"
            return ProviderError(provider, "auth", detail)
        if status == 429:
            wait = None if in_stream else retry_after(headers)
            hint = f"; retry after {wait:g} s" if wait is not None else ""
            detail = f"{rate} ({where}, after up to {self.max_retries} retries){hint}{suffix}"
            return ProviderError(provider, "rate_limit", detail, retry_after=wait)
        if status in (408, 504):
            return ProviderError(provider, "timeout", f"the API timed out ({where}){suffix}")
        if status == 413 or (status == 400 and (too_long or looks_too_long(upstream))):
            return ProviderError(
                provider, "context_length", f"the conversation is too long for the model ({where}){suffix}"
            )
        if status in (400, 404, 422):
            return ProviderError(provider, "bad_request", f"the request was refused ({where}){suffix}")
        return ProviderError(
            provider, "unavailable", f"{failure} ({where}, after up to {self.max_retries} retries){suffix}"
        )


class SDKProvider:
    """What a provider object on an SDK keeps: its connection, and the client made on first use."""

    def __init__(self, connection: SDKConnection) -> None:
        self.connection = connection
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            self._client = self.connection.client()
        return self._client
