"""The runtime's tables (migration ``0006_plugin_runtime``): which plugins a workspace enabled, and
which of them each agent uses.

- ``workspace_plugins``: one row per plugin enabled in a workspace — the version it runs, the
  workspace's configuration (values of the environment names the manifest declared, encrypted with
  the kernel's :class:`~automatos.kernel.secrets.SecretBox` like extension configuration), and its
  status there: ``active``, or ``quarantined`` with the reason (``register`` failed, or calls kept
  failing). Unique per ``(workspace_id, plugin_id)``.
- ``agent_plugins``: an agent's plugins, ordered by ``position``. ``agent_id`` is a plain string:
  the marketplace does not import ``agents/``; the API checks the agent through the agents service
  before writing. Disabling a plugin deletes its rows here.

Both are tenant data: every query on them names ``workspace_id``. The only writer is
:mod:`automatos.marketplace.runtime.enablement`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = ["WORKSPACE_PLUGIN_STATUSES", "AgentPlugin", "WorkspacePlugin"]

WORKSPACE_PLUGIN_STATUSES = ("active", "quarantined")


class WorkspacePlugin(Base):
    """A plugin enabled in one workspace: its version, configuration and status there."""

    __tablename__ = "workspace_plugins"
    __table_args__ = (
        UniqueConstraint("workspace_id", "plugin_id"),
        CheckConstraint("status IN ('active', 'quarantined')", name="status"),
        Index(None, "plugin_id"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    plugin_id: Mapped[str] = mapped_column(String(36), ForeignKey("marketplace_plugins.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(String(36), ForeignKey("plugin_versions.id", ondelete="CASCADE"))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Encrypted (``SecretBox.encrypt_config``); never answered, only which keys are set."""
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    enabled_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class AgentPlugin(Base):
    """One plugin of one agent, at ``position`` in the agent's ordered list."""

    __tablename__ = "agent_plugins"

    workspace_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plugin_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("marketplace_plugins.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
