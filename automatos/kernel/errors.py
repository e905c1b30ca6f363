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
    "ExtensionError",
    "NotFoundError",
    "PermissionDeniedError",
    "SettingsError",
    "ValidationError",
]


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


class ExtensionError(AutomatosError):
    """An extension's hook implementation failed; names the plugin and the hook."""

    status_code = 502
    title = "Extension failed"
    type_slug = "extension-failed"

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        super().__init__(f"extension {plugin!r} failed in hook {hook!r}: {type(error).__name__}: {error}")
        self.plugin = plugin
        self.hook = hook
        self.error = error


class SettingsError(Exception):
    """A setting is malformed; the message names the variable and the expected form."""
