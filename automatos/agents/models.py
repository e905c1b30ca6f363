"""Tables of agents, personas, skills, the model catalog, prompts, chat, usage and reference catalogs.

Decisions:
- Personas and skills are either the platform's (``workspace_id IS NULL``, seeded, read-only to
  workspaces) or a workspace's own. A slug is unique per owner: partial unique indexes, one for
  the platform's rows and one per workspace (a plain unique constraint would let two platform rows
  share a slug, since NULLs are distinct).
- Agents are always a workspace's. ``model_settings`` holds ``provider``, ``model``,
  ``temperature`` and ``max_tokens``; ``skill_ids``, ``tools`` and ``plugins`` are JSON lists
  (tools and plugins are filled in by later issues). Archiving is ``status = 'archived'``.
- ``llm_models`` is the platform's catalog keyed by ``(provider, model)``; prices are US dollars
  per token (double precision: a price like 2.5e-06 is exact enough for accounting estimates).
- ``chat_messages`` keep every message, including an assistant message that failed
  (``status = 'error'`` with the problem in ``error``) or was cut short by a disconnect
  (``status = 'cancelled'`` with what had been produced). ``llm_usage`` is one row per provider
  call, written even when the call failed part-way (tokens then are what was reported or counted).
- Every tenant table leads an index with ``workspace_id``; chat rows and usage have no foreign
  key to agents, so usage history outlives an agent row removed by hand.
- Seeded rows are found by natural key (slug, key, provider+model), never by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = [
    "Agent",
    "ChatMessage",
    "ChatSession",
    "CredentialType",
    "LLMModel",
    "LLMUsage",
    "Persona",
    "PlatformSetting",
    "PluginCategory",
    "Prompt",
    "Skill",
]

_PLATFORM = text("workspace_id IS NULL")
_OWNED = text("workspace_id IS NOT NULL")


def _owned_unique(table: str) -> tuple[Index, Index]:
    return (
        Index(
            f"uq_{table}_platform_slug", "slug", unique=True, postgresql_where=_PLATFORM, sqlite_where=_PLATFORM
        ),
        Index(
            f"uq_{table}_workspace_slug",
            "workspace_id",
            "slug",
            unique=True,
            postgresql_where=_OWNED,
            sqlite_where=_OWNED,
        ),
    )


class Persona(Base):
    """A voice and stance an agent takes: the platform's (seeded) or a workspace's own."""

    __tablename__ = "personas"
    __table_args__ = _owned_unique("personas")

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    traits: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Skill(Base):
    """A reusable block of instructions an agent can be given."""

    __tablename__ = "skills"
    __table_args__ = _owned_unique("skills")

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


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
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class LLMModel(Base):
    """A model the platform knows: context window, prices, capabilities."""

    __tablename__ = "llm_models"
    __table_args__ = (Index("uq_llm_models_provider_model", "provider", "model", unique=True),)

    id: Mapped[str] = uuid_pk()
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="chat", server_default="chat")
    """``chat`` or ``embedding``."""
    context_window: Mapped[int] = mapped_column(Integer)
    max_output_tokens: Mapped[int | None] = mapped_column(Integer)
    input_price: Mapped[float] = mapped_column(Float, default=0.0)
    """US dollars per input token."""
    output_price: Mapped[float] = mapped_column(Float, default=0.0)
    """US dollars per output token."""
    capabilities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Prompt(Base):
    """A system prompt of the platform, by slug; ``version`` counts edits."""

    __tablename__ = "prompts"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ChatSession(Base):
    """A conversation of a workspace with one agent."""

    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_workspace_updated", "workspace_id", "updated_at"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ChatMessage(Base):
    """One message of a session, kept whatever became of the call that produced it."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_workspace_session", "workspace_id", "session_id", "created_at"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36))
    session_id: Mapped[str] = mapped_column(String(36), ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="complete", server_default="complete")
    """``complete``, ``streaming``, ``cancelled`` (client left; content is what was produced) or ``error``."""
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    provider: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finish_reason: Mapped[str | None] = mapped_column(String(30))
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class LLMUsage(Base):
    """One provider call: who, which model, how many tokens, what it cost."""

    __tablename__ = "llm_usage"
    __table_args__ = (Index("ix_llm_usage_workspace_created", "workspace_id", "created_at"),)

    id: Mapped[str] = uuid_pk()
    workspace_id: Mapped[str] = mapped_column(String(36))
    agent_id: Mapped[str | None] = mapped_column(String(36))
    session_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str | None] = mapped_column(String(36))
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    """US dollars, from the catalog's prices; 0 for a model the catalog does not price."""
    status: Mapped[str] = mapped_column(String(20), default="complete")
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


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


class PluginCategory(Base):
    """A marketplace category."""

    __tablename__ = "plugin_categories"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PlatformSetting(Base):
    """A product default platform admins tune (chat history length, agent defaults, …).

    Not the environment's settings (those are ``system_settings``, keyed by variable name and
    parsed like the environment): these are the product's own knobs, typed JSON values.
    """

    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
