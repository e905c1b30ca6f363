"""``GET /api/me``: the caller as the API sees them, by user credentials and by API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, make_container, serve_app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.com", display_name="Alice"))
            session.add(m.User(id="root", email="root@example.com", display_name="Root", is_platform_admin=True))
        yield test_client


async def test_me_as_a_user(client: AppClient) -> None:
    ids = {}
    for slug in ("alpha", "bravo", "charlie"):
        made = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers={"X-Test-User": "alice"})
        ids[slug] = made.json()["id"]
    me = await client.get("/api/me?limit=2", headers={"X-Test-User": "alice", "X-Workspace-ID": "bravo"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["id"], body["user_id"], body["kind"]) == ("alice", "alice", "user")
    assert body["email"] == "alice@example.com" and body["display_name"] == "Alice"
    assert body["is_platform_admin"] is False and body["key"] is None
    assert body["workspace"] == {"workspace_id": ids["bravo"], "slug": "bravo", "name": "bravo", "role": "owner"}
    page = body["memberships"]
    assert page["total"] == 3 and page["limit"] == 2 and [w["slug"] for w in page["items"]] == ["alpha", "bravo"]
    root = (await client.get("/api/me", headers={"X-Test-User": "root;admin"})).json()
    assert root["is_platform_admin"] is True and root["workspace"] is None and root["memberships"]["total"] == 0


async def test_me_by_api_key_shows_the_key(client: AppClient) -> None:
    made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "A"}, headers={"X-Test-User": "alice"})
    workspace_id = made.json()["id"]
    key = await client.post(
        "/api/api-keys",
        json={"name": "bot", "role": "member", "scopes": ["agents.read"]},
        headers={"X-Test-User": "alice", "X-Workspace-ID": workspace_id},
    )
    assert key.status_code == 201, key.text
    created = key.json()
    body = (await client.get("/api/me", headers={"Authorization": f"Bearer {created['key']}"})).json()
    assert body["kind"] == "api_key" and body["user_id"] == "alice"
    assert body["key"]["id"] == created["id"] and body["key"]["workspace_id"] == workspace_id
    assert body["key"]["scopes"] == ["agents.read"] and body["key"]["role"] == "member"
    assert body["key"]["prefix"] and "key" not in body["key"] and "key_hash" not in body["key"]  # no secret
    assert body["workspace"]["workspace_id"] == workspace_id and body["workspace"]["role"] == "member"
    assert [(w["slug"], w["role"]) for w in body["memberships"]["items"]] == [("alpha", "member")]


async def test_me_needs_credentials(client: AppClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/problem+json")
