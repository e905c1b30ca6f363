"""Workspaces and their members: ``/api/workspaces`` and ``/api/workspaces/{id}/members``.

Every handler checks a permission from :mod:`automatos.kernel.permissions` in the workspace the
path names (``in_workspace``), so a member of one workspace gets 403 in another and an unknown one
404. A credential bound to one workspace (an ordinary API key) cannot create workspaces; users and
platform admins' keys can. The writes and their rules are the container's
:class:`~automatos.workspaces.service.WorkspaceService` (``services(request).workspaces()``), which
also publishes every change to the other nodes and to extensions: handlers check permissions and call it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from automatos.api.dependencies import Scoped, in_workspace, request_context, require, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.api.value_size import check_value_size
from automatos.kernel.core import Kernel
from automatos.kernel.credentials import credential_issuer
from automatos.kernel.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError
from automatos.kernel.permissions import Permission, Role, highest_role, role_at_least
from automatos.kernel.types import Principal, RequestContext
from automatos.workspaces.service import AuditEntry, Member, WorkspaceRecord, WorkspaceService

__all__ = ["AuditController", "MembersController", "WorkspacesController"]


_NO_CONTROLS = r"^[^\x00\u202a-\u202e\u2066-\u2069]*$"
"""No NUL (PostgreSQL refuses it: a 500) and no bidi overrides or isolates (a name that reads differently
from what it is, in every list that shows it)."""
# the bounds are the columns' (``workspaces.slug`` 100, ``workspaces.name`` 255, ``users.email`` 320):
# past them PostgreSQL raised StringDataRightTruncation (a 500) and SQLite stored megabytes
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_NO_CONTROLS)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=_NO_CONTROLS)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=_NO_CONTROLS)]


class WorkspaceCreate(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name


class WorkspaceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    settings: dict[str, Any] | None = None


class MemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    role: Role = Role.MEMBER


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class WorkspacesController(Controller):
    path = "/api/workspaces"
    tags = ["workspaces"]

    @post("/", summary="Create a workspace (the caller becomes its owner)")
    async def create_workspace(
        self, request: Request[Any, Any, Any], data: JSONBody[WorkspaceCreate]
    ) -> WorkspaceRecord:
        _, ctx = await request_context(request)
        principal = ctx.principal
        if principal is None:
            raise AuthenticationError("credentials are required to create a workspace")
        if principal.workspace_id is not None:
            raise PermissionDeniedError("a credential bound to one workspace cannot create workspaces")
        workspaces = services(request).workspaces()
        return await workspaces.create(data.slug, data.name, owner_id=principal.id, request_id=ctx.request_id)

    @get("/", summary="Workspaces the caller belongs to (platform admins: ?all=true for every one)")
    async def list_workspaces(
        self,
        request: Request[Any, Any, Any],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
        include_all: Annotated[
            bool, QueryParameter(name="all", description="Platform admins: every workspace")
        ] = False,
        include_archived: Annotated[
            bool, QueryParameter(description="Archived workspaces too (``status: archived``), which owners can restore")
        ] = False,
    ) -> Page[WorkspaceRecord]:
        _, ctx = await request_context(request)
        workspaces = services(request).workspaces()
        principal = ctx.principal
        if principal is None:
            raise AuthenticationError("credentials are required")
        if principal.workspace_id is not None:
            record = await workspaces.get(principal.workspace_id)
            record.role = principal.role
            items = [record][offset : offset + limit]
            return Page(items=items, total=1, offset=offset, limit=limit)
        if include_all and not principal.is_platform_admin:
            raise PermissionDeniedError("?all=true is for platform admins", field="all")
        if include_archived:
            user = None if include_all else principal.id
            records, total = await workspaces.archives.list_for_user(user, offset=offset, limit=limit)
        elif include_all:
            records, total = await workspaces.list_all(offset=offset, limit=limit)
        else:
            records, total = await workspaces.list_for_user(principal.id, offset=offset, limit=limit)
        return Page(items=records, total=total, offset=offset, limit=limit)

    @get("/{workspace_id:str}", summary="One workspace (an archived one too, to its members: status archived)")
    async def get_workspace(self, request: Request[Any, Any, Any], workspace_id: FromPath[str]) -> WorkspaceRecord:
        kernel, ctx = await request_context(request)
        workspaces = services(request).workspaces()
        try:
            scoped = await in_workspace(kernel, ctx, workspace_id, Permission.WORKSPACE_READ)
        except NotFoundError:
            found = await _archived(workspaces, ctx, workspace_id)
            if found is None:
                raise
            return found[0]
        record = await workspaces.get(scoped.workspace.id)
        record.role = next(iter(scoped.ctx.roles), None)
        return record

    @post(
        "/{workspace_id:str}/restore",
        summary="Restore an archived workspace (its owners, platform admins)",
        status_code=200,
    )
    async def restore_workspace(self, request: Request[Any, Any, Any], workspace_id: FromPath[str]) -> WorkspaceRecord:
        kernel, ctx = await request_context(request)
        workspaces = services(request).workspaces()
        found = await _archived(workspaces, ctx, workspace_id)
        if found is None:
            # not archived, or not this caller's to see: an active one is a conflict only to those who see it
            await in_workspace(kernel, ctx, workspace_id, Permission.WORKSPACE_READ)
            raise ConflictError(f"workspace {workspace_id[:100]!r} is not archived", field="workspace_id")
        record, principal = found
        if record.role != Role.OWNER.value and not principal.is_platform_admin:
            raise PermissionDeniedError(
                "only the workspace's owners or a platform admin restore it", field="permission"
            )
        restored = await workspaces.restore(record.id, actor_id=principal.id, request_id=ctx.request_id)
        restored.role = record.role
        return restored

    @patch("/{workspace_id:str}", summary="Rename a workspace or change its settings")
    async def update_workspace(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        data: JSONBody[WorkspaceUpdate],
    ) -> WorkspaceRecord:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.WORKSPACE_UPDATE)
        if data.settings is not None:
            check_value_size(kernel, data.settings, field="settings")
        record = (
            await services(request)
            .workspaces()
            .update(
                scoped.workspace.id,
                name=data.name,
                settings=data.settings,
                actor_id=scoped.principal.id,
                request_id=ctx.request_id,
            )
        )
        record.role = next(iter(scoped.ctx.roles), None)  # the caller's, as GET answers
        return record

    @delete("/{workspace_id:str}", summary="Archive a workspace (soft delete)", status_code=204)
    async def archive_workspace(self, request: Request[Any, Any, Any], workspace_id: FromPath[str]) -> None:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.WORKSPACE_ARCHIVE)
        await (
            services(request)
            .workspaces()
            .archive(scoped.workspace.id, actor_id=scoped.principal.id, request_id=ctx.request_id)
        )


async def _archived(
    workspaces: WorkspaceService, ctx: RequestContext, ref: str
) -> tuple[WorkspaceRecord, Principal] | None:
    """The archived workspace ``ref`` names with the caller's role, if the caller may see it.

    Its members see it (a key bound to it, with the key's role), and platform admins; to anyone
    else it stays a 404, as an unknown workspace is.
    """
    principal = ctx.principal
    if principal is None:
        raise AuthenticationError("credentials are required")
    found = await workspaces.archives.archived(ref)
    if found is None:
        return None
    record, roles = found
    if principal.workspace_id is not None:
        if principal.workspace_id != record.id:
            return None
        record.role = principal.role
    else:
        record.role = roles.get(principal.id)
        if record.role is None and not principal.is_platform_admin:
            return None
    return record, principal


def _owner_change(scoped: Scoped, *roles: str | None) -> None:
    """Making or unmaking an owner needs owners.manage, not just members.manage."""
    if Role.OWNER.value in roles:
        require(scoped.ctx, Permission.OWNERS_MANAGE)


class MembersController(Controller):
    path = "/api/workspaces/{workspace_id:str}/members"
    tags = ["workspaces"]

    @get("/", summary="Members of a workspace")
    async def list_members(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Member]:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.MEMBERS_READ)
        members, total = await services(request).workspaces().members(scoped.workspace.id, offset=offset, limit=limit)
        return Page(items=members, total=total, offset=offset, limit=limit)

    @post("/", summary="Add (invite) a member by e-mail")
    async def add_member(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        data: JSONBody[MemberAdd],
    ) -> Member:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.MEMBERS_MANAGE)
        _owner_change(scoped, data.role.value)
        return (
            await services(request)
            .workspaces()
            .add_member(
                scoped.workspace.id,
                data.email,
                data.role.value,
                actor_id=scoped.principal.id,
                request_id=ctx.request_id,
            )
        )

    @patch("/{user_id:str}", summary="Change a member's role")
    async def update_member(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        user_id: FromPath[str],
        data: JSONBody[MemberUpdate],
    ) -> dict[str, str]:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.MEMBERS_MANAGE)
        workspaces = services(request).workspaces()
        current = await workspaces.member_role(scoped.workspace.id, user_id)
        _owner_change(scoped, current, data.role.value)
        previous = await workspaces.set_role(
            scoped.workspace.id, user_id, data.role.value, actor_id=scoped.principal.id, request_id=ctx.request_id
        )
        return {"user_id": user_id, "role": data.role.value, "previous_role": previous}

    @delete("/{user_id:str}", summary="Remove a member", status_code=204)
    async def remove_member(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        user_id: FromPath[str],
    ) -> None:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.MEMBERS_MANAGE)
        workspaces = services(request).workspaces()
        _owner_change(scoped, await workspaces.member_role(scoped.workspace.id, user_id))
        await workspaces.remove_member(
            scoped.workspace.id, user_id, actor_id=scoped.principal.id, request_id=ctx.request_id
        )


class AuditController(Controller):
    path = "/api/workspaces/{workspace_id:str}/audit"
    tags = ["workspaces"]

    @get("/", summary="The workspace's audit log, newest first (?action=key.* filters by prefix)")
    async def list_audit(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        action: FromQuery[str | None] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AuditEntry]:
        kernel, ctx = await request_context(request)
        scoped = await in_workspace(kernel, ctx, workspace_id, Permission.AUDIT_READ)
        workspaces = services(request).workspaces()
        entries, total = await workspaces.audit(scoped.workspace.id, action=action, offset=offset, limit=limit)
        return Page(items=await _keys_within_rank(kernel, scoped, entries), total=total, offset=offset, limit=limit)


async def _keys_within_rank(kernel: Kernel, scoped: Scoped, entries: list[AuditEntry]) -> list[AuditEntry]:
    """Entries about keys ranked above the caller keep their action but lose what /api/api-keys hides.

    A workspace admin does not see owners' and platform admins' keys in ``/api/api-keys``; the audit
    log must not show their prefix, name and role either (the entry, its actor and time stay).
    """
    principal, roles = scoped.principal, scoped.ctx.roles
    if principal.is_platform_admin or any(role_at_least(role, Role.OWNER) for role in roles):
        return entries
    key_ids = [e.target_id for e in entries if e.target_type == "api_key"]
    if not key_ids:
        return entries
    issuer = credential_issuer(kernel.auth_methods, credential_type="api_key")  # the API-key extension
    ceiling = highest_role(roles) or Role.VIEWER
    seen = set() if issuer is None else await issuer.visible_credentials(scoped.workspace.id, key_ids, ceiling)
    return [
        msgspec.structs.replace(e, data={"hidden": "a key ranked above your role"})
        if e.target_type == "api_key" and e.target_id not in seen
        else e
        for e in entries
    ]
