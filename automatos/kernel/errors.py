"""Exceptions the API turns into ``application/problem+json`` responses.

Every error carries an HTTP status, a short title and a detail a user can act on; ``field`` names
the input at fault when there is one.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "AutomatosError",
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "ServiceUnavailableError",
    "SettingsError",
    "ValidationError",
    "echo",
]

ECHO_MAX_CHARS = 100
"""Longest piece of client input a message repeats: a 60 KB header must not become a 60 KB detail."""


def echo(value: object) -> str:
    """``repr`` of client input for an error message, cut to :data:`ECHO_MAX_CHARS` characters."""
    text = str(value)
    return repr(text if len(text) <= ECHO_MAX_CHARS else text[:ECHO_MAX_CHARS] + "…")


class AutomatosError(Exception):
    status_code: int = 500
    title: str = "Internal error"
    type_slug: str = "internal"

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class ValidationError(AutomatosError):
    status_code = 422
    title = "Invalid input"
    type_slug = "validation"


class NotFoundError(AutomatosError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class ConflictError(AutomatosError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class AuthenticationError(AutomatosError):
    status_code = 401
    title = "Authentication required"
    type_slug = "unauthenticated"


class PermissionDeniedError(AutomatosError):
    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class ServiceUnavailableError(AutomatosError):
    """A dependency (the database) cannot serve this request now; the client should retry later.

    ``retry_after`` (seconds) becomes the response's ``Retry-After`` header.
    """

    status_code = 503
    title = "Service unavailable"
    type_slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 2, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail, extra=extra)
        self.retry_after = retry_after


class ProviderError(AutomatosError):
    """An LLM or embedding provider failed; names the provider and what kind of failure it was.

    ``kind`` is one of ``auth``, ``rate_limit``, ``timeout``, ``context_length``, ``bad_request``,
    ``unavailable``, ``not_enabled``. Every kind is a 502 to our caller (the fault is upstream), except
    ``context_length`` and ``bad_request``, which are 422 (the request must change), and
    ``not_enabled`` — the workspace has not enabled or configured the provider the agent names —
    which is a 409 naming ``model_settings.provider``: nothing upstream failed, a workspace admin
    must enable and configure the extension (a 5xx would send the caller retrying, or paging us).

    ``sent`` is ``False`` when the request never reached the provider (it is not enabled here, or
    its server refused the connection before anything was sent): such a call costs nothing and is
    recorded with zero tokens.
    """

    status_code = 502
    title = "Provider failed"
    type_slug = "provider-failed"
    KINDS = frozenset({"auth", "rate_limit", "timeout", "context_length", "bad_request", "unavailable", "not_enabled"})

    def __init__(
        self, provider: str, kind: str, detail: str, *, retry_after: float | None = None, sent: bool = True
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown provider error kind {kind!r}")
        field = {"context_length": "model", "not_enabled": "model_settings.provider"}.get(kind)
        super().__init__(f"{provider}: {detail}", field=field)
        self.provider = provider
        self.kind = kind
        self.retry_after = retry_after
        self.sent = sent and kind != "not_enabled"
        self.status_code = 422 if kind in ("context_length", "bad_request") else 409 if kind == "not_enabled" else 502
        if kind == "not_enabled":
            self.title, self.type_slug = "Provider not enabled", "provider-not-enabled"
        self.extra = {"provider": provider, "kind": kind}


class SettingsError(Exception):
    """A setting is malformed; the message names the variable and the expected form."""
