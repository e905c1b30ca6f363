"""Submissions: an uploaded bundle validated, stored once under its sha256, and queued for its scan.

:class:`Submissions` is the one writer of new rows of ``marketplace_plugins`` and ``plugin_versions``
(and of the ``plugin.submitted`` audit entry); what happens to a version afterwards is
:mod:`~automatos.marketplace.scans`' (its scan) and :mod:`~automatos.marketplace.admin`'s (review).

- **Nothing half-stored.** The bundle is read and validated first (archive limits, manifest,
  signature when required, category); a refusal stores nothing. The blob is written under
  ``plugins/{slug}/{version}/{sha256}.zip`` — keyed by its content, so two concurrent uploads of
  one version with different bytes never overwrite each other — then the rows, in one transaction.
  If that transaction fails the blob is deleted again, unless a row written meanwhile names the same
  bytes (a concurrent identical upload: answered as the existing submission).
- **Immutable versions.** The same slug and version with the same sha256 is the existing submission
  (``created`` false: 200); other bytes are a 409 naming ``slug@version``. Versions of a slug are
  submitted by the principal that submitted its first version, or by a platform admin (403 else).
- **Visibility.** A submission is its submitter's and platform admins' (404 to anyone else).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from automatos.kernel.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ValidationError,
)
from automatos.kernel.store import KernelStore
from automatos.marketplace.diff import as_text
from automatos.marketplace.jobs import load_bundle
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.queries import load_record, lock_for_write, page_pairs, summary
from automatos.marketplace.records import SubmissionRecord, VersionSummary

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Principal
    from automatos.marketplace.categories import PluginCategories
    from automatos.marketplace.settings import MarketplaceSettings

log = logging.getLogger("automatos.marketplace")

READING_AT_ONCE = 2
"""Uploaded bundles read and validated at once per process (memory: see :meth:`Submissions.submit`)."""

__all__ = ["Submissions", "Submitted"]


@dataclass(frozen=True, slots=True)
class Submitted:
    """An upload's answer: the submission, and whether this request created it (201) or found it (200)."""

    record: SubmissionRecord
    created: bool


class Submissions:
    """Upload, storage and immutability of plugin versions; see the module docstring."""

    def __init__(
        self,
        kernel: Kernel,
        categories: PluginCategories,
        settings: Callable[[], MarketplaceSettings],
        queue_scan: Callable[[str, int], None],
    ) -> None:
        self.kernel = kernel
        self.categories = categories
        self.settings = settings
        self.queue_scan = queue_scan
        """``queue_scan(version_id, scan_number)``: hands a stored version to the scans."""
        self._reading = asyncio.Semaphore(READING_AT_ONCE)

    async def submit(self, source: IO[bytes], *, principal: Principal, request_id: str | None = None) -> Submitted:
        """Validate and store an uploaded bundle, then queue its scan; see the module docstring.

        At most :data:`READING_AT_ONCE` bundles are read into memory at a time in this process (the
        others wait, spooled to disk): each holds up to the bundle cap plus its expanded files, so
        twenty concurrent 10 MB uploads must not cost twenty times that.
        """
        async with self._reading:
            return await self._submit(source, principal=principal, request_id=request_id)

    async def _submit(self, source: IO[bytes], *, principal: Principal, request_id: str | None) -> Submitted:
        settings = self.settings()
        source.seek(0)
        data = source.read()
        # the archive reader and manifest parser are bounded by the limits; off the event loop.
        # Refused here (422 naming the rule, limit and value) or, when signatures are required, unsigned.
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
        try:
            await blob.put(key, data, content_type="application/zip")
        except Exception as exc:
            log.warning("storing plugin bundle %s failed: %s: %s", key, type(exc).__name__, exc)
            await self._drop_unreferenced(key)
            raise ServiceUnavailableError(
                f"the bundle could not be stored (blob storage: {type(exc).__name__}); nothing was kept, retry later",
                retry_after=5,
            ) from None
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
            # the blob goes only when no stored row names it: an identical upload by someone else
            # (or a concurrent one of ours) may have stored the same key, and its row needs it.
            await self._drop_unreferenced(key)
            if isinstance(exc, IntegrityError):
                # a concurrent upload of this slug@version won: the same bytes are its submission
                # (403 when the plugin is another publisher's), other bytes a 409
                found = await self._existing(slug, version, sha256, principal)
                if found is not None:
                    return Submitted(found, created=False)
                raise ConflictError(f"{slug}@{version} was submitted at the same time with other content") from None
            raise
        await self._ensure_blob(key, data)
        self.queue_scan(version_id, 1)
        async with self.kernel.store.sessionmaker() as session:
            return Submitted(await load_record(session, version_id), created=True)

    async def _drop_unreferenced(self, key: str) -> None:
        """Delete a just-written bundle blob unless a stored version names it (or that cannot be told)."""
        try:
            async with self.kernel.store.sessionmaker() as session:
                used = await session.scalar(select(PluginVersion.id).where(PluginVersion.blob_key == key).limit(1))
        except Exception:
            return  # cannot tell: an orphaned blob is better than a stored version without its bundle
        if used is None:
            with contextlib.suppress(Exception):
                await self.kernel.backends.blob.delete(key)

    async def _ensure_blob(self, key: str, data: bytes) -> None:
        """After the row is stored: its blob is there (a concurrent refused upload of the same bytes
        may have deleted it between its check and ours); written again when not."""
        blob = self.kernel.backends.blob
        try:
            if not await blob.exists(key):
                await blob.put(key, data, content_type="application/zip")
        except Exception as exc:  # the row is stored; the scan reports a missing bundle as failed
            log.warning("checking plugin bundle %s after storing it failed: %s: %s", key, type(exc).__name__, exc)

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
            _may_submit(plugin, principal)
            return await load_record(session, row.id)

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
            await lock_for_write(session)
            plugin = await session.scalar(select(MarketplacePlugin).where(MarketplacePlugin.slug == slug))
            if plugin is None:
                plugin = MarketplacePlugin(slug=slug, name=name, owner_id=principal.id)
                session.add(plugin)
                await session.flush()
            else:
                _may_submit(plugin, principal)
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

    async def mine(self, principal: Principal, *, offset: int, limit: int) -> tuple[list[VersionSummary], int]:
        """The caller's own submissions, newest first."""
        query = (
            select(PluginVersion, MarketplacePlugin)
            .join(MarketplacePlugin, PluginVersion.plugin_id == MarketplacePlugin.id)
            .where(PluginVersion.submitted_by == principal.id)
            .order_by(PluginVersion.created_at.desc(), PluginVersion.id)
        )
        async with self.kernel.store.sessionmaker() as session:
            pairs, total = await page_pairs(session, query, offset, limit)
        return [summary(row, plugin) for row, plugin in pairs], total

    async def one(self, version_id: str, principal: Principal) -> SubmissionRecord:
        """One submission, to its submitter and platform admins only (404 to anyone else)."""
        async with self.kernel.store.sessionmaker() as session:
            record = await load_record(session, version_id)
        if record.submitted_by != principal.id and not principal.is_platform_admin:
            raise NotFoundError(f"submission {version_id[:100]!r} does not exist", field="id")
        return record


def _may_submit(plugin: MarketplacePlugin, principal: Principal) -> None:
    if plugin.owner_id != principal.id and not principal.is_platform_admin:
        raise PermissionDeniedError(f"plugin {plugin.slug!r} belongs to another publisher", field="slug")
