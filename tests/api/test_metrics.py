"""``GET /metrics``: Prometheus text that moves with the traffic, behind a setting and a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import automatos
from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.errors import SettingsError
from automatos.kernel.metrics import MAX_MODELS, LLMUsageTable, RequestTable
from automatos.kernel.settings import load_settings
from automatos.sandbox.settings import SandboxSettings
from tests.agents.test_chat import World, as_user, build_world
from tests.helpers import AppClient, make_container, serve_app
from tests.sandbox.waiting import until

__all__: list[str] = []

ADMIN = {"X-Test-User": "root;admin"}
TOKEN = "scrape-0123456789abcdef-0123456789abcdef"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    app = create_app(make_container(tmp_path, metrics_enabled="true", metrics_token=TOKEN))
    async with serve_app(app) as client:
        yield await build_world(client, app.state["kernel"])


async def scrape(client: AppClient | httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    response = await client.get("/metrics", headers=headers or {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_request_counters_and_histograms_move_by_route_template(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    route = {"method": "GET", "route": "/api/workspaces/{workspace_id}"}
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"/api/workspaces/{alpha}", headers=as_user("alice"))).status_code == 200
    missing = "no-such-workspace-0123"
    assert (await client.get(f"/api/workspaces/{missing}", headers=as_user("alice"))).status_code == 404
    after = await scrape(client)

    ok, not_found = {**route, "status": "2xx"}, {**route, "status": "4xx"}
    total = "automatos_http_requests_total"
    assert value(after, total, **ok) - value(before, total, **ok) == 3
    assert value(after, total, **not_found) - value(before, total, **not_found) == 1
    count = "automatos_http_request_duration_seconds_count"
    assert value(after, count, **ok) - value(before, count, **ok) == 3
    inf = value(after, "automatos_http_request_duration_seconds_bucket", **ok, le="+Inf")
    assert inf == value(after, count, **ok)
    assert value(after, "automatos_http_request_duration_seconds_sum", **ok) > 0
    buckets = [
        v
        for (name, labels), v in after.items()
        if name == "automatos_http_request_duration_seconds_bucket"
        and {("status", "2xx"), ("route", route["route"]), ("method", "GET")} <= labels
    ]
    assert len(buckets) == 16 and max(buckets) == inf  # cumulative: 15 bounds and +Inf
    # labels are templates: no raw id ever becomes a label value, and the scrapes themselves are not counted
    labels = {v for (_, pairs) in after for _, v in pairs}
    assert alpha not in labels and missing not in labels
    assert not any(v == "/metrics" for v in labels)


async def test_llm_tokens_and_cost_by_provider_and_model(world: World) -> None:
    client, alpha = world.client, world.ids["alpha"]
    before = await scrape(client)
    answer = await client.post(
        "/api/chat",
        json={"agent": "helper", "content": "count my tokens", "stream": False},
        headers=as_user("alice", alpha),
    )
    assert answer.status_code == 201, answer.text
    usage = answer.json()["usage"]
    after = await scrape(client)
    models = {dict(labels)["model"] for name, labels in after if name == "automatos_llm_calls_total"}
    assert len(models) == 1
    model = models.pop()
    key = {"provider": "offline", "model": model}
    assert value(after, "automatos_llm_calls_total", **key) - value(before, "automatos_llm_calls_total", **key) == 1
    assert value(after, "automatos_llm_tokens_total", **key, kind="prompt") == usage["prompt_tokens"]
    assert value(after, "automatos_llm_tokens_total", **key, kind="completion") == usage["completion_tokens"] > 0
    assert value(after, "automatos_llm_cost_usd_total", **key) == pytest.approx(usage["cost"])
    assert not any("workspace" in dict(labels) for _, labels in after)


async def test_hooks_sandbox_and_process_series(world: World) -> None:
    kernel: Kernel = world.client.app.state["kernel"]
    # the pool's workers start in the background: scrape once they are all up (bounded wait on the
    # pool's own state, not on time), so a loaded machine cannot read the gauge early
    sandbox = world.client.app.state["container"].sandbox()
    size = kernel.settings.group(SandboxSettings).sandbox_pool_size
    await until(lambda: sandbox.status()["live_workers"] == size, "every sandbox worker is live")
    samples = await scrape(world.client)
    assert value(samples, "automatos_hook_calls_total", extension="tests.everything", hook="startup") >= 1
    kernel.hooks.record_failure("tests.everything", "on_event", RuntimeError("boom"))
    kernel.hooks.record_failure("tests.everything", "on_event", RuntimeError("boom"))
    samples = await scrape(world.client)
    assert value(samples, "automatos_hook_failures_total", extension="tests.everything", hook="on_event") == 2
    assert value(samples, "automatos_sandbox_pool_size") == size
    assert value(samples, "automatos_sandbox_workers", state="live") == size
    assert value(samples, "automatos_sandbox_workers", state="busy") == 0
    assert ("automatos_sandbox_workers_replaced_total", frozenset()) in samples
    assert value(samples, "process_resident_memory_bytes") > 0  # prometheus-client's process collector (Linux)
    assert any(name == "python_gc_collections_total" for name, _ in samples)
    info = [dict(labels) for name, labels in samples if name == "automatos_info"]
    assert info == [{"version": automatos.__version__, "environment": "development"}]


async def test_rate_limit_refusals_are_counted_and_scrapes_are_never_limited(tmp_path: Path) -> None:
    app = create_app(
        make_container(tmp_path, metrics_enabled="true", metrics_token=TOKEN, rate_limit_default="2/minute")
    )
    async with serve_app(app) as client:
        statuses = [(await client.get("/api/extensions", headers=ADMIN)).status_code for _ in range(5)]
        assert statuses.count(429) == 3
        for _ in range(5):  # a scraper is not held to the general limit (and needs no API key)
            samples = await scrape(client)
    key = {"method": "GET", "route": "/api/extensions"}
    assert value(samples, "automatos_rate_limit_refusals_total", **key) == 3
    assert value(samples, "automatos_http_requests_total", **key, status="4xx") == 3


async def test_who_may_scrape(world: World) -> None:
    client = world.client
    body = problem(await client.get("/metrics"), 401)
    assert "METRICS_TOKEN" in body["detail"]
    problem(await client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}), 401)
    problem(await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}), 401)
    problem(await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}), 401)
    problem(await client.get("/metrics", headers=as_user("alice")), 403)
    await scrape(client, ADMIN)  # a platform admin's credentials, without the token
    await scrape(client)


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({"metrics_enabled": "false"}, False),
        ({"environment": "production"}, False),  # auto: off in production
        ({"environment": "production", "metrics_enabled": "true"}, True),
        ({}, True),  # auto: on in development
    ],
)
async def test_disabled_metrics_answer_404(tmp_path: Path, settings: dict[str, Any], served: bool) -> None:
    app = create_app(make_container(tmp_path, **settings))
    async with serve_app(app) as client:
        response = await client.get("/metrics", headers=ADMIN)
        if served:
            assert response.status_code == 200, response.text
        else:
            assert "METRICS_ENABLED" in problem(response, 404)["detail"]
        schema = (await client.get("/schema/openapi.json")).json()
        assert "/metrics" not in schema["paths"]


def test_metrics_settings_are_checked() -> None:
    assert load_settings({"METRICS_ENABLED": "TRUE", "METRICS_TOKEN": TOKEN}).metrics_enabled == "TRUE"
    assert TOKEN not in repr(load_settings({"METRICS_TOKEN": TOKEN}))  # a secret: never shown
    with pytest.raises(SettingsError, match="METRICS_ENABLED"):
        load_settings({"METRICS_ENABLED": "sometimes"})


def test_tables_are_bounded() -> None:
    requests = RequestTable(max_routes=2)
    for i in range(10):
        requests.observe(f"GET /r{i}", 0.01, 200)
    assert sorted(requests.routes) == ["GET /r0", "GET /r1", "GET other"]
    assert sum(row[3][-2] + sum(row[3][:-1]) for row in requests.rows()) > 0
    other = next(cell for method, route, status, cell in requests.rows() if route == "other")
    assert sum(other[:-1]) == 8
    llm = LLMUsageTable()
    for i in range(MAX_MODELS + 50):
        llm.record("p", f"m{i}", 1, 2, 0.5)
    assert len(llm.models) == MAX_MODELS + 1 and llm.models[("other", "other")][0] == 50


def test_latency_lands_in_the_right_bucket() -> None:
    table = RequestTable()
    for seconds in (0.0005, 0.001, 0.0011, 7.0, 1000.0):
        table.observe("POST /x", seconds, 201)
    table.observe("POST /x", 0.2, 0)  # the client left before an answer started
    ((_, _, status, cell), (_, _, unknown, lost)) = sorted(table.rows(), key=lambda row: row[2])
    assert status == "2xx" and unknown == "unknown" and sum(lost[:-1]) == 1
    assert cell[0] == 2 and cell[1] == 1  # le=0.001 holds 0.0005 and 0.001 (inclusive); 0.0011 is next
    assert cell[12] == 1 and cell[15] == 1  # 7 s under le=10; 1000 s only under +Inf
    assert cell[-1] == pytest.approx(0.0005 + 0.001 + 0.0011 + 7.0 + 1000.0)


def test_each_kernel_counts_its_own(tmp_path: Path) -> None:
    """The counters belong to the kernel the container built (no registry keyed by kernel)."""
    container, other = make_container(tmp_path / "a"), make_container(tmp_path / "b")
    kernel = container.kernel()
    assert kernel.metrics is container.metrics()
    kernel.metrics.requests.observe("GET /x", 0.1, 200)
    assert kernel.metrics.requests.rows() and not other.kernel().metrics.requests.rows()
