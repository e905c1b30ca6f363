"""The kernel bus's journal (``kernel_events``): bus messages that pollers can catch up on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:00:00

Hand-written and frozen like the earlier revisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kernel_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_kernel_events"),
    )
    op.create_index("ix_kernel_events_created_at", "kernel_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_kernel_events_created_at", table_name="kernel_events")
    op.drop_table("kernel_events")
