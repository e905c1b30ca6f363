"""Kernel tables: workspaces, users, membership, extensions, settings, audit log, vector items.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Hand-written and frozen: it spells out every type and constraint name instead of importing the
models, so later changes to the models cannot change what this revision did. On PostgreSQL it
enables pgvector first and uses JSONB; ``vector_items.embedding`` is an un-dimensioned ``vector``
(so no HNSW/IVFFlat index, which needs a fixed dimension). On SQLite the embedding is a BLOB of
float32 bytes, and every constraint is named so later batch migrations can find it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp(name: str, *, server_default: bool = True) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now() if server_default else None,
    )


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    if is_postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("extensions_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("settings", JSON, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("slug", name="uq_workspaces_slug"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False, server_default=sa.text("''")),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("external_id", name="uq_users_external_id"),
    )
    op.create_table(
        "workspace_members",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False, server_default="member"),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workspace_members"),
        sa.UniqueConstraint("workspace_id", "user_id", name="uq_workspace_members_workspace_id_user_id"),
        sa.CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name=op.f("ck_workspace_members_role")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_workspace_members_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_workspace_members_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_workspace_members_user_id", "workspace_members", ["user_id"])
    op.create_table(
        "workspace_extensions",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("config", JSON, nullable=False),
        _timestamp("updated_at"),
        sa.Column("updated_by", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "name", name="pk_workspace_extensions"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_workspace_extensions_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "system_settings",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", JSON, nullable=False),
        _timestamp("updated_at"),
        sa.Column("updated_by", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_system_settings"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=True),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(50), nullable=False),
        sa.Column("target_id", sa.String(255), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_workspace_id_created_at", "audit_log", ["workspace_id", "created_at"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_table(
        "vector_items",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("collection", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("embedding", VECTOR() if is_postgres else sa.LargeBinary(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        _timestamp("updated_at", server_default=False),
        sa.PrimaryKeyConstraint("workspace_id", "collection", "item_id", name="pk_vector_items"),
    )


def downgrade() -> None:
    # The vector extension stays: other schemas in the database may use it.
    op.drop_table("vector_items")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_index("ix_audit_log_workspace_id_created_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("system_settings")
    op.drop_table("workspace_extensions")
    op.drop_index("ix_workspace_members_user_id", table_name="workspace_members")
    op.drop_table("workspace_members")
    op.drop_table("users")
    op.drop_table("workspaces")
