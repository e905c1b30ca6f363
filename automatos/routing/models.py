"""The router's tables (migration ``0007_routing``): decisions and the per-workspace configuration.

- ``routing_decisions``: one row per routed message — which tier decided, the agent, its confidence,
  the route type (``agent``, ``orchestrate`` or ``unrouted``), the reason, the per-tier explanation
  (``[{tier, outcome, score, ms}]``), where the message came from (``source``, ``channel``) and
  whether the decision cache answered. Unrouted events are the rows with ``route_type = 'unrouted'``
  (``GET /api/routing/unrouted``): one table, one write per message.
- Messages may be sensitive: a decision keeps the sha256 of the *normalised* text
  (:mod:`automatos.routing.normalize`; what corrections and the decision cache key on), never the
  text. Only an unrouted event keeps an ``excerpt`` (the first ``ROUTING_UNROUTED_EXCERPT_CHARS``
  characters, 0: none), because finding out what no agent covers is what that list is for; it is
  shown to workspace admins only.
- ``agent_id`` is a plain string, not a foreign key: an agent archived later keeps its history.
- ``routing_config``: the workspace's routing configuration, one JSON document per workspace
  (``{"tiers": {name: {"enabled", "order", …params}}, "default_agent"}``), its ``version`` bumped on
  every write.

Tenant data: every query names ``workspace_id``; the only writer is
:class:`automatos.routing.service.RouterService` (:mod:`automatos.routing.records`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = ["ROUTE_TYPES", "RoutingConfigRow", "RoutingDecisionRow"]

ROUTE_TYPES = ("agent", "orchestrate", "unrouted")


class RoutingDecisionRow(Base):
    """One routed message: what decided, what was chosen, what each tier did."""

    __tablename__ = "routing_decisions"
    __table_args__ = (
        CheckConstraint("route_type IN ('agent', 'orchestrate', 'unrouted')", name="route_type"),
        Index("ix_routing_decisions_workspace_created", "workspace_id", "created_at"),
        Index("ix_routing_decisions_workspace_type_created", "workspace_id", "route_type", "created_at"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
    text_sha256: Mapped[str] = mapped_column(String(64))
    """sha256 (hex) of the normalised text."""
    excerpt: Mapped[str | None] = mapped_column(Text)
    """The message's beginning, for unrouted events only."""
    source: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(200))
    route_type: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[str | None] = mapped_column(String(36))
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    total_ms: Mapped[float] = mapped_column(Float)


class RoutingConfigRow(Base):
    """A workspace's routing configuration (defaults merged when read)."""

    __tablename__ = "routing_config"

    workspace_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = updated_at_column()
    updated_by: Mapped[str | None] = mapped_column(String(64))
