"""Tables of agents, personas and skills (migration ``0004_agents``).

Decisions:
- Personas and skills are either the platform's (``workspace_id IS NULL``, seeded, read-only to
  workspaces) or a workspace's own: one shape, :class:`OwnedRow`, that each adds its own text and
  labels to. A slug is unique per owner: partial unique indexes, one for the platform's rows and
  one per workspace (a plain unique constraint would let two platform rows share a slug, since
  NULLs are distinct).
- Agents are always a workspace's. ``model_settings`` holds ``provider``, ``model``,
  ``temperature`` and ``max_tokens``; ``skill_ids``, ``tools`` and ``plugins`` are JSON lists
  (tools and plugins are filled in by later issues). Archiving is ``status = 'archived'``.
- Every tenant table leads an index with ``workspace_id``.
- Seeded rows are found by natural key (slug, key), never by id.

The other tables of the same migration live with the packages that own them:
``llm_models`` in :mod:`automatos.llm.models`; ``prompts``, ``chat_sessions``, ``chat_messages`` and
``llm_usage`` in :mod:`automatos.chat.models`; ``credential_types`` in :mod:`automatos.tools.models`;
``plugin_categories`` in :mod:`automatos.marketplace.models`; ``platform_settings`` in
:mod:`automatos.kernel.db.models` (the settings registry's, re-exported here for the seed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk
from automatos.kernel.db.models import PlatformSetting  # the settings registry's table, re-exported for the seed

__all__ = ["Agent", "OwnedRow", "Persona", "PlatformSetting", "Skill"]

_PLATFORM = text("workspace_id IS NULL")
_OWNED = text("workspace_id IS NOT NULL")


class OwnedRow:
    """What personas and skills share: the platform's rows (``workspace_id`` NULL) next to a workspace's own."""

    __tablename__: str

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Index, Index]:
        table = cls.__tablename__
        return (
            Index(f"uq_{table}_platform_slug", "slug", unique=True, postgresql_where=_PLATFORM, sqlite_where=_PLATFORM),
            Index(
                f"uq_{table}_workspace_slug",
                "workspace_id",
                "slug",
                unique=True,
                postgresql_where=_OWNED,
                sqlite_where=_OWNED,
            ),
        )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Persona(OwnedRow, Base):
    """A voice and stance an agent takes: the platform's (seeded) or a workspace's own."""

    __tablename__ = "personas"

    system_prompt: Mapped[str] = mapped_column(Text, default="")
    traits: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Skill(OwnedRow, Base):
    """A reusable block of instructions an agent can be given."""

    __tablename__ = "skills"

    instructions: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Agent(Base):
    """An agent of a workspace."""

    __tablename__ = "agents"
    __table_args__ = (
        Index("uq_agents_workspace_slug", "workspace_id", "slug", unique=True),
        Index("ix_agents_workspace_status", "workspace_id", "status"),
    )

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    """The agent's own system instructions, added after its persona's and skills'."""
    persona_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("personas.id", ondelete="SET NULL"))
    skill_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    model_settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    plugins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tool_intents: Mapped[list[str] | None] = mapped_column(JSONType)
    """What its tool calls may do (``read``, ``write``, ``destructive``); null: read and write (0011)."""
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
