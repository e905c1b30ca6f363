"""What the SDK-backed providers (OpenAI, Anthropic) share: config checks, error text, pools.

Private to :mod:`automatos.extensions.llm`; importing it imports no SDK.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from automatos.kernel.errors import ProviderError

__all__ = [
    "LoopPool",
    "SDKConfig",
    "SDKConnection",
    "config_int",
    "config_key_and_url",
    "config_seconds",
    "host",
    "looks_too_long",
    "message_of",
    "never_connected",
    "redact",
    "retry_after",
]

_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk)-[\w\-*.]{4,}")
_TOO_LONG = re.compile(
    r"context.length|maximum context|context window|too many tokens|prompt is too long|input is too long", re.I
)


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


@dataclass(frozen=True)
class SDKConnection:
    """Where and how to call a Stainless-generated SDK (openai, anthropic): key, endpoint, timeouts.

    Subclasses name their SDK client and map its status errors; what the two SDKs share — the
    client built on this loop's shared pool, and what a timeout or an unreachable server means — is here.
    """

    api_key: str = field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    source: str
    """``workspace`` (the workspace's own key) or ``platform`` (the platform's key setting)."""

    def _client(self, client_class: Any, pool: LoopPool) -> Any:
        return client_class(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=pool.get(),
        )

    def _transport_error(self, provider: str, sdk: Any, exc: Exception) -> ProviderError | None:
        """A timeout or an unreachable server, after the SDK's own retries; ``None`` for anything else."""
        tries = f"{self.max_retries + 1} attempt{'s' if self.max_retries else ''}"
        sent = not never_connected(exc)  # refused, unresolvable, connect timeout: nothing is owed
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(provider, "timeout", f"no answer within {self.timeout:g} s ({tries})", sent=sent)
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderError(provider, "unavailable", f"could not reach {host(self.base_url)} ({tries})", sent=sent)
        return None


class SDKConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The configuration keys the SDK-backed providers share (their ``extension_config_schema``).

    Checked when a workspace writes its configuration, so a typo or a wrong type is a 422 naming the
    field instead of a provider that is silently not there. The hook implementations still check
    what they read (:func:`config_int`…): rows stored before the schema existed go through them.
    """

    api_key: Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"\S")] | None = None
    """The workspace's own key; without it the platform's key (if any) is used."""
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/@]+", max_length=2048)] | None = None
    """An http(s) endpoint; needs ``api_key`` (the platform's key only goes to the platform's endpoint)."""
    timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] = 120.0
    """Seconds per attempt."""
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2

    def __post_init__(self) -> None:
        if self.base_url is not None and self.api_key is None:
            raise ValueError(
                "base_url: needs the workspace's own api_key (the platform key is only sent to the platform's endpoint)"
            )


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
    provider: str, config: Mapping[str, Any], platform_key: str, platform_url: str
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
