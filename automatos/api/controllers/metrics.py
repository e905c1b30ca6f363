"""``GET /metrics``: this process's counters in the Prometheus text format, for platform operators.

What it exports (all built at scrape time, see :mod:`automatos.kernel.metrics` for why nothing
here runs per request):

- ``automatos_http_requests_total`` and ``automatos_http_request_duration_seconds`` (histogram) by
  ``method``, ``route`` (the template, ``/api/workspaces/{workspace_id}``) and ``status``
  (``2xx`` … ``5xx``), for every request the middleware answered;
- ``automatos_rate_limit_refusals_total`` by ``method`` and ``route``;
- ``automatos_hook_calls_total`` and ``automatos_hook_failures_total`` by ``extension`` and ``hook``
  (failures as the hook facade counts them, also shown by ``GET /api/extensions``);
- ``automatos_sandbox_pool_size``, ``automatos_sandbox_workers{state="live|busy"}``,
  ``automatos_sandbox_workers_replaced_total`` (local sandbox mode);
- ``automatos_llm_calls_total``, ``automatos_llm_tokens_total{kind="prompt|completion"}`` and
  ``automatos_llm_cost_usd_total`` by ``provider`` and ``model`` (never by workspace);
- ``automatos_info`` and the usual ``process_*``/``python_*`` series.

Access: ``METRICS_ENABLED`` (``auto``: on in development, off in production) — off, the route
answers 404 like any unknown path. On, the caller shows ``Authorization: Bearer <METRICS_TOKEN>``
(compared in constant time) or a platform admin's credentials; anything else is a 401/403
problem+json. The route is outside the request middleware (like the health probes), so a scrape is
neither rate limited nor counted in the request metrics, and a metrics token is never mistaken for
a JWT.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get

import automatos
from automatos.api.dependencies import authenticate, kernel_of, services
from automatos.kernel.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from automatos.kernel.metrics import HOOK_CALLS, LATENCY_BUCKETS

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from automatos.kernel.core import Kernel
    from automatos.kernel.settings import Settings

__all__ = ["MetricsController", "metrics_enabled", "render_metrics"]

_TYPED_PARAM = re.compile(r"\{([^}:]+):[^}]*\}")
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def metrics_enabled(settings: Settings) -> bool:
    """``METRICS_ENABLED``: ``true``/``false``, or ``auto`` (on in development, off in production)."""
    value = str(getattr(settings, "metrics_enabled", "auto")).strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    return settings.environment != "production"


def _template(path: str) -> str:
    """``/api/x/{workspace_id:str}`` → ``/api/x/{workspace_id}`` (the type is noise in a label)."""
    return _TYPED_PARAM.sub(r"{\1}", path)


class _AutomatosCollector:
    """Reads the kernel's counters, the hook facade and the sandbox when Prometheus scrapes."""

    def __init__(self, kernel: Kernel, sandbox: Any) -> None:
        self.kernel = kernel
        self.sandbox = sandbox

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        kernel = self.kernel
        metrics = kernel.metrics
        info = GaugeMetricFamily(
            "automatos_info", "Version and environment of this process.", labels=["version", "environment"]
        )
        info.add_metric([automatos.__version__, kernel.settings.environment], 1)
        yield info

        labels = ["method", "route", "status"]
        requests = CounterMetricFamily(
            "automatos_http_requests", "Requests answered, by route template.", labels=labels
        )
        latency = HistogramMetricFamily(
            "automatos_http_request_duration_seconds",
            "Time from the request reaching the middleware to the end of the answer.",
            labels=labels,
        )
        for method, route, status, cell in metrics.requests.rows():
            values = [method, _template(route), status]
            buckets, running = [], 0.0
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), cell[:-1], strict=True):
                running += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            requests.add_metric(values, running)
            latency.add_metric(values, buckets, cell[-1])
        yield requests
        yield latency

        refusals = CounterMetricFamily(
            "automatos_rate_limit_refusals",
            "Requests refused with 429 by the rate limiter.",
            labels=["method", "route"],
        )
        for method, route, count in metrics.requests.refusals():
            refusals.add_metric([method, _template(route)], count)
        yield refusals

        calls = CounterMetricFamily(
            "automatos_hook_calls", "Hook implementations called, per extension.", labels=["extension", "hook"]
        )
        for (plugin, hook), count in sorted(HOOK_CALLS.items()):
            calls.add_metric([plugin, hook], count)
        yield calls
        failures = CounterMetricFamily(
            "automatos_hook_failures",
            "Failures contained by the hook facade, per extension.",
            labels=["extension", "hook"],
        )
        stats = getattr(kernel.hooks.errors, "_stats", {})
        for (plugin, hook), stat in sorted(stats.items()):
            failures.add_metric([plugin, hook], getattr(stat, "count", 0))
        yield failures

        yield from self._sandbox(GaugeMetricFamily, CounterMetricFamily)
        yield from self._llm(CounterMetricFamily)

    def _sandbox(self, gauge: Any, counter: Any) -> Iterator[Any]:
        status = _sandbox_status(self.sandbox)
        if status is None:
            return
        size = gauge("automatos_sandbox_pool_size", "Sandbox workers this process keeps warm.")
        size.add_metric([], status["pool_size"])
        yield size
        workers = gauge(
            "automatos_sandbox_workers", "Sandbox worker processes alive, and busy with a run.", labels=["state"]
        )
        workers.add_metric(["live"], status["live_workers"])
        workers.add_metric(["busy"], status["busy_workers"])
        yield workers
        replaced = counter(
            "automatos_sandbox_workers_replaced", "Sandbox workers replaced since start (killed, died or retired)."
        )
        replaced.add_metric([], status["replaced"])
        yield replaced

    def _llm(self, counter: Any) -> Iterator[Any]:
        labels = ["provider", "model"]
        calls = counter("automatos_llm_calls", "LLM calls recorded by chat (one per turn).", labels=labels)
        tokens = counter("automatos_llm_tokens", "LLM tokens, prompt and completion.", labels=[*labels, "kind"])
        cost = counter("automatos_llm_cost_usd", "LLM cost in US dollars at the model catalog's prices.", labels=labels)
        for (provider, model), cell in sorted(self.kernel.metrics.llm.models.items()):
            calls.add_metric([provider, model], cell[0])
            tokens.add_metric([provider, model, "prompt"], cell[1])
            tokens.add_metric([provider, model, "completion"], cell[2])
            cost.add_metric([provider, model], cell[3])
        yield calls
        yield tokens
        yield cost


