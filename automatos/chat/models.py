"""Tables of chat: sessions, messages, LLM usage, and the platform's system prompts (migration ``0004_agents``).

Decisions:
- ``chat_messages`` keep every message, including an assistant message that failed
  (``status = 'error'`` with the problem in ``error``) or was cut short by a disconnect
  (``status = 'cancelled'`` with what had been produced). ``llm_usage`` is one row per provider
  call, written even when the call failed part-way (tokens then are what was reported or counted).
- Every tenant table leads an index with ``workspace_id``; chat rows and usage have no foreign
  key to agents, so usage history outlives an agent row removed by hand.
- ``prompts`` are the platform's, by slug (seeded; ``version`` counts edits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = ["ChatMessage", "ChatSession", "LLMUsage", "Prompt"]


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
    tool_call: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """On a ``tool`` message: the call it answers, ``{id, name, arguments, ok, error, truncated, ran,
    ms}`` (its ``content`` is the result as the model saw it); ``None`` on every other message."""
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
