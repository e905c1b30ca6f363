"""Tenancy isolation, generated from the OpenAPI schema so new routes are covered automatically.

Alice owns workspace A; Bob owns workspace B, which holds members, audit entries, an API key,
extension configuration, an agent, a persona and a skill of its own, and a plugin (a tool assigned
to its agent). For every operation in the schema, Alice (and Alice's API key for A) calls it against
B — B's id in the path, ``X-Workspace-ID: B`` in the headers, B's resource ids for the other path
parameters (``{name}`` of ``/api/tools/…``: B's tool) — and must get 401/403/404 (or 405/422 for a
route that cannot take the request at all) and a body that names nothing of B's. Routes that are
not tenant data are listed in ``GLOBAL`` with the reason; a new route is tenant-scoped until someone
argues otherwise there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, make_container, serve_app
from tests.tools.fakes import FakePlugin, Plugins

# (method, path template) -> why it is not tenant data
GLOBAL: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness",
    ("GET", "/health/ready"): "readiness",
    ("GET", "/api/blobs/{key}"): "a pre-signed URL: the signature is the grant",
    ("PUT", "/api/blobs/{key}"): "a pre-signed URL: the signature is the grant",
    ("GET", "/api/test-everything/ping"): "the test extension's own route",
    ("GET", "/api/composio/apps"): "Composio's cached catalogue: platform data",
    ("GET", "/api/composio/apps/{slug}/actions"): "Composio's cached catalogue: platform data",
    ("GET", "/api/composio/triggers"): "Composio's cached catalogue: platform data",
    ("GET", "/api/composio/callback"): "Composio sends the user back: a status re-read, by an unguessable id",
    ("POST", "/api/composio/webhook"): "Composio's signed webhook: the signature is the grant",
}
ALLOWED = {401, 403, 404, 405, 422}
B_OBJECTS = {"workspace_id", "key_id", "agent", "persona", "skill", "session_id", "rule_id"}
"""Path parameters that ``_fill`` sets to one of B's objects."""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[AppClient, dict[str, str]]]:
    # every route once per caller: more calls than the default rate limit allows one client
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute"))
    async with serve_app(app) as client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@a.example", display_name="alice"))
            session.add(m.User(id="bob", email="bob@b-secret.example", display_name="bob"))
        a = (await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers=_as("alice"))).json()
        b = (
            await client.post("/api/workspaces", json={"slug": "bravo-secret", "name": "B"}, headers=_as("bob"))
        ).json()
        await client.post(
            f"/api/workspaces/{b['id']}/members", json={"email": "carol@b-secret.example"}, headers=_as("bob")
        )
        await client.put(
            f"/api/workspaces/{b['id']}/extensions/tests.everything",
            json={"enabled": True, "config": {"prefix": "b-secret"}},
            headers=_as("bob"),
        )
        ids = {"a": a["id"], "b": b["id"], "b_slug": b["slug"]}
        key_b = await client.post(
            "/api/api-keys", json={"name": "b-secret-key"}, headers={**_as("bob"), "X-Workspace-ID": b["id"]}
        )
        if key_b.status_code == 201:
            ids["b_key_id"] = key_b.json()["id"]
            ids["b_key"] = key_b.json()["key"]
        key_a = await client.post(
            "/api/api-keys",
            json={"name": "a-key", "role": "owner"},
            headers={**_as("alice"), "X-Workspace-ID": a["id"]},
        )
        if key_a.status_code == 201:
            ids["a_key"] = key_a.json()["key"]
        in_b = {**_as("bob"), "X-Workspace-ID": b["id"]}
        for kind, body in (
            ("personas", {"name": "b-secret persona", "slug": "b-secret-persona", "system_prompt": "b-secret"}),
            ("skills", {"name": "b-secret skill", "slug": "b-secret-skill", "instructions": "b-secret"}),
        ):
            made = await client.post(f"/api/{kind}", json=body, headers=in_b)
            assert made.status_code == 201, made.text
            ids[f"b_{kind[:-1]}"] = made.json()["id"]
        agent = await client.post(
            "/api/agents",
            json={
                "name": "b-secret agent",
                "slug": "b-secret-agent",
                "instructions": "b-secret",
                "persona_id": ids["b_persona"],
                "skill_ids": [ids["b_skill"]],
            },
            headers=in_b,
        )
        assert agent.status_code == 201, agent.text
        ids["b_agent"] = agent.json()["id"]
        rule = await client.post(
            "/api/routing/rules",
            json={"name": "b-secret rule", "agent_id": ids["b_agent"], "keywords": ["b-secret"]},
            headers=in_b,
        )
        assert rule.status_code == 201, rule.text
        ids["b_rule"] = rule.json()["id"]
        ids["b_plugin"] = await _plugin_enabled_in(client, app, b["id"])
        chat = await client.post(
            "/api/chat", json={"agent": "b-secret-agent", "content": "b-secret question", "stream": False}, headers=in_b
        )
        assert chat.status_code == 201, chat.text
        ids["b_session"] = chat.json()["session_id"]
        # a plugin enabled in B only (a fake proxy joined to B's view): its tool, content and assignment
        ids["b_tool"] = "b-secret__lookup"
        b_plugin = FakePlugin("b-secret", ["lookup"], assignments={ids["b_agent"]: 0})
        await Plugins(kernel).set(b["id"], b_plugin)
        yield client, ids


