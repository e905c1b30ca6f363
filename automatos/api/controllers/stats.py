"""Per-route call statistics of this node: the bounded table, and ``GET /api/health/endpoints``.

The request middleware (:mod:`automatos.api.middleware`) records every call it serves into the
kernel's :class:`RouteStats`: count, 5xx count, total and max latency, keyed by method and route
template (``GET /api/workspaces/{workspace_id}``, never the raw path, so the table cannot grow with
ids). At most :data:`MAX_ROUTES` routes are kept by name; calls to further ones are summed in
``other``, so a plugin that mounts thousands of routes cannot grow the table without bound.

Where the table lives: one per kernel, found with :func:`route_stats` (a weak mapping keyed by the
kernel), so the middleware and this controller meet without anything in the app state and the
table goes away with its kernel. The numbers describe the node that answers: behind a load
balancer each node reports its own traffic since it started (sending them to Redis would cost a
round trip per request to serve an admin page). Platform admins only.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from litestar import Controller, Request, get

from automatos.api.dependencies import request_context, require_platform_admin
from automatos.kernel.core import Kernel  # at run time: Litestar reads the handler's annotations

__all__ = ["MAX_ROUTES", "RouteStats", "StatsController", "add_call", "route_stats"]

MAX_ROUTES = 500
"""Routes tracked by name; further ones share the ``other`` bucket."""


def add_call(cell: list[float], seconds: float, error: bool) -> None:
    """Record one call into a cell (the middleware's hot path: no lookup, no allocation)."""
    cell[0] += 1
    if error:
        cell[1] += 1
    cell[2] += seconds
    if seconds > cell[3]:
        cell[3] = seconds


class RouteStats:
    """Call count, 5xx count, total and max latency per ``METHOD /route/template``, bounded.

    A cell is a four-item list ``[count, errors, total_seconds, max_seconds]``; the middleware
    keeps a reference to its route's cell, so recording a call is four arithmetic operations.
    """

    OTHER = "other"

    def __init__(self, max_routes: int = MAX_ROUTES) -> None:
        self.max_routes = max_routes
        self.since = time.time()
        self._cells: dict[str, list[float]] = {}
        self._other: list[float] = [0, 0, 0.0, 0.0]

    def cell(self, key: str) -> list[float]:
        """The cell of ``key``; the shared ``other`` cell once ``max_routes`` routes are tracked."""
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) >= self.max_routes:
                return self._other
            cell = self._cells[key] = [0, 0, 0.0, 0.0]
        return cell

    def record(self, key: str, seconds: float, *, error: bool = False) -> None:
        add_call(self.cell(key), seconds, error)

    @staticmethod
    def _row(method: str, path: str, cell: list[float]) -> dict[str, Any]:
        count = int(cell[0])
        return {
            "method": method,
            "path": path,
            "count": count,
            "errors": int(cell[1]),
            "mean_ms": round(cell[2] * 1000 / count, 3) if count else 0.0,
            "max_ms": round(cell[3] * 1000, 3),
            "total_ms": round(cell[2] * 1000, 3),
        }

    def snapshot(self) -> dict[str, Any]:
        """Busiest routes first; ``other`` sums the routes beyond ``max_routes`` (``null`` if none)."""
        rows = []
        for key, cell in list(self._cells.items()):
            method, _, path = key.partition(" ")
            rows.append(self._row(method, path, cell))
        rows.sort(key=lambda row: (-row["count"], row["path"], row["method"]))
        return {
            "since": self.since,
            "max_routes": self.max_routes,
            "routes": rows,
            "other": self._row("*", "*", self._other) if self._other[0] else None,
        }


_tables: weakref.WeakKeyDictionary[Kernel, RouteStats] = weakref.WeakKeyDictionary()


def route_stats(kernel: Kernel) -> RouteStats:
    """The kernel's statistics table (empty until the middleware has served a request)."""
    table = _tables.get(kernel)
    if table is None:
        table = _tables[kernel] = RouteStats()
    return table


class StatsController(Controller):
    path = "/api/health/endpoints"
    tags = ["health"]

    @get("/", summary="Per-route call counts, 5xx counts and latencies of this node (platform admins)")
    async def endpoints(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return route_stats(kernel).snapshot()
