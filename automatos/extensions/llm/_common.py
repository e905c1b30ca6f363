"""What the SDK-backed providers (OpenAI, Anthropic) share: settings, config checks, error text, pools
(the connection and provider shape on top of these: :mod:`._sdk`).

Private to :mod:`automatos.extensions.llm`; importing it imports no SDK.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import re
import sys
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from automatos.kernel.addresses import PublicOnlyBackend
from automatos.kernel.outbound import outbound_url_problem
from automatos.kernel.settings import FieldDoc, SettingsGroup, setting

__all__ = [
    "LLMEndpointSettings",
    "LoopPool",
    "SDKConfig",
    "base_url_problem",
    "config_int",
    "config_key_and_url",
    "config_seconds",
    "host",
    "http_url",
    "looks_too_long",
    "message_of",
    "never_connected",
    "public_only_client",
    "redact",
    "retry_after",
]

log = logging.getLogger("automatos.llm")
_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk)-[\w\-*.]{4,}")
_TOO_LONG = re.compile(
    r"context.length|maximum context|context window|too many tokens|prompt is too long|input is too long", re.I
)


class LLMEndpointSettings(SettingsGroup, frozen=True, kw_only=True):
    """What the OpenAI and Anthropic extensions both read (each registers it; it is listed once)."""

    OWNER: ClassVar[str] = "automatos.llm.openai, automatos.llm.anthropic"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("LLM_ALLOW_PRIVATE_BASE_URL", "llm_allow_private_base_url", "true|false"),
    )

    llm_allow_private_base_url: bool = False
    """Let a workspace's LLM ``base_url`` reach loopback, private, link-local (cloud metadata) and other
    non-public addresses. Off: such a ``base_url`` is refused when written (422) and when connecting."""


def http_url(value: object) -> bool:
    """Whether a setting's value is an http(s) URL (empty counts: the default endpoint)."""
    return str(value or "https://").startswith(("https://", "http://"))


class LoopPool:
    """One HTTP connection pool per event loop, made by ``factory`` on first use in that loop.

    An SDK client with a pool of its own costs ~25 ms to build (its TLS context); with a shared one,
    ~0.1 ms. Pools are bound to the loop their connections were opened in, hence one per loop; the
    pool holds no credentials, so sharing it across workspaces shares nothing but sockets.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None or pool.is_closed:
            pool = self._pools[loop] = self._factory()
        return pool


class SDKConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The configuration keys the SDK-backed providers share (their ``extension_config_schema``).

    Checked when a workspace writes its configuration, so a typo or a wrong type is a 422 naming the
    field instead of a provider that is silently not there. The hook implementations still check
    what they read (:func:`config_int`…): rows stored before the schema existed go through them.
    """

    api_key: Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"\S")] | None = None
    """The workspace's own key; without it the platform's key (if any) is used."""
    # msgspec's ``pattern`` is a search, hence anchored at both ends (a trailing newline, which ``$``
    # lets through, is refused by :func:`base_url_problem`)
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/@?#]+(?:[/?#]\S*)?$", max_length=2048)] | None = None
    """An http(s) endpoint; needs ``api_key`` (the platform's key only goes to the platform's endpoint)."""
    timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] = 120.0
    """Seconds per attempt."""
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2

    def __post_init__(self) -> None:
        if self.base_url is not None and self.api_key is None:
            raise ValueError(
                "base_url: needs the workspace's own api_key (the platform key is only sent to the platform's endpoint)"
            )
        if self.base_url is not None:
            # what needs no settings: whitespace, credentials, not http(s); private hosts: settings_problem
            problem = base_url_problem(self.base_url, allow_private=True)
            if problem is not None:
                raise ValueError(f"base_url: {problem}")

    def settings_problem(self, settings: Any) -> str | None:
        """``base_url`` on a private address while the operator's ``LLM_ALLOW_PRIVATE_BASE_URL`` is off.

        Called by the kernel with its settings when a configuration is written (msgspec gives
        ``__post_init__`` none); a stored row is checked again when connecting
        (:func:`config_key_and_url`).
        """
        if self.base_url is None:
            return None
        allowed = settings.group(LLMEndpointSettings).llm_allow_private_base_url
        problem = base_url_problem(self.base_url, allow_private=allowed)
        return f"base_url: {problem}" if problem is not None else None


