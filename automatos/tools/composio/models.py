"""Composio's tables (migration ``0013_composio``).

- ``composio_app_cache``, ``composio_action_cache``, ``composio_trigger_cache``: the platform's copy
  of Composio's catalogue (toolkits, tools, triggers), written by the sync job only and read with
  no external call. Platform data: no ``workspace_id``.
- ``composio_sync_runs``: the sync job's runs, with progress (``stage``, ``done`` of ``total``).
- ``entity_connections``: a workspace's connected accounts (tenant data: every query names
  ``workspace_id``). ``tokens`` is :class:`~automatos.kernel.secrets.SecretBox` ciphertext, never
  answered.
- ``composio_trigger_subscriptions``: a workspace's trigger instances (tenant data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = [
    "ComposioAction",
    "ComposioApp",
    "ComposioSyncRun",
    "ComposioTrigger",
    "ComposioTriggerSubscription",
    "EntityConnection",
]


class ComposioApp(Base):
    __tablename__ = "composio_app_cache"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[str | None] = mapped_column(String(2000))
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    auth_schemes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    actions_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    triggers_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    synced_at: Mapped[datetime] = created_at_column()


class ComposioAction(Base):
    __tablename__ = "composio_action_cache"
    __table_args__ = (Index(None, "app_slug", "slug"),)

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    app_slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    version: Mapped[str | None] = mapped_column(String(50))
    synced_at: Mapped[datetime] = created_at_column()


class ComposioTrigger(Base):
    __tablename__ = "composio_trigger_cache"
    __table_args__ = (Index(None, "app_slug"),)

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    app_slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    synced_at: Mapped[datetime] = created_at_column()


class ComposioSyncRun(Base):
    __tablename__ = "composio_sync_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),)

    id: Mapped[str] = uuid_pk()
    status: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20), default="apps", server_default="apps")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EntityConnection(Base):
    __tablename__ = "entity_connections"
    __table_args__ = (
        CheckConstraint("status IN ('initiated', 'active', 'expired', 'failed', 'revoked')", name="status"),
        Index(None, "workspace_id", "app_slug"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_slug: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))
    """Composio's connected account id."""
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    tokens: Mapped[str | None] = mapped_column(Text)
    """SecretBox ciphertext; never answered."""
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ComposioTriggerSubscription(Base):
    __tablename__ = "composio_trigger_subscriptions"
    __table_args__ = (Index(None, "external_id"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("entity_connections.id", ondelete="CASCADE", name="fk_composio_trigger_subscriptions_connection"),
    )
    trigger_slug: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    """Composio's trigger instance id."""
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
