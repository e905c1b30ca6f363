"""The scan of a stored version, out of the API's request path and out of its process.

A bundle is hostile input: the scanner parses every file of it (ASTs, decoders, archives), so it
runs in a separate process — :class:`ScanProcess`, one ``spawn``-ed worker process of a
:class:`~concurrent.futures.ProcessPoolExecutor`, reused between scans — under a time limit. A scan
that overruns it, or a worker that dies (out of memory, a crash in a C extension), kills the
process, a fresh one serves the next scan, and the version's scan is ``failed`` (verdict
``review``, never ``safe``): never a hung or poisoned API process.

:func:`scan_in_child` is what runs there: it reads the bundle from its bytes with the platform's
limits (:mod:`automatos.marketplace.bundle`), runs :func:`~automatos.marketplace.scan.scan_bundle`
with the built-in rules, and returns the report as JSON builtins. :mod:`automatos.marketplace.scans`
decides when a scan runs and writes its result; in queue mode an ``automatos worker`` holds the
scan process (:mod:`automatos.marketplace.queue`).

The scan process's address space is capped (``PLUGINS_SCAN_MEMORY_MB``, ``RLIMIT_AS``, set in the
process before it imports the scanner): a bundle that makes the scanner allocate past it ends the
scan with a ``MemoryError`` — ``failed``, verdict ``review`` — instead of growing until the OOM
killer picks a process of the machine. (Linux enforces the limit; on macOS it is advisory.)

A worker process that died while idle (killed by an operator or the OOM killer between scans) is
replaced before the next scan is handed over: that scan runs, it does not fail for a death it did
not cause (a ``BrokenProcessPool`` raised on submission is retried once, on a fresh process).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from automatos.kernel.backends import BlobBackend
    from automatos.marketplace.bundle import Bundle
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = [
    "DEFAULT_SCAN_TIMEOUT",
    "MARGIN",
    "MAX_LOSSES",
    "Scan",
    "ScanAnswer",
    "ScanFailed",
    "ScanProcess",
    "answer",
    "limit_memory",
    "load_bundle",
    "scan_in_child",
    "scan_stored",
]

log = logging.getLogger("automatos.marketplace")

DEFAULT_SCAN_TIMEOUT = 120.0
"""Seconds one scan may take when the settings do not say (``PLUGINS_SCAN_TIMEOUT_SECONDS``)."""


class ScanFailed(Exception):
    """The scan did not finish: timed out, its process died, or the scanner raised."""


def load_bundle(data: bytes, settings: MarketplaceSettings) -> Bundle:
    """The bundle in ``data``, read with the settings' limits and signature policy.

    Raises :class:`automatos.marketplace.archive.BundleError` (a ``ValidationError``) naming the
    limit or rule it broke, or the signature's state when signatures are required.
    """
    from automatos.marketplace import bundle as bundles

    return bundles.load_bundle(data, settings=settings)


def scan_in_child(data: bytes, settings: MarketplaceSettings, allowed_dependencies: list[str] | None) -> dict[str, Any]:
    """Run in the scan process: read the bundle from ``data``, scan it, answer the report as builtins."""
    from automatos.marketplace.scan import scan_bundle

    bundle = load_bundle(data, settings)
    report = scan_bundle(bundle, allowed_dependencies=allowed_dependencies)
    answer: dict[str, Any] = msgspec.to_builtins(report)
    return answer


def limit_memory(max_bytes: int | None) -> None:
    """The scan process's initializer: cap its address space at ``max_bytes`` (``None``: no cap)."""
    if max_bytes is None:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


