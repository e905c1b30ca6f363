"""The ``mcp_servers`` table (migration ``0012_mcp_servers``): MCP servers a workspace added.

Tenant data: every query names ``workspace_id``. ``transport`` is ``http`` (streamable HTTP at
``url``) or ``stdio`` (``command``, argv as a JSON list: only a platform admin may add one).
``credentials`` is :class:`~automatos.kernel.secrets.SecretBox` ciphertext of the headers sent to
the server, never answered. ``tools`` is the last listing, so a view is built without a call;
``status``/``status_reason`` say why the tools are unavailable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = ["McpServer"]


class McpServer(Base):
    """One MCP server of one workspace."""

    __tablename__ = "mcp_servers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("transport IN ('http', 'stdio')", name="transport"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    transport: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2000))
    command: Mapped[list[str] | None] = mapped_column(JSONType)
    credentials: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    status_reason: Mapped[str | None] = mapped_column(Text)
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    listed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
