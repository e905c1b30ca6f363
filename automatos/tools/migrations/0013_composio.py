"""Composio (issue 14): the cached catalogue, workspaces' connections, trigger subscriptions.

Revision ID: 0013
Revises: 0012
Create Date: 2027-03-09 00:00:02

Hand-written and frozen like the others. The tables are :mod:`automatos.tools.composio.models`'s:

- ``composio_app_cache``, ``composio_action_cache``, ``composio_trigger_cache``: the platform's
  copy of Composio's catalogue (toolkits, tools, triggers), written by the sync job only, read by
  the catalogue API with no external call. Platform data: no ``workspace_id``.
- ``composio_sync_runs``: the sync job's runs and progress.
- ``entity_connections``: a workspace's connected accounts (tenant data). ``tokens`` is SecretBox
  ciphertext, never answered.
- ``composio_trigger_subscriptions``: a workspace's trigger instances; their events are routed by
  the router's trigger tier.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "composio_app_cache",
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("logo", sa.String(2000), nullable=True),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("auth_schemes", JSON, nullable=False),
        sa.Column("actions_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("triggers_count", sa.Integer(), nullable=False, server_default="0"),
        _ts("synced_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_composio_app_cache"),
    )
    op.create_table(
        "composio_action_cache",
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("app_slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("version", sa.String(50), nullable=True),
        _ts("synced_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_composio_action_cache"),
    )
    op.create_index("ix_composio_action_cache_app_slug_slug", "composio_action_cache", ["app_slug", "slug"])
    op.create_table(
        "composio_trigger_cache",
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("app_slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _ts("synced_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_composio_trigger_cache"),
    )
    op.create_index("ix_composio_trigger_cache_app_slug", "composio_trigger_cache", ["app_slug"])
    op.create_table(
        "composio_sync_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False, server_default="apps"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(64), nullable=True),
        _ts("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_composio_sync_runs"),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f("ck_composio_sync_runs_status")),
    )
    op.create_table(
        "entity_connections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("app_slug", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("tokens", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_entity_connections"),
        sa.CheckConstraint(
            "status IN ('initiated', 'active', 'expired', 'failed', 'revoked')",
            name=op.f("ck_entity_connections_status"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_entity_connections_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_entity_connections_workspace_id_app_slug", "entity_connections", ["workspace_id", "app_slug"])
    op.create_table(
        "composio_trigger_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("trigger_slug", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("config", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_composio_trigger_subscriptions"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_composio_trigger_subscriptions_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["entity_connections.id"],
            name="fk_composio_trigger_subscriptions_connection",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_composio_trigger_subscriptions_external_id", "composio_trigger_subscriptions", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_composio_trigger_subscriptions_external_id", table_name="composio_trigger_subscriptions")
    op.drop_table("composio_trigger_subscriptions")
    op.drop_index("ix_entity_connections_workspace_id_app_slug", table_name="entity_connections")
    op.drop_table("entity_connections")
    op.drop_table("composio_sync_runs")
    op.drop_index("ix_composio_trigger_cache_app_slug", table_name="composio_trigger_cache")
    op.drop_table("composio_trigger_cache")
    op.drop_index("ix_composio_action_cache_app_slug_slug", table_name="composio_action_cache")
    op.drop_table("composio_action_cache")
    op.drop_table("composio_app_cache")
