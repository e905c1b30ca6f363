"""The HTTP surface of the kernel: health, extensions, settings, problem+json, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.llm.settings import LLMSettings
from tests.helpers import AppClient, make_container, serve_app

ADMIN = {"X-Test-User": "root;admin", "X-Admin-Override": "true"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as test_client:
        yield test_client


def _kernel(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


async def test_health_and_readiness(client: AppClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "blob:local", "kv:memory", "pubsub:memory", "vector:exact"}
    assert all(c["ok"] for c in checks.values())


async def test_readiness_names_a_failing_backend(client: AppClient) -> None:
    kernel = _kernel(client)

    async def down() -> None:
        raise ConnectionError("connection refused")

    kernel.backends.kv.check = down  # type: ignore[method-assign]
    body = _is_problem(await client.get("/health/ready", headers=ADMIN), 503)
    assert "kv:memory" in body["detail"]
    assert body["checks"]["kv:memory"]["error"] == "ConnectionError: connection refused"  # admins see why


async def test_extensions_list_shows_loaded_with_distribution_and_version(client: AppClient) -> None:
    anonymous = (await client.get("/api/extensions", params={"limit": 500})).json()["items"]
    assert all(set(e) == {"name", "distribution", "version", "builtin", "essential", "state"} for e in anonymous)
    page = (await client.get("/api/extensions", params={"limit": 500}, headers=ADMIN)).json()
    by_name = {e["name"]: e for e in page["items"]}
    assert page["total"] == len(page["items"])
    local = by_name["automatos.storage.local"]
    assert (local["state"], local["distribution"], local["builtin"], local["essential"]) == (
        "loaded",
        "automatos",
        True,
        True,
    )
    assert local["version"]
    hello = by_name["hello"]
    assert (hello["distribution"], hello["version"], hello["builtin"]) == ("automatos-hello", "0.1.0", False)
    assert by_name["tests.everything"]["errors"] == []
    one = (await client.get("/api/extensions", params={"limit": 1, "offset": 1})).json()
    assert len(one["items"]) == 1 and one["items"][0]["name"] == page["items"][1]["name"]


async def test_quarantined_extensions_are_listed_with_reason(tmp_path: Path) -> None:
    from tests.helpers import EVERYTHING, candidate

    def explode() -> Any:
        raise RuntimeError("bad plugin")

    app = create_app(make_container(tmp_path, plugins=(EVERYTHING, candidate("x", "broken", loader=explode))))
    async with serve_app(app) as client:
        page = (await client.get("/api/extensions", params={"state": "quarantined"}, headers=ADMIN)).json()
        assert [e["name"] for e in page["items"]] == ["broken"]
        assert "RuntimeError: bad plugin" in page["items"][0]["reason"]
        assert (await client.get("/health")).status_code == 200


async def test_unknown_things_are_404_problems(client: AppClient) -> None:
    body = _is_problem(await client.get("/api/extensions/nope"), 404)
    assert body["field"] == "name"
    body = _is_problem(await client.get("/api/workspaces/nope/extensions", headers=ADMIN), 404)
    assert body["field"] == "workspace_id"
    body = _is_problem(await client.get("/api/settings", headers={**ADMIN, "X-Workspace-ID": "ghost"}), 404)
    assert body["field"] == "X-Workspace-ID" and "ghost" in body["detail"]
    _is_problem(await client.get("/no/such/route"), 404)


async def test_bad_input_is_422_naming_the_field(client: AppClient) -> None:
    body = _is_problem(await client.get("/api/extensions", params={"limit": 0}), 422)
    assert body["field"] == "limit"
    body = _is_problem(await client.get("/api/extensions", params={"state": "sleeping"}), 422)
    assert body["field"] == "state"
    ws = await _kernel(client).store.get_workspace("default")
    assert ws is not None
    url = f"/api/workspaces/{ws.id}/extensions/tests.everything"
    body = _is_problem(await client.put(url, json={"enabled": "perhaps"}, headers=ADMIN), 422)
    assert body["field"] == "enabled"
    body = _is_problem(await client.put(url, json={"enabled": True, "colour": "red"}, headers=ADMIN), 422)
    assert "colour" in body["detail"]


async def test_enable_disable_through_the_api(client: AppClient) -> None:
    kernel = _kernel(client)
    ws = await kernel.store.get_workspace("default")
    assert ws is not None
    url = f"/api/workspaces/{ws.id}/extensions/tests.everything"
    _is_problem(await client.put(url, json={"enabled": False}), 401)
    _is_problem(await client.put(url, json={"enabled": False}, headers={"X-Test-User": "stranger"}), 403)
    response = await client.put(url, json={"enabled": False, "config": {"prefix": "p"}}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False and response.json()["configured"] is True
    listed = (await client.get(f"/api/workspaces/{ws.slug}/extensions", headers=ADMIN)).json()["items"]
    assert {e["name"]: e["enabled"] for e in listed}["tests.everything"] is False
    assert all("config" not in e for e in listed)  # config values may hold secrets: never echoed
    essential = f"/api/workspaces/{ws.id}/extensions/automatos.storage.local"
    body = _is_problem(await client.put(essential, json={"enabled": False}, headers=ADMIN), 409)
    assert body["field"] == "enabled" and "essential" in body["detail"]


async def test_settings_endpoints_are_for_platform_admins(client: AppClient) -> None:
    _is_problem(await client.get("/api/settings"), 401)
    _is_problem(await client.get("/api/settings", headers={"X-Test-User": "someone"}), 403)
    response = await client.put("/api/settings/LLM_MODEL", json={"value": "m2"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["key"] == "LLM_MODEL" and response.json()["value"] == "m2"  # the setting changed
    assert _kernel(client).current_settings.group(LLMSettings).llm_model == "m2"
    body = _is_problem(await client.put("/api/settings/AUTOMATOS_PORT", json={"value": "1"}, headers=ADMIN), 422)
    assert body["field"] == "key"
    body = _is_problem(await client.put("/api/settings/LOG_LEVEL", json={"value": "LOUD"}, headers=ADMIN), 422)
    assert body["field"] == "value" and "LOG_LEVEL" in body["detail"]


async def test_extension_routes_are_mounted(client: AppClient) -> None:
    assert (await client.get("/api/test-everything/ping")).json() == {"pong": "tests.everything"}


async def test_openapi_is_served(client: AppClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["info"]["title"] == "Automatos"
    assert "/api/extensions" in schema["paths"] and "/health/ready" in schema["paths"]


async def test_unexpected_errors_are_500_problems_without_internals(client: AppClient) -> None:
    kernel = _kernel(client)

    async def broken(workspace_id: str) -> Any:
        raise RuntimeError("secret internal detail")

    kernel.store.get_workspace = broken  # type: ignore[method-assign,assignment]
    headers = {**ADMIN, "X-Workspace-ID": "x", "X-Request-ID": "r1"}
    body = _is_problem(await client.get("/api/settings", headers=headers), 500)
    assert "secret" not in body["detail"] and "r1" in body["detail"]


async def test_graceful_shutdown_closes_the_engine(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        kernel = _kernel(client)
        assert (await client.get("/health")).status_code == 200
    assert kernel.started is False
    assert kernel.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool's


async def test_local_presigned_urls_are_served(client: AppClient) -> None:
    blob = _kernel(client).backends.blob
    await blob.put("docs/a b.txt", b"hello", content_type="text/plain")
    url = await blob.presigned_url("docs/a b.txt", expires_in=60)
    response = await client.get(url)
    assert response.status_code == 200 and response.content == b"hello"
    assert response.headers["content-type"].startswith("text/plain")
    body = _is_problem(await client.get(url.replace("signature=", "signature=0")), 403)
    assert body["field"] == "signature"
    upload = await blob.presigned_url("up/new.bin", expires_in=60, method="PUT")
    assert (await client.put(upload, content=b"\x00\x01")).status_code == 201
    assert await blob.get("up/new.bin") == b"\x00\x01"
    _is_problem(await client.put(url, content=b"x"), 403)  # a GET grant does not allow PUT


async def test_router_answers_carry_request_id_and_security_headers(client: AppClient) -> None:
    """404/405 come from the router, before the middleware: the exception handlers add the headers."""
    missing = await client.get("/no/such/route", headers={"X-Request-ID": "trace-404"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "trace-404"
    assert missing.headers["x-content-type-options"] == "nosniff"
    wrong = await client.post("/health")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("application/problem+json")
    assert len(wrong.headers["x-request-id"]) == 32 and wrong.headers["x-frame-options"] == "DENY"


async def test_hooks_see_the_request_context(client: AppClient) -> None:
    from tests.plugins import everything

    everything.EVENTS.clear()
    everything.EVENT_CONTEXTS.clear()
    ws = await _kernel(client).store.get_workspace("default")
    assert ws is not None
    headers = {**ADMIN, "X-Request-ID": "ctx-for-hooks"}
    url = f"/api/workspaces/{ws.id}/extensions/tests.everything"
    assert (await client.put(url, json={"enabled": True}, headers=headers)).status_code == 200
    for _ in range(100):
        if everything.EVENT_CONTEXTS:
            break
        await asyncio.sleep(0.01)
    seen = everything.EVENT_CONTEXTS[0]
    assert seen is not None and seen.request_id == "ctx-for-hooks"
    assert seen.workspace is not None and seen.workspace.id == ws.id
    assert seen.principal is not None and seen.principal.id == "root" and seen.roles == frozenset({"owner"})
