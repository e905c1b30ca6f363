"""Workspaces and their members: the one owner of every workspace and membership write.

Whoever writes goes through :class:`WorkspaceService`: the API, the CLI (``automatos admin
create``), the JWT extension's first login (``kernel.workspace_owner.provisioning()``: extensions
reach it through :mod:`automatos.kernel.workspace_owner`), the kernel's start (the ``default``
workspace, a start step registered here) and tests. One set of rules, so none can disagree:
- a slug is 1-63 characters of a-z, 0-9 and '-'; one any workspace holds is a 409 naming ``slug``
  (saying so when an archived workspace holds it: its owners can restore it);
- the creator of a workspace is its owner (only the fresh install's ``default`` starts without
  one); a workspace always keeps at least one owner, counted under ``lock_workspace``;
- only an owner may make or unmake owners (the permission check is the caller's);
- adding a member by e-mail creates the user row if it does not exist yet (an invitation: the
  person signs in later through JWT and is matched by e-mail);
- archiving is a soft delete (``status = 'archived'``) until restored (:mod:`.archive` reads those).
Every change is audited in the same transaction and every query is filtered by ``workspace_id``.

After a write commits, the service publishes it itself: this node's directory cache
(:mod:`.directory`) forgets the workspace, a ``directory`` bus message makes every other node
forget it at once (not after the cache's 30 s), and extensions hear the write's event
(``workspace.created``, ``workspace.restored``). A failed write publishes nothing. No caller
invalidates, publishes or emits by hand.

The composition root builds the one instance from the sessionmaker and hands it to the kernel,
which calls :meth:`WorkspaceService.attach` (the service keeps the kernel's bus and event delivery,
subscribes its directory through ``kernel.subscribe`` and registers the default workspace with
``kernel.on_start``). Reads work without a kernel; writes need one. Code holding only the kernel
gets the instance with :meth:`WorkspaceService.of`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db import models as m
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError, echo
from automatos.kernel.permissions import Role
from automatos.kernel.store import KernelStore, as_workspace
from automatos.kernel.types import Event, Workspace
from automatos.workspaces.archive import WorkspaceArchive
from automatos.workspaces.directory import Directory
from automatos.workspaces.records import (
    EMAIL,
    AuditEntry,
    Member,
    WorkspaceRecord,
    checked_role,
    lock_workspace,
    member_workspaces,
    validate_slug,
    workspace_record,
)

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "DEFAULT_WORKSPACE_SLUG",
    "AuditEntry",
    "Member",
    "WorkspaceRecord",
    "WorkspaceService",
    "lock_workspace",
    "member_workspaces",
    "validate_slug",
    "workspace_record",
]

DEFAULT_WORKSPACE_SLUG = "default"
"""The workspace a fresh install creates at its first start, so the platform is usable at once."""

_DETACHED = "this WorkspaceService is not attached to a kernel: writes need one (build it with the kernel's container)"


class _Provisioning:
    """One transaction of :meth:`WorkspaceService.provisioning`: the caller's rows and new workspaces."""

    def __init__(self, service: WorkspaceService, session: AsyncSession) -> None:
        self._service = service
        self._session = session
        self.created: list[Workspace] = []

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def create_workspace(self, slug: str, name: str, *, owner_id: str) -> Workspace:
        row = await self._service._insert(self._session, slug, name, owner_id=owner_id)
        workspace = as_workspace(row)
        self.created.append(workspace)
        return workspace