def _as(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


async def _plugin_enabled_in(client: AppClient, app: Any, workspace: str) -> str:
    """A marketplace plugin (platform data: its name is public) enabled in B with B's secret config."""
    from tests.marketplace.test_submissions import make_bundle, upload

    kernel: Kernel = app.state["kernel"]
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id="root", email="root@platform.example", display_name="root", is_platform_admin=True))
    made = await upload(client, make_bundle("Bravo Tools"), _as("bob"))
    assert made.status_code == 201, made.text
    await app.state["container"].marketplace().idle()
    approve = {"sha256": made.json()["sha256"], "override": True, "reason": "tenancy test"}
    done = await client.post(
        f"/api/admin/plugins/versions/{made.json()['id']}/approve", json=approve, headers=_as("root;admin")
    )
    assert done.status_code == 200, done.text
    body = {"slug": "bravo-tools", "config": {"EXAMPLE_TOKEN": "b-secret-token"}}
    enabled = await client.post(f"/api/workspaces/{workspace}/plugins", json=body, headers=_as("bob"))
    assert enabled.status_code == 201, enabled.text
    return "bravo-tools"


def _fill(path: str, ids: dict[str, str]) -> str:
    values = {
        "workspace_id": ids["b"],
        "user_id": "bob",
        "key_id": ids.get("b_key_id", "no-key"),
        "name": ids["b_tool"] if path.startswith("/api/tools/") else "tests.everything",
        "key": "x",
        "agent": ids["b_agent"],
        "persona": ids["b_persona"],
        "skill": ids["b_skill"],
        "session_id": ids["b_session"],
        "slug": ids["b_plugin"],
        "rule_id": ids["b_rule"],
    }
    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda mt: values.get(mt.group(1), "x"), path)


def _body(operation: dict[str, Any]) -> Any:
    return {} if "requestBody" in operation else None


async def test_every_tenant_route_refuses_another_workspace(world: tuple[AppClient, dict[str, str]]) -> None:
    client, ids = world
    schema = (await client.get("/schema/openapi.json")).json()
    callers = {"alice": {**_as("alice"), "X-Workspace-ID": ids["b"]}}
    if "a_key" in ids:
        callers["alice's key"] = {"Authorization": f"Bearer {ids['a_key']}", "X-Workspace-ID": ids["b"]}
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            template = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path)
            if (method.upper(), template) in GLOBAL:
                continue
            for who, headers in callers.items():
                response = await client.request(
                    method.upper(), _fill(path, ids), headers=headers, json=_body(operation)
                )
                where = f"{who}: {method.upper()} {path} -> {response.status_code} {response.text[:200]}"
                assert response.status_code in ALLOWED, where
                for secret in ("b-secret", "bob@", ids.get("b_key_id", "\0")):
                    assert secret not in response.text, where
                checked += 1
    assert checked >= 10  # the schema really was walked


async def test_global_routes_are_still_listed(world: tuple[AppClient, dict[str, str]]) -> None:
    """A stale GLOBAL entry hides nothing: every route named there must exist."""
    client, _ = world
    schema = (await client.get("/schema/openapi.json")).json()
    present = {
        (method.upper(), re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path))
        for path, item in schema["paths"].items()
        for method in item
    }
    assert set(GLOBAL) <= present, set(GLOBAL) - present


async def test_b_ids_from_inside_a_reach_nothing(world: tuple[AppClient, dict[str, str]]) -> None:
    """Alice acting in her own workspace A (no header: her key's workspace) names B's ids in paths.

    Every route whose path names one of B's objects must refuse (B's objects are not found from A); routes without
    one may answer (about A), but no answer may carry anything of B's.
    """
    client, ids = world
    if "a_key" not in ids:
        pytest.skip("no key for A")
    schema = (await client.get("/schema/openapi.json")).json()
    headers = {"Authorization": f"Bearer {ids['a_key']}"}
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            template = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path)
            if (method.upper(), template) in GLOBAL:
                continue
            url = _fill(path, ids)
            response = await client.request(method.upper(), url, headers=headers, json=_body(operation))
            where = f"A's key: {method.upper()} {path} -> {response.status_code} {response.text[:200]}"
            if set(re.findall(r"\{([^}]+)\}", template)) & B_OBJECTS:
                assert response.status_code in ALLOWED, where
            for secret in ("b-secret", "bob@", ids.get("b_key_id", "\0"), ids["b_session"]):
                if secret not in url:  # an id the caller sent may be named back in the 404
                    assert secret not in response.text, where
            checked += 1
    assert checked >= 10
