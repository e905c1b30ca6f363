"""Archived workspaces: found when asked for, their slug explained, and restored.

The rule, the same for workspaces and agents (:mod:`automatos.agents.service`): archiving is a
soft delete that keeps the slug. An archived workspace is not a place to act in (the request
context does not resolve it, so its data and keys are out of reach), but it is not "gone" either:

- its members (and platform admins) read it by id or slug with ``status: "archived"``, and
  ``GET /api/workspaces?include_archived=true`` lists it;
- creating a workspace with its slug answers 409 naming ``slug`` and saying the slug belongs to an
  archived workspace that its owners can restore;
- its owners (or a platform admin) restore it with ``POST /api/workspaces/{id}/restore``.

:class:`automatos.workspaces.service.WorkspaceService` performs every write (archiving and
restoring too) and reaches this module as ``service.archives``; this module only reads archived
workspaces, with the same records.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db import models as m
from automatos.workspaces.records import WorkspaceRecord, member_workspaces, workspace_record

__all__ = ["WorkspaceArchive"]


class WorkspaceArchive:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def archived(self, ref: str) -> tuple[WorkspaceRecord, dict[str, str]] | None:
        """The archived workspace ``ref`` (id or slug) names, and its members' roles by user id."""
        if not 0 < len(ref) <= 100 or "\x00" in ref:
            return None
        async with self.sessionmaker() as session:
            row = await session.scalar(
                select(m.Workspace).where(
                    or_(m.Workspace.id == ref, m.Workspace.slug == ref), m.Workspace.status == "archived"
                )
            )
            if row is None:
                return None
            members = await session.execute(
                select(m.WorkspaceMember.user_id, m.WorkspaceMember.role).where(
                    m.WorkspaceMember.workspace_id == row.id
                )
            )
            return workspace_record(row, None), {user: role for user, role in members.all()}

    async def list_for_user(self, user_id: str | None, *, offset: int, limit: int) -> tuple[list[WorkspaceRecord], int]:
        """Active and archived workspaces of ``user_id`` (every one when ``None``: platform admins)."""
        async with self.sessionmaker() as session:
            if user_id is None:
                everything = select(m.Workspace)
                total = await session.scalar(select(func.count()).select_from(everything.subquery()))
                rows = await session.scalars(everything.order_by(m.Workspace.slug).offset(offset).limit(limit))
                return [workspace_record(w, None) for w in rows], int(total or 0)
            mine = member_workspaces(user_id)
            total = await session.scalar(select(func.count()).select_from(mine.subquery()))
            pairs = await session.execute(mine.order_by(m.Workspace.slug).offset(offset).limit(limit))
            return [workspace_record(w, role) for w, role in pairs.all()], int(total or 0)
