"""``GET /api/me``: who the caller is, as the API sees them.

A client (or a person with a key in hand) needs to know whose credential it holds before it does
anything: the user, whether they are a platform admin, the key they authenticated with (its id,
scopes, role and workspace) and where they may act. Memberships are a page like every list; a
credential bound to one workspace (an ordinary API key) lists only that one, with the key's role.
Nothing here is secret to its owner, and nothing here shows a key's secret or hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get

from automatos.api.dependencies import request_context, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.core import Kernel
from automatos.kernel.credentials import credential_issuer
from automatos.kernel.db import models as m
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.types import Principal
from automatos.workspaces.service import WorkspaceService

__all__ = ["KeyInfo", "MeController", "MeRecord", "Membership"]


class KeyInfo(msgspec.Struct, kw_only=True):
    """The API key the request authenticated with (never its secret)."""

    id: str
    name: str
    prefix: str
    workspace_id: str
    role: str
    scopes: list[str]
    """Permission names the key is narrowed to; empty means everything its role allows."""
    expires_at: datetime | None


class Membership(msgspec.Struct, kw_only=True):
    workspace_id: str
    slug: str
    name: str
    role: str | None


class MeRecord(msgspec.Struct, kw_only=True):
    id: str
    """The principal's id: the user's, or ``key:<id>`` for a key that acts for no user."""
    kind: str
    """``user``, ``api_key`` or ``service``."""
    user_id: str | None
    email: str | None
    display_name: str | None
    is_platform_admin: bool
    auth_method: str
    key: KeyInfo | None
    """Set when the request authenticated with an API key."""
    workspace: Membership | None
    """The workspace this request acts in (``X-Workspace-ID``, the key's, or the default), with the role."""
    memberships: Page[Membership]
    """Active workspaces the caller may act in (``offset``/``limit`` page them)."""


async def _key(kernel: Kernel, principal: Principal) -> KeyInfo | None:
    # the key that authenticated (the principal says which), never one named by a header: a request
    # may carry a valid X-API-Key and another workspace's prefix in Authorization
    if principal.credential_id is None:
        return None
    issuer = credential_issuer(kernel.auth_methods, name=principal.auth_method)  # the API-key extension
    info = None if issuer is None else await issuer.describe_credential(principal.credential_id)
    return None if info is None else msgspec.convert(info, KeyInfo, from_attributes=True)


async def _user(kernel: Kernel, principal: Principal) -> m.User | None:
    if principal.id.startswith("key:"):
        return None
    async with kernel.store.sessionmaker() as session:
        return await session.get(m.User, principal.id)


async def _memberships(workspaces: WorkspaceService, principal: Principal, offset: int, limit: int) -> Page[Membership]:
    if principal.workspace_id is not None:
        record = await workspaces.get(principal.workspace_id)
        items = [Membership(workspace_id=record.id, slug=record.slug, name=record.name, role=principal.role)]
        return Page(items=items[offset : offset + limit], total=1, offset=offset, limit=limit)
    records, total = await workspaces.list_for_user(principal.id, offset=offset, limit=limit)
    items = [Membership(workspace_id=r.id, slug=r.slug, name=r.name, role=r.role) for r in records]
    return Page(items=items, total=total, offset=offset, limit=limit)


class MeController(Controller):
    path = "/api/me"
    tags = ["me"]

    @get("/", summary="The caller: user, platform admin flag, API key, current workspace and memberships")
    async def me(self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT) -> MeRecord:
        kernel, ctx = await request_context(request)
        principal = ctx.principal
        if principal is None:
            raise AuthenticationError("credentials are required")
        user = await _user(kernel, principal)
        key = await _key(kernel, principal) if principal.kind == "api_key" else None
        current = None
        if ctx.workspace is not None:
            current = Membership(
                workspace_id=ctx.workspace.id,
                slug=ctx.workspace.slug,
                name=ctx.workspace.name,
                role=next(iter(sorted(ctx.roles)), None),
            )
        return MeRecord(
            id=principal.id,
            kind=principal.kind,
            user_id=user.id if user is not None else None,
            email=principal.email or (user.email if user is not None else None),
            display_name=user.display_name if user is not None else None,
            is_platform_admin=principal.is_platform_admin,
            auth_method=principal.auth_method,
            key=key,
            workspace=current,
            memberships=await _memberships(services(request).workspaces(), principal, offset, limit),
        )
