"""The marketplace runtime: plugins enabled per workspace, agents' plugins, cached declarations.

Revision ID: 0006
Revises: 0005
Create Date: 2027-02-01 00:00:00

Hand-written and frozen like the others. The tables are
:mod:`automatos.marketplace.runtime.models`'s (tenant data: ``workspace_id`` first);
``plugin_versions`` gains ``declarations`` (what ``register(ctx)`` declared, JSONB on PostgreSQL)
and ``declarations_error``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    with op.batch_alter_table("plugin_versions") as batch:
        batch.add_column(sa.Column("declarations", JSON, nullable=True))
        batch.add_column(sa.Column("declarations_error", sa.Text(), nullable=True))
    op.create_table(
        "workspace_plugins",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("plugin_id", sa.String(36), nullable=False),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("enabled_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workspace_plugins"),
        sa.UniqueConstraint("workspace_id", "plugin_id", name="uq_workspace_plugins_workspace_id_plugin_id"),
        sa.CheckConstraint("status IN ('active', 'quarantined')", name=op.f("ck_workspace_plugins_status")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_workspace_plugins_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["marketplace_plugins.id"],
            name="fk_workspace_plugins_plugin_id_marketplace_plugins",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["plugin_versions.id"],
            name="fk_workspace_plugins_version_id_plugin_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_workspace_plugins_plugin_id", "workspace_plugins", ["plugin_id"])
    op.create_table(
        "agent_plugins",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("plugin_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "agent_id", "plugin_id", name="pk_agent_plugins"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_agent_plugins_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["marketplace_plugins.id"],
            name="fk_agent_plugins_plugin_id_marketplace_plugins",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_plugins")
    op.drop_index("ix_workspace_plugins_plugin_id", table_name="workspace_plugins")
    op.drop_table("workspace_plugins")
    with op.batch_alter_table("plugin_versions") as batch:
        batch.drop_column("declarations_error")
        batch.drop_column("declarations")
