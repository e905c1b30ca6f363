"""What every HTTP route shares, the API's own and extensions' (``register_routes``): the page
shape of lists and the access checks on a :class:`~automatos.kernel.types.RequestContext`.

It lives in the kernel so that an extension's routes (the API-key extension's, a third party's)
answer exactly like the kernel's without importing ``automatos.api`` (imports run one way,
docs/architecture.md); ``automatos.api.pagination`` and ``automatos.api.dependencies`` re-export it.

Pages: every list takes the same ``offset`` and ``limit`` with the same bounds and the same default
(:data:`DEFAULT_LIMIT` items, at most :data:`MAX_LIMIT`), so a client that pages one list pages
them all; ``tests/api/test_pages.py`` checks every list route of the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from automatos.kernel.errors import AuthenticationError, PermissionDeniedError, ValidationError
from automatos.kernel.permissions import Permission, allowed
from automatos.kernel.types import Principal, RequestContext, Workspace

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Limit",
    "Offset",
    "Page",
    "Scoped",
    "holds",
    "paginate",
    "require",
    "require_platform_admin",
    "scoped",
]

DEFAULT_LIMIT = 100
"""Items per page when the request does not say."""
MAX_LIMIT = 500
"""Most items one page may hold."""

Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000, description="Items to skip (at most 10⁹).")]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."),
]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def paginate(items: Sequence[T], *, offset: int, limit: int) -> Page[T]:
    return Page(items=list(items[offset : offset + limit]), total=len(items), offset=offset, limit=limit)


@dataclass(frozen=True, slots=True)
class Scoped:
    """A request resolved to a workspace the caller may act in, with the permission checked."""

    ctx: RequestContext
    workspace: Workspace
    principal: Principal

    @property
    def request_id(self) -> str:
        return self.ctx.request_id


def scoped(ctx: RequestContext, permission: Permission) -> Scoped:
    """For routes on the request's workspace (header, key or default): it must be known, and the
    caller must hold ``permission`` there. 401 without credentials, 422 naming ``X-Workspace-ID``
    when no workspace could be worked out."""
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    if ctx.workspace is None:
        raise ValidationError("name the workspace with the X-Workspace-ID header", field="X-Workspace-ID")
    return Scoped(ctx=ctx, workspace=ctx.workspace, principal=require(ctx, permission))


def holds(ctx: RequestContext, permission: Permission) -> bool:
    """Whether the caller holds ``permission`` in the context's workspace (no error either way)."""
    return ctx.principal is not None and any(allowed(role, permission, ctx.principal.scopes) for role in ctx.roles)


def require(ctx: RequestContext, permission: Permission) -> Principal:
    """The caller must hold ``permission`` in the context's workspace; 401/403 otherwise."""
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    if holds(ctx, permission):
        return ctx.principal
    raise PermissionDeniedError(f"permission {permission.value} is required", field="permission")


def require_platform_admin(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    if not ctx.principal.is_platform_admin:
        raise PermissionDeniedError("this is for platform admins only")
    return ctx.principal
