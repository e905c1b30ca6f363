"""Liveness and readiness.

``/health`` is the cheapest possible answer (no dependency, no I/O) so that load balancers can call
it often; ``/health/ready`` checks the database and every configured backend, concurrently, each
with a time limit, and answers 503 problem+json naming what failed (``Retry-After: 1``).

``/health/ready`` is anonymous (probes carry no credentials), so it must not be a lever: the
result of one round of checks is kept for :data:`READY_CACHE_SECONDS` and callers arriving while
a round runs wait for that round instead of starting their own (3,100 uncached calls in 20 s had
slowed other tenants' requests from 5 to 64 ms); each address may call it at most
:data:`READY_RATE_LIMIT` (429 beyond, RateLimit-* headers). Anonymous callers see per-component
``ok`` only; exception text, timings and the environment are for authenticated platform admins
(exception text can carry host names, user names, paths).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

import limits
from litestar import Controller, Request, Response, get
from sqlalchemy import text

from automatos.api.dependencies import authenticate, kernel_of
from automatos.api.problems import problem
from automatos.kernel.core import Kernel
from automatos.kernel.errors import AuthenticationError

__all__ = ["READY_CACHE_SECONDS", "READY_RATE_LIMIT", "HealthController", "ReadinessCache", "readiness_cache"]

CHECK_TIMEOUT = 3.0
READY_CACHE_SECONDS = 1.0
"""How long one round of readiness checks answers every caller."""
READY_RATE_LIMIT = limits.parse("20/second")
"""Per caller address; far above any prober's rate, far below what costs other tenants anything."""


async def _timed(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
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
        self._kernel = weakref.ref(kernel)
        self.ttl = ttl
        self._clock = clock
        self._result: dict[str, dict[str, Any]] | None = None
        self._until = 0.0
        self._running: asyncio.Future[dict[str, dict[str, Any]]] | None = None
        self.rounds = 0

    async def checks(self) -> dict[str, dict[str, Any]]:
        if self._result is not None and self._clock() < self._until:
            return self._result
        running = self._running
        if running is None:
            kernel = self._kernel()
            if kernel is None:
                raise RuntimeError("the kernel is gone")
            running = self._running = asyncio.ensure_future(run_checks(kernel))
            running.add_done_callback(self._finished)
            self.rounds += 1
        # shield: a caller that disconnects must not cancel the round the others wait for
        return await asyncio.shield(running)

    def _finished(self, future: asyncio.Future[dict[str, dict[str, Any]]]) -> None:
        self._running = None
        if not future.cancelled() and future.exception() is None:
            self._result = future.result()
            self._until = self._clock() + self.ttl


_caches: weakref.WeakKeyDictionary[Kernel, ReadinessCache] = weakref.WeakKeyDictionary()


def readiness_cache(kernel: Kernel) -> ReadinessCache:
    cache = _caches.get(kernel)
    if cache is None:
        cache = _caches[kernel] = ReadinessCache(kernel)
    return cache


async def _is_platform_admin(kernel: Kernel, request: Request[Any, Any, Any]) -> bool:
    """Credentials are optional here: wrong ones read as anonymous (a probe is never a 401)."""
    try:
        principal = await authenticate(kernel, request.headers)
    except AuthenticationError:
        return False
    return principal is not None and principal.is_platform_admin


def _sandbox_status(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The sandbox's own report for admins (pool size, live workers, whether workers run as root).

    ``None`` when no sandbox runs on this node; owned by the sandbox (``Sandbox.status()``).
    """
    from automatos.api.controllers.sandbox import STATE_KEY

    sandbox = request.app.state.get(STATE_KEY)
    if sandbox is None:
        return None
    try:
        return dict(sandbox.status())
    except Exception as exc:  # a report, never a reason for the probe to fail
        return {"error": type(exc).__name__}


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/", sync_to_thread=False, summary="Liveness")
    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness: database and every backend (details for platform admins)")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        from automatos.api.middleware import rate_limit_headers, request_pipeline, slow_down

        kernel = kernel_of(request)
        pipeline = request_pipeline(kernel)
        address = "ip:" + pipeline.client_address(request.scope, request.headers)
        verdict = await pipeline.take(READY_RATE_LIMIT, address, "GET /health/ready")
        if verdict is not None and not verdict[0]:
            return slow_down(READY_RATE_LIMIT, verdict, "GET /health/ready")
        headers = rate_limit_headers(READY_RATE_LIMIT, verdict) if verdict is not None else {}
        checks = await readiness_cache(kernel).checks()
        admin = await _is_platform_admin(kernel, request)
        shown = checks if admin else {name: {"ok": status["ok"]} for name, status in checks.items()}
        failing = sorted(name for name, status in checks.items() if not status["ok"])
        if failing:
            reasons = (["database unavailable"] if "database" in failing else []) + [
                f"{name} failing" for name in failing if name != "database"
            ]
            return problem(
                503,
                "Not ready",
                "; ".join(reasons),
                slug="not-ready",
                headers={**headers, "Retry-After": "1"},
                checks=shown,
            )
        body: dict[str, Any] = {"status": "ready", "checks": shown}
        if admin:
            body["environment"] = kernel.settings.environment
            body["sandbox"] = _sandbox_status(request)
        return Response(body, headers=headers)
