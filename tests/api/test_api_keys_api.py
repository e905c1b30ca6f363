"""``/api/api-keys`` over HTTP: the secret shown once, 401s with ``WWW-Authenticate``, scopes, roles, tenancy.

The app is built with :func:`app_with_keys`, which mounts the controller only when the kernel's
plugin does not already, so these tests hold before and after the lead wires it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.container import Container
from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.extensions.auth.api_keys.routes import ApiKeysController
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, make_container, serve_app
from tests.workspaces.helpers import new_workspace

__all__ = ["app_with_keys"]

ADMIN = {"X-Test-User": "root;admin", "X-Admin-Override": "true"}
URL = "/api/api-keys"


def app_with_keys(container: Container) -> Litestar:
    app = create_app(container)
    if not any(route.path == URL for route in app.routes):
        app.register(ApiKeysController)
    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serve_app(app_with_keys(make_container(tmp_path))) as test_client:
        yield test_client


def kernel_of(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return body


async def new_key(
    client: AppClient, headers: dict[str, str] | None = None, workspace: str = "default", **body: Any
) -> dict[str, Any]:
    response = await client.post(
        URL, json={"name": "k", **body}, headers={"X-Workspace-ID": workspace, **(headers or ADMIN)}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def as_key(created: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {created['key']}"}


async def test_create_shows_the_key_once_and_list_never_does(client: AppClient) -> None:
    created = await new_key(client, name="ci", role="admin", scopes=["keys.read", "keys.manage"])
    assert created["key"].startswith(f"atk_{created['prefix']}_")
    assert {"id", "prefix", "name", "role", "scopes", "created_at", "expires_at"} <= set(created)
    assert (created["name"], created["role"], created["scopes"]) == ("ci", "admin", ["keys.manage", "keys.read"])
    secret = created["key"].split("_", 2)[2]
    listed = await client.get(URL, headers=as_key(created))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1 and page["items"][0]["prefix"] == created["prefix"]
    item = page["items"][0]
    assert {"prefix", "name", "role", "scopes", "last_used_at", "created_at", "expires_at", "revoked_at"} <= set(item)
    assert "key" not in item and "key_hash" not in item and secret not in listed.text
    schema = (await client.get("/schema/openapi.json")).json()
    assert {"get", "post"} <= set(schema["paths"][URL]) and "delete" in schema["paths"][URL + "/{key_id}"]


async def test_both_headers_authenticate(client: AppClient) -> None:
    created = await new_key(client, role="admin")
    assert (await client.get(URL, headers={"X-API-Key": created["key"]})).status_code == 200
    assert (await client.get(URL, headers=as_key(created))).status_code == 200


async def test_bad_credentials_are_401_problems_with_a_challenge(client: AppClient) -> None:
    created = await new_key(client, role="admin")
    key = created["key"]
    wrong = key[:-3] + ("abc" if not key.endswith("abc") else "xyz")
    cases = {  # an unknown prefix and a wrong secret read the same: a prefix's existence is not guessable
        "malformed": {"X-API-Key": "not-a-key"},
        "invalid API key": {"X-API-Key": "atk_" + "q" * 12 + "_" + "z" * 43},
        "invalid API key ": {"Authorization": f"Bearer {wrong}"},
    }
    for words, headers in cases.items():
        assert words.strip() in problem(await client.get(URL, headers=headers), 401)["detail"]
    problem(await client.get(URL), 401)  # no credentials at all
    problem(await client.get(URL, headers={"Authorization": "Bearer not.a.jwt"}), 401)  # no JWT method here
    expiring = await new_key(client, role="admin", expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    async with kernel_of(client).store.sessionmaker.begin() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == expiring["id"]))
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert "expired" in problem(await client.get(URL, headers=as_key(expiring)), 401)["detail"]


async def test_revoke_is_immediate_and_audited(client: AppClient) -> None:
    manager = await new_key(client, role="admin", name="manager")
    victim = await new_key(client, role="member", name="victim")
    assert (await client.get("/api/workspaces/default/extensions", headers=as_key(victim))).status_code == 200
    response = await client.delete(f"{URL}/{victim['id']}", headers=as_key(manager))
    assert response.status_code == 204, response.text
    assert "revoked" in problem(await client.get(URL, headers=as_key(victim)), 401)["detail"]
    listed = (await client.get(URL, headers=as_key(manager))).json()["items"]
    assert [i["name"] for i in listed] == ["manager"]
    every = (await client.get(URL, params={"include_revoked": "true"}, headers=as_key(manager))).json()["items"]
    assert {i["name"]: i["revoked_at"] is not None for i in every} == {"manager": False, "victim": True}
    problem(await client.delete(f"{URL}/{'0' * 32}", headers=as_key(manager)), 404)
    async with kernel_of(client).store.sessionmaker() as session:
        audit = (
            await session.execute(
                select(m.AuditLogEntry.action, m.AuditLogEntry.actor_id, m.AuditLogEntry.target_id).where(
                    m.AuditLogEntry.target_type == "api_key"
                )
            )
        ).all()
    assert ("key.revoked", f"key:{manager['id']}", victim["id"]) in audit
    assert ("key.created", "root", victim["id"]) in audit


async def test_scopes_narrow_what_a_key_may_do(client: AppClient) -> None:
    reader = await new_key(client, role="owner", scopes=["keys.read"])
    assert (await client.get(URL, headers=as_key(reader))).status_code == 200
    body = problem(await client.post(URL, json={"name": "x"}, headers=as_key(reader)), 403)
    assert "keys.manage" in body["detail"]
    body = problem(await client.get("/api/workspaces/default/extensions", headers=as_key(reader)), 403)
    assert "extensions.read" in body["detail"]


async def test_nobody_hands_out_more_than_they_hold(client: AppClient) -> None:
    admin = await new_key(client, role="admin")
    body = problem(await client.post(URL, json={"name": "x", "role": "owner"}, headers=as_key(admin)), 403)
    assert body["field"] == "role" and "owner" in body["detail"]
    assert (await client.post(URL, json={"name": "x", "role": "admin"}, headers=as_key(admin))).status_code == 201
    member = await new_key(client, role="member")
    body = problem(await client.post(URL, json={"name": "x", "role": "viewer"}, headers=as_key(member)), 403)
    assert "keys.manage" in body["detail"]
    scoped = await new_key(client, role="admin", scopes=["keys.manage", "keys.read"])
    body = problem(await client.post(URL, json={"name": "x"}, headers=as_key(scoped)), 403)  # unscoped = all
    assert body["field"] == "scopes"
    body = problem(await client.post(URL, json={"name": "x", "scopes": ["agents.use"]}, headers=as_key(scoped)), 403)
    assert "agents.use" in body["detail"]
    narrower = await client.post(URL, json={"name": "x", "scopes": ["keys.read"]}, headers=as_key(scoped))
    assert narrower.status_code == 201 and narrower.json()["scopes"] == ["keys.read"]


async def test_a_key_of_one_workspace_sees_nothing_of_another(client: AppClient) -> None:
    kernel = kernel_of(client)
    other = await new_workspace(kernel, "other", "Other")
    mine = await new_key(client, role="owner", name="mine")
    theirs = await new_key(client, workspace=other.id, role="owner", name="theirs")
    for method, path, body in [
        ("GET", URL, None),
        ("POST", URL, {"name": "x"}),
        ("DELETE", f"{URL}/{theirs['id']}", None),
    ]:
        for ref in (other.id, other.slug):
            response = await client.request(method, path, json=body, headers={**as_key(mine), "X-Workspace-ID": ref})
            problem(response, 403)
            assert theirs["prefix"] not in response.text and theirs["id"] not in response.text
    # without the header the key acts in its own workspace, where B's key does not exist
    response = await client.delete(f"{URL}/{theirs['id']}", headers=as_key(mine))
    problem(response, 404)
    response = await client.delete(f"{URL}/{theirs['prefix']}", headers=as_key(mine))
    problem(response, 404)
    listed = (await client.get(URL, headers=as_key(mine))).json()
    assert [i["name"] for i in listed["items"]] == ["mine"] and theirs["prefix"] not in str(listed)
    assert (await client.get(URL, headers=as_key(theirs))).status_code == 200  # untouched
    # a member of A (a user, not a key) is refused in B as well
    problem(await client.get(URL, headers={"X-Test-User": "stranger", "X-Workspace-ID": other.id}), 403)


async def test_bad_input_is_422_naming_the_field(client: AppClient) -> None:
    headers = {**ADMIN, "X-Workspace-ID": "default"}
    for body, field in [
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "x", "scopes": ["everything"]}, "scopes"),
        ({"name": "x", "rate_limit": "lots"}, "rate_limit"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": ""}, "name"),
        ({"role": "admin"}, "name"),
    ]:
        response = await client.post(URL, json=body, headers=headers)
        assert problem(response, 422)["field"] == field, (body, response.text)
    body = problem(await client.post(URL, json={"name": "x", "colour": "red"}, headers=headers), 422)
    assert "colour" in body["detail"]
    problem(await client.get(URL, params={"limit": 0}, headers=headers), 422)
    # a user with no default workspace must name one
    body = problem(await client.get(URL, headers={"X-Test-User": "someone"}), 422)
    assert body["field"] == "X-Workspace-ID"


async def test_keys_made_by_a_user_act_for_that_user(client: AppClient) -> None:
    kernel = kernel_of(client)
    ws = await kernel.store.get_workspace("default")
    assert ws is not None
    async with kernel.store.sessionmaker.begin() as session:
        user = m.User(email="ann@example.com")
        session.add(user)
        await session.flush()
        session.add(m.WorkspaceMember(workspace_id=ws.id, user_id=user.id, role="admin"))
        user_id = user.id
    created = await new_key(client, headers={"X-Test-User": user_id}, role="member")
    listed = (await client.get(URL, headers={"X-Test-User": user_id, "X-Workspace-ID": "default"})).json()["items"]
    assert listed[0]["user_id"] == user_id and listed[0]["created_by"] == user_id
    child = await client.post(URL, json={"name": "child", "role": "viewer"}, headers=as_key(created))
    problem(child, 403)  # a member key may not manage keys at all
    assert (await client.get("/api/workspaces/default/extensions", headers=as_key(created))).status_code == 200
    admin_key = await new_key(client, headers={"X-Test-User": user_id}, role="admin")
    child = await client.post(URL, json={"name": "child", "role": "viewer"}, headers=as_key(admin_key))
    assert child.status_code == 201
    rows = (await client.get(URL, headers=as_key(admin_key))).json()["items"]
    assert {r["name"]: r["user_id"] for r in rows}["child"] == user_id  # inherited from the creating key


async def test_last_used_at_shows_up_in_the_list(client: AppClient) -> None:
    created = await new_key(client, role="admin")
    assert (await client.get(URL, headers=as_key(created))).status_code == 200
    kernel = kernel_of(client)
    for _ in range(100):
        if not kernel._tasks:
            break
        await asyncio.sleep(0.01)
    items = (await client.get(URL, headers=as_key(created))).json()["items"]
    assert items[0]["last_used_at"] is not None


async def test_a_platform_admin_acting_by_override_makes_a_key_of_the_workspace(client: AppClient) -> None:
    kernel = kernel_of(client)
    async with kernel.store.sessionmaker.begin() as session:
        admin = m.User(email="ops@example.com", is_platform_admin=True)
        session.add(admin)
        await session.flush()
        admin_id = admin.id
    headers = {"X-Test-User": f"{admin_id};admin", "X-Admin-Override": "true"}
    created = await new_key(client, headers=headers, role="owner")
    listed = (await client.get(URL, headers=as_key(created))).json()["items"]
    assert (
        listed[0]["user_id"] is None and listed[0]["created_by"] == admin_id
    )  # not a member: the key is the workspace's
    problem(await client.get(URL, headers={"X-Test-User": f"{admin_id};admin", "X-Workspace-ID": "default"}), 403)
