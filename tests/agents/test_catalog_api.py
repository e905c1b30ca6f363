"""The reference catalogs through the API: models, credential types, plugin categories, platform settings.

Root is a platform admin; Alice is the owner of a workspace and nothing more. Reference rows are
inserted directly: the seed is not these tests' business (it is applied at start-up, so every
assertion on a list looks only at the rows the tests made: ``t-`` slugs, ``acme-ai``/``zeta-ai``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.marketplace.models import PluginCategory
from automatos.tools.models import CredentialType
from tests.helpers import AppClient, make_container, serve_app

ROOT = {"X-Test-User": "root;admin"}
ALICE = {"X-Test-User": "alice"}
MINE = {"acme-ai", "zeta-ai"}
GPT = {
    "provider": "acme-ai",
    "model": "gpt-test",
    "display_name": "GPT test",
    "context_window": 128_000,
    "max_output_tokens": 16_000,
    "input_price": 2.5e-06,
    "output_price": 1e-05,
    "capabilities": ["t-chat", "t-vision"],
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute"))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))
            session.add(
                CredentialType(
                    slug="t-github-token",
                    name="GitHub token",
                    category="t-developer",
                    auth_type="bearer",
                    fields=[{"name": "token", "label": "Token", "secret": True, "required": True}],
                    docs_url="https://docs.github.com",
                )
            )
            session.add(CredentialType(slug="t-postgres", name="PostgreSQL", category="t-database", auth_type="x"))
            session.add(PluginCategory(slug="t-productivity", name="Productivity", position=-1))
            session.add(PluginCategory(slug="t-analytics", name="Analytics", position=-2))
        made = await test_client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=ALICE)
        assert made.status_code == 201, made.text
        made = await test_client.post(
            "/api/workspaces", json={"slug": "bravo", "name": "B"}, headers={"X-Test-User": "bob"}
        )
        assert made.status_code == 201, made.text
        yield test_client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def _platform_audit(client: AppClient, target_type: str) -> list[m.AuditLogEntry]:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        rows = await session.scalars(
            select(m.AuditLogEntry)
            .where(
                m.AuditLogEntry.workspace_id.is_(None),
                m.AuditLogEntry.target_type == target_type,
                m.AuditLogEntry.actor_id == "root",
            )
            .order_by(m.AuditLogEntry.created_at)
        )
        return list(rows)


async def test_model_catalog(client: AppClient) -> None:
    gpt = _ok(await client.post("/api/models", json=GPT, headers=ROOT), 201)
    assert gpt["kind"] == "chat" and gpt["status"] == "active" and gpt["input_price"] == 2.5e-06
    embed = {
        "provider": "acme-ai",
        "model": "embed-test",
        "display_name": "Embed",
        "kind": "embedding",
        "context_window": 8191,
    }
    _ok(await client.post("/api/models", json=embed, headers=ROOT), 201)
    claude = {**GPT, "provider": "zeta-ai", "model": "claude-test", "capabilities": ["t-chat"]}
    _ok(await client.post("/api/models", json=claude, headers=ROOT), 201)

    # any authenticated caller reads, in a workspace or not
    for headers in (ALICE, {**ALICE, "X-Workspace-ID": "alpha"}, ROOT):
        listed = _ok(await client.get("/api/models?limit=500", headers=headers))
        assert [(x["provider"], x["model"]) for x in listed["items"] if x["provider"] in MINE] == [
            ("acme-ai", "embed-test"),
            ("acme-ai", "gpt-test"),
            ("zeta-ai", "claude-test"),
        ]
    assert _ok(await client.get(f"/api/models/{gpt['id']}", headers=ALICE)) == gpt

    def models(page: dict[str, Any]) -> list[str]:
        return [x["model"] for x in page["items"] if x["provider"] in MINE]

    assert models(_ok(await client.get("/api/models?provider=acme-ai", headers=ALICE))) == ["embed-test", "gpt-test"]
    assert models(_ok(await client.get("/api/models?kind=embedding&limit=500", headers=ALICE))) == ["embed-test"]
    assert models(_ok(await client.get("/api/models?kind=chat&limit=500", headers=ALICE))) == [
        "gpt-test",
        "claude-test",
    ]
    vision = _ok(await client.get("/api/models?capability=t-vision", headers=ALICE))
    assert models(vision) == ["gpt-test"] and vision["total"] == 1
    chat = _ok(await client.get("/api/models?capability=t-chat&limit=1&offset=1", headers=ALICE))
    assert models(chat) == ["claude-test"] and chat["total"] == 2
    page = _ok(await client.get("/api/models?provider=acme-ai&limit=1&offset=1", headers=ALICE))
    assert models(page) == ["gpt-test"] and page["total"] == 2

    patched = _ok(
        await client.patch(
            f"/api/models/{gpt['id']}", json={"input_price": 3e-06, "max_output_tokens": None}, headers=ROOT
        )
    )
    assert patched["input_price"] == 3e-06 and patched["max_output_tokens"] is None
    assert patched["display_name"] == "GPT test"
    assert (await client.delete(f"/api/models/{gpt['id']}", headers=ROOT)).status_code == 204
    assert models(_ok(await client.get("/api/models?provider=acme-ai", headers=ALICE))) == ["embed-test"]
    deprecated = _ok(await client.get("/api/models?status=deprecated&limit=500", headers=ALICE))
    assert models(deprecated) == ["gpt-test"]
    assert _ok(await client.get(f"/api/models/{gpt['id']}", headers=ALICE))["status"] == "deprecated"

    audit = await _platform_audit(client, "llm_model")
    assert [(a.action, a.actor_id) for a in audit] == [
        ("llm_model.created", "root"),
        ("llm_model.created", "root"),
        ("llm_model.created", "root"),
        ("llm_model.updated", "root"),
        ("llm_model.deprecated", "root"),
    ]
    assert audit[3].data == {"fields": ["max_output_tokens", "input_price"]} and all(a.request_id for a in audit)


async def test_model_catalog_refusals(client: AppClient) -> None:
    gpt = _ok(await client.post("/api/models", json=GPT, headers=ROOT), 201)
    for method, path, body in (
        ("POST", "/api/models", GPT),
        ("PATCH", f"/api/models/{gpt['id']}", {"display_name": "x"}),
        ("DELETE", f"/api/models/{gpt['id']}", None),
    ):
        problem = _problem(await client.request(method, path, json=body, headers=ALICE), 403)
        assert "platform admins" in problem["detail"]
        _problem(await client.request(method, path, json=body), 401)
    _problem(await client.get("/api/models"), 401)
    _problem(await client.get("/api/models", headers={**ALICE, "X-Workspace-ID": "bravo"}), 403)
    problem = _problem(await client.post("/api/models", json=GPT, headers=ROOT), 409)
    assert problem["field"] == "model"
    for change, field in (
        ({"context_window": 0}, "context_window"),
        ({"input_price": -1}, "input_price"),
        ({"kind": "image"}, "kind"),
        ({"provider": "Not Valid"}, "provider"),
        ({"colour": "red"}, "colour"),
        ({"display_name": "  "}, "display_name"),
    ):
        body = {**GPT, "model": "another", **change}
        assert _problem(await client.post("/api/models", json=body, headers=ROOT), 422)["field"] == field, change
    problem = _problem(await client.patch(f"/api/models/{gpt['id']}", json={"model": "renamed"}, headers=ROOT), 422)
    assert problem["field"] == "model"  # the natural key does not change
    for method in ("GET", "PATCH", "DELETE"):
        problem = _problem(
            await client.request(method, "/api/models/nope", json={} if method == "PATCH" else None, headers=ROOT), 404
        )
        assert problem["field"] == "model_id"
    _problem(await client.get("/api/models?kind=image", headers=ALICE), 422)


async def test_credential_types_and_plugin_categories(client: AppClient) -> None:
    listed = _ok(await client.get("/api/credential-types?limit=500", headers=ALICE))
    mine = [c for c in listed["items"] if c["slug"].startswith("t-")]
    assert [c["slug"] for c in mine] == ["t-github-token", "t-postgres"] and listed["total"] >= 2
    assert mine[0]["fields"] == [{"name": "token", "label": "Token", "secret": True, "required": True}]
    database = _ok(await client.get("/api/credential-types?category=t-database", headers=ALICE))
    assert [c["slug"] for c in database["items"]] == ["t-postgres"] and database["total"] == 1
    assert _ok(await client.get("/api/credential-types/t-github-token", headers=ALICE))["auth_type"] == "bearer"
    assert _problem(await client.get("/api/credential-types/nope", headers=ALICE), 404)["field"] == "slug"
    categories = _ok(await client.get("/api/plugin-categories", headers=ALICE))
    assert [c["slug"] for c in categories["items"]][:2] == ["t-analytics", "t-productivity"]  # by position
    page = _ok(await client.get("/api/plugin-categories?offset=1&limit=1", headers=ALICE))
    assert [c["slug"] for c in page["items"]] == ["t-productivity"] and page["total"] == categories["total"] >= 2
    assert _ok(await client.get("/api/plugin-categories/t-analytics", headers=ROOT))["name"] == "Analytics"
    assert _problem(await client.get("/api/plugin-categories/nope", headers=ALICE), 404)["field"] == "slug"
    for path in ("/api/credential-types", "/api/plugin-categories", "/api/plugin-categories/t-analytics"):
        _problem(await client.get(path), 401)
    # read-only: no writes are routed
    _problem(await client.post("/api/credential-types", json={}, headers=ROOT), 405)
    _problem(await client.delete("/api/plugin-categories/t-analytics", headers=ROOT), 405)


async def test_platform_settings(client: AppClient) -> None:
    created = _ok(
        await client.put(
            "/api/platform-settings/chat.history_limit",
            json={"value": 40, "description": "How much history a chat sends"},
            headers=ROOT,
        )
    )
    assert created["value"] == 40 and created["updated_by"] == "root"
    assert created["description"] == "How much history a chat sends"
    assert (created["kind"], created["minimum"], created["maximum"]) == ("integer", 0, 10_000)
    replaced = _ok(await client.put("/api/platform-settings/chat.history_limit", json={"value": 12}, headers=ROOT))
    assert replaced["value"] == 12 and replaced["description"] == "How much history a chat sends"
    _ok(await client.put("/api/platform-settings/agents.default_temperature", json={"value": 1}, headers=ROOT))
    _ok(await client.put("/api/platform-settings/usage.currency", json={"value": "USD"}, headers=ROOT))
    listed = _ok(await client.get("/api/platform-settings?limit=500", headers=ROOT))
    values = {s["key"]: s["value"] for s in listed["items"]}
    assert values["chat.history_limit"] == 12 and values["agents.default_temperature"] == 1
    assert _ok(await client.get("/api/platform-settings/chat.history_limit", headers=ROOT))["value"] == 12
    assert _problem(await client.get("/api/platform-settings/nope", headers=ROOT), 404)["field"] == "key"
    assert (
        _problem(await client.put("/api/platform-settings/Bad Key", json={"value": 1}, headers=ROOT), 422)["field"]
        == "key"
    )
    assert _problem(await client.put("/api/platform-settings/x", json={}, headers=ROOT), 422)["field"] == "value"
    for method, path, body in (
        ("GET", "/api/platform-settings", None),
        ("GET", "/api/platform-settings/chat.history_limit", None),
        ("PUT", "/api/platform-settings/chat.history_limit", {"value": 1}),
    ):
        assert (
            "platform admins" in _problem(await client.request(method, path, json=body, headers=ALICE), 403)["detail"]
        )
        _problem(await client.request(method, path, json=body), 401)
    audit = await _platform_audit(client, "platform_setting")
    assert [(a.action, a.target_id, a.data) for a in audit] == [
        ("platform_setting.changed", "chat.history_limit", {"created": False}),
        ("platform_setting.changed", "chat.history_limit", {"created": False}),
        ("platform_setting.changed", "agents.default_temperature", {"created": False}),
        ("platform_setting.changed", "usage.currency", {"created": False}),
    ]  # the values are not in the audit log


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("chat.max_message_chars", "lots"),
        ("chat.max_message_chars", 0),
        ("chat.max_message_chars", 2.5),
        ("chat.max_message_chars", True),
        ("chat.max_message_chars", None),
        ("sandbox.timeout_seconds", -5),
        ("sandbox.timeout_seconds", 601),
        ("agents.default_temperature", 2.5),
        ("agents.default_temperature", "warm"),
        ("routing.llm_confidence_threshold", -0.1),
        ("usage.currency", "EUR"),
        ("usage.currency", {"code": "USD"}),
    ],
)
async def test_platform_setting_values_are_checked_against_their_kind_and_range(
    client: AppClient, key: str, value: Any
) -> None:
    before = _ok(await client.get(f"/api/platform-settings/{key}", headers=ROOT))["value"]
    refused = _problem(await client.put(f"/api/platform-settings/{key}", json={"value": value}, headers=ROOT), 422)
    assert refused["field"] == "value" and key in refused["detail"]
    assert _ok(await client.get(f"/api/platform-settings/{key}", headers=ROOT))["value"] == before  # not in force


async def test_unknown_platform_settings_are_not_created(client: AppClient) -> None:
    refused = _problem(
        await client.put("/api/platform-settings/chat.max_mesage_chars", json={"value": 10}, headers=ROOT), 404
    )
    assert refused["field"] == "key" and "chat.max_message_chars" in refused["detail"]  # the known ones are listed
    _problem(await client.get("/api/platform-settings/chat.max_mesage_chars", headers=ROOT), 404)
