"""Every error leaves the API as ``application/problem+json`` (RFC 9457).

The body always has ``type``, ``title``, ``status`` and ``detail``; ``field`` names the input at
fault when there is one, and validation errors list every failing field under ``errors``. An
unexpected exception becomes a 500 whose detail carries the request id and nothing else: the
traceback goes to the log, never to the client. A database that cannot serve the request (down,
restarting, a connection that died, no connection free in time) is a 503 with ``Retry-After``, not
a 500: the client can do nothing but retry, and the server recovers by itself.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from automatos.kernel.errors import AutomatosError, ServiceUnavailableError

__all__ = ["PROBLEM_JSON", "exception_handlers", "problem"]

log = logging.getLogger("automatos.api")
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://automatos.dev/problems/"
_CHALLENGE = 'Bearer realm="automatos"'


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id") or request.headers.get("x-request-id")


def _automatos_error(request: Request[Any, Any, Any], exc: AutomatosError) -> Response[dict[str, Any]]:
    # RFC 9110: a 401 names how to authenticate (a bearer token: an API key or a JWT)
    headers = {"WWW-Authenticate": _CHALLENGE} if exc.status_code == 401 else None
    if isinstance(exc, ServiceUnavailableError):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(
        exc.status_code, exc.title, exc.detail, slug=exc.type_slug, field=exc.field, headers=headers, **exc.extra
    )


# msgspec names the field in the message when the body as a whole is at fault: a missing or unknown
# field by name, and where it is by path (``at `$.model_settings```, ``at `$.messages[0].content```)
_NAMED_FIELD = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")
_FIELD_PATH = re.compile(r"at `\$((?:\.[A-Za-z0-9_]+|\[\d+\])+)`")


def _field_of(item: dict[str, Any]) -> str | None:
    """The full path of the input at fault: ``model_settings.bogus``, ``messages[0].bogus``.

    Litestar puts where in the body the error is in ``key`` (``model_settings``; ``data`` for the
    body itself) and msgspec names a missing or unknown field in the message: both are needed.
    """
    key = item.get("key")
    if key in (None, "data") or item.get("source") == "body":
        message = str(item.get("message", ""))
        named, path = _NAMED_FIELD.search(message), _FIELD_PATH.search(message)
        if isinstance(key, str) and key not in ("", "data"):
            where = [key]
        else:
            where = [path.group(1).lstrip(".")] if path else []
        parts = where + ([named.group(1)] if named else [])
        if parts:
            return ".".join(parts)
    return key if isinstance(key, str) else None


_NO_BODY = "a JSON body is required"


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                field, message = _field_of(item), item.get("message")
                if field == "data" and message == "'data'":  # no body at all: Litestar's KeyError('data')
                    field, message = "body", _NO_BODY
                errors.append({"field": field, "message": message, "source": item.get("source")})
    first = errors[0] if errors else {}
    field = first.get("field")
    detail = f"{field}: {first.get('message')}" if field else (exc.detail or "the request is not valid")
    return problem(422, "Invalid input", detail, slug="validation", field=field, errors=errors)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # Litestar could not decode the body (malformed or truncated JSON, a lone surrogate escape):
        # say so and name the body, with the decoder's words (they give the byte offset)
        detail = f"body: {exc.detail or 'the body could not be decoded'}"
        errors = [{"field": "body", "message": exc.detail, "source": "body"}]
        return problem(400, "Malformed JSON body", detail, slug="malformed-body", field="body", errors=errors)
    title = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}.get(status, "Error")
    detail = exc.detail or title
    if status == 400 and isinstance(exc.extra, list | dict):  # litestar reports bad bodies as 400 + extra
        return _validation_error(request, ValidationException(detail=exc.detail, extra=exc.extra))
    slug = title.lower().replace(" ", "-")
    headers = dict(exc.headers or {})
    if status in (404, 405) and "container" in request.app.state:
        from automatos.api.middleware import edge_headers  # the router's answers bypass the middleware

        headers.update(edge_headers(request.app.state["container"].pipeline(), request.scope))
    return problem(status, title, detail, slug=slug, headers=headers or None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    rid = _request_id(request)
    log.exception("unhandled error on %s %s (request %s)", request.method, request.url.path, rid)
    detail = "an unexpected error occurred" + (f"; quote request id {rid}" if rid else "")
    return problem(500, "Internal error", detail, slug="internal")


# PostgreSQL cannot store NUL (U+0000) in text or jsonb: 22021 character_not_in_repertoire ("invalid
# byte sequence for encoding UTF8: 0x00") and 22P05 untranslatable_character ("unsupported Unicode
# escape sequence"). Such text can only have come from the request: the client's 422, not a 500.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _UNSTORABLE_TEXT:
        detail = "the request holds text that cannot be stored: NUL characters (U+0000) are not allowed"
        return problem(422, "Invalid input", detail, slug="validation")
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        # the connection died under the statement (a restart, a failover), or the database refused
        # work for now (SQLite busy, PostgreSQL shutting down): the pool replaces the connection
        _database_unavailable_logged(request, exc)
        return _automatos_error(request, ServiceUnavailableError("the database is unavailable; retry shortly"))
    return _unexpected(request, exc)


_unavailable_warned_at = float("-inf")


def _database_unavailable_logged(request: Request[Any, Any, Any], exc: DBAPIError) -> None:
    """One warning per minute at most: an outage must not flood the log with one line per request."""
    global _unavailable_warned_at
    now = time.monotonic()
    if now - _unavailable_warned_at >= 60.0:
        _unavailable_warned_at = now
        log.warning(
            "database unavailable on %s %s (%s: %s); answering 503",
            request.method,
            request.url.path,
            type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__,
            exc.orig,
        )


exception_handlers: dict[Any, Any] = {
    AutomatosError: _automatos_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    DBAPIError: _database_error,
    Exception: _unexpected,
}
