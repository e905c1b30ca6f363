"""Scans of stored versions: never on the request path, never in the API's process; then the LLM review.

:class:`Scans` is the one writer of a version's scan state — ``status`` ``pending`` → ``scanning``
→ ``scanned`` (or ``failed``: verdict ``review``, never ``safe``), ``verdict``, ``risk_score``,
``scan_error``, ``scanned_at`` — of every ``plugin_scan_results`` row, and of the ``plugin.scanned``
audit entry.

- **Where the static scan runs.** ``PLUGINS_SCAN_MODE=local`` (the embedded default): in this
  node's :class:`~automatos.marketplace.jobs.ScanProcess` (a spawned process, one scan at a time,
  under ``PLUGINS_SCAN_TIMEOUT_SECONDS``). ``queue``: as a ``marketplace.scan`` job served by
  ``automatos worker`` (:mod:`automatos.marketplace.queue`), which reads the bundle from the blob
  backend and answers the report; this node writes it. A worker lost mid-scan (stopped, killed,
  overdue) decides nothing: the scan is submitted again, :data:`~automatos.marketplace.queue.MAX_LOSSES`
  times, then ``failed``.
- **One result per scan number.** Every (re-)queue bumps ``plugin_versions.scans``; a scan claims
  its version (``pending`` → ``scanning``) and writes its result only while its number is current
  and the version is still ``scanning``, in one transaction (the findings replaced). A scan whose
  number was superseded (a re-scan, a reject, a sweep) writes nothing: two scans of one version
  never both write.
- **Never stuck.** At start and every :attr:`Scans.sweep_interval` seconds a node re-queues
  versions left ``pending`` or ``scanning`` for longer than the time limit plus
  :data:`~automatos.marketplace.queue.MARGIN` (their node or worker went away): it bumps their
  scan number in the same transaction, so only one node takes each.
- **The LLM review** (``PLUGINS_LLM_REVIEW``) runs after a static scan that finished, in this
  node, as the platform: the provider and model of ``LLM_PROVIDER`` / ``LLM_MODEL`` (or
  ``PLUGINS_REVIEW_MODEL``), resolved in the ``default`` workspace's context (the platform's own
  workspace: its extensions and their config are the platform operator's). Its rules are
  :mod:`automatos.marketplace.review`'s: it may raise the verdict, lowers ``review`` → ``safe`` only
  without high or critical findings, never unblocks; an unusable answer or a provider outage is a
  ``medium`` ``llm-review`` finding (verdict at least ``review``) and the static result is stored
  with it. The ``offline`` provider (the embedded default) only echoes: with it the review is
  skipped and an ``info`` ``llm-review`` finding says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from sqlalchemy import delete, select

from automatos.kernel.db.base import utcnow
from automatos.kernel.scanning import BLOCKED_AT, REVIEW_AT, SCANNER_ERROR_RULES, ScanReport, verdict_for
from automatos.kernel.store import KernelStore
from automatos.kernel.tasks import cancel_and_wait
from automatos.marketplace.jobs import MARGIN, MAX_LOSSES, ScanAnswer, ScanProcess, answer, scan_stored
from automatos.marketplace.models import PluginScanResult, PluginVersion
from automatos.marketplace.queries import lock_for_write
from automatos.marketplace.review import ProviderSource, completion_from_providers, llm_review, noted, unusable

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.marketplace.queue import QueueScanner
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = ["PlatformModel", "Scans"]

log = logging.getLogger("automatos.marketplace")

REVIEW_WORKSPACE = "default"
"""The workspace whose providers the LLM review uses: the platform's own."""


class PlatformModel(Protocol):
    """``() -> (provider, model)``: the platform's configured default (``LLM_PROVIDER``, ``LLM_MODEL``)."""

    def __call__(self) -> tuple[str, str]: ...


class _Requeue(Exception):
    """The version was not scanned and is not ours any more (another node took it)."""


