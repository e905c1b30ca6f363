"""Request dependencies: the kernel, and the caller's :class:`RequestContext`.

The kernel asks the registered auth methods, in priority order, to turn the headers into a
:class:`Principal` (no method is built in yet beyond what extensions register; API keys and JWT
arrive as built-in auth extensions). The workspace comes from ``X-Workspace-ID`` (id or slug), else
the principal's default; an unknown one is a 404 that names the header.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from automatos.kernel.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from automatos.kernel.runtime import Kernel
from automatos.kernel.types import Principal, RequestContext, Workspace

__all__ = [
    "authenticate",
    "provide_context",
    "provide_kernel",
    "require_member",
    "require_platform_admin",
    "require_workspace_admin",
]

WORKSPACE_HEADER = "x-workspace-id"


def provide_kernel(state: State) -> Kernel:
    kernel: Kernel = state["kernel"]
    return kernel


async def authenticate(kernel: Kernel, headers: Any) -> Principal | None:
    """Ask each auth method in priority order; the first principal wins.

    ``AuthenticationError`` (credentials for this method, but wrong) is the caller's 401. Any other
    exception is the method's own failure: contained and counted like any hook error, and the next
    method is tried.
    """
    for method in kernel.auth_methods:
        try:
            result: Any = method.authenticate(headers)
            if hasattr(result, "__await__"):
                result = await result
        except AuthenticationError:
            raise
        except Exception as exc:
            kernel.hooks.record_failure(kernel.auth_sources.get(method.name, method.name), "authenticate", exc)
            continue
        if result is not None:
            principal: Principal = result
            return principal
    return None


async def provide_context(request: Request[Any, Any, Any], kernel: NamedDependency[Kernel]) -> RequestContext:
    principal = await authenticate(kernel, request.headers)
    wanted = request.headers.get(WORKSPACE_HEADER) or (principal.default_workspace_id if principal else None)
    workspace: Workspace | None = None
    if wanted:
        workspace = await kernel.store.get_workspace(wanted)
        if workspace is None:
            raise NotFoundError(f"workspace {wanted!r} does not exist", field="X-Workspace-ID")
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return RequestContext(request_id=request_id, principal=principal, workspace=workspace)


async def require_workspace_admin(kernel: Kernel, ctx: RequestContext, workspace: Workspace) -> Principal:
    """The caller must be a platform admin or an owner/admin of ``workspace``."""
    principal = ctx.principal
    if principal is None:
        raise AuthenticationError("credentials are required to change a workspace")
    if principal.is_platform_admin:
        return principal
    role = await kernel.store.member_role(workspace.id, principal.id)
    if role not in ("owner", "admin"):
        raise PermissionDeniedError("permission workspace.extensions.manage is required (owner or admin)")
    return principal


async def require_member(kernel: Kernel, ctx: RequestContext, workspace: Workspace) -> Principal:
    """The caller must belong to ``workspace`` (any role) or be a platform admin."""
    principal = ctx.principal
    if principal is None:
        raise AuthenticationError("credentials are required to read a workspace")
    if principal.is_platform_admin or await kernel.store.member_role(workspace.id, principal.id):
        return principal
    raise PermissionDeniedError("permission workspace.read is required (workspace member)")


def require_platform_admin(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    if not ctx.principal.is_platform_admin:
        raise PermissionDeniedError("permission platform.settings.manage is required (platform admin)")
    return ctx.principal

