"""Tool permissions (issue 14): which apps an agent may use, which tools a workspace enabled.

Revision ID: 0011
Revises: 0010
Create Date: 2027-03-09 00:00:00

Hand-written and frozen like the others. The tables are :mod:`automatos.tools.models`'s (tenant
data: ``workspace_id`` first):

- ``agent_app_assignments``: an agent's apps — ``(source, app)`` of the registry's tools
  (``composio``/``github``, ``mcp``/``<server>``, ``builtin``/``<extension>``) — ordered by
  ``position``. Plugins keep their own ``agent_plugins`` (migration 0006).
- ``workspace_tool_config``: a tool (or a whole app, ``tool = '*'``) switched off or on in a
  workspace; no row means the tool is on.
- ``agents.tool_intents`` (JSON, nullable): what the agent's tool calls may do; null means read and
  write.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("tool_intents", JSON, nullable=True))
    op.create_table(
        "agent_app_assignments",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("app", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("workspace_id", "agent_id", "source", "app", name="pk_agent_app_assignments"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_agent_app_assignments_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "workspace_tool_config",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("app", sa.String(100), nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "source", "app", "tool", name="pk_workspace_tool_config"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_workspace_tool_config_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("workspace_tool_config")
    op.drop_table("agent_app_assignments")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("tool_intents")