class ScanProcess:
    """One scan at a time in a worker process of its own, under a time limit and a memory cap."""

    def __init__(self, timeout: float = DEFAULT_SCAN_TIMEOUT, memory_bytes: int | None = None) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the API process has threads (a forked child would inherit their locks)
            self._executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=limit_memory,
                initargs=(self.memory_bytes,),
            )
        return self._executor

    async def scan(
        self, data: bytes, settings: MarketplaceSettings, allowed_dependencies: list[str] | None
    ) -> dict[str, Any]:
        """The report of ``data``'s scan; :class:`ScanFailed` when it did not finish."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            if not self.alive():  # the worker died while idle (killed, OOM): not this bundle's doing
                self._kill()
            try:
                future = loop.run_in_executor(self._pool(), scan_in_child, data, settings, allowed_dependencies)
            except BrokenProcessPool:  # it died between the check and the submit: a fresh one
                self._kill()
                future = loop.run_in_executor(self._pool(), scan_in_child, data, settings, allowed_dependencies)
            try:
                async with asyncio.timeout(self.timeout):
                    return await future
            except TimeoutError:
                self._kill()
                raise ScanFailed(f"the scan took longer than {self.timeout:g} s and was stopped") from None
            except BrokenProcessPool:
                self._kill()
                raise ScanFailed("the scan process died (out of memory, or a crash)") from None
            except MemoryError:
                self._kill()  # a fresh process for the next scan: this one's heap may be fragmented
                raise ScanFailed(f"the scan needed more than the scan process's {self._cap()} of memory") from None
            except asyncio.CancelledError:
                self._kill()
                raise
            except Exception as exc:  # the scanner (or the bundle reader) raised in the child
                raise ScanFailed(f"{type(exc).__name__}: {exc}"[:1000]) from exc

    def _cap(self) -> str:
        return "unbounded" if self.memory_bytes is None else f"{self.memory_bytes // (1024 * 1024)} MiB"

    def pids(self) -> list[int]:
        """The worker process's id (none before the first scan or after a kill)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    def alive(self) -> bool:
        """False when the pool's worker process has died (its exit code is known)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return all(p.exitcode is None for p in list(processes.values()))

    def _kill(self) -> None:
        """Stop the worker process now (a scan in it is abandoned); the next scan starts a new one."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # ProcessPoolExecutor has no public "kill": its processes are terminated directly
        for process in list(getattr(executor, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._kill()


# --- what a scan answers, wherever it ran (local, or a worker of the job queue) ----------------------

MARGIN = 30.0
"""Seconds a caller waits beyond the scan time limit (queue wait, reading the blob, the scan process's start)."""
MAX_LOSSES = 3
"""Workers lost under one scan (stopped, killed, overdue) before the version's scan is ``failed``."""

ScanAnswer = dict[str, Any]
"""``{"report": dict | None, "error": str | None, "retry": bool}`` (:mod:`automatos.marketplace.queue`)."""
Scan = Callable[[bytes, "MarketplaceSettings", "list[str] | None"], Awaitable[dict[str, Any]]]
"""``scan(data, settings, allowed_dependencies) -> report builtins``; raises :class:`ScanFailed`."""


def answer(report: dict[str, Any] | None = None, error: str | None = None, *, retry: bool = False) -> ScanAnswer:
    return {"report": report, "error": error, "retry": retry}


def allowed_dependencies(settings: MarketplaceSettings) -> list[str] | None:
    allowed = getattr(settings, "plugins_allowed_dependencies", None)
    return None if allowed is None else list(allowed)


async def scan_stored(
    blob: BlobBackend, key: str, sha256: str, settings: MarketplaceSettings, scan: Scan
) -> ScanAnswer:
    """Read the bundle under ``key``, check it is the one submitted, scan it: a :data:`ScanAnswer`."""
    data = await blob.get(key)
    if data is None:
        return answer(error=f"the stored bundle {key!r} is missing")
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        return answer(error=f"the stored bundle {key!r} has sha256 {found}, not the submitted {sha256}; not scanned")
    try:
        return answer(await scan(data, settings, allowed_dependencies(settings)))
    except ScanFailed as exc:
        return answer(error=str(exc))
