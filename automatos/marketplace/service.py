"""The marketplace as one service (the container's ``marketplace``): submissions, scans, the admin's review.

:class:`MarketplaceService` is a façade over three parts, each the one writer of its own writes
(docs/architecture.md: one owner per write):

- :class:`~automatos.marketplace.submissions.Submissions` — upload, blob storage, immutability: new
  ``marketplace_plugins`` and ``plugin_versions`` rows, ``plugin.submitted``;
- :class:`~automatos.marketplace.scans.Scans` — the scan of a stored version (a spawned process, or
  the job queue with ``PLUGINS_SCAN_MODE=queue``), the LLM review after it, the result: a version's
  scan state, ``plugin_scan_results``, ``plugin.scanned``;
- :class:`~automatos.marketplace.admin.AdminReview` — what the admin reads and decides: approve,
  reject, re-scan, deactivate/activate, with their audit entries.

Reads shared by the three are :mod:`~automatos.marketplace.queries`'. Scans never run on the
request path: a submission and a re-scan hand the version to :meth:`Scans.queue` and answer at once.
The API's lifespan calls :meth:`start` (re-queue what a stopped node left) and :meth:`stop`.

``FEATURE_MARKETPLACE`` (run-time): off, :meth:`require_enabled` refuses the submission routes with
a 503 problem (``marketplace-unavailable``); the admin's routes keep working so that admins can still
review, reject and deactivate, and scans already queued still finish.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

import msgspec

from automatos.kernel.errors import AutomatosError
from automatos.marketplace.admin import AdminReview
from automatos.marketplace.scans import PlatformModel, Scans
from automatos.marketplace.submissions import Submissions, Submitted

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Principal
    from automatos.marketplace.archive import ArchiveLimits
    from automatos.marketplace.categories import PluginCategories
    from automatos.marketplace.records import (
        ApproveRequest,
        FileEntry,
        FileSource,
        PluginRecord,
        SubmissionRecord,
        VersionDiff,
        VersionSummary,
    )
    from automatos.marketplace.review import ProviderSource
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = ["MarketplaceService", "MarketplaceUnavailableError", "Submitted"]


class MarketplaceUnavailableError(AutomatosError):
    status_code = 503
    title = "Marketplace unavailable"
    type_slug = "marketplace-unavailable"


class MarketplaceService:
    """Submissions, their storage and scans, and the admin's review; see the module docstring."""

    def __init__(
        self,
        kernel: Kernel,
        categories: PluginCategories,
        *,
        providers: ProviderSource | None = None,
        platform_model: PlatformModel | None = None,
    ) -> None:
        """``providers`` and ``platform_model`` serve the LLM review (without them it does not run)."""
        self.kernel = kernel
        self.categories = categories
        self.scans = Scans(kernel, self._settings, providers=providers, platform_model=platform_model)
        self.submissions_part = Submissions(kernel, categories, self._settings, self.scans.queue)
        self.admin = AdminReview(kernel, self._settings, self.scans.queue)

    # --- settings -------------------------------------------------------------------------------

    def _settings(self) -> MarketplaceSettings:
        """The platform's marketplace settings (their defaults when the container does not list them)."""
        from automatos.marketplace.settings import MarketplaceSettings

        try:
            return self.kernel.settings.group(MarketplaceSettings)
        except Exception:  # not among the container's parts (an embedder's own container)
            return msgspec.convert({}, MarketplaceSettings)

    def limits(self) -> ArchiveLimits:
        return self._settings().archive_limits()

    def require_enabled(self) -> None:
        """:class:`MarketplaceUnavailableError` (503) while ``FEATURE_MARKETPLACE`` is off."""
        if not self.kernel.current_settings.feature_marketplace:
            raise MarketplaceUnavailableError(
                "the marketplace is disabled on this platform (FEATURE_MARKETPLACE=false); submissions are closed"
            )

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.scans.start()

    async def stop(self) -> None:
        await self.scans.stop()

    async def idle(self) -> None:
        await self.scans.idle()

    # --- submissions ----------------------------------------------------------------------------

    async def submit(self, source: IO[bytes], *, principal: Principal, request_id: str | None = None) -> Submitted:
        return await self.submissions_part.submit(source, principal=principal, request_id=request_id)

    async def submissions(self, principal: Principal, *, offset: int, limit: int) -> tuple[list[VersionSummary], int]:
        return await self.submissions_part.mine(principal, offset=offset, limit=limit)

    async def submission(self, version_id: str, principal: Principal) -> SubmissionRecord:
        return await self.submissions_part.one(version_id, principal)

    # --- the admin's review -----------------------------------------------------------------------

    async def versions(self, **filters: Any) -> tuple[list[VersionSummary], int]:
        return await self.admin.versions(**filters)

    async def plugins(self, **filters: Any) -> tuple[list[PluginRecord], int]:
        return await self.admin.plugins(**filters)

    async def plugin(self, ref: str) -> PluginRecord:
        return await self.admin.plugin(ref)

    async def version(self, version_id: str) -> SubmissionRecord:
        return await self.admin.version(version_id)

    async def files(self, version_id: str) -> list[FileEntry]:
        return await self.admin.files(version_id)

    async def file(self, version_id: str, path: str) -> FileSource:
        return await self.admin.file(version_id, path)

    async def diff(self, version_id: str) -> VersionDiff:
        return await self.admin.diff(version_id)

    async def approve(
        self, version_id: str, data: ApproveRequest, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        return await self.admin.approve(version_id, data, actor_id=actor_id, request_id=request_id)

    async def reject(
        self, version_id: str, reason: str, *, actor_id: str, request_id: str | None = None
    ) -> SubmissionRecord:
        return await self.admin.reject(version_id, reason, actor_id=actor_id, request_id=request_id)

    async def rescan(self, version_id: str, *, actor_id: str, request_id: str | None = None) -> SubmissionRecord:
        return await self.admin.rescan(version_id, actor_id=actor_id, request_id=request_id)

    async def set_plugin_status(
        self, ref: str, status: str, reason: str | None, *, actor_id: str, request_id: str | None = None
    ) -> PluginRecord:
        return await self.admin.set_plugin_status(ref, status, reason, actor_id=actor_id, request_id=request_id)
