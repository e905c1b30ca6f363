"""Liveness and readiness.

``/health`` is the cheapest possible answer (no dependency, no I/O) so that load balancers can call
it often; ``/health/ready`` checks the database and every configured backend, concurrently, each
with a time limit, and answers 503 problem+json naming what failed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Controller, Request, Response, get
from sqlalchemy import text

from automatos.api.context import kernel_of
from automatos.api.problems import problem
from automatos.kernel.runtime import Kernel

__all__ = ["HealthController"]

CHECK_TIMEOUT = 3.0


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


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/", sync_to_thread=False, summary="Liveness")
    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness: database and every backend")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        kernel = kernel_of(request)
        probes = [_timed("database", _database(kernel))]
        for family, backend in kernel.backends.named().items():
            probes.append(_timed(f"{family}:{backend.name or type(backend).__name__}", backend.check()))
        checks = dict(await asyncio.gather(*probes))
        failing = sorted(name for name, status in checks.items() if not status["ok"])
        if failing:
            return problem(503, "Not ready", f"failing: {', '.join(failing)}", slug="not-ready", checks=checks)
        return Response({"status": "ready", "environment": kernel.settings.environment, "checks": checks})
