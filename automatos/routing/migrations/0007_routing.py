"""The router: decisions (unrouted events included) and each workspace's routing configuration.

Revision ID: 0007
Revises: 0006
Create Date: 2027-03-01 00:00:00

Hand-written and frozen like the others. The tables are :mod:`automatos.routing.models`'s (tenant
data: ``workspace_id`` first in every index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        _ts("created_at"),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("route_type", sa.String(20), nullable=False),
        sa.Column("tier", sa.String(100), nullable=True),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("explanation", JSON, nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_decisions"),
        sa.CheckConstraint(
            "route_type IN ('agent', 'orchestrate', 'unrouted')", name=op.f("ck_routing_decisions_route_type")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_routing_decisions_workspace_id_workspaces", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_routing_decisions_workspace_created", "routing_decisions", ["workspace_id", "created_at"])
    op.create_index(
        "ix_routing_decisions_workspace_type_created", "routing_decisions", ["workspace_id", "route_type", "created_at"]
    )
    op.create_table(
        "routing_config",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_routing_config"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_routing_config_workspace_id_workspaces", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("routing_config")
    op.drop_index("ix_routing_decisions_workspace_type_created", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_workspace_created", table_name="routing_decisions")
    op.drop_table("routing_decisions")
