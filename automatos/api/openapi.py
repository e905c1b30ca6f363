"""The OpenAPI document as the API really behaves: who may call, which headers, which errors.

Litestar generates operations from the handlers' signatures, but it cannot know what happens
around them: the request middleware authenticates (API key as ``Authorization: Bearer atk_…`` or
``X-API-Key``, or a JWT), rate limits (429), bounds bodies (400, 408); the handlers resolve the
workspace from ``X-Workspace-ID`` (or a path id, with ``X-Admin-Override`` for platform admins)
and answer every error as ``application/problem+json``. Its default error entry — a 400 in
Litestar's own ``ValidationException`` shape — is one the API never sends (validation failures are
422 problem+json). So after Litestar builds the document, :func:`document` rewrites it:

- ``components.securitySchemes``: ``apiKey`` (HTTP bearer, ``atk_…``), ``apiKeyHeader``
  (``X-API-Key``), ``jwt`` (HTTP bearer, JWT); every operation requires one of them except the
  public ones (health probes, pre-signed blob transfers, whose URL carries the signature);
- ``X-Workspace-ID`` on operations that act in the request's workspace, ``X-Admin-Override`` on
  every workspace-scoped operation (header or path);
- per operation the errors it can answer (400/401/403/404/408/409/422/429/503), each with the
  ``Problem`` schema under ``application/problem+json``; 429 with ``Retry-After`` and the
  ``RateLimit-*`` headers.

Which operations are workspace-scoped is read from the handler's code once, when the document is
built (calls of :func:`automatos.api.dependencies.scoped` or :func:`~automatos.api.dependencies.in_workspace`):
the handler is where that is decided, and a test walks the document against it.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from litestar._openapi.plugin import OpenAPIPlugin
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from automatos.api.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.openapi.spec import OpenAPI

__all__ = ["PROBLEM_SCHEMA", "PUBLIC_PREFIXES", "SECURITY", "document", "install"]

PUBLIC_PREFIXES = ("/health", "/api/blobs/")
"""Operations anyone may call: probes, and blob transfers authorized by their pre-signed URL."""
SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"apiKeyHeader": []}, {"jwt": []}]
PROBLEM_SCHEMA = "Problem"
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
_HEADER_SEEDS = frozenset({"scoped"})
_PATH_SEEDS = frozenset({"in_workspace"})

_REASONS = {
    400: "The body is not JSON the API can read (malformed, or nested deeper than JSON_MAX_DEPTH)",
    401: "Credentials are missing or not valid (WWW-Authenticate says how to authenticate)",
    403: "The caller lacks the permission (or the workspace role) this needs",
    404: "The workspace or the resource does not exist",
    408: "The request body stopped arriving (HTTP_BODY_TIMEOUT_SECONDS)",
    409: "Conflicts with the current state (a slug in use, an archived resource, the last owner)",
    422: "A field is not valid; `field` names it and `errors` lists every failing field",
    429: "Over a rate limit; retry after Retry-After seconds",
    503: "A dependency (database, Redis, the sandbox) is unavailable; retry later",
}


def _problem_schema() -> Schema:
    string = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        description="RFC 9457 problem details, as every error of the API is sent",
        required=["type", "title", "status", "detail"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, format=None, description="a URI naming the kind of problem"),
            "title": string,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": Schema(type=OpenAPIType.STRING, description="what went wrong, in words a user can act on"),
            "field": Schema(type=OpenAPIType.STRING, description="the input at fault, when there is one"),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                description="every failing field of a 422",
                items=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={"field": string, "message": string, "source": string},
                ),
            ),
            "retry_after": Schema(type=OpenAPIType.INTEGER, description="seconds, on a 429"),
            "limit": Schema(type=OpenAPIType.STRING, description="the limit exceeded, on a 429"),
        },
        additional_properties=True,
    )


def _problem(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    integer = Schema(type=OpenAPIType.INTEGER)
    if status == 429:
        headers = {
            "Retry-After": OpenAPIHeader(schema=integer, description="seconds until a request would be allowed"),
            "RateLimit-Limit": OpenAPIHeader(schema=integer, description="requests allowed per window"),
            "RateLimit-Remaining": OpenAPIHeader(schema=integer, description="requests left now"),
            "RateLimit-Reset": OpenAPIHeader(schema=integer, description="seconds until the count goes down"),
        }
    elif status == 503:
        headers = {"Retry-After": OpenAPIHeader(schema=integer, description="seconds to wait before retrying")}
    return OpenAPIResponse(
        description=_REASONS[status],
        headers=headers,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(f"#/components/schemas/{PROBLEM_SCHEMA}"))},
    )


def _header(name: str, description: str) -> Parameter:
    return Parameter(
        name=name,
        param_in=ParamType.HEADER,
        required=False,
        schema=Schema(type=OpenAPIType.STRING),
        description=description,
    )


_WORKSPACE = _header(
    "X-Workspace-ID",
    "The workspace to act in (id or slug); else the workspace the key is bound to, else `default`",
)
_OVERRIDE = _header(
    "X-Admin-Override",
    "`true` lets a platform admin who is not a member act in the workspace (audited)",
)


def _callers(module: Any, seeds: frozenset[str]) -> frozenset[str]:
    """Names of ``module``'s functions that call one of ``seeds``, directly or through each other."""
    sources: dict[str, str] = {}
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if getattr(fn, "__module__", None) == module.__name__:
            try:
                sources[name] = inspect.getsource(fn)
            except (OSError, TypeError):
                continue
    found = set(seeds)
    while True:
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(found))) + r")\(")
        more = {name for name, source in sources.items() if name not in found and pattern.search(source)}
        if not more:
            return frozenset(found)
        found |= more


