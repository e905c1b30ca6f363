"""What ``/metrics`` reports, counted where it happens at the cost of a few list operations.

Why not ``prometheus_client``'s own ``Counter``/``Histogram`` on the hot path: each observation
there takes a label lookup and a lock per value (about 2 µs for a labelled histogram measured
here), on a request whose whole middleware costs ~36 µs. Here a request is one dictionary lookup,
one ``bisect`` and three list increments in the event loop's thread; the exposition format is
built only when Prometheus scrapes (:mod:`automatos.api.controllers.metrics`). Nothing in this
module imports ``prometheus_client``.

Cardinality is bounded by construction, because every label value comes from a closed set:
- requests: the route template the router matched (``/api/workspaces/{workspace_id}``, never a raw
  path), the method and the status class (``2xx`` … ``5xx``); at most :data:`MAX_ROUTES` routes,
  the rest share ``other`` (the same bound as ``/api/health/endpoints``);
- LLM usage: provider and model, at most :data:`MAX_MODELS` pairs, the rest ``other``. Never the
  workspace: one series per tenant would grow with the customer base (per-workspace usage is in
  ``GET /api/workspaces/{id}/usage``, from the database);
- hooks: extension and hook names, fixed by what is installed.

Time spent in hooks per route (``GET /api/health/endpoints``, :mod:`automatos.api.stats`): the
request middleware puts its route's :data:`HookTimes` in :data:`HOOK_TIMES` for the request, and
the hook facade adds each hook call's duration there with :func:`add_hook_time` (one
``perf_counter`` pair per hook call, not per implementation; nothing outside a request).

The numbers are this process's own since it started (see docs/operations.md, "Metrics"). The
request and LLM tables of a kernel are its :class:`KernelMetrics` (``kernel.metrics``, the
container's ``metrics`` provider): the request middleware holds its table, nothing looks it up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "HOOK_CALLS",
    "HOOK_TIMES",
    "LATENCY_BUCKETS",
    "MAX_HOOKS",
    "MAX_MODELS",
    "MAX_ROUTES",
    "HookTimes",
    "KernelMetrics",
    "LLMUsageTable",
    "RequestTable",
    "add_hook_time",
    "observe_request",
    "record_llm_usage",
]

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Upper bounds in seconds (``le``); from a cached read to a long streamed chat answer."""
MAX_ROUTES: Final = 500
MAX_MODELS: Final = 200
OTHER: Final = "other"
_STATUS_CLASSES: Final = ("unknown", "1xx", "2xx", "3xx", "4xx", "5xx")
"""Index ``status // 100``; ``unknown`` for a response never started (the client left first)."""

HOOK_CALLS: Counter[tuple[str, str]] = Counter()
"""Calls of each ``(extension, hook)`` implementation in this process, counted by the hook facade."""

HookTimes: TypeAlias = dict[str, list[float]]
"""Hook name -> ``[calls, total seconds, max seconds]``: the time one route spent in each hook."""
HOOK_TIMES: ContextVar[HookTimes | None] = ContextVar("automatos_hook_times", default=None)
"""The current request's route's :data:`HookTimes` (set by the request middleware), else ``None``."""
MAX_HOOKS: Final = 64
"""Hooks timed by name per route; further ones share ``other`` (hook names are a closed set anyway)."""


def add_hook_time(times: HookTimes, hook: str, seconds: float) -> None:
    """One call of ``hook`` that took ``seconds``, into a route's table (bounded by :data:`MAX_HOOKS`)."""
    cell = times.get(hook)
    if cell is None:
        if len(times) >= MAX_HOOKS:
            hook = OTHER
        cell = times.setdefault(hook, [0, 0.0, 0.0])
    cell[0] += 1
    cell[1] += seconds
    if seconds > cell[2]:
        cell[2] = seconds


