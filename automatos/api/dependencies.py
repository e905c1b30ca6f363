"""Request dependencies: the kernel, and the caller's :class:`RequestContext`.

Contract with the middleware (:mod:`automatos.api.middleware`): it authenticates once per request
and leaves ``scope["state"]["principal"]`` (a :class:`Principal` or ``None``) and
``scope["state"]["request_id"]``. When the middleware is absent (an app built without it), the
context authenticates itself, so handlers behave the same either way.

Workspace resolution: ``X-Workspace-ID`` (id or slug), else the workspace a credential is bound to
(API keys), else the principal's default. Unknown → 404 naming the header (an archived one: 404
saying so and how to restore it, to those who may know of it); anonymous → 401; not a member →
403. A platform admin who is not a member may act with ``X-Admin-Override: true``, and every such
request is written to the audit log.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from automatos.kernel.core import Kernel
from automatos.kernel.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    echo,
)
from automatos.kernel.http import Scoped, require, require_platform_admin, scoped  # shared with extensions' routes
from automatos.kernel.logging import bind
from automatos.kernel.permissions import Permission, Role
from automatos.kernel.request_context import CURRENT_CONTEXT
from automatos.kernel.types import Principal, RequestContext, Workspace
from automatos.workspaces.service import WorkspaceService

if TYPE_CHECKING:
    from automatos.container import Container

__all__ = [
    "Scoped",
    "authenticate",
    "in_workspace",
    "kernel_of",
    "provide_context",
    "provide_kernel",
    "request_context",
    "require",
    "require_platform_admin",
    "scoped",
    "services",
    "workspace_context",
]

WORKSPACE_HEADER = "x-workspace-id"
OVERRIDE_HEADER = "x-admin-override"
_UNSET = object()


def provide_kernel(state: State) -> Kernel:
    kernel: Kernel = state["kernel"]
    return kernel


def kernel_of(request: Request[Any, Any, Any]) -> Kernel:
    kernel: Kernel = request.app.state["kernel"]
    return kernel


def services(request: Request[Any, Any, Any]) -> Container:
    """The composition root the app was built from: ``services(request).chat()`` is the ready service."""
    container: Container = request.app.state["container"]
    return container


async def request_context(request: Request[Any, Any, Any]) -> tuple[Kernel, RequestContext]:
    """What the ``kernel`` and ``ctx`` dependencies give, without Litestar's dependency injection.

    The kernel's own controllers call this: resolving two injected dependencies cost ~19 µs per
    request measured here (bench/stack_inproc.py), a third of the whole authenticated request.
    Extensions' routes may keep using the ``kernel`` and ``ctx`` dependencies.
    """
    kernel = kernel_of(request)
    return kernel, await provide_context(request, kernel)


async def authenticate(kernel: Kernel, headers: Any) -> Principal | None:
    """Ask each auth method in priority order; the first principal wins.

    ``AuthenticationError`` (credentials for this method, but wrong) is the caller's 401, and
    ``ServiceUnavailableError`` (the database is down) the caller's 503: a valid key must not read as
    no key at all. Any other exception is the method's own failure: contained and counted like any
    hook error, and the next method is tried.
    """
    for method in kernel.auth_methods:
        try:
            result: Any = method.authenticate(headers)
            if hasattr(result, "__await__"):
                result = await result
        except (AuthenticationError, ServiceUnavailableError):
            raise
        except Exception as exc:
            kernel.hooks.record_failure(kernel.auth_sources.get(method.name, method.name), "authenticate", exc)
            continue
        if result is not None:
            principal: Principal = result
            return principal
    return None


async def workspace_context(
    kernel: Kernel,
    *,
    principal: Principal | None,
    ref: str,
    request_id: str,
    override: bool = False,
    field: str = "workspace_id",
) -> tuple[Workspace, frozenset[str]]:
    """Resolve ``ref`` to a workspace the principal may act in, and its roles there.

    Read from ``kernel.directory``: the workspaces package's cache, which its service clears after
    every workspace or membership write, on every node.
    """
    workspace = await kernel.directory.workspace(ref)
    if workspace is None:
        raise await _missing(kernel, principal, ref, field)
    if principal is None:
        raise AuthenticationError("credentials are required to act in a workspace")
    if principal.workspace_id is not None:
        if principal.workspace_id != workspace.id:
            raise PermissionDeniedError(f"this credential belongs to another workspace than {echo(ref)}", field=field)
        return workspace, frozenset({principal.role or Role.VIEWER.value})
    role = await kernel.directory.role(workspace.id, principal.id)
    if role is not None:
        return workspace, frozenset({role})
    if principal.is_platform_admin and override:
        await kernel.store.audit(
            workspace.id, principal.id, "admin.override", "workspace", workspace.id, {}, request_id=request_id
        )
        return workspace, frozenset({Role.OWNER.value})
    if principal.is_platform_admin:
        raise PermissionDeniedError(
            f"platform admins act in {echo(ref)} only with 'X-Admin-Override: true' (audited)", field=field
        )
    raise PermissionDeniedError(f"you are not a member of workspace {echo(ref)}", field=field)


async def _missing(kernel: Kernel, principal: Principal | None, ref: str, field: str) -> NotFoundError:
    """404 for a workspace that cannot be acted in: archived (say so, and how to restore it) or unknown.

    Only read when the directory found no active workspace, so the resolved path costs nothing. An
    archived workspace stays a 404 (not a place to act in until restored: the README's archived
    rule), but "does not exist" would send its owners looking for a deleted one. Only those who may
    know of it are told (its members, its own keys, platform admins); to anyone else it does not
    exist, as ``POST /api/workspaces/{id}/restore`` answers them.
    """
    if principal is None:
        return NotFoundError(f"workspace {echo(ref)} does not exist", field=field)
    found = await WorkspaceService.of(kernel).archives.archived(ref)
    if found is not None:
        record, members = found
        if principal.is_platform_admin or principal.workspace_id == record.id or principal.id in members:
            return NotFoundError(
                f"workspace {echo(ref)} is archived; its owners (or a platform admin) can restore it with"
                f" POST /api/workspaces/{record.id}/restore",
                field=field,
            )
    return NotFoundError(f"workspace {echo(ref)} does not exist", field=field)


async def provide_context(request: Request[Any, Any, Any], kernel: NamedDependency[Kernel]) -> RequestContext:
    state = request.scope.get("state") or {}
    principal = state.get("principal", _UNSET)
    if principal is _UNSET:
        principal = await authenticate(kernel, request.headers)
    request_id = state.get("request_id") or request.headers.get("x-request-id") or uuid.uuid4().hex
    override = request.headers.get(OVERRIDE_HEADER, "").lower() == "true"
    ref = request.headers.get(WORKSPACE_HEADER)
    field = "X-Workspace-ID"
    if not ref and principal is not None:
        ref = principal.workspace_id or principal.default_workspace_id
        field = "workspace"
    workspace: Workspace | None = None
    roles: frozenset[str] = frozenset()
    path_ref = request.path_params.get("workspace_id")
    if ref and path_ref is None:  # a path that names its workspace is resolved by its handler
        workspace, roles = await workspace_context(
            kernel, principal=principal, ref=ref, request_id=request_id, override=override, field=field
        )
    bind(
        request_id=request_id,
        principal_id=principal.id if principal else None,
        workspace_id=workspace.id if workspace else None,
    )
    ctx = RequestContext(
        request_id=request_id, principal=principal, workspace=workspace, roles=roles, admin_override=override
    )
    CURRENT_CONTEXT.set(ctx)
    return ctx


async def in_workspace(kernel: Kernel, ctx: RequestContext, workspace_ref: str, permission: Permission) -> Scoped:
    """For routes that name their workspace in the path: resolve it, check ``permission``."""
    workspace, roles = await workspace_context(
        kernel, principal=ctx.principal, ref=workspace_ref, request_id=ctx.request_id, override=ctx.admin_override
    )
    scoped = msgspec.structs.replace(ctx, workspace=workspace, roles=roles)
    bind(workspace_id=workspace.id)
    CURRENT_CONTEXT.set(scoped)
    principal = require(scoped, permission)
    return Scoped(ctx=scoped, workspace=workspace, principal=principal)
