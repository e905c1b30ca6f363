"""The marketplace's one owner of writes: submissions, stored bundles, scans, the admin's review, audit.

:class:`MarketplaceService` (the container's ``marketplace``) performs every write to
``marketplace_plugins``, ``plugin_versions`` and ``plugin_scan_results`` and every audit entry of
them (``plugin.submitted``, ``plugin.scanned``, ``plugin.approved``, ``plugin.rejected``,
``plugin.rescan``, ``plugin.deactivated``, ``plugin.activated``; platform-level: ``workspace_id``
empty).

Decisions:

- **Upload, nothing half-stored.** The bundle is read and validated first (archive limits,
  manifest, signature when required, category); a refusal stores nothing. The blob is written
  under ``plugins/{slug}/{version}/{sha256}.zip`` — keyed by its content, so two concurrent uploads
  of one version with different bytes never overwrite each other — and then the rows, in one
  transaction. If that transaction fails the blob is deleted again, unless a row written meanwhile
  names the same bytes (a concurrent identical upload: answered as the existing submission).
- **Immutable versions.** The same slug and version with the same sha256 is the existing submission
  (``created`` false: 200); other bytes are a 409 naming ``slug@version``. Versions of a slug are
  submitted by the principal that submitted its first version, or by a platform admin (403 else).
- **Scans never run on the request path** and never in the API's process: after the commit the
  version is queued to a background task that runs the scan in a separate process
  (:class:`~automatos.marketplace.jobs.ScanProcess`, one scan at a time, under a time limit). Status
  ``pending`` → ``scanning`` → ``scanned``, or ``failed`` (verdict ``review``, never ``safe``) when
  the scan could not finish. The result — verdict, score, every finding — is written in one
  transaction, and only if no newer scan was queued meanwhile (``scans`` counts them). At start,
  versions left ``pending`` or ``scanning`` (a process that stopped mid-scan) are queued again.
  With a job queue configured the scan still runs in this node's scan process: the shared queue's
  worker does not serve ``marketplace.scan`` yet (see the report of issue 11).
- **Review.** Approve is bound to the version's sha256 (409 otherwise) and records the permissions
  granted (⊆ declared, 422 naming the permission); a ``blocked`` verdict needs ``override`` and a
  reason. Approve works on ``scanned`` or ``failed`` versions; reject on anything not yet decided;
  re-scan on anything not already queued — re-scanning an approved version withdraws its approval
  (it must be approved again on the new findings). Illegal transitions are 409 naming the current
  status; unknown ids 404.
- **Kill switch.** Deactivate is plugin-level (``marketplace_plugins.status``) and reads nothing of
  the bundle. Approving a later version does not reactivate a deactivated plugin: only
  ``activate`` does, so a kill switch is never undone as a side effect.

Over 500 lines on purpose: it is the one owner of these tables' writes (the rule of
docs/architecture.md), and each action is short; the pure parts live in ``diff.py``, ``jobs.py``
and ``records.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.kernel.db.base import utcnow
from automatos.kernel.db.queries import lookable, page
from automatos.kernel.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from automatos.kernel.store import KernelStore
from automatos.marketplace.diff import as_text, diff_files, numbered
from automatos.marketplace.jobs import DEFAULT_SCAN_TIMEOUT, ScanFailed, ScanProcess, load_bundle
from automatos.marketplace.models import MarketplacePlugin, PluginScanResult, PluginVersion
from automatos.marketplace.records import (
    ApproveRequest,
    FileEntry,
    FileSource,
    FindingRecord,
    PluginRecord,
    SubmissionRecord,
    VersionDiff,
    VersionSummary,
)

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Principal
    from automatos.marketplace.categories import PluginCategories

__all__ = ["MarketplaceService", "Submitted"]

log = logging.getLogger("automatos.marketplace")

APPROVABLE = ("scanned", "failed")
REJECTABLE = ("pending", "scanning", "scanned", "failed")
RESCANNABLE = ("scanned", "failed", "rejected", "approved")


@dataclass(frozen=True, slots=True)
class Submitted:
    """An upload's answer: the submission, and whether this request created it (201) or found it (200)."""

    record: SubmissionRecord
    created: bool


