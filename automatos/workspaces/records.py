"""The workspaces package's records and shared rules: what a role and an e-mail may be (a slug is
the kernel's one rule, :func:`automatos.kernel.validation.validate_slug`), the records the API
answers with, and the lock that serializes read-then-write changes of one workspace.

The owner rule is a read-then-write (count the owners, then demote or remove one), so two
concurrent demotions of the last two owners would each count two and both succeed. Changes that
may lose an owner therefore take a lock before they count (:func:`lock_workspace`, the kernel's,
which the API-key extension takes for its per-workspace cap too): the second change then counts
after the first has committed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select

from automatos.kernel.db import models as m
from automatos.kernel.errors import ValidationError
from automatos.kernel.permissions import Role
from automatos.kernel.store import lock_workspace
from automatos.kernel.validation import validate_slug

if TYPE_CHECKING:
    from sqlalchemy import Select

__all__ = [
    "EMAIL",
    "AuditEntry",
    "Member",
    "WorkspaceRecord",
    "checked_role",
    "lock_workspace",
    "member_workspaces",
    "validate_slug",
    "workspace_record",
]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


def checked_role(value: str) -> str:
    """``value`` if it names a role, else 422 naming ``role``."""
    try:
        return Role(value).value
    except ValueError:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None
