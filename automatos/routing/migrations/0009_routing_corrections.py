"""Routing corrections: members' corrections of routing decisions (``POST /api/routing/corrections``).

Revision ID: 0009
Revises: 0008
Create Date: 2027-03-01 00:00:02

Hand-written and frozen like the others. The table is
:class:`automatos.routing.corrections.RoutingCorrectionRow`'s (tenant data: ``workspace_id`` first in
its index, which serves counting the corrections of one message).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_corrections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_routing_corrections"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_routing_corrections_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_routing_corrections_workspace_text", "routing_corrections", ["workspace_id", "text_sha256"])


def downgrade() -> None:
    op.drop_index("ix_routing_corrections_workspace_text", table_name="routing_corrections")
    op.drop_table("routing_corrections")
