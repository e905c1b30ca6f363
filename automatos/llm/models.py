"""The ``llm_models`` table: the platform's model catalogue (migration ``0004_agents``).

Keyed by ``(provider, model)``; prices are US dollars per token (double precision: a price like
2.5e-06 is exact enough for accounting estimates). Seeded rows are found by that natural key,
never by id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column, uuid_pk

__all__ = ["LLMModel"]


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
