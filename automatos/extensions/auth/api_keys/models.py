"""The ``api_keys`` table: the API-key extension's (its revision: ``migrations/0002_api_keys.py``).

It holds only an HMAC-SHA256 of each key (keyed by a pepper kept outside the database), never the
key. Its id is a UUID4 in 32-hex form (no dashes), so the principal id of a key without a user,
``key:<id>``, still fits the 36-character actor columns. Keys are revoked (``revoked_at``), never
deleted, so the audit trail can name them; ``user_id`` becomes ``NULL`` when the user row goes,
and the key then acts for itself. The table shares the kernel's :class:`~automatos.kernel.db.base.Base`
(its foreign keys name ``workspaces`` and ``users``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from automatos.kernel.db.base import Base, JSONType, UTCDateTime, created_at_column
from automatos.kernel.db.models import MEMBER_ROLES

__all__ = ["ApiKey"]


def _hex_id() -> str:
    return uuid.uuid4().hex


class ApiKey(Base):
    """A workspace's API key: its public prefix and the HMAC of the whole key, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(r) for r in MEMBER_ROLES)})", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_hex_id)
    workspace_id: Mapped[str] = mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"), index=True)
    """The user the key acts for; ``None`` for a key of the workspace itself (CLI, automation)."""
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    """The public part of the key (``atk_<prefix>_…``): how a presented key finds its row."""
    key_hash: Mapped[str] = mapped_column(String(64))
    """Hex HMAC-SHA256 of the whole key under the deployment's pepper."""
    role: Mapped[str] = mapped_column(String(20), default="member", server_default="member")
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Permission names the key is narrowed to; empty means everything its role allows."""
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
