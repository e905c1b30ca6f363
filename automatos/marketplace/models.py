"""The marketplace's tables: ``plugin_categories`` (migration ``0004_agents``) and the plugins,
their versions and their scan findings (migration ``0005_marketplace``, this package's own).

``plugin_categories`` is reference data of the platform, seeded and found by ``slug``;
``position`` is the display order.

``marketplace_plugins``, ``plugin_versions`` and ``plugin_scan_results`` are platform-level
tables: no ``workspace_id``. A plugin is a platform resource that a stranger submits and a
platform admin reviews; which workspaces enable it is the runtime's (``marketplace/runtime/models.py``,
migration ``0006``, which also adds a version's cached ``declarations``). Decisions:

- A plugin is its ``slug``; its versions are immutable: ``(plugin_id, version)`` is unique and
  the bundle's ``sha256`` and blob key never change after the row is written.
- ``status`` of a version: ``pending`` (stored, scan queued) → ``scanning`` → ``scanned`` (or
  ``failed``: the scan could not finish; verdict ``review``, never ``safe``) → ``approved`` or
  ``rejected``. A re-scan takes a scanned, failed or rejected version back to ``pending``.
- The review is recorded on the version: who approved which ``sha256`` with which permissions
  (``granted_permissions`` ⊆ the manifest's ``[permissions]``), whether a ``blocked`` verdict was
  overridden and why, or why it was rejected.
- ``plugin_scan_results`` holds one row per finding of the version's latest scan; a scan's rows
  and the version's verdict are written in one transaction.
- Ids of principals (``owner_id``, ``submitted_by``, ``approved_by``) are not foreign keys: a
  principal may be a user, an API key or a service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import expression

from automatos.kernel.db.base import Base, JSONType, UTCDateTime, created_at_column, updated_at_column, uuid_pk

__all__ = [
    "PLUGIN_STATUSES",
    "VERSION_STATUSES",
    "MarketplacePlugin",
    "PluginCategory",
    "PluginScanResult",
    "PluginVersion",
]

PLUGIN_STATUSES = ("active", "deactivated")
VERSION_STATUSES = ("pending", "scanning", "scanned", "approved", "rejected", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PluginCategory(Base):
    """A marketplace category."""

    __tablename__ = "plugin_categories"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class MarketplacePlugin(Base):
    """A plugin of the marketplace: its slug, who first submitted it, and its kill switch."""

    __tablename__ = "marketplace_plugins"
    __table_args__ = (CheckConstraint(_one_of("status", PLUGIN_STATUSES), name="status"),)

    id: Mapped[str] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    """The principal that submitted its first version: only it (or a platform admin) submits more."""
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    latest_version_id: Mapped[str | None] = mapped_column(String(36))
    """The last approved version (not a foreign key: versions point at their plugin)."""
    latest_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PluginVersion(Base):
    """One immutable version of a plugin: its bundle, its scan's verdict and its review."""

    __tablename__ = "plugin_versions"
    __table_args__ = (
        UniqueConstraint("plugin_id", "version"),
        CheckConstraint(_one_of("status", VERSION_STATUSES), name="status"),
        Index(None, "status", "verdict"),
    )

    id: Mapped[str] = uuid_pk()
    plugin_id: Mapped[str] = mapped_column(String(36), ForeignKey("marketplace_plugins.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Every file of the bundle: ``{"path", "size", "sha256", "binary"}``, sorted by path."""
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    verdict: Mapped[str | None] = mapped_column(String(20))
    risk_score: Mapped[int | None] = mapped_column(Integer)
    scan_error: Mapped[str | None] = mapped_column(Text)
    scans: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many scans were queued for it: a result of an older scan than the last queued one is dropped."""
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_sha256: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_permissions: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    override: Mapped[bool] = mapped_column(Boolean, default=False, server_default=expression.false())
    override_reason: Mapped[str | None] = mapped_column(Text)
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    declarations: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """What ``register(ctx)`` declared (tools, skills, prompts, routing rules), run once per version
    in the sandbox and cached here (migration ``0006``; :mod:`automatos.marketplace.runtime.declarations`)."""
    declarations_error: Mapped[str | None] = mapped_column(Text)
    """Why the last ``register`` of this version failed (it is run again on the next enable or restore)."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PluginScanResult(Base):
    """One finding of a version's latest scan."""

    __tablename__ = "plugin_scan_results"

    id: Mapped[str] = uuid_pk()
    version_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("plugin_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    """Its place in the report (heaviest first)."""
    rule: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    file: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    declared: Mapped[bool] = mapped_column(Boolean, default=False)