class RequestTable:
    """Latency histograms per route, method and status class, plus rate-limit refusals per route.

    A route's entry is a list indexed by status class (``status // 100``), each slot ``None`` until
    that class is seen, else ``[bucket counts…, +Inf count, sum of seconds]`` (per bucket, made
    cumulative at export). ``refused`` counts 429 answers per route (only the rate limiter sends them).
    """

    def __init__(self, max_routes: int = MAX_ROUTES) -> None:
        self.max_routes = max_routes
        self.routes: dict[str, list[list[float] | None]] = {}
        self.refused: Counter[str] = Counter()

    def _entry(self, key: str) -> tuple[str, list[list[float] | None]]:
        if len(self.routes) >= self.max_routes:
            key = f"{key.partition(' ')[0]} {OTHER}"
        entry = self.routes.get(key)
        if entry is None:
            entry = self.routes[key] = [None] * len(_STATUS_CLASSES)
        return key, entry

    def observe(self, key: str, seconds: float, status: int) -> None:
        """Record one answered request: ``key`` is ``"METHOD /route/template"``."""
        entry = self.routes.get(key)
        if entry is None:
            key, entry = self._entry(key)
        index = status // 100 if 100 <= status < 600 else 0
        cell = entry[index]
        if cell is None:
            cell = entry[index] = [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]
        cell[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        cell[-1] += seconds
        if status == 429:
            self.refused[key] += 1

    def rows(self) -> list[tuple[str, str, str, list[float]]]:
        """``(method, template, status class, cell)`` for every class seen; a snapshot to export."""
        out = []
        for key, entry in list(self.routes.items()):
            method, _, template = key.partition(" ")
            for index, cell in enumerate(entry):
                if cell is not None:
                    out.append((method, template, _STATUS_CLASSES[index], list(cell)))
        return out

    def refusals(self) -> list[tuple[str, str, int]]:
        """``(method, template, count)`` of 429 answers per route."""
        return [(*key.partition(" ")[::2], count) for key, count in list(self.refused.items())]


class LLMUsageTable:
    """Calls, prompt and completion tokens and cost per ``(provider, model)``, bounded."""

    def __init__(self, max_models: int = MAX_MODELS) -> None:
        self.max_models = max_models
        self.models: dict[tuple[str, str], list[float]] = {}

    def record(self, provider: str, model: str, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        key = (provider, model)
        cell = self.models.get(key)
        if cell is None:
            if len(self.models) >= self.max_models:
                key = (OTHER, OTHER)
            cell = self.models.setdefault(key, [0, 0, 0, 0.0])
        cell[0] += 1
        cell[1] += max(0, prompt_tokens)
        cell[2] += max(0, completion_tokens)
        cell[3] += max(0.0, cost)


class KernelMetrics:
    """Everything counted for one kernel (``kernel.metrics``; one per process in production)."""

    def __init__(self) -> None:
        self.requests = RequestTable()
        self.llm = LLMUsageTable()


def observe_request(table: RequestTable, key: str, seconds: float, status: int) -> None:
    """One request answered by the middleware: ``key`` is ``"METHOD /route/template"`` (the hot path:
    about 0.3 µs, one lookup, one ``bisect``, two increments)."""
    entry = table.routes.get(key)
    if entry is None:
        key, entry = table._entry(key)
    cell = entry[status // 100 if 100 <= status < 600 else 0]
    if cell is None:
        table.observe(key, seconds, status)
        return
    cell[bisect_left(LATENCY_BUCKETS, seconds)] += 1
    cell[-1] += seconds
    if status == 429:
        table.refused[key] += 1


def record_llm_usage(
    kernel: Kernel, provider: str, model: str, prompt_tokens: int, completion_tokens: int, cost: float
) -> None:
    """One LLM call's usage, as chat records it in ``llm_usage`` (never per workspace here: cardinality)."""
    kernel.metrics.llm.record(provider, model, prompt_tokens, completion_tokens, cost)