class Scans:
    """Runs the scans of stored versions and writes their results; see the module docstring."""

    retry_delay = 1.0
    """Seconds before a scan whose worker was lost is submitted again (doubling, at most 60)."""

    def __init__(
        self,
        kernel: Kernel,
        settings: Callable[[], MarketplaceSettings],
        *,
        providers: ProviderSource | None = None,
        platform_model: PlatformModel | None = None,
    ) -> None:
        self.kernel = kernel
        self.settings = settings
        self.providers = providers
        self.platform_model = platform_model
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._process: ScanProcess | None = None
        self._queue: QueueScanner | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._local = asyncio.Semaphore(1)

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        return float(self.settings().plugins_scan_timeout_seconds)

    @property
    def sweep_interval(self) -> float:
        return max(5.0, min(60.0, self.timeout / 2))

    async def start(self) -> None:
        """Re-queue the versions other scans left behind, then keep doing so now and then."""
        await self.sweep()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop(), name="plugin-scan-sweep")

    async def stop(self) -> None:
        """Cancel the scans in flight (their versions stay ``pending``/``scanning``: re-queued by a sweep)."""
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
            self._sweeper = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._process is not None:
            self._process.close()
            self._process = None
        if self._queue is not None:
            await self._queue.stop()
            self._queue = None

    async def idle(self) -> None:
        """Wait until no scan is queued or running here (tests, and a graceful drain)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def queue(self, version_id: str, scan: int) -> None:
        """Run scan number ``scan`` of a version in the background."""
        task = asyncio.get_running_loop().create_task(self._scan(version_id, scan), name=f"plugin-scan:{version_id}")
        self._tasks[task] = version_id
        task.add_done_callback(self._tasks.pop)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("re-queueing stale plugin scans failed")

    async def sweep(self) -> list[str]:
        """Re-queue versions ``pending``/``scanning`` for longer than the time limit (and not scanned here)."""
        cutoff = utcnow() - timedelta(seconds=self.timeout + MARGIN)
        ours = set(self._tasks.values())
        taken: list[tuple[str, int]] = []
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            rows = await session.scalars(
                select(PluginVersion)
                .where(PluginVersion.status.in_(("pending", "scanning")), PluginVersion.updated_at < cutoff)
                .order_by(PluginVersion.created_at)
                .with_for_update(skip_locked=True)
            )
            for row in rows:
                if row.id in ours:
                    continue
                row.scans += 1  # a scan of it still running somewhere writes nothing now
                row.status = "pending"
                taken.append((row.id, row.scans))
        for version_id, scan in taken:
            log.info("plugin version %s was left unscanned; scanning it again", version_id)
            self.queue(version_id, scan)
        return [version_id for version_id, _ in taken]

    # --- one scan -----------------------------------------------------------------------------------

    async def _claim(self, version_id: str, scan: int) -> tuple[str, str] | None:
        """Mark the version ``scanning`` (and fresh) if scan ``scan`` is still its current one."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
            row = await session.get(PluginVersion, version_id, with_for_update=True)
            if row is None or row.scans != scan or row.status not in ("pending", "scanning"):
                return None
            row.status = "scanning"
            row.updated_at = utcnow()  # the sweep's clock: this node is on it
            return row.blob_key, row.sha256

    async def _scan(self, version_id: str, scan: int) -> None:
        """Run scan number ``scan`` of a version and write its result (or its failure)."""
        try:
            claimed = await self._claim(version_id, scan)
            if claimed is None:
                return
            key, sha256 = claimed
            result = await self._static(version_id, scan, key, sha256)
            report, error = result["report"], result["error"]
            if report is not None:
                report = await self._platform_thresholds(report)
                report = await self._review(key, report)
            await self._write_result(version_id, scan, report, error)
        except _Requeue:
            return  # another node took the version up
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a scan task must not die silently, nor leave its version scanning
            log.exception("plugin scan of version %s failed", version_id)
            try:  # failed (verdict review); when even that cannot be written, a sweep takes it up again
                await self._write_result(
                    version_id, scan, None, f"the scan could not run: {type(exc).__name__}: {exc}"[:1000]
                )
            except Exception:
                log.exception("recording the failed scan of version %s failed", version_id)

    async def _platform_thresholds(self, report: dict[str, Any]) -> dict[str, Any]:
        """The static verdict under the platform's thresholds (platform settings
        ``marketplace.review_risk_threshold``, ``marketplace.block_risk_threshold``; 20 and 70)."""
        platform = self.kernel.settings_registry
        review_at = await platform.int_setting("marketplace.review_risk_threshold", REVIEW_AT, 0, 100)
        blocked_at = await platform.int_setting("marketplace.block_risk_threshold", BLOCKED_AT, 0, 100)
        findings = report.get("findings") or ()
        scanner_error = any(f.get("rule") in SCANNER_ERROR_RULES for f in findings if isinstance(f, dict))
        verdict = verdict_for(
            int(report["risk_score"]), scanner_error=scanner_error, review_at=review_at, blocked_at=blocked_at
        )
        return {**report, "verdict": verdict.value}

    async def _static(self, version_id: str, scan: int, key: str, sha256: str) -> ScanAnswer:
        settings = self.settings()
        if settings.plugins_scan_mode != "queue":
            # one local scan at a time (the scan process serves one): the bundle is read from the
            # blob backend when its turn comes, so twenty queued scans do not hold twenty bundles
            async with self._local:
                if self._process is None:
                    self._process = ScanProcess(self.timeout, settings.scan_memory_bytes)
                return await scan_stored(self.kernel.backends.blob, key, sha256, settings, self._process.scan)
        losses, delay = 0, self.retry_delay
        while True:
            scanner = await self._scanner(settings)
            result = await scanner.scan(version_id, key, sha256, limit=self.timeout)
            if not result["retry"]:
                return result
            if result.get("outcome") not in ("not_taken", "unreachable"):
                losses += 1  # a worker took it and went away
            if losses >= MAX_LOSSES:
                return answer(error=f"{MAX_LOSSES} scan workers were lost during this scan; last: {result['error']}")
            log.warning("plugin scan of %s: %s; submitting it again", version_id, result["error"])
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            if await self._claim(version_id, scan) is None:  # refreshes the sweep's clock
                raise _Requeue

    async def _scanner(self, settings: MarketplaceSettings) -> QueueScanner:
        if self._queue is None:
            # imported here: the job queue needs the redis extra, the embedded default has none
            from automatos.jobs.backend import queue_backend
            from automatos.marketplace.queue import QueueScanner

            backend = await queue_backend(self.kernel.hooks, self.kernel.settings)
            self._queue = QueueScanner(backend, settings.plugins_scan_queue_name)
        return self._queue

    # --- the LLM review ----------------------------------------------------------------------------

    async def _review(self, key: str, report: dict[str, Any]) -> dict[str, Any]:
        """The report after the LLM review (module docstring); the static report when it is off."""
        settings = self.settings()
        if not settings.plugins_llm_review or self.providers is None or self.platform_model is None:
            return report
        static = msgspec.convert(report, ScanReport)
        try:
            provider, default_model = self.platform_model()
            if provider == "offline":
                why = (
                    "the LLM review was skipped: the platform's LLM provider is 'offline' (it echoes, it cannot review)"
                )
                return _builtins(noted(static, why))
            workspace = await self.kernel.store.get_workspace(REVIEW_WORKSPACE)
            if workspace is None:
                raise LookupError(f"the platform's {REVIEW_WORKSPACE!r} workspace does not exist")
            data = await self.kernel.backends.blob.get(key)
            if data is None:
                raise LookupError(f"the stored bundle {key!r} is missing")
            from automatos.marketplace.jobs import load_bundle

            bundle = await asyncio.to_thread(load_bundle, data, settings)
            model = settings.plugins_review_model or default_model
            complete = completion_from_providers(self.providers, workspace, provider=provider, model=model)
            outcome = await llm_review(
                bundle, static, complete=complete, budget=settings.plugins_review_token_budget, time_limit=self.timeout
            )
            return _builtins(outcome.report)
        except Exception as exc:  # the review must not lose the static result
            log.warning("LLM review failed: %s: %s", type(exc).__name__, exc)
            return _builtins(unusable(static, f"{type(exc).__name__}: {exc}"))

    # --- the result ----------------------------------------------------------------------------------

    async def _write_result(self, version_id: str, scan: int, report: dict[str, Any] | None, error: str | None) -> None:
        """The scan's verdict, score and findings, in one transaction; dropped if a newer scan was queued."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_for_write(session)
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
            details = {"status": row.status, "verdict": row.verdict, "risk_score": row.risk_score, "error": error}
            KernelStore._audit(session, None, None, "plugin.scanned", "plugin_version", version_id, details)


def _builtins(report: ScanReport) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(report)
    return out
