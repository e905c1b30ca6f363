"""OpenAI's error shape, added next to problem+json on the OpenAI-compatible routes (``/v1/…``).

OpenAI clients read ``error.message`` (and ``type``, ``param``, ``code``) from an error body and
show nothing useful without it. Automatos answers problem+json everywhere; on ``/v1/`` the body
carries this ``error`` member as well, whoever produced the answer: the controller's exception
handlers, or the request middleware (a wrong key's 401 is sent before any controller runs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAI_PREFIX", "openai_error"]

OPENAI_PREFIX = "/v1/"
"""Paths under this prefix are the OpenAI-compatible API."""

_KINDS = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}


def openai_error(body: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` member OpenAI clients expect, made from a problem+json body."""
    status = int(body.get("status", 500))
    detail, field = str(body.get("detail", "")), body.get("field")
    return {
        "message": f"{field}: {detail}" if field and not detail.startswith(str(field)) else detail,
        "type": _KINDS.get(status, "invalid_request_error" if status < 500 else "api_error"),
        "param": field,
        "code": body.get("kind"),
    }
