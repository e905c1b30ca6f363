"""Composio's settings and the one SDK client built from them.

- :class:`ComposioSettings` (``COMPOSIO_API_KEY`` — a secret —, ``COMPOSIO_BASE_URL``, timeouts,
  retries, the webhook secret, the public URL the OAuth flow comes back to), handed to the kernel by
  the composition root like every feature package's struct.
- :class:`ComposioClient`: the ``composio`` SDK's client, built once from them with **telemetry
  off**, or none at all without an API key — then Composio is simply absent: the catalogue answers
  from its cache, connecting and syncing answer 409 saying why (:meth:`ComposioClient.sdk`).
- The SDK is synchronous: :meth:`ComposioClient.call` runs each call in a thread of the client's own
  pool (:data:`THREADS`), so slow Composio calls never take the threads the rest of the process
  shares (``asyncio.to_thread``'s default executor). Its
  telemetry switch is a context variable (``composio.core.models.base.allow_tracking``) that the
  constructor sets only in the context it runs in; a call made from any other context would report to
  ``telemetry.composio.dev`` again. So every call sets it off in its own thread's context first.
- :func:`describe_error`: an SDK failure as a ``(kind, message)`` pair for a tool error —
  ``unavailable`` when Composio could not be reached, ``provider`` when it answered an error — with
  no header, key or body beyond Composio's own short message.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from automatos.kernel.errors import ConflictError
from automatos.kernel.settings import FieldDoc, SettingsGroup, setting
from automatos.kernel.settings_struct import Secret

if TYPE_CHECKING:
    from composio import Composio

    from automatos.kernel.core import Kernel

__all__ = ["ComposioClient", "ComposioSettings", "describe_error"]

T = TypeVar("T")

THREADS = 16
"""Composio calls in flight at once in this process (more wait for a thread)."""
MESSAGE_MAX_CHARS = 500
"""Most characters of Composio's error message a tool error carries."""


class ComposioSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "tools package (Composio)"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("COMPOSIO_API_KEY", "composio_api_key", "string (secret)"),
        setting("COMPOSIO_BASE_URL", "composio_base_url", "URL, or empty"),
        setting("COMPOSIO_TIMEOUT_SECONDS", "composio_timeout_seconds", "number 1-600", valid=lambda v: 1 <= v <= 600),
        setting("COMPOSIO_MAX_RETRIES", "composio_max_retries", "integer 0-5", valid=lambda v: 0 <= v <= 5),
        setting("COMPOSIO_WEBHOOK_SECRET", "composio_webhook_secret", "string (secret)"),
        setting("COMPOSIO_CALLBACK_URL", "composio_callback_url", "URL, or empty"),
    )

    composio_api_key: Secret | None = None
    """The Composio project API key. Unset: Composio is not a tool source here (the cached catalogue
    is still answered; connecting and syncing answer 409)."""
    composio_base_url: str = ""
    """Composio's API (empty: the SDK's default, ``https://backend.composio.dev``)."""
    composio_timeout_seconds: float = 30.0
    """Timeout of one request to Composio."""
    composio_max_retries: int = 2
    """Retries of a failed idempotent request (tool executions are never retried by the SDK)."""
    composio_webhook_secret: Secret | None = None
    """The secret Composio signs trigger webhooks with (its dashboard's webhook secret). Unset: the
    webhook answers 409."""
    composio_callback_url: str = ""
    """Public URL of ``GET /api/composio/callback`` (where Composio sends the user back after the
    OAuth flow; ``?connection=<id>`` is added). Empty: no callback, the status is refreshed by
    ``POST /api/tools/connections/{id}/refresh``."""


class ComposioClient:
    """The process's Composio SDK client (or its absence), see the module docstring."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._sdk: Composio | None = None
        self._building = asyncio.Lock()
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="automatos-composio")

    @property
    def settings(self) -> ComposioSettings:
        return self.kernel.settings.group(ComposioSettings)

    @property
    def configured(self) -> bool:
        return bool(self.settings.composio_api_key)

    async def sdk(self) -> Composio:
        """The SDK client; :class:`ConflictError` (409) without ``COMPOSIO_API_KEY``.

        Built on first use in one of the client's threads: importing the SDK takes seconds, which
        must not stall the event loop every request shares.
        """
        if not self.configured:
            raise ConflictError(  # the platform's configuration, not an outage: no retrying helps (409, not 503)
                "Composio is not configured on this platform (COMPOSIO_API_KEY is not set)",
                extra={"reason": "composio_not_configured"},
            )
        if self._sdk is None:
            async with self._building:
                if self._sdk is None:
                    self._sdk = await asyncio.get_running_loop().run_in_executor(self._threads, self._build)
        return self._sdk

    def _build(self) -> Composio:
        own = self.settings
        key = own.composio_api_key.reveal() if own.composio_api_key else ""  # set: sdk() checked it
        from composio import Composio  # imported on first use: the SDK is heavy

        if own.composio_base_url:  # else the SDK's default
            return Composio(
                api_key=key,
                base_url=own.composio_base_url,
                timeout=int(own.composio_timeout_seconds),
                max_retries=own.composio_max_retries,
                allow_tracking=False,
            )
        return Composio(
            api_key=key,
            timeout=int(own.composio_timeout_seconds),
            max_retries=own.composio_max_retries,
            allow_tracking=False,
        )

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` (an SDK method) in one of the client's threads, telemetry off."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(_untracked, fn, *args, **kwargs))


def _untracked(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    from composio.core.models.base import allow_tracking

    allow_tracking.set(False)  # in this thread's context: the constructor set it in another
    return fn(*args, **kwargs)


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``(kind, message)`` of an SDK failure: ``unavailable`` (not reached) or ``provider``."""
    from composio_client import APIConnectionError, APIStatusError

    if isinstance(exc, APIConnectionError | TimeoutError | ConnectionError):
        return "unavailable", "Composio could not be reached"
    if isinstance(exc, APIStatusError):
        detail = _error_message(exc.body) or exc.__class__.__name__
        return "provider", f"Composio answered {exc.status_code}: {detail}"[:MESSAGE_MAX_CHARS]
    from composio.exceptions import ComposioError

    if isinstance(exc, ComposioError):  # the SDK's own checks: its messages are its own
        return "provider", f"Composio: {exc.__class__.__name__}: {exc}"[:MESSAGE_MAX_CHARS]
    return "provider", f"Composio failed: {exc.__class__.__name__}"


def _error_message(body: object) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
            return str(message) if message else ""
        if isinstance(inner, str):
            return inner
    return ""
