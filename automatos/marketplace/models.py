"""The ``plugin_categories`` table: the marketplace's categories (migration ``0004_agents``).

Reference data of the platform, seeded and found by ``slug``; ``position`` is the display order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, created_at_column, updated_at_column

__all__ = ["PluginCategory"]


class PluginCategory(Base):
    """A marketplace category."""

    __tablename__ = "plugin_categories"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
