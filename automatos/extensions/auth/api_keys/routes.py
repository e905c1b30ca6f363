"""``/api/api-keys``: the caller's workspace's API keys — create (the secret is shown once), list, revoke.

Mounted by the extension's ``register_routes``; the handlers take the ``kernel`` and ``ctx``
dependencies the API provides to extensions' routes (not a hot path) and call the public service
(:mod:`.service`). Same URLs, shapes and permissions as when this was a kernel controller.

The workspace is the request's (``X-Workspace-ID``, the key's own workspace, or the principal's
default). Nobody hands out more than they hold: the new key's role may not exceed the caller's role
in the workspace, and a caller narrowed by scopes may only create keys narrowed to a subset of them
(403 otherwise). A key made by a member acts for that user (and stops when they leave the
workspace); a key made by a key without a user, by a platform admin through the override, or by
the CLI acts for itself.

Nobody below owner sees or revokes a key of a principal ranked above them (platform admin > owner >
admin > member > viewer; a key ranks as the principal behind it, see :mod:`.service`): a workspace
admin's list leaves out the owners' and the platform admins' keys and revoking one is a 403. Owners
and platform admins see every key of the workspace.

What a new key may be given is capped by platform settings (``api_keys.max_lifetime_days``,
``api_keys.max_requests_per_minute``, ``api_keys.max_per_workspace``): 422 naming ``expires_at`` or
``rate_limit``, 409 when the workspace holds the most keys allowed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.extensions.auth.api_keys.service import (
    NO_CEILING,
    ApiKeyRecord,
    create_key,
    key_caps,
    list_keys,
    revoke_key,
)
from automatos.kernel.core import Kernel
from automatos.kernel.errors import PermissionDeniedError
from automatos.kernel.http import Limit, Offset, Page, scoped
from automatos.kernel.permissions import Permission, Role, highest_role, role_at_least
from automatos.kernel.types import Principal, RequestContext, Workspace

__all__ = ["ApiKeyCreate", "ApiKeyCreated", "ApiKeyInfo", "ApiKeysController"]

RoleName = Annotated[str, msgspec.Meta(pattern="^(owner|admin|member|viewer)$", description="A workspace role.")]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: RoleName = "member"
    scopes: list[str] = []
    """Permission names (``keys.read``, ``agents.use``…) the key is narrowed to; empty: all its role allows."""
    rate_limit: str | None = None
    """Requests allowed to this key, ``limits`` notation (``100/minute``); unset: the default."""
    expires_at: datetime | None = None
    """ISO 8601; a time without a zone is UTC."""


class ApiKeyCreated(msgspec.Struct):
    key: str
    """The key itself: shown this once, stored only as a hash."""
    id: str
    prefix: str
    name: str
    role: str
    scopes: list[str]
    rate_limit: str | None
    workspace_id: str
    created_at: datetime
    expires_at: datetime | None


class ApiKeyInfo(msgspec.Struct):
    id: str
    prefix: str
    name: str
    role: str
    scopes: list[str]
    rate_limit: str | None
    user_id: str | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _info(record: ApiKeyRecord) -> ApiKeyInfo:
    """The record as the API shows it: every field but ``workspace_id`` (the request's own)."""
    return msgspec.convert(record, ApiKeyInfo, from_attributes=True)


def _scoped(ctx: RequestContext, permission: Permission) -> tuple[Principal, Workspace]:
    got = scoped(ctx, permission)
    return got.principal, got.workspace


def _check_ceiling(ctx: RequestContext, principal: Principal, data: ApiKeyCreate) -> None:
    wanted = Role(data.role)
    if not any(role_at_least(role, wanted) for role in ctx.roles):
        held = ", ".join(sorted(ctx.roles)) or "none"
        raise PermissionDeniedError(
            f"cannot create a key with role {wanted.value}: it exceeds your role here ({held})", field="role"
        )
    if principal.scopes:
        extra = sorted(set(data.scopes) - principal.scopes) if data.scopes else ["(every permission)"]
        if extra:
            raise PermissionDeniedError(
                f"cannot grant scopes this credential does not hold: {', '.join(extra)}", field="scopes"
            )


def _ceiling(ctx: RequestContext, principal: Principal) -> Role | None:
    """The highest key rank the caller may see and revoke: none for owners and platform admins."""
    if principal.is_platform_admin or any(role_at_least(role, Role.OWNER) for role in ctx.roles):
        return NO_CEILING
    # require() has let the caller through, so it holds a role; viewer is the floor regardless
    return highest_role(ctx.roles) or Role.VIEWER


async def _acting_user(kernel: Kernel, principal: Principal, workspace: Workspace) -> str | None:
    """The user a new key acts for: the caller, when they are a member here (a user key must be).

    A platform admin acting through the override is not a member: their key acts for itself.
    """
    if principal.id.startswith("key:"):
        return None
    return principal.id if await kernel.directory.role(workspace.id, principal.id) is not None else None


class ApiKeysController(Controller):
    path = "/api/api-keys"
    tags = ["api-keys"]

    @post("/", summary="Create an API key in the workspace; the key is shown once")
    async def create_api_key(
        self, kernel: NamedDependency[Kernel], ctx: NamedDependency[RequestContext], data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        principal, workspace = _scoped(ctx, Permission.KEYS_MANAGE)
        _check_ceiling(ctx, principal, data)
        record, key = await create_key(
            kernel,
            workspace.id,
            data.name,
            data.role,
            data.scopes,
            data.rate_limit,
            data.expires_at,
            user_id=await _acting_user(kernel, principal, workspace),
            created_by=principal.id,
            request_id=ctx.request_id,
            caps=await key_caps(kernel),
        )
        return ApiKeyCreated(
            key=key,
            id=record.id,
            prefix=record.prefix,
            name=record.name,
            role=record.role,
            scopes=record.scopes,
            rate_limit=record.rate_limit,
            workspace_id=record.workspace_id,
            created_at=record.created_at,
            expires_at=record.expires_at,
        )

    @get("/", summary="The workspace's API keys (never their secrets)")
    async def list_api_keys(
        self,
        kernel: NamedDependency[Kernel],
        ctx: NamedDependency[RequestContext],
        include_revoked: Annotated[bool, QueryParameter(description="Include revoked keys.")] = False,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> Page[ApiKeyInfo]:
        principal, workspace = _scoped(ctx, Permission.KEYS_READ)
        records, total = await list_keys(
            kernel, workspace.id, offset, limit, include_revoked=include_revoked, ceiling=_ceiling(ctx, principal)
        )
        return Page(items=[_info(r) for r in records], total=total, offset=offset, limit=limit)

    @delete("/{key_id:str}", summary="Revoke an API key on every node at once")
    async def revoke_api_key(
        self, kernel: NamedDependency[Kernel], ctx: NamedDependency[RequestContext], key_id: FromPath[str]
    ) -> None:
        principal, workspace = _scoped(ctx, Permission.KEYS_MANAGE)
        await revoke_key(
            kernel, workspace.id, key_id, principal.id, request_id=ctx.request_id, ceiling=_ceiling(ctx, principal)
        )