class WorkspaceService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.archives = WorkspaceArchive(sessionmaker)
        """Reads of archived workspaces (restoring one is :meth:`restore`)."""
        self._kernel: Kernel | None = None
        self._directory: Directory | None = None

    @staticmethod
    def of(kernel: Kernel) -> WorkspaceService:
        """The service the composition root attached to ``kernel``."""
        owner = kernel.workspace_owner
        if not isinstance(owner, WorkspaceService):
            raise RuntimeError(f"the kernel's workspace owner is a {type(owner).__name__}, not a WorkspaceService")
        return owner

    # -- the kernel ------------------------------------------------------------------------------

    def attach(self, kernel: Kernel) -> None:
        """Called by the kernel being built (once): keep it, build and subscribe the directory cache,
        make the default workspace a start step."""
        if self._kernel is kernel:
            return
        if self._kernel is not None:
            raise RuntimeError("this WorkspaceService is attached to another kernel")
        self._kernel = kernel
        store = kernel.store  # looked up at each miss, not bound now: tests replace its methods
        self._directory = Directory(lambda ref: store.get_workspace(ref), self.member_role)
        kernel.subscribe("directory", self._directory.on_message)
        kernel.on_start(self.ensure_default_workspace)

    @property
    def directory(self) -> Directory:
        """Who belongs where, cached (``kernel.directory`` is the same object)."""
        if self._directory is None:
            raise RuntimeError(_DETACHED)
        return self._directory

    def _writer(self) -> Kernel:
        """The kernel that publishes this write; asked before the write, so a detached service writes nothing."""
        if self._kernel is None:
            raise RuntimeError(_DETACHED)
        return self._kernel

    async def _published(self, kernel: Kernel, workspace_id: str | None, *events: Event) -> None:
        """After the commit: this node forgets ``workspace_id`` now, every other node through the
        bus; extensions hear ``events``."""
        self.directory.invalidate(workspace_id)
        await kernel.bus.publish("directory", workspace_id=workspace_id)
        for event in events:
            await kernel.emit(event)

    # -- workspaces ------------------------------------------------------------------------------

    async def _insert(
        self, session: AsyncSession, slug: str, name: str, *, owner_id: str | None, request_id: str | None = None
    ) -> m.Workspace:
        """A new workspace by the rules, in the caller's transaction, audited as ``workspace.created``."""
        validate_slug(slug)
        name = name.strip()
        if not name:
            raise ValidationError("name must not be empty", field="name")
        status = await session.scalar(select(m.Workspace.status).where(m.Workspace.slug == slug))
        if status == "archived":
            raise ConflictError(
                f"slug {slug!r} belongs to an archived workspace; its owners can restore it"
                " (POST /api/workspaces/{id}/restore), or choose another slug",
                field="slug",
            )
        if status is not None:
            raise ConflictError(f"a workspace with slug {slug!r} already exists", field="slug")
        row = m.Workspace(slug=slug, name=name, settings={})
        session.add(row)
        await session.flush()
        if owner_id is not None:
            await self._ensure_user(session, owner_id)
            session.add(m.WorkspaceMember(workspace_id=row.id, user_id=owner_id, role=Role.OWNER.value))
        KernelStore._audit(
            session, row.id, owner_id, "workspace.created", "workspace", row.id, {"slug": slug}, request_id
        )
        await session.flush()
        return row

    async def create(
        self, slug: str, name: str, *, owner_id: str | None, request_id: str | None = None
    ) -> WorkspaceRecord:
        """A new workspace whose owner is ``owner_id`` (``None``: no owner yet, as the default one)."""
        kernel = self._writer()
        try:
            async with self.sessionmaker.begin() as session:
                row = await self._insert(session, slug, name, owner_id=owner_id, request_id=request_id)
                record = workspace_record(row, Role.OWNER.value if owner_id is not None else None)
        except IntegrityError:
            raise ConflictError(f"a workspace with slug {slug!r} already exists", field="slug") from None
        await self._published(kernel, record.id, _created(record.id, record.slug))
        return record

    async def ensure_default_workspace(self) -> None:
        """On a fresh install (no workspace at all), create ``default``; a start step of the kernel."""
        kernel = self._writer()
        async with self.sessionmaker() as session:
            if await session.scalar(select(func.count()).select_from(m.Workspace)):
                return
        try:
            async with self.sessionmaker.begin() as session:
                row = await self._insert(session, DEFAULT_WORKSPACE_SLUG, "Default workspace", owner_id=None)
                workspace_id = row.id
        except (ConflictError, IntegrityError):  # another node won the race
            return
        await self._published(kernel, workspace_id, _created(workspace_id, DEFAULT_WORKSPACE_SLUG))

    @asynccontextmanager
    async def provisioning(self) -> AsyncIterator[_Provisioning]:
        """A transaction for the caller's own rows plus new workspaces (``create_workspace``), for
        an extension that must write both or neither (JWT first login). Published after the commit;
        nothing is when the body raises."""
        kernel = self._writer()
        async with self.sessionmaker.begin() as session:
            transaction = _Provisioning(self, session)
            yield transaction
        for workspace in transaction.created:
            await self._published(kernel, workspace.id, _created(workspace.id, workspace.slug))

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
        kernel = self._writer()
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
            record = workspace_record(row)
        await self._published(kernel, workspace_id)
        return record

    async def archive(self, workspace_id: str, *, actor_id: str, request_id: str | None = None) -> None:
        """Archive (soft-delete) an active workspace; its owners may :meth:`restore` it."""
        kernel = self._writer()
        async with self.sessionmaker.begin() as session:
            row = await self._active(session, workspace_id)
            row.status = "archived"
            KernelStore._audit(
                session, workspace_id, actor_id, "workspace.archived", "workspace", workspace_id, {}, request_id
            )
        await self._published(kernel, workspace_id)

    async def restore(self, workspace_id: str, *, actor_id: str, request_id: str | None = None) -> WorkspaceRecord:
        """Make an archived workspace active again (409 when it is not archived), audited."""
        kernel = self._writer()
        async with self.sessionmaker.begin() as session:
            row = await session.get(m.Workspace, workspace_id)
            if row is None:
                raise NotFoundError(f"workspace {workspace_id!r} does not exist", field="workspace_id")
            if row.status != "archived":
                raise ConflictError(f"workspace {row.slug!r} is not archived", field="workspace_id")
            row.status = "active"
            KernelStore._audit(session, row.id, actor_id, "workspace.restored", "workspace", row.id, {}, request_id)
            await session.flush()
            record = workspace_record(row, None)
        restored = Event(name="workspace.restored", workspace_id=record.id, data={"slug": record.slug})
        await self._published(kernel, record.id, restored)
        return record

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
        role = checked_role(role)
        kernel = self._writer()
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
            member = Member(
                user_id=user.id, email=user.email, display_name=user.display_name, role=role,
                created_at=membership.created_at,
            )  # fmt: skip
        await self._published(kernel, workspace_id)
        return member

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
        """From the database (the directory cache asks this on a miss; prefer ``directory.role``)."""
        async with self.sessionmaker() as session:
            role: str | None = await session.scalar(
                select(m.WorkspaceMember.role).where(
                    m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.user_id == user_id
                )
            )
            return role

    async def set_role(
        self, workspace_id: str, user_id: str, role: str, *, actor_id: str, request_id: str | None = None
    ) -> str:
        """Change a member's role; returns the previous one."""
        role = checked_role(role)
        kernel = self._writer()
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
        await self._published(kernel, workspace_id)
        return previous

    async def remove_member(
        self, workspace_id: str, user_id: str, *, actor_id: str, request_id: str | None = None
    ) -> str:
        """Remove a member; returns the role they had."""
        kernel = self._writer()
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
        await self._published(kernel, workspace_id)
        return role

    async def make_platform_admin(self, email: str, workspace_id: str, *, actor_id: str) -> str:
        """Create or promote the user ``email`` to platform admin and make them an owner of
        ``workspace_id`` (``automatos admin create``); returns the user id."""
        email = email.strip().lower()
        kernel = self._writer()
        async with self.sessionmaker.begin() as session:
            user = await session.scalar(select(m.User).where(m.User.email == email))
            if user is None:
                user = m.User(email=email, is_platform_admin=True)
                session.add(user)
                await session.flush()
                KernelStore._audit(session, None, actor_id, "user.created", "user", user.id, {"platform_admin": True})
            elif not user.is_platform_admin:
                user.is_platform_admin = True
                KernelStore._audit(session, None, actor_id, "user.platform_admin_granted", "user", user.id, {})
            member = await self._membership(session, workspace_id, user.id)
            if member is None:
                session.add(m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role=Role.OWNER.value))
                data: dict[str, Any] = {"role": Role.OWNER.value}
                KernelStore._audit(session, workspace_id, actor_id, "member.added", "user", user.id, data)
            elif member.role != Role.OWNER.value:
                data = {"from": member.role, "to": Role.OWNER.value}
                member.role = Role.OWNER.value
                KernelStore._audit(session, workspace_id, actor_id, "member.role_changed", "user", user.id, data)
            user_id: str = user.id
        await self._published(kernel, workspace_id)
        return user_id

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


def _created(workspace_id: str, slug: str) -> Event:
    return Event(name="workspace.created", workspace_id=workspace_id, data={"slug": slug})
