"""The tools' tables: credential types (migration ``0004_agents``) and tool permissions (``0011``).

- ``credential_types``: kinds of credentials a tool connection can hold; reference data of the
  platform, seeded and found by ``slug``; no tenant rows.
- ``agent_app_assignments``: the apps an agent may use — ``(source, app)`` of the registry's tools
  (``composio``/``github``, ``mcp``/``<server>``, ``builtin``/``<extension>``) — by ``position``.
  ``agent_id`` is a plain string: the API checks the agent through the agents service first.
- ``workspace_tool_config``: a tool of an app (or the whole app: ``tool = '*'``) switched off or on
  in a workspace; no row means on.

The last two are tenant data: every query on them names ``workspace_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column

__all__ = ["AgentAppAssignment", "CredentialType", "WorkspaceToolConfig"]


class CredentialType(Base):
    """A kind of credential a tool connection can hold (how it authenticates, which fields)."""

    __tablename__ = "credential_types"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50))
    auth_type: Mapped[str] = mapped_column(String(30))
    """``api_key``, ``oauth2``, ``basic``, ``bearer`` or ``connection_string``."""
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Each ``{"name", "label", "secret", "required"}``."""
    docs_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class AgentAppAssignment(Base):
    """One app an agent may use, at ``position`` in its ordered list."""

    __tablename__ = "agent_app_assignments"

    workspace_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    app: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()


class WorkspaceToolConfig(Base):
    """A tool (or with ``tool = '*'`` a whole app) switched on or off in one workspace."""

    __tablename__ = "workspace_tool_config"

    workspace_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    app: Mapped[str] = mapped_column(String(100), primary_key=True)
    tool: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
