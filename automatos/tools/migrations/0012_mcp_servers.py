"""MCP servers a workspace added (issue 14): their tools join the workspace's registry.

Revision ID: 0012
Revises: 0011
Create Date: 2027-03-09 00:00:01

Hand-written and frozen like the others. ``mcp_servers`` is :mod:`automatos.tools.mcp.models`'s
(tenant data: ``workspace_id`` first). ``transport`` is ``http`` (streamable HTTP, ``url``) or
``stdio`` (``command``: only a platform admin may add one). ``credentials`` is SecretBox
ciphertext (headers such as ``Authorization``), never answered. ``status``/``status_reason`` say
why the server's tools are unavailable; ``tools`` is the last listing (JSON), so a view is built
without calling the server.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("transport", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("command", JSON, nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("status", sa.String(20), nullable=False, server_default="unknown"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("tools", JSON, nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_mcp_servers"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_mcp_servers_workspace_id_name"),
        sa.CheckConstraint("transport IN ('http', 'stdio')", name=op.f("ck_mcp_servers_transport")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_mcp_servers_workspace_id_workspaces", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("mcp_servers")
