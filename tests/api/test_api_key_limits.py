"""Who may see and revoke which key, and what a new key may be given.

- A workspace admin neither lists nor revokes keys of principals ranked above them (owners, the
  platform admin); owners and platform admins see and revoke every key of their workspace.
- ``expires_at`` is validated for range (an instant past year 9999 in UTC used to be a 500
  ``OverflowError``) and capped by ``api_keys.max_lifetime_days``.
- ``rate_limit`` is capped by ``api_keys.max_requests_per_minute`` and the number of active keys of a
  workspace by ``api_keys.max_per_workspace``, also under concurrent creation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automatos.agents import models as am
from automatos.extensions.auth.api_keys import create_key
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.api.test_api_keys_api import URL, app_with_keys, as_key, problem
from tests.helpers import AppClient, container_of, database_settings, make_container, serve_app
from tests.workspaces.helpers import new_workspace


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def client(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[AppClient]:
    async with AsyncExitStack() as stack:
        settings = await stack.enter_async_context(database_settings(request))
        yield await stack.enter_async_context(serve_app(app_with_keys(make_container(tmp_path, **settings))))


def kernel_of(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


async def _member(kernel: Kernel, workspace_id: str, name: str, role: str, *, platform_admin: bool = False) -> str:
    async with kernel.store.sessionmaker.begin() as session:
        user = m.User(email=f"{name}@example.com", display_name=name, is_platform_admin=platform_admin)
        session.add(user)
        await session.flush()
        session.add(m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role=role))
        return user.id


async def _platform_setting(client: AppClient, key: str, value: Any) -> None:
    kernel = kernel_of(client)
    async with kernel.store.sessionmaker.begin() as session:
        row = await session.get(am.PlatformSetting, key)
        if row is None:
            session.add(am.PlatformSetting(key=key, value=value, description="test"))
        else:
            row.value = value
    container_of(client).settings_registry().forget()


async def _default_id(kernel: Kernel) -> str:
    workspace = await kernel.store.get_workspace("default")
    assert workspace is not None
    return workspace.id


async def test_an_admin_neither_lists_nor_revokes_keys_of_principals_above_them(client: AppClient) -> None:
    kernel = kernel_of(client)
    ws = await _default_id(kernel)
    root = await _member(kernel, ws, "root", "owner", platform_admin=True)
    owner = await _member(kernel, ws, "olga", "owner")
    admin = await _member(kernel, ws, "adam", "admin")
    member = await _member(kernel, ws, "mia", "member")
    keys: dict[str, str] = {}
    for name, user, role in [
        ("root-owner", root, "owner"),  # what `automatos admin create` makes
        ("root-member", root, "member"),  # a narrow key, but still the platform admin's
        ("olga-owner", owner, "owner"),
        ("olga-member", owner, "member"),  # acts for an owner: ranks as owner
        ("adam-admin", admin, "admin"),
        ("mia-member", member, "member"),
        ("bot-admin", None, "admin"),  # a key of the workspace itself ranks as its role
        ("bot-owner", None, "owner"),
    ]:
        record, _ = await create_key(kernel, ws, name, role, user_id=user, created_by=user)
        keys[name] = record.id
    below_owner = {"adam-admin", "mia-member", "bot-admin"}

    as_admin = {"X-Test-User": admin, "X-Workspace-ID": "default"}
    page = (await client.get(URL, headers=as_admin)).json()
    assert {item["name"] for item in page["items"]} == below_owner
    assert page["total"] == len(below_owner)
    for name in set(keys) - below_owner:
        body = problem(await client.delete(f"{URL}/{keys[name]}", headers=as_admin), 403)
        assert body["field"] == "key_id" and "above your role" in body["detail"]
    # an admin API key is held to the same line
    admin_key = await client.post(URL, json={"name": "ops", "role": "admin"}, headers=as_admin)
    assert admin_key.status_code == 201, admin_key.text
    listed = (await client.get(URL, headers=as_key(admin_key.json()))).json()["items"]
    assert {item["name"] for item in listed} == below_owner | {"ops"}
    problem(await client.delete(f"{URL}/{keys['root-owner']}", headers=as_key(admin_key.json())), 403)
    # what is below the admin stays theirs to revoke
    assert (await client.delete(f"{URL}/{keys['mia-member']}", headers=as_admin)).status_code == 204

    # owners and the platform admin see and revoke everything in their workspace
    as_owner = {"X-Test-User": owner, "X-Workspace-ID": "default"}
    seen = {item["name"] for item in (await client.get(URL, headers=as_owner)).json()["items"]}
    assert seen == (set(keys) - {"mia-member"}) | {"ops"}
    assert (await client.delete(f"{URL}/{keys['root-member']}", headers=as_owner)).status_code == 204
    as_root = {"X-Test-User": f"{root};admin", "X-Workspace-ID": "default"}
    assert (await client.delete(f"{URL}/{keys['olga-owner']}", headers=as_root)).status_code == 204


async def test_expires_at_is_range_checked_and_capped(client: AppClient) -> None:
    headers = {"X-Test-User": "root;admin", "X-Admin-Override": "true", "X-Workspace-ID": "default"}
    for far in ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59Z"):
        body = problem(await client.post(URL, json={"name": "x", "expires_at": far}, headers=headers), 422)
        assert body["field"] == "expires_at", body
    within = (datetime.now(UTC) + timedelta(days=3000)).isoformat()
    assert (await client.post(URL, json={"name": "x", "expires_at": within}, headers=headers)).status_code == 201
    await _platform_setting(client, "api_keys.max_lifetime_days", 30)
    body = problem(await client.post(URL, json={"name": "x", "expires_at": within}, headers=headers), 422)
    assert body["field"] == "expires_at" and "api_keys.max_lifetime_days" in body["detail"]
    soon = (datetime.now(UTC) + timedelta(days=29)).isoformat()
    assert (await client.post(URL, json={"name": "x", "expires_at": soon}, headers=headers)).status_code == 201


async def test_rate_limit_is_capped(client: AppClient) -> None:
    headers = {"X-Test-User": "root;admin", "X-Admin-Override": "true", "X-Workspace-ID": "default"}
    for fast in ("999999999/second", "10/second;9999999/minute"):
        body = problem(await client.post(URL, json={"name": "x", "rate_limit": fast}, headers=headers), 422)
        assert body["field"] == "rate_limit" and "api_keys.max_requests_per_minute" in body["detail"], body
    assert (await client.post(URL, json={"name": "x", "rate_limit": "50/second"}, headers=headers)).status_code == 201
    await _platform_setting(client, "api_keys.max_requests_per_minute", 100)
    body = problem(await client.post(URL, json={"name": "x", "rate_limit": "2/second"}, headers=headers), 422)
    assert body["field"] == "rate_limit" and "100/minute" in body["detail"]
    assert (await client.post(URL, json={"name": "x", "rate_limit": "1/second"}, headers=headers)).status_code == 201


async def test_a_workspace_holds_at_most_so_many_active_keys(client: AppClient) -> None:
    kernel = kernel_of(client)
    headers = {"X-Test-User": "root;admin", "X-Admin-Override": "true", "X-Workspace-ID": "default"}
    # a seeded, typed platform setting: platform admins change it through the API
    setting = "/api/platform-settings/api_keys.max_per_workspace"
    changed = await client.put(setting, json={"value": 3}, headers={"X-Test-User": "root;admin"})
    assert changed.status_code == 200, changed.text
    refused = await client.put(setting, json={"value": 0}, headers={"X-Test-User": "root;admin"})
    assert refused.status_code == 422, refused.text
    responses = await asyncio.gather(*(client.post(URL, json={"name": f"k{i}"}, headers=headers) for i in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 5, [r.text for r in responses]
    body = problem(next(r for r in responses if r.status_code == 409), 409)
    assert "api_keys.max_per_workspace" in body["detail"]
    first = next(r for r in responses if r.status_code == 201).json()
    assert (await client.delete(f"{URL}/{first['id']}", headers=headers)).status_code == 204
    assert (await client.post(URL, json={"name": "again"}, headers=headers)).status_code == 201  # revoked: room again
    problem(await client.post(URL, json={"name": "full"}, headers=headers), 409)
    # other workspaces are counted apart
    other = await new_workspace(kernel, "other", "Other")
    other_headers = {**headers, "X-Workspace-ID": other.id}
    assert (await client.post(URL, json={"name": "x"}, headers=other_headers)).status_code == 201
    assert (await client.get(URL, headers=as_key(first))).status_code == 401  # the revoked one stays revoked


async def test_the_platform_admins_key_reaches_as_the_docs_say(client: AppClient) -> None:
    """docs/operations.md said the key of `automatos admin create` acts only in `default`; it does not."""
    kernel = kernel_of(client)
    ws = await _default_id(kernel)
    root = await _member(kernel, ws, "root", "owner", platform_admin=True)
    _, admin_key = await create_key(kernel, ws, "admin", "owner", user_id=root, created_by="cli")
    _, narrow_key = await create_key(kernel, ws, "bot", "owner", ["workspace.read"], user_id=root, created_by="cli")
    other = await new_workspace(kernel, "elsewhere", "Elsewhere")
    key = {"Authorization": f"Bearer {admin_key}"}
    every = await client.get("/api/workspaces", params={"all": "true"}, headers=key)
    assert every.status_code == 200 and {w["slug"] for w in every.json()["items"]} >= {"default", "elsewhere"}
    created = await client.post("/api/workspaces", json={"slug": "made-by-key", "name": "x"}, headers=key)
    assert created.status_code == 201, created.text
    problem(await client.get(f"/api/workspaces/{other.id}", headers=key), 403)
    overridden = await client.get(f"/api/workspaces/{other.id}", headers={**key, "X-Admin-Override": "true"})
    assert overridden.status_code == 200, overridden.text
    narrow = {"Authorization": f"Bearer {narrow_key}"}
    problem(await client.post("/api/workspaces", json={"slug": "nope", "name": "x"}, headers=narrow), 403)
    problem(await client.get(f"/api/workspaces/{other.id}", headers={**narrow, "X-Admin-Override": "true"}), 403)


async def test_a_key_that_cannot_be_stored_is_a_409_and_its_hash_is_never_logged(
    client: AppClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Three prefix collisions in a row used to re-raise the driver's IntegrityError: a 500 whose
    logged statement carried the INSERT's parameters, key_hash among them."""
    from automatos.extensions.auth import api_keys
    from automatos.extensions.auth.api_keys import service

    kernel = kernel_of(client)
    headers = {"X-Test-User": "root;admin", "X-Admin-Override": "true", "X-Workspace-ID": "default"}
    first = await client.post(URL, json={"name": "first"}, headers=headers)
    assert first.status_code == 201, first.text
    taken = first.json()["prefix"]
    attempts: list[str] = []

    def colliding() -> tuple[str, str]:
        key = f"atk_{taken}_{'x' * 43}"
        attempts.append(api_keys.hash_key(api_keys.load_pepper(kernel.settings), key))
        return taken, key

    monkeypatch.setattr(service, "_new_key", colliding)
    caplog.set_level("INFO")  # the application's logs and the libraries' warnings and errors
    caplog.set_level("DEBUG", logger="automatos")
    body = problem(await client.post(URL, json={"name": "second"}, headers=headers), 409)
    assert "try again" in body["detail"]
    assert len(attempts) == 3
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert not any(digest in logged for digest in attempts)
    assert "x" * 43 not in logged
