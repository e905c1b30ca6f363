"""What ``/health/ready`` checks, and the one shared round of checks every caller waits for.

One round checks the database and every configured backend, concurrently, each bounded by
:data:`CHECK_TIMEOUT`. ``/health/ready`` is anonymous (probes carry no credentials), so it must not
be a lever: the result of one round is kept for :data:`READY_CACHE_SECONDS`, and callers arriving
while a round runs wait for that round instead of starting their own (3,100 uncached calls in 20 s
had slowed other tenants' requests from 5 to 64 ms). The container holds the one
:class:`ReadinessCache` of the process (its ``readiness`` provider); the controller
(:mod:`automatos.api.controllers.health`) only asks it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from automatos.kernel.core import Kernel

__all__ = ["CHECK_TIMEOUT", "READY_CACHE_SECONDS", "ReadinessCache", "run_checks"]

CHECK_TIMEOUT = 3.0
READY_CACHE_SECONDS = 1.0
"""How long one round of readiness checks answers every caller."""


async def _timed(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):  # not wait_for: it can swallow a cancel on 3.11
            await probe
        status: dict[str, Any] = {"ok": True}
    except TimeoutError:
        status = {"ok": False, "error": f"no answer within {CHECK_TIMEOUT}s"}
    except Exception as exc:
        status = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    status["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return name, status


async def _database(kernel: Kernel) -> None:
    async with kernel.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def run_checks(kernel: Kernel) -> dict[str, dict[str, Any]]:
    """One round: the database and every backend, concurrently, each bounded by :data:`CHECK_TIMEOUT`."""
    probes = [_timed("database", _database(kernel))]
    for family, backend in kernel.backends.named().items():
        probes.append(_timed(f"{family}:{backend.name or type(backend).__name__}", backend.check()))
    return dict(await asyncio.gather(*probes))


class ReadinessCache:
    """The last round of checks, shared by every caller for ``ttl`` seconds; one round at a time."""

    def __init__(
        self, kernel: Kernel, *, ttl: float = READY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.kernel = kernel
        self.ttl = ttl
        self.clock = clock
        self._result: dict[str, dict[str, Any]] | None = None
        self._until = 0.0
        self._running: asyncio.Future[dict[str, dict[str, Any]]] | None = None
        self.rounds = 0

    async def checks(self) -> dict[str, dict[str, Any]]:
        if self._result is not None and self.clock() < self._until:
            return self._result
        running = self._running
        if running is None:
            running = self._running = asyncio.ensure_future(run_checks(self.kernel))
            running.add_done_callback(self._finished)
            self.rounds += 1
        # shield: a caller that disconnects must not cancel the round the others wait for
        return await asyncio.shield(running)

    def _finished(self, future: asyncio.Future[dict[str, dict[str, Any]]]) -> None:
        self._running = None
        if not future.cancelled() and future.exception() is None:
            self._result = future.result()
            self._until = self.clock() + self.ttl