def _slug_version(plugin: MarketplacePlugin, version: PluginVersion) -> str:
    return f"{plugin.slug}@{version.version}"


class MarketplaceService:
    """Submissions, their storage and scans, and the admin's review; see the module docstring."""

    def __init__(self, kernel: Kernel, categories: PluginCategories) -> None:
        self.kernel = kernel
        self.categories = categories
        self._tasks: set[asyncio.Task[None]] = set()
        self._process: ScanProcess | None = None
        self._started = False

    # --- settings -------------------------------------------------------------------------------

    def _settings(self) -> Any:
        """The platform's marketplace settings (their defaults when the container does not list them)."""
        from automatos.marketplace.settings import MarketplaceSettings

        try:
            return self.kernel.settings.group(MarketplaceSettings)
        except Exception:  # not among the container's parts (an embedder's own container)
            return msgspec.convert({}, MarketplaceSettings)

    @staticmethod
    def _limits(settings: Any) -> Any:
        return settings.archive_limits()

    @staticmethod
    def _allowed(settings: Any) -> list[str] | None:
        allowed = getattr(settings, "plugins_allowed_dependencies", None)
        return None if allowed is None else list(allowed)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Queue again every version left ``pending`` or ``scanning`` (a scan the last process did not finish)."""
        self._started = True
        async with self.kernel.store.sessionmaker.begin() as session:
            rows = list(
                await session.scalars(
                    select(PluginVersion)
                    .where(PluginVersion.status.in_(("pending", "scanning")))
                    .order_by(PluginVersion.created_at)
                )
            )
            for row in rows:
                row.status = "pending"
        for row in rows:
            self._queue(row.id, row.scans)

    async def stop(self) -> None:
        """Cancel the scans in flight (their versions stay ``pending``/``scanning``: queued again at start)."""
        self._started = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._process is not None:
            self._process.close()
            self._process = None

    async def idle(self) -> None:
        """Wait until no scan is queued or running (tests, and a graceful drain)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _queue(self, version_id: str, scan: int) -> None:
        task = asyncio.get_running_loop().create_task(self._scan(version_id, scan), name=f"plugin-scan:{version_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- submissions ------------------------------------------------------------------------------

    async def submit(self, source: IO[bytes], *, principal: Principal, request_id: str | None = None) -> Submitted:
        """Validate and store an uploaded bundle, then queue its scan; see the module docstring."""
        settings = self._settings()
        source.seek(0)
        data = source.read()
        # the archive reader and manifest parser are bounded by the limits; off the event loop
        # refused here (422 naming the rule, limit and value) or, when signatures are required, unsigned
        bundle = await asyncio.to_thread(load_bundle, data, settings)
        manifest = bundle.manifest
        category = getattr(manifest, "category", None)
        if category:
            try:
                await self.categories.get(category)
            except NotFoundError:
                raise ValidationError(f"category {category!r} is not a plugin category", field="category") from None
        slug, version, sha256 = str(manifest.slug), str(manifest.version), str(bundle.sha256)
        files = [
            {
                "path": path,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "binary": as_text(content) is None,
            }
            for path, content in sorted(bundle.files.items())
        ]
        manifest_data = msgspec.to_builtins(getattr(bundle, "manifest_data", None) or manifest)
        existing = await self._existing(slug, version, sha256, principal)
        if existing is not None:
            return Submitted(existing, created=False)
        blob = self.kernel.backends.blob
        key = f"plugins/{slug}/{version}/{sha256}.zip"
        await blob.put(key, data, content_type="application/zip")
        try:
            version_id = await self._insert(
                slug=slug,
                name=str(getattr(manifest, "name", slug)),
                version=version,
                sha256=sha256,
                key=key,
                size=len(data),
                manifest=manifest_data,
                files=files,
                principal=principal,
                request_id=request_id,
            )
        except BaseException as exc:
            found = None
            if isinstance(exc, IntegrityError | ConflictError):
                with contextlib.suppress(Exception):
                    found = await self._existing(slug, version, sha256, principal)
            if found is not None:  # a concurrent identical upload won: its row names this blob
                return Submitted(found, created=False)
            with contextlib.suppress(Exception):
                await blob.delete(key)
            if isinstance(exc, IntegrityError):
                raise ConflictError(f"{slug}@{version} was submitted at the same time with other content") from None
            raise
        self._queue(version_id, 1)
        return Submitted(await self._record(version_id), created=True)

    async def _existing(self, slug: str, version: str, sha256: str, principal: Principal) -> SubmissionRecord | None:
        """The stored submission of ``slug@version`` when it holds the same bytes; 409 for other bytes."""
        async with self.kernel.store.sessionmaker() as session:
            found = (
                await session.execute(
                    select(MarketplacePlugin, PluginVersion)
                    .join(PluginVersion, PluginVersion.plugin_id == MarketplacePlugin.id)
                    .where(MarketplacePlugin.slug == slug, PluginVersion.version == version)
                )
            ).first()
            if found is None:
                return None
            plugin, row = found
            if row.sha256 != sha256:
                raise ConflictError(
                    f"{slug}@{version} exists with other content (sha256 {row.sha256}); versions are immutable,"
                    " submit a new version",
                    field="version",
                    extra={"plugin": slug, "plugin_version": version, "sha256": row.sha256},
                )
            self._may_submit(plugin, principal)
            return await self._load(session, row.id)

    @staticmethod
    def _may_submit(plugin: MarketplacePlugin, principal: Principal) -> None:
        if plugin.owner_id != principal.id and not principal.is_platform_admin:
            raise PermissionDeniedError(f"plugin {plugin.slug!r} belongs to another publisher", field="slug")

    async def _insert(
        self,
        *,
        slug: str,
        name: str,
        version: str,
        sha256: str,
        key: str,
        size: int,
        manifest: dict[str, Any],
        files: list[dict[str, Any]],
        principal: Principal,
        request_id: str | None,
    ) -> str:
        async with self.kernel.store.sessionmaker.begin() as session:
            plugin = await session.scalar(select(MarketplacePlugin).where(MarketplacePlugin.slug == slug))
            if plugin is None:
                plugin = MarketplacePlugin(slug=slug, name=name, owner_id=principal.id)
                session.add(plugin)
                await session.flush()
            else:
                self._may_submit(plugin, principal)
            row = PluginVersion(
                plugin_id=plugin.id,
                version=version,
                sha256=sha256,
                blob_key=key,
                size=size,
                manifest=manifest,
                files=files,
                status="pending",
                scans=1,
                submitted_by=principal.id,
            )
            session.add(row)
            await session.flush()
            KernelStore._audit(
                session,
                None,
                principal.id,
                "plugin.submitted",
                "plugin_version",
                row.id,
                {"slug": slug, "version": version, "sha256": sha256, "size": size},
                request_id,
            )
            return row.id

    async def submissions(self, principal: Principal, *, offset: int, limit: int) -> tuple[list[VersionSummary], int]:
        """The caller's own submissions, newest first."""
        query = (
            select(PluginVersion, MarketplacePlugin)
            .join(MarketplacePlugin, PluginVersion.plugin_id == MarketplacePlugin.id)
            .where(PluginVersion.submitted_by == principal.id)
            .order_by(PluginVersion.created_at.desc(), PluginVersion.id)
        )
        return await self._summaries(query, offset, limit)

    async def submission(self, version_id: str, principal: Principal) -> SubmissionRecord:
        """One submission, to its submitter and platform admins only (404 to anyone else)."""
        record = await self._record(version_id)
        if record.submitted_by != principal.id and not principal.is_platform_admin:
            raise NotFoundError(f"submission {version_id[:100]!r} does not exist", field="id")
        return record

    # --- scans ------------------------------------------------------------------------------------

    async def _scan(self, version_id: str, scan: int) -> None:
        """Run scan number ``scan`` of a version and write its result (or its failure)."""
        try:
            async with self.kernel.store.sessionmaker.begin() as session:
                row = await session.get(PluginVersion, version_id)
                if row is None or row.scans != scan or row.status not in ("pending", "scanning"):
                    return
                row.status = "scanning"
                key = row.blob_key
            settings = self._settings()
            report: dict[str, Any] | None = None
            error: str | None = None
            data = await self.kernel.backends.blob.get(key)
            if data is None:
                error = f"the stored bundle {key!r} is missing"
            else:
                if self._process is None:
                    timeout = getattr(settings, "plugins_scan_timeout_seconds", None) or DEFAULT_SCAN_TIMEOUT
                    self._process = ScanProcess(float(timeout))
                try:
                    report = await self._process.scan(data, settings, self._allowed(settings))
                except ScanFailed as exc:
                    error = str(exc)
            await self._write_result(version_id, scan, report, error)
        except asyncio.CancelledError:
            raise
        except Exception:  # a scan task must not die silently: the version is left to be queued again
            log.exception("plugin scan of version %s failed", version_id)

    async def _write_result(self, version_id: str, scan: int, report: dict[str, Any] | None, error: str | None) -> None:
        """The scan's verdict, score and findings, in one transaction; dropped if a newer scan was queued."""
        async with self.kernel.store.sessionmaker.begin() as session:
            row = await session.get(PluginVersion, version_id, with_for_update=True)
            if row is None or row.scans != scan or row.status != "scanning":
                return
            await session.execute(delete(PluginScanResult).where(PluginScanResult.version_id == version_id))
            row.scanned_at = utcnow()
            if report is None:
                row.status, row.verdict, row.risk_score, row.scan_error = "failed", "review", None, error
            else:
                errors = report.get("errors") or ()
                row.status, row.verdict = "scanned", str(report["verdict"])
                row.risk_score = int(report["risk_score"])
                row.scan_error = "; ".join(errors)[:4000] if errors else None
                for position, finding in enumerate(report.get("findings") or ()):
                    session.add(
                        PluginScanResult(
                            version_id=version_id,
                            position=position,
                            rule=str(finding["rule"])[:100],
                            severity=str(finding["severity"]),
                            file=str(finding.get("path") or "")[:1000],
                            line=int(finding.get("line") or 0),
                            message=str(finding.get("message") or ""),
                            reachable=bool(finding.get("reachable", True)),
                            declared=bool(finding.get("declared", False)),
                        )
                    )
            KernelStore._audit(
                session,
                None,
                None,
                "plugin.scanned",
                "plugin_version",
                version_id,
                {"status": row.status, "verdict": row.verdict, "risk_score": row.risk_score, "error": error},
            )

    # --- reading ----------------------------------------------------------------------------------

    async def _summaries(self, query: Any, offset: int, limit: int) -> tuple[list[VersionSummary], int]:
        async with self.kernel.store.sessionmaker() as session:
            total_rows, total = await _page_pairs(session, query, offset, limit)
        return [_summary(row, plugin) for row, plugin in total_rows], total

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
        return await self._summaries(query, offset, limit)

    async def plugins(
        self, *, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[PluginRecord], int]:
        query = select(MarketplacePlugin).order_by(MarketplacePlugin.slug)
        if status is not None:
            query = query.where(MarketplacePlugin.status == status)
        async with self.kernel.store.sessionmaker() as session:
            rows, total = await page(session, query, offset, limit)
        return [_plugin(row) for row in rows], total

    async def plugin(self, ref: str) -> PluginRecord:
        async with self.kernel.store.sessionmaker() as session:
            return _plugin(await _plugin_row(session, ref))

    async def _record(self, version_id: str) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker() as session:
            return await self._load(session, version_id)

    async def _load(self, session: AsyncSession, version_id: str) -> SubmissionRecord:
        row, plugin = await _version_row(session, version_id)
        findings = await session.scalars(
            select(PluginScanResult)
            .where(PluginScanResult.version_id == version_id)
            .order_by(PluginScanResult.position)
        )
        return _submission(row, plugin, [_finding(f) for f in findings])

    async def version(self, version_id: str) -> SubmissionRecord:
        return await self._record(version_id)

    async def files(self, version_id: str) -> list[FileEntry]:
        async with self.kernel.store.sessionmaker() as session:
            row, _ = await _version_row(session, version_id)
        return [msgspec.convert(entry, FileEntry) for entry in row.files]

    async def _bundle_files(self, row: PluginVersion) -> dict[str, bytes]:
        """The stored bundle's files (read with no limits beyond those it passed on upload)."""
        data = await self.kernel.backends.blob.get(row.blob_key)
        if data is None:
            raise NotFoundError(f"the stored bundle of version {row.id} is missing", field="id")
        from automatos.marketplace.archive import read_zip

        files: dict[str, bytes] = await asyncio.to_thread(read_zip, data, self._limits(self._settings()))
        return files

    async def file(self, version_id: str, path: str) -> FileSource:
        """One file of a version as numbered lines (a binary one described: size and sha256)."""
        async with self.kernel.store.sessionmaker() as session:
            row, _ = await _version_row(session, version_id)
        if not any(entry["path"] == path for entry in row.files):
            raise NotFoundError(f"version {version_id} has no file {path[:200]!r}", field="path")
        files = await self._bundle_files(row)
        return numbered(path, files[path])

    async def diff(self, version_id: str) -> VersionDiff:
        """The version against the last approved version of its plugin (other than itself)."""
        async with self.kernel.store.sessionmaker() as session:
            row, _plugin = await _version_row(session, version_id)
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

    # --- the admin's actions ----------------------------------------------------------------------

    async def approve(
        self, version_id: str, data: ApproveRequest, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            row, plugin = await _version_row(session, version_id, lock=True)
            _transition(row, plugin, "approve", APPROVABLE)
            if data.sha256 != row.sha256:
                raise ConflictError(
                    f"{_slug_version(plugin, row)} has sha256 {row.sha256}, not {data.sha256}",
                    field="sha256",
                    extra={"sha256": row.sha256},
                )
            granted = _granted(row.manifest, data.granted_permissions)
            if row.verdict == "blocked":
                if not data.override:
                    raise ValidationError(
                        f"{_slug_version(plugin, row)} is blocked (risk {row.risk_score}): approving it needs"
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
            KernelStore._audit(
                session,
                None,
                actor_id,
                "plugin.approved",
                "plugin_version",
                row.id,
                {
                    "slug": plugin.slug,
                    "version": row.version,
                    "sha256": row.sha256,
                    "verdict": row.verdict,
                    "granted_permissions": granted,
                    "override": row.override,
                    "reason": row.override_reason,
                },
                request_id,
            )
            return await self._load(session, row.id)

    async def reject(
        self, version_id: str, reason: str, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            row, plugin = await _version_row(session, version_id, lock=True)
            _transition(row, plugin, "reject", REJECTABLE)
            row.scans += 1  # a scan still in flight for it is dropped when it finishes
            row.status, row.rejected_by, row.rejected_reason = "rejected", actor_id, reason
            KernelStore._audit(
                session,
                None,
                actor_id,
                "plugin.rejected",
                "plugin_version",
                row.id,
                {"slug": plugin.slug, "version": row.version, "reason": reason},
                request_id,
            )
            return await self._load(session, row.id)

    async def rescan(self, version_id: str, *, actor_id: str, request_id: str | None = None) -> SubmissionRecord:
        async with self.kernel.store.sessionmaker.begin() as session:
            row, plugin = await _version_row(session, version_id, lock=True)
            _transition(row, plugin, "re-scan", RESCANNABLE)
            was = row.status
            row.scans += 1
            row.status = "pending"
            if was == "approved":  # withdrawn: approved again on the new findings, or not
                row.approved_by = row.approved_sha256 = row.approved_at = None
                row.granted_permissions, row.override, row.override_reason = None, False, None
                await _latest(session, plugin, without=row.id)
            KernelStore._audit(
                session,
                None,
                actor_id,
                "plugin.rescan",
                "plugin_version",
                row.id,
                {"slug": plugin.slug, "version": row.version, "was": was},
                request_id,
            )
            scan = row.scans
            record = await self._load(session, row.id)
        self._queue(version_id, scan)
        return record

    async def set_plugin_status(
        self, ref: str, status: str, reason: str | None, *, actor_id: str, request_id: str | None = None
    ) -> PluginRecord:
        """``deactivated`` (the kill switch, with a reason) or ``active`` again; 409 when it already is."""
        async with self.kernel.store.sessionmaker.begin() as session:
            plugin = await _plugin_row(session, ref, lock=True)
            if plugin.status == status:
                raise ConflictError(
                    f"plugin {plugin.slug!r} is already {status}",
                    field="status",
                    extra={"current_status": plugin.status},
                )
            plugin.status, plugin.status_reason = status, reason
            action = "plugin.deactivated" if status == "deactivated" else "plugin.activated"
            KernelStore._audit(
                session,
                None,
                actor_id,
                action,
                "plugin",
                plugin.id,
                {"slug": plugin.slug, "reason": reason},
                request_id,
            )
            await session.flush()
            return _plugin(plugin)


# --- helpers ------------------------------------------------------------------------------------------


async def _page_pairs(session: AsyncSession, query: Any, offset: int, limit: int) -> tuple[list[Any], int]:
    from sqlalchemy import func

    total = int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    rows = (await session.execute(query.offset(offset).limit(limit))).all()
    return [tuple(r) for r in rows], total


async def _version_row(
    session: AsyncSession, version_id: str, *, lock: bool = False
) -> tuple[PluginVersion, MarketplacePlugin]:
    row = await session.get(PluginVersion, version_id, with_for_update=lock) if lookable(version_id) else None
    if row is None:
        raise NotFoundError(f"plugin version {version_id[:100]!r} does not exist", field="id")
    plugin = await session.get(MarketplacePlugin, row.plugin_id, with_for_update=lock)
    assert plugin is not None  # a foreign key with ON DELETE CASCADE
    return row, plugin


async def _plugin_row(session: AsyncSession, ref: str, *, lock: bool = False) -> MarketplacePlugin:
    plugin = None
    if lookable(ref):
        query = select(MarketplacePlugin).where((MarketplacePlugin.id == ref) | (MarketplacePlugin.slug == ref))
        plugin = await session.scalar(query.with_for_update() if lock else query)
    if plugin is None:
        raise NotFoundError(f"plugin {ref[:100]!r} does not exist", field="plugin")
    return plugin


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
            f"{_slug_version(plugin, row)} is {row.status}: it cannot {action}"
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
        for value in values:
            if value not in declared.get(kind, []):
                raise ValidationError(
                    f"permission {kind}={value!r} is not declared in the manifest; grant only what it declares",
                    field=f"granted_permissions.{kind}",
                    extra={"permission": kind, "value": value},
                )
        granted[kind] = list(dict.fromkeys(values))
    return granted


def _summary(row: PluginVersion, plugin: MarketplacePlugin) -> VersionSummary:
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
    base = msgspec.structs.asdict(_summary(row, plugin))
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


def _plugin(row: MarketplacePlugin) -> PluginRecord:
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
