"""The kernel's tables: workspaces, users, membership, extension enablement, settings, audit, vectors.

Decisions:
- Tenant tables carry ``workspace_id`` as the leading column of an index (or of the primary key),
  so "everything of this workspace" is an index range scan and every query can be filtered by it.
- Workspaces and users are never hard-deleted by the kernel: ``workspaces.status`` and
  ``users.is_active`` are the soft delete. Membership and extension rows still cascade when a
  workspace or user row is removed by hand, so no orphans are left behind.
- ``workspaces.status`` is free text (``active`` by default) rather than a CHECK constraint, so a
  new lifecycle state does not need a table rebuild on SQLite; ``workspace_members.role`` is a
  closed set the authorization code relies on, so the database enforces it.
- E-mail addresses are unique as stored; callers store them lower-cased.
- ``audit_log`` and ``vector_items`` hold a ``workspace_id`` without a foreign key: audit entries
  must outlive whatever they describe, and vector rows are a derived index that a backend may key
  by any workspace id it is given.
- ``vector_items.embedding`` is :class:`~automatos.kernel.db.base.EmbeddingType`: pgvector's
  un-dimensioned ``vector`` on PostgreSQL, float32 bytes on SQLite. Each row records its
  ``dimensions`` so a query compares only vectors of its own length (pgvector refuses to compare
  vectors of different lengths), and a collection keeps one length. Because the column has no
  fixed dimension there is no HNSW/IVFFlat index in the kernel schema; the pgvector backend scans
  one workspace's collection, which the primary key already narrows.
- ``platform_settings`` holds the declared platform settings' values (typed JSON; the one settings
  registry, :mod:`automatos.kernel.settings_registry`, checks them), ``system_settings`` the
  run-time overrides of environment settings (raw strings).
- Tables of extensions and feature packages are theirs (``api_keys`` is the API-key extension's,
  :mod:`automatos.extensions.auth.api_keys.models`): they share :class:`~automatos.kernel.db.base.Base`
  and reach the migration runner through ``register_migrations`` or the composition root.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import expression, text

from automatos.kernel.db.base import (
    Base,
    EmbeddingType,
    JSONType,
    UTCDateTime,
    created_at_column,
    updated_at_column,
    uuid_pk,
)

__all__ = [
    "MEMBER_ROLES",
    "AuditLogEntry",
    "PlatformSetting",
    "SystemSetting",
    "User",
    "VectorItem",
    "Workspace",
    "WorkspaceExtension",
    "WorkspaceMember",
]

MEMBER_ROLES = ("owner", "admin", "member", "viewer")
"""Roles of a workspace member, most powerful first."""


class Workspace(Base):
    """A tenant."""

    __tablename__ = "workspaces"

    id: Mapped[str] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    extensions_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped whenever an extension is enabled or disabled here; hook views cache on it."""
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class User(Base):
    """A person (or service account) who can belong to workspaces."""

    __tablename__ = "users"

    id: Mapped[str] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The identity provider's subject (e.g. Clerk's user id)."""
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=expression.false())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=expression.true())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WorkspaceMember(Base):
    """A user's role in a workspace."""

    __tablename__ = "workspace_members"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in MEMBER_ROLES)})", name="role"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member", server_default="member")
    created_at: Mapped[datetime] = created_at_column()


class WorkspaceExtension(Base):
    """Whether an extension is enabled in a workspace, and its configuration there."""

    __tablename__ = "workspace_extensions"

    workspace_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The extension's entry-point name."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=expression.true())
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = updated_at_column()
    updated_by: Mapped[str | None] = mapped_column(String(36))


class SystemSetting(Base):
    """A platform-wide override of a runtime setting."""

    __tablename__ = "system_settings"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = updated_at_column()
    updated_by: Mapped[str | None] = mapped_column(String(36))


class AuditLogEntry(Base):
    """Who did what to which object, and when; append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str | None] = mapped_column(String(36))
    """``None`` for platform-level actions; indexed together with ``created_at``."""
    actor_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column(index=True)


class KernelEvent(Base):
    """The kernel bus's journal: every bus message, so a process that missed the pub/sub delivery
    (a CLI command on the embedded default, a dropped Redis connection) still sees it by polling.
    Rows are pruned after an hour; they are cache invalidations, not history."""

    __tablename__ = "kernel_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    """The message's own id (receivers de-duplicate on it)."""
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column(index=True)


class VectorItem(Base):
    """One embedding of a workspace's collection (used by the ``exact`` and ``pgvector`` backends)."""

    __tablename__ = "vector_items"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection: Mapped[str] = mapped_column(String(200), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[npt.NDArray[np.float32]] = mapped_column(EmbeddingType())
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    """The item's metadata (``metadata`` is reserved on declarative classes, hence the attribute name)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    """Set by the writer, to the microsecond: the exact backend uses it to notice other processes' writes."""


class PlatformSetting(Base):
    """A declared platform setting's value (chat history length, API-key caps, …): the product's
    own knobs, typed JSON values, checked against their declaration by the settings registry.

    Not the environment's settings (those are ``system_settings``, keyed by variable name and
    parsed like the environment). Created by the agents schema's revision (0004), whose seed fills it.
    """

    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
