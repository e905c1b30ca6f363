"""Routing rules: a workspace's rules that send a message to an agent (``/api/routing/rules``).

Revision ID: 0008
Revises: 0007
Create Date: 2027-03-01 00:00:01

Hand-written and frozen like the others. The table is :class:`automatos.routing.rules.RoutingRuleRow`'s
(tenant data: ``workspace_id`` first in its index, which serves the router's read of the active
rules by priority).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("regex", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("intent_keywords", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_routing_rules_workspace_id_workspaces", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_routing_rules_workspace_active_priority", "routing_rules", ["workspace_id", "active", "priority"]
    )


def downgrade() -> None:
    op.drop_index("ix_routing_rules_workspace_active_priority", table_name="routing_rules")
    op.drop_table("routing_rules")
