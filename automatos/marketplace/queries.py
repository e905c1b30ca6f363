"""Reading the marketplace's rows: the lookups every part of the service shares, and rows → records.

Nothing here writes (the writes are :mod:`~automatos.marketplace.submissions`',
:mod:`~automatos.marketplace.scans`' and :mod:`~automatos.marketplace.admin`'s); a lookup may take
the row lock (``lock=True``) for the caller's transaction. Unknown ids are a 404 naming the field.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.kernel.db.queries import lookable
from automatos.kernel.errors import NotFoundError
from automatos.marketplace.models import MarketplacePlugin, PluginScanResult, PluginVersion
from automatos.marketplace.records import FindingRecord, PluginRecord, SubmissionRecord, VersionSummary

__all__ = [
    "load_record",
    "lock_for_write",
    "page_pairs",
    "plugin_record",
    "plugin_row",
    "slug_version",
    "summary",
    "version_row",
]


async def lock_for_write(session: AsyncSession) -> None:
    """Make this transaction a writer before it reads what it will decide on (run it first).

    PostgreSQL serialises the review's read-then-write decisions with ``FOR UPDATE`` on the rows;
    SQLite ignores ``FOR UPDATE``, so two concurrent approvals (or deactivations) would both read
    the old state and both succeed. There ``BEGIN IMMEDIATE`` takes the database's write lock first,
    as :func:`automatos.kernel.store.lock_workspace` does.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


def slug_version(plugin: MarketplacePlugin, version: PluginVersion) -> str:
    return f"{plugin.slug}@{version.version}"


async def page_pairs(session: AsyncSession, query: Any, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of a two-entity query, and the total."""
    total = int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    rows = (await session.execute(query.offset(offset).limit(limit))).all()
    return [tuple(r) for r in rows], total


async def version_row(
    session: AsyncSession, version_id: str, *, lock: bool = False
) -> tuple[PluginVersion, MarketplacePlugin]:
    row = await session.get(PluginVersion, version_id, with_for_update=lock) if lookable(version_id) else None
    if row is None:
        raise NotFoundError(f"plugin version {version_id[:100]!r} does not exist", field="id")
    plugin = await session.get(MarketplacePlugin, row.plugin_id, with_for_update=lock)
    assert plugin is not None  # a foreign key with ON DELETE CASCADE
    return row, plugin


async def plugin_row(session: AsyncSession, ref: str, *, lock: bool = False) -> MarketplacePlugin:
    plugin = None
    if lookable(ref):
        query = select(MarketplacePlugin).where((MarketplacePlugin.id == ref) | (MarketplacePlugin.slug == ref))
        plugin = await session.scalar(query.with_for_update() if lock else query)
    if plugin is None:
        raise NotFoundError(f"plugin {ref[:100]!r} does not exist", field="plugin")
    return plugin


async def load_record(session: AsyncSession, version_id: str) -> SubmissionRecord:
    """A version as its submitter and admins see it, with its findings in order."""
    row, plugin = await version_row(session, version_id)
    findings = await session.scalars(
        select(PluginScanResult).where(PluginScanResult.version_id == version_id).order_by(PluginScanResult.position)
    )
    return _submission(row, plugin, [_finding(f) for f in findings])


def summary(row: PluginVersion, plugin: MarketplacePlugin) -> VersionSummary:
    return VersionSummary(
        id=row.id,
        plugin_id=plugin.id,
        slug=plugin.slug,
        name=plugin.name,
        version=row.version,
        sha256=row.sha256,
        size=row.size,
        status=row.status,  # type: ignore[arg-type]  # the CHECK constraint's values
        verdict=row.verdict,
        risk_score=row.risk_score,
        submitted_by=row.submitted_by,
        created_at=row.created_at,
        scanned_at=row.scanned_at,
    )


def _submission(row: PluginVersion, plugin: MarketplacePlugin, findings: list[FindingRecord]) -> SubmissionRecord:
    base = msgspec.structs.asdict(summary(row, plugin))
    return SubmissionRecord(
        **base,
        manifest=row.manifest,
        findings=findings,
        scan_error=row.scan_error,
        plugin_status=plugin.status,
        approved_by=row.approved_by,
        approved_sha256=row.approved_sha256,
        approved_at=row.approved_at,
        granted_permissions=row.granted_permissions,
        override=row.override,
        override_reason=row.override_reason,
        rejected_reason=row.rejected_reason,
    )


def _finding(row: PluginScanResult) -> FindingRecord:
    return FindingRecord(
        rule=row.rule,
        severity=row.severity,
        file=row.file,
        line=row.line,
        message=row.message,
        reachable=row.reachable,
        declared=row.declared,
    )


def plugin_record(row: MarketplacePlugin) -> PluginRecord:
    return PluginRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        owner_id=row.owner_id,
        status=row.status,  # type: ignore[arg-type]  # the CHECK constraint's values
        status_reason=row.status_reason,
        latest_version_id=row.latest_version_id,
        latest_version=row.latest_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
