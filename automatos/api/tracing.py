"""Optional OpenTelemetry tracing: one server span per request, named by the route template.

Off by default (``OTEL_ENABLED``); off, nothing here is imported by the app and no middleware is
added, so tracing costs nothing. On, it needs the ``otel`` extra (``pip install 'automatos[otel]'``:
the OpenTelemetry API and SDK, its ASGI instrumentation and the OTLP/HTTP exporter).

Decisions:
- The span comes from OpenTelemetry's ASGI middleware, added as ordinary app middleware, first in
  the list. Litestar runs app middleware per route after routing, so ``scope["path_template"]`` is
  known when the span starts: spans are named ``GET /api/workspaces/{workspace_id}`` and carry
  ``http.route`` — the template, never the raw path. Not Litestar's ``OpenTelemetryConfig``: Litestar
  moves that middleware around the whole app, before routing, where only the raw path is known
  (one span name per id). Requests the router rejects itself (404/405) have no span.
- The tracer provider: if one was installed globally already (``opentelemetry-instrument``, or the
  host application), spans go there. Otherwise a provider is made with a batch processor and the
  OTLP/HTTP exporter, which reads the standard ``OTEL_EXPORTER_OTLP_*`` variables (endpoint,
  headers) and ``OTEL_SERVICE_NAME`` (default ``automatos``), and installed globally.
- Missing packages are a warning at start, not a failed start: tracing is an aid, not a dependency.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.middleware.base import DefineMiddleware
    from litestar.types import ASGIApp, Receive, Scope, Send

    from automatos.kernel.settings import Settings

__all__ = ["install_tracing", "span_details", "tracing_middleware"]

log = logging.getLogger("automatos.api.tracing")
_TYPED_PARAM = re.compile(r"\{([^}:]+):[^}]*\}")


def span_details(scope: Any) -> tuple[str, dict[str, Any]]:
    """Span name and attributes from the matched route template (``{id:str}`` shown as ``{id}``)."""
    template = _TYPED_PARAM.sub(r"{\1}", str(scope.get("path_template") or scope.get("path", "")))
    method = str(scope.get("method", "")).strip()
    name = f"{method} {template}" if method else template
    return name, {"http.route": template}


def _tracer_provider() -> Any:
    from opentelemetry import trace

    current = trace.get_tracer_provider()
    if type(current).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        return current  # someone configured tracing already: use theirs
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "automatos"}))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("OTEL_ENABLED: no OTLP exporter installed (pip install 'automatos[otel]'); spans are not exported")
    else:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


class _RouteSpans:
    """OpenTelemetry's ASGI middleware for one route (built once per route by Litestar)."""

    __slots__ = ("otel",)

    def __init__(self, app: ASGIApp, tracer_provider: Any) -> None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        self.otel = OpenTelemetryMiddleware(app, default_span_details=span_details, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.otel(scope, receive, send)  # type: ignore[arg-type]  # ASGI's types, two spellings


def tracing_middleware(settings: Settings) -> DefineMiddleware | None:
    """The per-route tracing middleware, or ``None`` when ``OTEL_ENABLED`` is off (or cannot start)."""
    if not settings.otel_enabled:
        return None
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401 - fail here, at start, not per route

        provider = _tracer_provider()
    except ImportError as exc:
        log.warning("OTEL_ENABLED but tracing cannot start (%s); install automatos[otel]", exc)
        return None
    from litestar.middleware.base import DefineMiddleware

    return DefineMiddleware(_RouteSpans, tracer_provider=provider)


def install_tracing(app_config: AppConfig, settings: Settings) -> None:
    """Put the tracing middleware first (around the request middleware) when ``OTEL_ENABLED``."""
    middleware = tracing_middleware(settings)
    if middleware is not None:
        app_config.middleware.insert(0, middleware)
