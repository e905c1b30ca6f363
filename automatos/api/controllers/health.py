"""Liveness and readiness.

``/health`` is the cheapest possible answer (no dependency, no I/O) so that load balancers can call
it often; ``/health/ready`` checks the database and every configured backend, concurrently, each
with a time limit, and answers 503 problem+json naming what failed (``Retry-After: 1``).

``/health/ready`` is anonymous (probes carry no credentials), so it must not be a lever: one round
of checks answers every caller for a second (the container's
:class:`~automatos.api.readiness.ReadinessCache`), and each address may call it at most
:data:`READY_RATE_LIMIT` (429 beyond, RateLimit-* headers, counted by the container's request
pipeline). Anonymous callers see per-component ``ok`` only; exception text, timings and the
environment are for authenticated platform admins (exception text can carry host names, user
names, paths).
"""

from __future__ import annotations

from typing import Any

import limits
from litestar import Controller, Request, Response, get

from automatos.api.dependencies import authenticate, kernel_of, services
from automatos.api.problems import problem
from automatos.kernel.core import Kernel
from automatos.kernel.errors import AuthenticationError

__all__ = ["READY_RATE_LIMIT", "HealthController"]

READY_RATE_LIMIT = limits.parse("20/second")
"""Per caller address; far above any prober's rate, far below what costs other tenants anything."""


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
    sandbox = services(request).sandbox().sandbox
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
        from automatos.api.middleware import rate_limit_headers, slow_down

        kernel = kernel_of(request)
        container = services(request)
        pipeline = container.pipeline()
        address = "ip:" + pipeline.client_address(request.scope, request.headers)
        verdict = await pipeline.take(READY_RATE_LIMIT, address, "GET /health/ready")
        if verdict is not None and not verdict[0]:
            return slow_down(READY_RATE_LIMIT, verdict, "GET /health/ready")
        headers = rate_limit_headers(READY_RATE_LIMIT, verdict) if verdict is not None else {}
        checks = await container.readiness().checks()
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
