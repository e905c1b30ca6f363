"""Agents, personas, skills, the model catalog, prompts, chat, LLM usage and reference catalogs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:00:00

Hand-written and frozen like the others. The tables are :mod:`automatos.agents.models`'s. Personas
and skills get two partial unique indexes each (platform slugs, workspace slugs); partial indexes
work on PostgreSQL and SQLite alike.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PLATFORM = sa.text("workspace_id IS NULL")
OWNED = sa.text("workspace_id IS NOT NULL")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
    )


def _owned(table: str, *columns: sa.Column) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *columns,
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        _workspace_fk(table),
    )
    op.create_index(
        f"uq_{table}_platform_slug", table, ["slug"], unique=True, postgresql_where=PLATFORM, sqlite_where=PLATFORM
    )
    op.create_index(
        f"uq_{table}_workspace_slug",
        table,
        ["workspace_id", "slug"],
        unique=True,
        postgresql_where=OWNED,
        sqlite_where=OWNED,
    )


def upgrade() -> None:
    _owned(
        "personas",
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("traits", JSON, nullable=False),
    )
    _owned(
        "skills",
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("persona_id", sa.String(36), nullable=True),
        sa.Column("skill_ids", JSON, nullable=False),
        sa.Column("model_settings", JSON, nullable=False),
        sa.Column("tools", JSON, nullable=False),
        sa.Column("plugins", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("created_by", sa.String(36), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        _workspace_fk("agents"),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name="fk_agents_persona_id_personas", ondelete="SET NULL"
        ),
    )
    op.create_index("uq_agents_workspace_slug", "agents", ["workspace_id", "slug"], unique=True)
    op.create_index("ix_agents_workspace_status", "agents", ["workspace_id", "status"])
    op.create_table(
        "llm_models",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="chat"),
        sa.Column("context_window", sa.Integer(), nullable=False),
        sa.Column("max_output_tokens", sa.Integer(), nullable=True),
        sa.Column("input_price", sa.Float(), nullable=False),
        sa.Column("output_price", sa.Float(), nullable=False),
        sa.Column("capabilities", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_llm_models"),
    )
    op.create_index("uq_llm_models_provider_model", "llm_models", ["provider", "model"], unique=True)
    op.create_table(
        "prompts",
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_by", sa.String(36), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_prompts"),
    )
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("created_by", sa.String(36), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_chat_sessions"),
        _workspace_fk("chat_sessions"),
    )
    op.create_index("ix_chat_sessions_workspace_updated", "chat_sessions", ["workspace_id", "updated_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="complete"),
        sa.Column("error", JSON, nullable=True),
        sa.Column("provider", sa.String(50), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("finish_reason", sa.String(30), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["chat_sessions.id"], name="fk_chat_messages_session_id_chat_sessions", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_chat_messages_workspace_session", "chat_messages", ["workspace_id", "session_id", "created_at"])
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_llm_usage"),
    )
    op.create_index("ix_llm_usage_workspace_created", "llm_usage", ["workspace_id", "created_at"])
    op.create_table(
        "credential_types",
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("auth_type", sa.String(30), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("docs_url", sa.String(500), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_credential_types"),
    )
    op.create_table(
        "plugin_categories",
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("slug", name="pk_plugin_categories"),
    )
    op.create_table(
        "platform_settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_platform_settings"),
    )


def downgrade() -> None:
    for table in (
        "platform_settings",
        "plugin_categories",
        "credential_types",
        "llm_usage",
        "chat_messages",
        "chat_sessions",
        "prompts",
        "llm_models",
        "agents",
        "skills",
        "personas",
    ):
        op.drop_table(table)