def _sandbox_status(sandbox: Any) -> dict[str, int] | None:
    """Pool size, live and busy workers and replacements of a local sandbox; ``None`` otherwise."""
    if sandbox is None:
        return None
    status = getattr(sandbox, "status", None)
    reported: dict[str, Any] = status() if callable(status) else {}
    pool = getattr(sandbox, "pool", None)
    if reported.get("mode", "local") != "local" or (not reported and pool is None):
        return None
    if "busy_workers" in reported:
        return {
            name: int(reported.get(name) or 0) for name in ("pool_size", "live_workers", "busy_workers", "replaced")
        }
    live = len(getattr(pool, "_all", ()))
    idle = getattr(pool, "_idle", None)
    return {
        "pool_size": int(getattr(pool, "size", 0)),
        "live_workers": live,
        "busy_workers": max(0, live - (idle.qsize() if idle is not None else live)),
        "replaced": int(getattr(pool, "replaced", 0)),
    }


def render_metrics(kernel: Kernel, sandbox: Any = None) -> bytes:
    """The exposition text of ``kernel``'s process (what ``GET /metrics`` answers)."""
    from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    collector: Collector = _AutomatosCollector(kernel, sandbox)
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return generate_latest(registry)


async def _authorize(request: Request[Any, Any, Any], kernel: Kernel) -> None:
    token = kernel.settings.metrics_token
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.reveal().encode("utf-8"))
    ):
        return
    principal = await authenticate(kernel, request.headers)
    if principal is None:
        how = "METRICS_TOKEN as a bearer token or " if token else ""
        raise AuthenticationError(f"scraping metrics needs {how}a platform admin's credentials")
    if not principal.is_platform_admin:
        raise PermissionDeniedError("metrics are for platform admins (or a scraper holding METRICS_TOKEN)")


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False  # an operator's endpoint in another format, not part of the API

    @get("/", summary="Prometheus metrics of this process")
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        kernel = kernel_of(request)
        if not metrics_enabled(kernel.settings):
            raise NotFoundError("metrics are disabled: set METRICS_ENABLED=true to serve them")
        await _authorize(request, kernel)
        from prometheus_client import CONTENT_TYPE_LATEST

        body = render_metrics(kernel, services(request).sandbox().sandbox)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
