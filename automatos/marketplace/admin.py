"""The platform admin's review: what a version holds, and the decisions on it (every one audited).

:class:`AdminReview` reads versions, their files, numbered sources and the diff against the last
approved version, and is the one writer of the review's decisions: ``plugin.approved``,
``plugin.rejected``, ``plugin.rescan`` (on ``plugin_versions``) and ``plugin.deactivated`` /
``plugin.activated`` (on ``marketplace_plugins``), each with its audit entry (platform-level:
``workspace_id`` empty).

- Approve is bound to the version's sha256 (409 otherwise) and records the permissions granted
  (⊆ declared, 422 naming the permission); a ``blocked`` verdict needs ``override`` and a reason.
  Approve works on ``scanned`` or ``failed`` versions; reject on anything not yet decided; re-scan
  on anything not already queued — re-scanning an approved version withdraws its approval (it must
  be approved again on the new findings). Illegal transitions are 409 naming the current status;
  unknown ids 404.
- Reject and re-scan bump the version's scan number (``scans``): a scan still in flight for it
  writes nothing when it finishes (:mod:`~automatos.marketplace.scans`).
- Deactivate is plugin-level (``marketplace_plugins.status``) and reads nothing of the bundle; it
  bumps the version of every workspace that enabled the plugin in its transaction and publishes
  them after the commit, so the plugin leaves (or rejoins) every view on every node. A re-scan
  that withdraws an approval does the same for the workspaces running that version.
  Approving a later version does not reactivate a deactivated plugin: only ``activate`` does, so
  a kill switch is never undone as a side effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select

from automatos.kernel.db.base import utcnow
from automatos.kernel.db.queries import page
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.kernel.store import KernelStore
from automatos.marketplace.diff import diff_files, numbered
from automatos.marketplace.manifest import Permissions
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.queries import (
    load_record,
    lock_for_write,
    page_pairs,
    plugin_record,
    plugin_row,
    slug_version,
    summary,
    version_row,
)
from automatos.marketplace.records import (
    ApproveRequest,
    FileEntry,
    FileSource,
    PluginRecord,
    SubmissionRecord,
    VersionDiff,
    VersionSummary,
)
from automatos.marketplace.runtime.enablement import bump_plugin_workspaces, publish_versions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = ["APPROVABLE", "REJECTABLE", "RESCANNABLE", "AdminReview"]

APPROVABLE = ("scanned", "failed")
REJECTABLE = ("pending", "scanning", "scanned", "failed")
RESCANNABLE = ("scanned", "failed", "rejected", "approved")


class AdminReview:
    """Reading versions for review, and the admin's decisions; see the module docstring."""

    def __init__(
        self,
        kernel: Kernel,
        settings: Callable[[], MarketplaceSettings],
        queue_scan: Callable[[str, int], None],
    ) -> None:
        self.kernel = kernel
        self.settings = settings
        self.queue_scan = queue_scan

    # --- reading ----------------------------------------------------------------------------------

    async def versions(
        self,
        *,
        status: str | None = None,
        verdict: str | None = None,
        slug: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[VersionSummary], int]:
        """Versions for the admin's review, oldest first (the review queue), filtered."""
        query = select(PluginVersion, MarketplacePlugin).join(
            MarketplacePlugin, PluginVersion.plugin_id == MarketplacePlugin.id
        )
        if status is not None:
            query = query.where(PluginVersion.status == status)
        if verdict is not None:
            query = query.where(PluginVersion.verdict == verdict)
        if slug is not None:
            query = query.where(MarketplacePlugin.slug == slug)
        query = query.order_by(PluginVersion.created_at, PluginVersion.id)
        async with self.kernel.store.sessionmaker() as session:
            pairs, total = await page_pairs(session, query, offset, limit)
        return [summary(row, plugin) for row, plugin in pairs], total

    async def plugins(
        self, *, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[PluginRecord], int]:
        query = select(MarketplacePlugin).order_by(MarketplacePlugin.slug)
        if status is not None:
            query = query.where(MarketplacePlugin.status == status)
        async with self.kernel.store.sessionmaker() as session:
            rows, total = await page(session, query, offset, limit)
        return [plugin_record(row) for row in rows], total

    async def plugin(self, ref: str) -> PluginRecord:
        async with self.kernel.store.sessionmaker() as session:
            return plugin_record(await plugin_row(session, ref))

    async def version(self, version_id: str) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker() as session:
            return await load_record(session, version_id)

    async def files(self, version_id: str) -> list[FileEntry]:
        async with self.kernel.store.sessionmaker() as session:
            row, _ = await version_row(session, version_id)
        return [msgspec.convert(entry, FileEntry) for entry in row.files]

    async def _bundle_files(self, row: PluginVersion) -> dict[str, bytes]:
        """The stored bundle's files (read with no limits beyond those it passed on upload)."""
        data = await self.kernel.backends.blob.get(row.blob_key)
        if data is None:
            raise NotFoundError(f"the stored bundle of version {row.id} is missing", field="id")
        from automatos.marketplace.archive import read_zip

        files: dict[str, bytes] = await asyncio.to_thread(read_zip, data, self.settings().archive_limits())
        return files

    async def file(self, version_id: str, path: str) -> FileSource:
        """One file of a version as numbered lines (a binary one described: size and sha256)."""
        async with self.kernel.store.sessionmaker() as session:
            row, _ = await version_row(session, version_id)
        if not any(entry["path"] == path for entry in row.files):
            raise NotFoundError(f"version {version_id} has no file {path[:200]!r}", field="path")
        files = await self._bundle_files(row)
        return numbered(path, files[path])

    async def diff(self, version_id: str) -> VersionDiff:
        """The version against the last approved version of its plugin (other than itself)."""
        async with self.kernel.store.sessionmaker() as session:
            row, _plugin = await version_row(session, version_id)
            base = await session.scalar(
                select(PluginVersion)
                .where(
                    PluginVersion.plugin_id == row.plugin_id,
                    PluginVersion.status == "approved",
                    PluginVersion.id != row.id,
                )
                .order_by(PluginVersion.approved_at.desc(), PluginVersion.created_at.desc())
                .limit(1)
            )
        new = await self._bundle_files(row)
        old = await self._bundle_files(base) if base is not None else {}
        added, removed, changed = diff_files(old, new)
        return VersionDiff(
            version_id=row.id,
            base_version_id=base.id if base is not None else None,
            base_version=base.version if base is not None else None,
            added=added,
            removed=removed,
            changed=changed,
        )

    # --- decisions --------------------------------------------------------------------------------

    async def approve(
        self, version_id: str, data: ApproveRequest, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            row, plugin = await version_row(session, version_id, lock=True)
            _transition(row, plugin, "approve", APPROVABLE)
            if data.sha256 != row.sha256:
                raise ConflictError(
                    f"{slug_version(plugin, row)} has sha256 {row.sha256}, not {data.sha256}",
                    field="sha256",
                    extra={"sha256": row.sha256},
                )
            granted = _granted(row.manifest, data.granted_permissions)
            if row.verdict == "blocked":
                if not data.override:
                    raise ValidationError(
                        f"{slug_version(plugin, row)} is blocked (risk {row.risk_score}): approving it needs"
                        " override: true and a reason",
                        field="override",
                    )
                if not (data.reason or "").strip():
                    raise ValidationError("overriding a blocked verdict needs a reason", field="reason")
            row.status = "approved"
            row.approved_by, row.approved_sha256, row.approved_at = actor_id, row.sha256, utcnow()
            row.granted_permissions = granted
            row.override = bool(data.override and row.verdict == "blocked")
            row.override_reason = data.reason if row.override else None
            row.rejected_by = row.rejected_reason = None
            plugin.latest_version_id, plugin.latest_version = row.id, row.version
            details = {
                "slug": plugin.slug,
                "version": row.version,
                "sha256": row.sha256,
                "verdict": row.verdict,
                "granted_permissions": granted,
                "override": row.override,
                "reason": row.override_reason,
            }
            KernelStore._audit(
                session, None, actor_id, "plugin.approved", "plugin_version", row.id, details, request_id
            )
            return await load_record(session, row.id)

    async def reject(
        self, version_id: str, reason: str, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            row, plugin = await version_row(session, version_id, lock=True)
            _transition(row, plugin, "reject", REJECTABLE)
            row.scans += 1  # a scan still in flight for it is dropped when it finishes
            row.status, row.rejected_by, row.rejected_reason = "rejected", actor_id, reason
            details = {"slug": plugin.slug, "version": row.version, "reason": reason}
            KernelStore._audit(
                session, None, actor_id, "plugin.rejected", "plugin_version", row.id, details, request_id
            )
            return await load_record(session, row.id)

    async def rescan(self, version_id: str, *, actor_id: str, request_id: str | None = None) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            row, plugin = await version_row(session, version_id, lock=True)
            _transition(row, plugin, "re-scan", RESCANNABLE)
            was = row.status
            row.scans += 1
            row.status = "pending"
            if was == "approved":  # withdrawn: approved again on the new findings, or not
                row.approved_by = row.approved_sha256 = row.approved_at = None
                row.granted_permissions, row.override, row.override_reason = None, False, None
                await _latest(session, plugin, without=row.id)
            details = {"slug": plugin.slug, "version": row.version, "was": was}
            KernelStore._audit(session, None, actor_id, "plugin.rescan", "plugin_version", row.id, details, request_id)
            scan = row.scans
            record = await load_record(session, row.id)
            # a withdrawn approval stops the version wherever it runs
            bumped = await bump_plugin_workspaces(session, version_id=row.id) if was == "approved" else []
        await publish_versions(self.kernel, bumped)
        self.queue_scan(version_id, scan)
        return record

    async def set_plugin_status(
        self, ref: str, status: str, reason: str | None, *, actor_id: str, request_id: str | None = None
    ) -> PluginRecord:
        """``deactivated`` (the kill switch, with a reason) or ``active`` again; 409 when it already is."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            plugin = await plugin_row(session, ref, lock=True)
            if plugin.status == status:
                raise ConflictError(
                    f"plugin {plugin.slug!r} is already {status}",
                    field="status",
                    extra={"current_status": plugin.status},
                )
            plugin.status, plugin.status_reason = status, reason
            action = "plugin.deactivated" if status == "deactivated" else "plugin.activated"
            details = {"slug": plugin.slug, "reason": reason}
            KernelStore._audit(session, None, actor_id, action, "plugin", plugin.id, details, request_id)
            # every workspace that enabled it sees the switch: its version bumped here, published below
            bumped = await bump_plugin_workspaces(session, plugin_id=plugin.id)
            await session.flush()
            record = plugin_record(plugin)
        await publish_versions(self.kernel, bumped)
        return record


async def _latest(session: AsyncSession, plugin: MarketplacePlugin, *, without: str) -> None:
    """Point the plugin at its newest approved version other than ``without`` (or none)."""
    other = await session.scalar(
        select(PluginVersion)
        .where(PluginVersion.plugin_id == plugin.id, PluginVersion.status == "approved", PluginVersion.id != without)
        .order_by(PluginVersion.approved_at.desc())
        .limit(1)
    )
    plugin.latest_version_id = other.id if other is not None else None
    plugin.latest_version = other.version if other is not None else None


def _transition(row: PluginVersion, plugin: MarketplacePlugin, action: str, allowed: Sequence[str]) -> None:
    if row.status not in allowed:
        raise ConflictError(
            f"{slug_version(plugin, row)} is {row.status}: it cannot {action}"
            f" (only a version that is {', '.join(allowed)})",
            field="status",
            extra={"current_status": row.status},
        )


def _granted(manifest: Mapping[str, Any], wanted: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """The permissions granted: all declared when ``wanted`` is None; else ``wanted``, each ⊆ declared (422)."""
    declared_raw = manifest.get("permissions") or {}
    declared = {
        str(kind): [str(v) for v in values] if isinstance(values, list | tuple) else []
        for kind, values in (declared_raw.items() if isinstance(declared_raw, Mapping) else ())
    }
    if wanted is None:
        return declared
    granted: dict[str, list[str]] = {}
    for kind, values in wanted.items():
        if kind not in Permissions.__struct_fields__:
            raise ValidationError(
                f"{kind[:100]!r} is not a kind of permission (one of {', '.join(Permissions.__struct_fields__)})",
                field=f"granted_permissions.{kind[:100]}",
            )
        for value in values:
            if value not in declared.get(kind, []):
                raise ValidationError(
                    f"permission {kind}={value!r} is not declared in the manifest; grant only what it declares",
                    field=f"granted_permissions.{kind}",
                    extra={"permission": kind, "value": value},
                )
        granted[kind] = list(dict.fromkeys(values))
    return granted
