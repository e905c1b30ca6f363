"""Workspaces, their members and their audit trail: the queries and the rules.

Rules kept here, not in handlers, so the CLI and the API cannot disagree:
- the creator of a workspace is its owner; a workspace always keeps at least one owner;
- only an owner may make or unmake owners (the permission check is the caller's; this module
  refuses to leave a workspace without an owner);
- adding a member by e-mail creates the user row if it does not exist yet (an invitation: the
  person signs in later through JWT and is matched by e-mail);
- archiving is a soft delete (``status = 'archived'``): an archived workspace is not found any more.
Every change is audited in the same transaction and every query is filtered by ``workspace_id``.

The owner rule is a read-then-write (count the owners, then demote or remove one), so two
concurrent demotions of the last two owners would each count two and both succeed. Changes that
may lose an owner therefore take a lock before they count (:func:`lock_workspace`):
the workspace row ``FOR UPDATE`` on PostgreSQL, the database's write lock (``BEGIN IMMEDIATE``) on
SQLite, as the seed does. The second change then counts after the first has committed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db import models as m
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError, echo
from automatos.kernel.permissions import Role
from automatos.kernel.store import KernelStore

if TYPE_CHECKING:
    from sqlalchemy import Select

__all__ = [
    "AuditEntry",
    "Member",
    "WorkspaceRecord",
    "WorkspaceService",
    "lock_workspace",
    "member_workspaces",
    "validate_slug",
    "workspace_record",
]

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise ValidationError(
            "slug must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'", field="slug"
        )
    return slug


async def lock_workspace(session: AsyncSession, workspace_id: str) -> None:
    """Serialize read-then-write changes of one workspace for the rest of this transaction.

    For rules that count before they write (the last owner, a cap on API keys). Must run first in
    the transaction: on SQLite ``BEGIN IMMEDIATE`` opens it with the database's write lock (the
    driver has not begun one yet: it only does so before a write), so nothing read afterwards can
    be changed by another writer before this one commits. Elsewhere the workspace row is locked
    ``FOR UPDATE``, and reads at READ COMMITTED after the lock see what the previous holder committed.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await connection.execute(select(m.Workspace.id).where(m.Workspace.id == workspace_id).with_for_update())


class WorkspaceRecord(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str
    status: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    role: str | None = None
    """The caller's role, when listing the caller's workspaces."""


class Member(msgspec.Struct, kw_only=True):
    user_id: str
    email: str
    display_name: str
    role: str
    created_at: datetime


class AuditEntry(msgspec.Struct, kw_only=True):
    id: str
    actor_id: str | None
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    request_id: str | None
    created_at: datetime


def workspace_record(row: m.Workspace, role: str | None = None) -> WorkspaceRecord:
    """The API's record of a workspace row, whatever its status (the archive reads archived ones)."""
    return WorkspaceRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        status=row.status,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        role=role,
    )


def member_workspaces(user_id: str) -> Select[m.Workspace, str]:
    """The workspaces ``user_id`` is a member of, each with the member's role, of any status."""
    return (
        select(m.Workspace, m.WorkspaceMember.role)
        .join(m.WorkspaceMember, m.WorkspaceMember.workspace_id == m.Workspace.id)
        .where(m.WorkspaceMember.user_id == user_id)
    )


def _role(value: str) -> str:
    try:
        return Role(value).value
    except ValueError:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None


