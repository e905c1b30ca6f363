"""The ``credential_types`` table: kinds of credentials a tool connection can hold (migration ``0004_agents``).

Reference data of the platform, seeded and found by ``slug``; no tenant rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, created_at_column, updated_at_column

__all__ = ["CredentialType"]


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
