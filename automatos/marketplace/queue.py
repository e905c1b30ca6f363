"""Scans on the shared job queue (``PLUGINS_SCAN_MODE=queue``): ``marketplace.scan`` jobs, ``automatos worker``.

This is the marketplace's layer on the job queue (:mod:`automatos.jobs`, whose docstrings describe
deadlines, withdrawal, hand-backs and graceful stops):

1. The API node that scans a version (:class:`QueueScanner`, used by
   :mod:`automatos.marketplace.scans`) submits one job carrying the version id, the blob key and
   the sha256 — never the bundle's bytes — and waits for its outcome.
2. A worker (:func:`serve`) reads the bundle from the blob backend by its key, checks its sha256
   (a blob that changed under the key is not scanned), scans it in its own spawned scan process
   under ``PLUGINS_SCAN_TIMEOUT_SECONDS`` (:class:`~automatos.marketplace.jobs.ScanProcess`), and
   returns the report as JSON builtins. It writes nothing: the worker needs no database.
3. The API node writes the result (and runs the LLM review first). So a worker that is stopped or
   killed mid-scan loses nothing: its job answers ``retry`` (stopped) or never answers (killed: the
   caller's deadline passes and the job is aborted), the version stays ``scanning``, and the API
   node submits it again for the next worker (:data:`MAX_LOSSES` times, then ``failed``). An API
   node that dies while waiting leaves the version ``scanning``; any node re-queues it once it is
   older than the time limit (:meth:`automatos.marketplace.scans.Scans.sweep`).

A job's answer (:data:`ScanAnswer`): ``{"report": dict | None, "error": str | None, "retry": bool}``
— a report, or why the scan failed (the bundle's fault, or the scanner's: ``failed``, verdict
``review``), or ``retry``: nothing was decided, scan it again elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from automatos.jobs.queue import POLL_INTERVAL, JobOutcome, JobQueue
from automatos.jobs.worker import GRACE, JobFunction, JobRun, JobWorker
from automatos.marketplace.jobs import MARGIN, MAX_LOSSES, Scan, ScanAnswer, ScanProcess, answer, scan_stored

if TYPE_CHECKING:
    from automatos.kernel.backends import BlobBackend, QueueBackend
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = [
    "FUNCTION",
    "MARGIN",
    "MAX_LOSSES",
    "QueueScanner",
    "Scan",
    "ScanAnswer",
    "answer",
    "scan_stored",
    "serve",
]

FUNCTION = "marketplace.scan"
"""The job queue's function name of a plugin scan."""
BACKSTOP = 10.0
"""Seconds beyond the time limit after which a worker gives up on its own scan process."""


class QueueScanner:
    """The API node's side: submit a version's scan as a job and wait for its :data:`ScanAnswer`."""

    def __init__(self, backend: QueueBackend, queue_name: str, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.queue_name = queue_name
        self.jobs = JobQueue(backend, queue_name, poll_interval=poll_interval)

    async def scan(self, version_id: str, key: str, sha256: str, *, limit: float) -> ScanAnswer:
        """The scan's answer; ``limit`` is the scan's time limit (the caller waits it plus :data:`MARGIN`)."""
        deadline = limit + MARGIN
        job = {"version_id": version_id, "blob_key": key, "sha256": sha256}
        outcome = await self.jobs.submit(FUNCTION, job, deadline=deadline)
        return self._answer(outcome, deadline)

    def _answer(self, outcome: JobOutcome, deadline: float) -> ScanAnswer:
        if outcome.status == "complete":
            result = outcome.result
            if isinstance(result, Mapping) and {"report", "error", "retry"} <= set(result):
                return answer(result["report"], result["error"], retry=bool(result["retry"]))
            return answer(error="the scan worker returned a malformed answer")
        messages = {
            "not_taken": f"no scan worker took the scan within {deadline:g} s (is an 'automatos worker' serving"
            f" queue {self.queue_name!r}?)",
            "overdue": f"the scan worker did not answer within {deadline:g} s (stopped or killed?)",
            "failed": f"the scan worker failed the job ({outcome.reason})",
            "aborted": f"the scan job was aborted on the worker ({outcome.reason})",
            "unreachable": f"the scan job queue is unreachable ({outcome.reason})",
            "vanished": "the scan's job vanished from the queue (was Redis flushed?)",
            "duplicate": "the scan could not be enqueued (duplicate job key)",
        }
        return {**answer(error=messages[outcome.status], retry=True), "outcome": outcome.status}

    async def stop(self) -> None:
        await self.jobs.stop()


# --- the worker's side ------------------------------------------------------------------------------


class _ScanJobs:
    """The ``marketplace.scan`` function of one worker: its scan process and the blob backend."""

    def __init__(self, settings: MarketplaceSettings, blob: BlobBackend, scan: Scan | None) -> None:
        self.settings = settings
        self.blob = blob
        self.timeout = float(settings.plugins_scan_timeout_seconds)
        self.custom = scan
        self.process: ScanProcess | None = None

    def function(self) -> JobFunction:
        return JobFunction(FUNCTION, self.run, lambda message: answer(error=message, retry=True))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.process = ScanProcess(self.timeout, self.settings.scan_memory_bytes)
        try:
            yield
        finally:
            self.process.close()
            self.process = None

    def metadata(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "scan_timeout": self.timeout}

    async def _scan(self, data: bytes, settings: MarketplaceSettings, allowed: list[str] | None) -> dict[str, Any]:
        if self.process is None:
            raise RuntimeError("the scan worker's process is not running")
        return await self.process.scan(data, settings, allowed)

    async def run(self, job: JobRun, kwargs: Mapping[str, Any]) -> ScanAnswer:
        key, sha256 = kwargs.get("blob_key"), kwargs.get("sha256")
        if not isinstance(key, str) or not isinstance(sha256, str):
            return answer(error="malformed job: blob_key and sha256 must be strings")
        work = scan_stored(self.blob, key, sha256, self.settings, self.custom or self._scan)
        # JobStopped (the worker stopping) and the backstop's TimeoutError are worded by the worker
        # with failure(): retry, nothing was decided
        return await job.guard(work, backstop=self.timeout + BACKSTOP)


async def serve(
    settings: MarketplaceSettings,
    backend: QueueBackend,
    blob: BlobBackend,
    *,
    stop_event: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    concurrency: int = 1,
    grace_seconds: float = GRACE,
    scan: Scan | None = None,
) -> None:
    """Serve plugin scans from ``PLUGINS_SCAN_QUEUE_NAME`` on ``backend`` until ``stop_event`` is set.

    ``concurrency`` scans at a time, each in the worker's scan process (one process: scans queue
    behind each other there, so 1 is the useful value unless ``scan`` is given). ``scan`` replaces
    the scan process (tests). Cancelling it aborts the scans in flight: their callers submit them again.
    """
    jobs = _ScanJobs(settings, blob, scan)
    worker = JobWorker(
        backend,
        settings.plugins_scan_queue_name,
        [jobs.function()],
        concurrency=concurrency,
        label="marketplace scan",
        grace_seconds=grace_seconds,
        setup=jobs.running,
        metadata=jobs.metadata,
    )
    await worker.serve(stop_event or asyncio.Event(), ready)
