"""Per-route call statistics of this node: the bounded table behind ``GET /api/health/endpoints``.

The request middleware (:mod:`automatos.api.middleware`) records every call it serves into the
container's one :class:`RouteStats` (the ``route_stats`` provider of
:class:`automatos.container.Container`): count, 5xx count, total and max latency, keyed by method
and route template (``GET /api/workspaces/{workspace_id}``, never the raw path, so the table cannot
grow with ids). At most :data:`MAX_ROUTES` routes are kept by name; calls to further ones are summed
in ``other``, so a plugin that mounts thousands of routes cannot grow the table without bound.

Each route also has a table of the time spent in hooks while serving it: the middleware hands the
route's :data:`~automatos.kernel.metrics.HookTimes` to the hook facade through
:data:`~automatos.kernel.metrics.HOOK_TIMES`, and the facade adds one ``(calls, total, max)`` entry
per hook call (not per implementation), bounded by :data:`~automatos.kernel.metrics.MAX_HOOKS`.

The numbers describe the node that answers: behind a load balancer each node reports its own
traffic since it started (sending them to Redis would cost a round trip per request to serve an
admin page).
"""

from __future__ import annotations

import time
from typing import Any

from automatos.kernel.metrics import HookTimes

__all__ = ["MAX_ROUTES", "RouteStats", "add_call"]

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
    keeps a reference to its route's cell (and to its route's hook times), so recording a call is
    four arithmetic operations.
    """

    OTHER = "other"

    def __init__(self, max_routes: int = MAX_ROUTES) -> None:
        self.max_routes = max_routes
        self.since = time.time()
        self._cells: dict[str, list[float]] = {}
        self._hooks: dict[str, HookTimes] = {}
        self._other: list[float] = [0, 0, 0.0, 0.0]
        self._other_hooks: HookTimes = {}

    def cell(self, key: str) -> list[float]:
        """The cell of ``key``; the shared ``other`` cell once ``max_routes`` routes are tracked."""
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) >= self.max_routes:
                return self._other
            cell = self._cells[key] = [0, 0, 0.0, 0.0]
            self._hooks[key] = {}
        return cell

    def hook_times(self, key: str) -> HookTimes:
        """The hook times of ``key`` (the ``other`` route's beyond ``max_routes``)."""
        self.cell(key)
        return self._hooks.get(key, self._other_hooks)

    def record(self, key: str, seconds: float, *, error: bool = False) -> None:
        add_call(self.cell(key), seconds, error)

    @staticmethod
    def _hook_rows(times: HookTimes) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for hook, (calls, total, longest) in list(times.items()):
            count = int(calls)
            rows.append(
                {
                    "hook": hook,
                    "count": count,
                    "mean_ms": round(total * 1000 / count, 3) if count else 0.0,
                    "max_ms": round(longest * 1000, 3),
                    "total_ms": round(total * 1000, 3),
                }
            )
        rows.sort(key=lambda row: (-row["total_ms"], row["hook"]))
        return rows

    @classmethod
    def _row(cls, method: str, path: str, cell: list[float], hooks: HookTimes) -> dict[str, Any]:
        count = int(cell[0])
        return {
            "method": method,
            "path": path,
            "count": count,
            "errors": int(cell[1]),
            "mean_ms": round(cell[2] * 1000 / count, 3) if count else 0.0,
            "max_ms": round(cell[3] * 1000, 3),
            "total_ms": round(cell[2] * 1000, 3),
            "hooks": cls._hook_rows(hooks),
        }

    def snapshot(self) -> dict[str, Any]:
        """Busiest routes first; ``other`` sums the routes beyond ``max_routes`` (``null`` if none).

        Each row lists its ``hooks``: the time spent in each hook called while serving the route
        (count, total, mean, max; the costliest first).
        """
        rows = []
        for key, cell in list(self._cells.items()):
            method, _, path = key.partition(" ")
            rows.append(self._row(method, path, cell, self._hooks.get(key, {})))
        rows.sort(key=lambda row: (-row["count"], row["path"], row["method"]))
        return {
            "since": self.since,
            "max_routes": self.max_routes,
            "routes": rows,
            "other": self._row("*", "*", self._other, self._other_hooks) if self._other[0] else None,
        }