class WorkspaceService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    # -- workspaces ------------------------------------------------------------------------------

    async def create(self, slug: str, name: str, *, owner_id: str, request_id: str | None = None) -> WorkspaceRecord:
        validate_slug(slug)
        if not name.strip():
            raise ValidationError("name must not be empty", field="name")
        try:
            async with self.sessionmaker.begin() as session:
                if await session.scalar(select(m.Workspace.id).where(m.Workspace.slug == slug)):
                    raise ConflictError(f"a workspace with slug {slug!r} already exists", field="slug")
                row = m.Workspace(slug=slug, name=name.strip(), settings={})
                session.add(row)
                await session.flush()
                await self._ensure_user(session, owner_id)
                session.add(m.WorkspaceMember(workspace_id=row.id, user_id=owner_id, role=Role.OWNER.value))
                KernelStore._audit(
                    session, row.id, owner_id, "workspace.created", "workspace", row.id, {"slug": slug}, request_id
                )
                await session.flush()
                return workspace_record(row, Role.OWNER.value)
        except IntegrityError:
            raise ConflictError(f"a workspace with slug {slug!r} already exists", field="slug") from None

    @staticmethod
    async def _ensure_user(session: AsyncSession, user_id: str) -> None:
        if await session.get(m.User, user_id) is None:
            raise NotFoundError(f"user {echo(user_id)} does not exist", field="user_id")

    async def get(self, workspace_id: str) -> WorkspaceRecord:
        async with self.sessionmaker() as session:
            row = await session.scalar(
                select(m.Workspace).where(m.Workspace.id == workspace_id, m.Workspace.status == "active")
            )
            if row is None:
                raise NotFoundError(f"workspace {echo(workspace_id)} does not exist", field="workspace_id")
            return workspace_record(row)

    async def list_for_user(self, user_id: str, *, offset: int, limit: int) -> tuple[list[WorkspaceRecord], int]:
        async with self.sessionmaker() as session:
            base = member_workspaces(user_id).where(m.Workspace.status == "active")
            total = await session.scalar(select(func.count()).select_from(base.subquery()))
            rows = await session.execute(base.order_by(m.Workspace.slug).offset(offset).limit(limit))
            return [workspace_record(w, role) for w, role in rows.all()], int(total or 0)

    async def list_all(self, *, offset: int, limit: int) -> tuple[list[WorkspaceRecord], int]:
        """Every active workspace: platform admins only (the caller checks)."""
        async with self.sessionmaker() as session:
            query = select(m.Workspace).where(m.Workspace.status == "active")
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(query.order_by(m.Workspace.slug).offset(offset).limit(limit))
            return [workspace_record(w) for w in rows], int(total or 0)

    async def update(
        self,
        workspace_id: str,
        *,
        name: str | None,
        settings: dict[str, Any] | None,
        actor_id: str,
        request_id: str | None = None,
    ) -> WorkspaceRecord:
        async with self.sessionmaker.begin() as session:
            row = await self._active(session, workspace_id)
            changed: list[str] = []
            if name is not None:
                if not name.strip():
                    raise ValidationError("name must not be empty", field="name")
                row.name = name.strip()
                changed.append("name")
            if settings is not None:
                row.settings = settings
                changed.append("settings")
            KernelStore._audit(
                session, workspace_id, actor_id, "workspace.updated", "workspace", workspace_id,
                {"fields": changed}, request_id,
            )  # fmt: skip
            await session.flush()
            return workspace_record(row)

    async def archive(self, workspace_id: str, *, actor_id: str, request_id: str | None = None) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._active(session, workspace_id)
            row.status = "archived"
            KernelStore._audit(
                session, workspace_id, actor_id, "workspace.archived", "workspace", workspace_id, {}, request_id
            )

    @staticmethod
    async def _active(session: AsyncSession, workspace_id: str) -> m.Workspace:
        row = await session.scalar(
            select(m.Workspace).where(m.Workspace.id == workspace_id, m.Workspace.status == "active")
        )
        if row is None:
            raise NotFoundError(f"workspace {echo(workspace_id)} does not exist", field="workspace_id")
        return row

    # -- members ---------------------------------------------------------------------------------

    async def members(self, workspace_id: str, *, offset: int, limit: int) -> tuple[list[Member], int]:
        async with self.sessionmaker() as session:
            base = (
                select(m.WorkspaceMember, m.User)
                .join(m.User, m.User.id == m.WorkspaceMember.user_id)
                .where(m.WorkspaceMember.workspace_id == workspace_id)
            )
            total = await session.scalar(select(func.count()).select_from(base.subquery()))
            rows = await session.execute(base.order_by(m.User.email).offset(offset).limit(limit))
            members = [
                Member(
                    user_id=u.id, email=u.email, display_name=u.display_name, role=mem.role, created_at=mem.created_at
                )
                for mem, u in rows.all()
            ]
            return members, int(total or 0)

    async def add_member(
        self, workspace_id: str, email: str, role: str, *, actor_id: str, request_id: str | None = None
    ) -> Member:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise ValidationError("email must be an e-mail address", field="email")
        role = _role(role)
        async with self.sessionmaker.begin() as session:
            await self._active(session, workspace_id)
            user = await session.scalar(select(m.User).where(m.User.email == email))
            if user is None:
                user = m.User(email=email, display_name=email.split("@")[0])
                session.add(user)
                await session.flush()
            existing = await self._membership(session, workspace_id, user.id)
            if existing is not None:
                raise ConflictError(f"{email} is already a member (role {existing.role})", field="email")
            membership = m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role=role)
            session.add(membership)
            KernelStore._audit(
                session, workspace_id, actor_id, "member.added", "user", user.id, {"role": role}, request_id
            )
            await session.flush()
            return Member(
                user_id=user.id, email=user.email, display_name=user.display_name, role=role,
                created_at=membership.created_at,
            )  # fmt: skip

    @staticmethod
    async def _membership(session: AsyncSession, workspace_id: str, user_id: str) -> m.WorkspaceMember | None:
        row: m.WorkspaceMember | None = await session.scalar(
            select(m.WorkspaceMember).where(
                m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.user_id == user_id
            )
        )
        return row

    async def _owners(self, session: AsyncSession, workspace_id: str) -> int:
        count = await session.scalar(
            select(func.count()).where(
                m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.role == Role.OWNER.value
            )
        )
        return int(count or 0)

    async def member_role(self, workspace_id: str, user_id: str) -> str | None:
        async with self.sessionmaker() as session:
            row = await self._membership(session, workspace_id, user_id)
            return row.role if row is not None else None

    async def set_role(
        self, workspace_id: str, user_id: str, role: str, *, actor_id: str, request_id: str | None = None
    ) -> str:
        """Change a member's role; returns the previous one."""
        role = _role(role)
        async with self.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._membership(session, workspace_id, user_id)
            if row is None:
                raise NotFoundError(f"user {user_id!r} is not a member", field="user_id")
            previous = row.role
            if previous == Role.OWNER.value and role != previous and await self._owners(session, workspace_id) <= 1:
                raise ConflictError("a workspace must keep at least one owner", field="role")
            row.role = role
            KernelStore._audit(
                session, workspace_id, actor_id, "member.role_changed", "user", user_id,
                {"from": previous, "to": role}, request_id,
            )  # fmt: skip
            return previous

    async def remove_member(
        self, workspace_id: str, user_id: str, *, actor_id: str, request_id: str | None = None
    ) -> str:
        """Remove a member; returns the role they had."""
        async with self.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._membership(session, workspace_id, user_id)
            if row is None:
                raise NotFoundError(f"user {user_id!r} is not a member", field="user_id")
            if row.role == Role.OWNER.value and await self._owners(session, workspace_id) <= 1:
                raise ConflictError("a workspace must keep at least one owner", field="user_id")
            role = row.role
            await session.delete(row)
            KernelStore._audit(
                session, workspace_id, actor_id, "member.removed", "user", user_id, {"role": role}, request_id
            )
            return role

    # -- audit -----------------------------------------------------------------------------------

    async def audit(
        self, workspace_id: str, *, action: str | None, offset: int, limit: int
    ) -> tuple[list[AuditEntry], int]:
        """A workspace's audit entries, newest first (``action`` may end in ``*`` for a prefix)."""
        async with self.sessionmaker() as session:
            query = select(m.AuditLogEntry).where(m.AuditLogEntry.workspace_id == workspace_id)
            if action:
                if action.endswith("*"):
                    query = query.where(m.AuditLogEntry.action.startswith(action[:-1], autoescape=True))
                else:
                    query = query.where(m.AuditLogEntry.action == action)
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(m.AuditLogEntry.created_at.desc(), m.AuditLogEntry.id).offset(offset).limit(limit)
            )
            entries = [
                AuditEntry(
                    id=r.id,
                    actor_id=r.actor_id,
                    action=r.action,
                    target_type=r.target_type,
                    target_id=r.target_id,
                    data=dict(r.data or {}),
                    request_id=r.request_id,
                    created_at=r.created_at,
                )
                for r in rows
            ]
            return entries, int(total or 0)
