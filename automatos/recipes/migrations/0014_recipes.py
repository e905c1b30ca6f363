"""Recipes (issue 15): versioned definitions, runs, step checkpoints, the runs' event log.

Revision ID: 0014
Revises: 0013
Create Date: 2027-03-16 00:00:00

Hand-written and frozen like the others. The tables are :mod:`automatos.recipes.models`'s (tenant
data: ``workspace_id`` on every row).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _workspace(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "recipes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_recipes"),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_recipes_workspace_id_slug"),
        sa.CheckConstraint("status IN ('active', 'archived')", name=op.f("ck_recipes_status")),
        _workspace("recipes"),
    )
    op.create_table(
        "recipe_versions",
        sa.Column("recipe_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("recipe_id", "version", name="pk_recipe_versions"),
        sa.ForeignKeyConstraint(
            ["recipe_id"], ["recipes.id"], name="fk_recipe_versions_recipe_id_recipes", ondelete="CASCADE"
        ),
        _workspace("recipe_versions"),
    )
    op.create_table(
        "recipe_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("recipe_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("step", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recipe_runs"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_recipe_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["recipe_id"], ["recipes.id"], name="fk_recipe_runs_recipe_id_recipes", ondelete="CASCADE"
        ),
        _workspace("recipe_runs"),
    )
    op.create_index("ix_recipe_runs_workspace_id_created_at", "recipe_runs", ["workspace_id", "created_at"])
    op.create_index("ix_recipe_runs_status_heartbeat_at", "recipe_runs", ["status", "heartbeat_at"])
    op.create_table(
        "recipe_step_runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("log_key", sa.String(500), nullable=True),
        _ts("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step", "attempt", name="pk_recipe_step_runs"),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'skipped', 'waiting')",
            name=op.f("ck_recipe_step_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["recipe_runs.id"], name="fk_recipe_step_runs_run_id_recipe_runs", ondelete="CASCADE"
        ),
        _workspace("recipe_step_runs"),
    )
    op.create_table(
        "recipe_run_events",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("data", JSON, nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_recipe_run_events"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["recipe_runs.id"], name="fk_recipe_run_events_run_id_recipe_runs", ondelete="CASCADE"
        ),
        _workspace("recipe_run_events"),
    )


def downgrade() -> None:
    op.drop_table("recipe_run_events")
    op.drop_table("recipe_step_runs")
    op.drop_index("ix_recipe_runs_status_heartbeat_at", table_name="recipe_runs")
    op.drop_index("ix_recipe_runs_workspace_id_created_at", table_name="recipe_runs")
    op.drop_table("recipe_runs")
    op.drop_table("recipe_versions")
    op.drop_table("recipes")
