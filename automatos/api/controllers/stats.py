"""``GET /api/health/endpoints``: this node's per-route call statistics, for platform admins.

The table is the container's one :class:`~automatos.api.stats.RouteStats` (the ``route_stats``
provider), filled by the request middleware: per route, calls, 5xx, latencies, and the time spent
in each hook while serving it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from automatos.api.dependencies import request_context, require_platform_admin, services

__all__ = ["StatsController"]


class StatsController(Controller):
    path = "/api/health/endpoints"
    tags = ["health"]

    @get("/", summary="Per-route call counts, 5xx counts, latencies and hook times of this node (platform admins)")
    async def endpoints(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return services(request).route_stats().snapshot()
