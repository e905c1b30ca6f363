"""The marketplace: plugins, their immutable versions, and one row per scan finding.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-11 00:00:00

Hand-written and frozen like the others. The tables are :mod:`automatos.marketplace.models`'s:
platform-level (no ``workspace_id``). ``manifest``, ``files`` and ``granted_permissions`` are
JSONB on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
VERSION_STATUSES = "status IN ('pending', 'scanning', 'scanned', 'approved', 'rejected', 'failed')"


def _ts(name: str, *, nullable: bool = False) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "marketplace_plugins",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("latest_version_id", sa.String(36), nullable=True),
        sa.Column("latest_version", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_marketplace_plugins"),
        sa.UniqueConstraint("slug", name="uq_marketplace_plugins_slug"),
        sa.CheckConstraint("status IN ('active', 'deactivated')", name=op.f("ck_marketplace_plugins_status")),
    )
    op.create_table(
        "plugin_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plugin_id", sa.String(36), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("verdict", sa.String(20), nullable=True),
        sa.Column("risk_score", sa.Integer(), nullable=True),
        sa.Column("scan_error", sa.Text(), nullable=True),
        sa.Column("scans", sa.Integer(), nullable=False, server_default="0"),
        _ts("scanned_at", nullable=True),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_sha256", sa.String(64), nullable=True),
        _ts("approved_at", nullable=True),
        sa.Column("granted_permissions", JSON, nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("rejected_by", sa.String(64), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_plugin_versions"),
        sa.UniqueConstraint("plugin_id", "version", name="uq_plugin_versions_plugin_id_version"),
        sa.CheckConstraint(VERSION_STATUSES, name=op.f("ck_plugin_versions_status")),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["marketplace_plugins.id"],
            name="fk_plugin_versions_plugin_id_marketplace_plugins",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_plugin_versions_status_verdict", "plugin_versions", ["status", "verdict"])
    op.create_table(
        "plugin_scan_results",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("file", sa.String(1000), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plugin_scan_results"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["plugin_versions.id"],
            name="fk_plugin_scan_results_version_id_plugin_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_plugin_scan_results_version_id", "plugin_scan_results", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_plugin_scan_results_version_id", table_name="plugin_scan_results")
    op.drop_table("plugin_scan_results")
    op.drop_index("ix_plugin_versions_status_verdict", table_name="plugin_versions")
    op.drop_table("plugin_versions")
    op.drop_table("marketplace_plugins")
