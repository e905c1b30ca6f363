"""OpenTelemetry tracing (``OTEL_ENABLED``): a server span per request named by its route template."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from automatos.api.app import create_app
from automatos.api.tracing import span_details, tracing_middleware
from automatos.kernel.settings import load_settings
from tests.helpers import make_container, serve_app

__all__: list[str] = []

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (installed once, as ``opentelemetry-instrument`` would), exporting to memory."""
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


async def test_a_span_per_request_named_by_route_template(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    app = create_app(make_container(tmp_path, otel_enabled=True))
    admin = {"X-Test-User": "root;admin"}
    workspace_id = "ws-0123456789"
    async with serve_app(app) as client:
        assert (await client.get("/api/extensions", headers=admin)).status_code == 200
        assert (await client.get(f"/api/workspaces/{workspace_id}", headers=admin)).status_code == 404
        refused = await client.get("/api/extensions", headers={"Authorization": "Bearer atk_not-a-key"})
        assert refused.status_code == 401, refused.text  # answered by the request middleware: still traced
    servers = [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]
    names = [span.name for span in servers]
    assert names == ["GET /api/extensions", "GET /api/workspaces/{workspace_id}", "GET /api/extensions"], names
    by_name = {span.name: span for span in servers}
    attributes = by_name["GET /api/workspaces/{workspace_id}"].attributes or {}
    assert attributes["http.route"] == "/api/workspaces/{workspace_id}"
    assert all(workspace_id not in span.name for span in spans.get_finished_spans())


async def test_off_by_default_adds_nothing(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    assert tracing_middleware(load_settings({})) is None
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        assert (await client.get("/api/extensions", headers={"X-Test-User": "root;admin"})).status_code == 200
    assert spans.get_finished_spans() == ()


def test_span_details_strip_parameter_types() -> None:
    scope = {"method": "DELETE", "path": "/api/x/abc", "path_template": "/api/x/{item_id:str}/y/{n:int}"}
    assert span_details(scope) == ("DELETE /api/x/{item_id}/y/{n}", {"http.route": "/api/x/{item_id}/y/{n}"})