def base_url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why a workspace may not send requests to ``url`` (``None``: it may).

    The kernel's rules for a URL a workspace gives (:func:`~automatos.kernel.outbound.outbound_url_problem`):
    credentials belong in ``api_key``, and ``LLM_ALLOW_PRIVATE_BASE_URL`` lifts the private-address
    rule; a host *name* is checked when connecting (:func:`public_only_client`), where it is resolved.
    """
    return outbound_url_problem(
        url,
        allow_private=allow_private,
        switch="LLM_ALLOW_PRIVATE_BASE_URL",
        credentials_hint="the key goes in api_key",
    )


def _refused(connect_error: type[Exception]) -> Callable[[str], Exception]:
    def refused(host: str) -> Exception:
        log.warning("refused a workspace base_url: %r resolves to a private or reserved address", host)
        return connect_error(f"{host!r} resolves to a private or reserved address")

    return refused


def public_only_client(client_class: Any) -> Any:
    """An SDK's default HTTP client (``client_class``) that connects to public addresses only.

    The SDKs ship their own copy of httpx (``httpx2`` on ``httpcore2``): the transport and the
    connect error are taken from the modules ``client_class`` is built on. Proxies from the
    environment are not used (they would connect on our behalf, past the check).
    """
    base = next(c for c in client_class.__mro__ if c.__name__ == "AsyncClient")
    httpx_module = sys.modules[base.__module__.split(".")[0]]
    transport = httpx_module.AsyncHTTPTransport(trust_env=False)
    pool = transport._pool  # the connection pool: its network backend is where connections are made
    core = sys.modules[type(pool).__module__.split(".")[0]]
    pool._network_backend = PublicOnlyBackend(
        pool._network_backend, connect_error=core.ConnectError, refused=_refused(core.ConnectError)
    )
    return client_class(transport=transport, trust_env=False)


def never_connected(exc: BaseException) -> bool:
    """Whether an SDK's connection error comes from failing to connect at all (nothing was sent).

    httpx says so with ``ConnectError``/``ConnectTimeout`` somewhere in the cause chain; matched by
    name, because an SDK may ship its own copy of httpx (``httpx2``) whose classes are not httpx's.
    """
    cause = exc.__cause__
    for _ in range(10):
        if cause is None:
            return False
        if type(cause).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def config_int(provider: str, config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{provider}: config {key!r} must be an integer from {low} to {high}, not {value!r}")
    return value


def config_seconds(provider: str, config: Mapping[str, Any], key: str, default: float, high: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise ValueError(f"{provider}: config {key!r} must be a number of seconds above 0, at most {high:g}")
    return float(value)


def config_key_and_url(
    provider: str, config: Mapping[str, Any], platform_key: str, platform_url: str, *, allow_private: bool = False
) -> tuple[str, str, str] | None:
    """``(key, base_url, source)`` for a workspace, or ``None`` when no key is available.

    The workspace's own ``api_key`` wins over the platform's. A workspace ``base_url`` requires the
    workspace's own key: the platform key is only ever sent to the platform's endpoint, or any
    workspace admin could send it to a server of their choosing.
    """
    own_key = config.get("api_key")
    base_url = config.get("base_url")
    if own_key is not None and (not isinstance(own_key, str) or not own_key.strip()):
        raise ValueError(f"{provider}: config 'api_key' must be a non-empty string")
    if base_url is not None and (not isinstance(base_url, str) or not base_url.startswith(("https://", "http://"))):
        raise ValueError(f"{provider}: config 'base_url' must be an http(s) URL")
    if base_url and not own_key:
        raise ValueError(
            f"{provider}: config 'base_url' needs the workspace's own 'api_key' "
            "(the platform key is only sent to the platform's endpoint)"
        )
    if base_url:  # rows stored before the check existed go through it too
        problem = base_url_problem(base_url, allow_private=allow_private)
        if problem is not None:
            raise ValueError(f"{provider}: config 'base_url' {problem}")
    if isinstance(own_key, str):
        return own_key.strip(), base_url or platform_url, "workspace"
    if platform_key:
        return platform_key, platform_url, "platform"
    return None


def host(url: str) -> str:
    """The host (and port) of ``url``, without any userinfo."""
    return url.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[2]


def message_of(body: object) -> str:
    """The human message of an API error body (``{"error": {"message": ...}}`` or its inner dict)."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("message") or "")
        return str(inner)
    return str(body or "")


def looks_too_long(message: str) -> bool:
    return bool(_TOO_LONG.search(message))


def redact(text: str, secret: str) -> str:
    """``text`` without ``secret`` or anything shaped like an API key, at most 300 characters."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = _KEY_LIKE.sub("[redacted]", text)
    return text if len(text) <= 300 else text[:297] + "..."


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms`` first, then ``retry-after`` (seconds or a date)."""
    for header, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            parsed = email.utils.parsedate_tz(value) if header == "retry-after" else None
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None