def _scoping(handler: Any) -> tuple[bool, bool]:
    """(acts in the request's workspace, acts in a workspace named in the path) from the handler's code."""
    fn = getattr(handler, "fn", None)
    module = inspect.getmodule(fn)
    try:
        source = inspect.getsource(fn)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False, False
    scoped = _HEADER_SEEDS if module is None else _callers(module, _HEADER_SEEDS)
    named = _PATH_SEEDS if module is None else _callers(module, _PATH_SEEDS)

    def calls(names: frozenset[str]) -> bool:
        return re.search(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\(", source) is not None

    return calls(scoped), calls(named)


def _handlers(app: Litestar) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method, (handler, _) in route.route_handler_map.items():
                found[(route.path_format or "/", method.lower())] = handler
    return found


def _errors(path: str, method: str, operation: Operation, header_scoped: bool, path_scoped: bool) -> list[int]:
    public = path.startswith(PUBLIC_PREFIXES)
    has_body = operation.request_body is not None
    has_params = bool(operation.parameters) or "{" in path
    if path == "/health":
        return []
    if path.startswith("/health"):
        return [429, 503]
    codes = {503}
    if has_body:
        codes |= {400, 408, 422}
    if has_params:
        codes |= {404, 422}
    if public:
        return sorted(codes | {403})  # a pre-signed URL's signature or expiry
    codes |= {401, 403, 429}
    if header_scoped:
        codes |= {404, 422}  # an unknown workspace; none could be worked out (422 naming X-Workspace-ID)
    if path_scoped:
        codes.add(404)
    if method in ("post", "put", "patch", "delete"):
        codes.add(409)
    return sorted(codes)


def document(openapi: OpenAPI, app: Litestar) -> OpenAPI:
    """Add security, workspace headers and problem+json errors to Litestar's document (in place)."""
    components = openapi.components
    components.security_schemes = {
        **(components.security_schemes or {}),
        "apiKey": SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="atk_…",
            description="An API key: `Authorization: Bearer atk_…` (also what OpenAI clients send on /v1)",
        ),
        "apiKeyHeader": SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description="The same API key in `X-API-Key`",
        ),
        "jwt": SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="A JWT from the configured identity provider (JWKS), as `Authorization: Bearer`",
        ),
    }
    components.schemas = {**(components.schemas or {}), PROBLEM_SCHEMA: _problem_schema()}
    handlers = _handlers(app)
    for path, item in (openapi.paths or {}).items():
        for method in _METHODS:
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            handler = handlers.get((path, method))
            header_scoped, path_scoped = _scoping(handler) if handler is not None else (False, False)
            operation.security = [] if path.startswith(PUBLIC_PREFIXES) else list(SECURITY)
            parameters = list(operation.parameters or [])
            names = {getattr(p, "name", "").lower() for p in parameters}
            if header_scoped and "x-workspace-id" not in names:
                parameters.append(_WORKSPACE)
            if (header_scoped or path_scoped) and "x-admin-override" not in names:
                parameters.append(_OVERRIDE)
            operation.parameters = parameters or None
            responses = {code: r for code, r in (operation.responses or {}).items() if code[:1] not in ("4", "5")}
            for status in _errors(path, method, operation, header_scoped, path_scoped):
                responses[str(status)] = _problem(status)
            operation.responses = responses
    return openapi


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's plugin whose every build of the document ends with :func:`document`."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        return document(super()._build_openapi(), self.app)


def install(app: Litestar) -> None:
    """Make ``app``'s OpenAPI document pass through :func:`document` whenever Litestar builds it.

    Litestar creates its OpenAPI plugin itself (slotted, no hook after the build), so the instance
    is given a subclass that adds the step; the document is still built lazily, on first request.
    """
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _DocumentedOpenAPIPlugin
    plugin._openapi = None
    plugin._openapi_schema = None
