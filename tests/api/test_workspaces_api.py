"""Workspaces, members, roles, admin override and the audit log through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.llm.settings import LLMSettings
from tests.helpers import AppClient, make_container, serve_app


def as_user(user_id: str, **extra: str) -> dict[str, str]:
    return {"X-Test-User": user_id, **extra}


async def add_user(kernel: Kernel, user_id: str, *, admin: bool = False) -> None:
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(id=user_id, email=f"{user_id}@example.com", display_name=user_id, is_platform_admin=admin))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        for user in ("alice", "bob", "carol"):
            await add_user(kernel, user)
        yield test_client


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def _workspace(client: AppClient, owner: str, slug: str) -> dict[str, Any]:
    response = await client.post("/api/workspaces", json={"slug": slug, "name": slug.title()}, headers=as_user(owner))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_list_get_update_archive(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "acme")
    assert ws["role"] == "owner" and ws["slug"] == "acme"
    mine = (await client.get("/api/workspaces", headers=as_user("alice"))).json()
    assert [w["slug"] for w in mine["items"]] == ["acme"] and mine["total"] == 1
    assert (await client.get("/api/workspaces", headers=as_user("bob"))).json()["items"] == []
    got = (await client.get(f"/api/workspaces/{ws['id']}", headers=as_user("alice"))).json()
    assert got["name"] == "Acme"
    renamed = await client.patch(f"/api/workspaces/{ws['id']}", json={"name": "ACME Inc"}, headers=as_user("alice"))
    assert renamed.status_code == 200 and renamed.json()["name"] == "ACME Inc"
    assert (await client.delete(f"/api/workspaces/{ws['id']}", headers=as_user("alice"))).status_code == 204
    gone = await client.get(f"/api/workspaces/{ws['id']}", headers=as_user("alice"))  # its owner still reads it
    assert gone.status_code == 200 and gone.json()["status"] == "archived"
    _problem(await client.get(f"/api/workspaces/{ws['id']}", headers=as_user("bob")), 404)  # to others: unknown
    _problem(await client.get("/api/settings", headers=as_user("alice", **{"X-Workspace-ID": "acme"})), 404)


async def test_bad_workspace_input(client: AppClient) -> None:
    body = _problem(
        await client.post("/api/workspaces", json={"slug": "Bad Slug!", "name": "x"}, headers=as_user("alice")), 422
    )
    assert body["field"] == "slug"
    await _workspace(client, "alice", "dup")
    body = _problem(
        await client.post("/api/workspaces", json={"slug": "dup", "name": "x"}, headers=as_user("bob")), 409
    )
    assert body["field"] == "slug"
    body = _problem(await client.post("/api/workspaces", json={"slug": "x"}, headers=as_user("alice")), 422)
    assert body["field"] == "name"
    _problem(await client.post("/api/workspaces", json={"slug": "anon", "name": "x"}), 401)


async def test_roles_gate_every_member_operation(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "team")
    base = f"/api/workspaces/{ws['id']}/members"
    added = await client.post(base, json={"email": "bob@example.com", "role": "viewer"}, headers=as_user("alice"))
    assert added.status_code == 201 and added.json()["user_id"] == "bob"
    # a viewer reads but does not manage
    assert (await client.get(base, headers=as_user("bob"))).json()["total"] == 2
    body = _problem(await client.post(base, json={"email": "carol@example.com"}, headers=as_user("bob")), 403)
    assert "members.manage" in body["detail"]
    # an admin manages members but cannot make owners
    assert (await client.patch(f"{base}/bob", json={"role": "admin"}, headers=as_user("alice"))).status_code == 200
    assert (await client.post(base, json={"email": "carol@example.com"}, headers=as_user("bob"))).status_code == 201
    body = _problem(await client.patch(f"{base}/carol", json={"role": "owner"}, headers=as_user("bob")), 403)
    assert "owners.manage" in body["detail"]
    _problem(await client.delete(f"{base}/alice", headers=as_user("bob")), 403)
    # the last owner stays
    body = _problem(await client.patch(f"{base}/alice", json={"role": "member"}, headers=as_user("alice")), 409)
    assert "at least one owner" in body["detail"]
    _problem(await client.delete(f"{base}/alice", headers=as_user("alice")), 409)
    # invitations create the user; duplicates conflict; bad input names the field
    invited = await client.post(base, json={"email": "New.Person@Example.com"}, headers=as_user("alice"))
    assert invited.json()["email"] == "new.person@example.com" and invited.json()["role"] == "member"
    _problem(await client.post(base, json={"email": "new.person@example.com"}, headers=as_user("alice")), 409)
    assert _problem(await client.post(base, json={"email": "nope"}, headers=as_user("alice")), 422)["field"] == "email"
    assert (
        _problem(await client.post(base, json={"email": "x@y.z", "role": "god"}, headers=as_user("alice")), 422)[
            "field"
        ]
        == "role"
    )
    assert (await client.delete(f"{base}/carol", headers=as_user("bob"))).status_code == 204
    # role changes take effect at once (the directory cache is invalidated)
    assert (await client.patch(f"{base}/bob", json={"role": "viewer"}, headers=as_user("alice"))).status_code == 200
    _problem(await client.post(base, json={"email": "z@example.com"}, headers=as_user("bob")), 403)


async def test_non_members_get_403_and_unknown_workspaces_404(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "private")
    for path in (
        f"/api/workspaces/{ws['id']}",
        f"/api/workspaces/{ws['id']}/members",
        f"/api/workspaces/{ws['id']}/audit",
    ):
        body = _problem(await client.get(path, headers=as_user("bob")), 403)
        assert "not a member" in body["detail"]
        assert "private" not in str(body.get("items", ""))
        _problem(await client.get(path.replace(ws["id"], "no-such-ws"), headers=as_user("bob")), 404)
    _problem(await client.get("/api/settings", headers=as_user("bob", **{"X-Workspace-ID": "private"})), 403)
    _problem(await client.get(f"/api/workspaces/{ws['id']}"), 401)


async def test_platform_admin_override_is_explicit_and_audited(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "guarded")
    admin = as_user("root;admin")
    body = _problem(await client.get(f"/api/workspaces/{ws['id']}/members", headers=admin), 403)
    assert "X-Admin-Override" in body["detail"]
    override = {**admin, "X-Admin-Override": "true", "X-Request-ID": "override-1"}
    listed = await client.get(f"/api/workspaces/{ws['id']}/members", headers=override)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    audit = (await client.get(f"/api/workspaces/{ws['id']}/audit", headers=as_user("alice"))).json()["items"]
    overrides = [e for e in audit if e["action"] == "admin.override"]
    assert overrides and overrides[0]["actor_id"] == "root" and overrides[0]["request_id"] == "override-1"
    everyone = (await client.get("/api/workspaces", params={"all": "true"}, headers=admin)).json()
    assert "guarded" in [w["slug"] for w in everyone["items"]]
    _problem(await client.get("/api/workspaces", params={"all": "true"}, headers=as_user("alice")), 403)


async def test_audit_log_records_and_filters(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "audited")
    base = f"/api/workspaces/{ws['id']}"
    await client.post(f"{base}/members", json={"email": "bob@example.com", "role": "member"}, headers=as_user("alice"))
    await client.patch(f"{base}/members/bob", json={"role": "admin"}, headers=as_user("alice"))
    await client.delete(f"{base}/members/bob", headers=as_user("alice"))
    entries = (await client.get(f"{base}/audit", headers=as_user("alice"))).json()
    actions = [e["action"] for e in entries["items"]]
    assert actions[:3] == ["member.removed", "member.role_changed", "member.added"]
    assert "workspace.created" in actions
    members_only = (await client.get(f"{base}/audit", params={"action": "member.*"}, headers=as_user("alice"))).json()
    assert members_only["total"] == 3
    changed = next(e for e in entries["items"] if e["action"] == "member.role_changed")
    assert changed["data"] == {"from": "member", "to": "admin"} and changed["actor_id"] == "alice"
    page = (await client.get(f"{base}/audit", params={"limit": 1, "offset": 1}, headers=as_user("alice"))).json()
    assert [e["action"] for e in page["items"]] == ["member.role_changed"]


async def test_a_platform_admin_key_creates_workspaces_and_overrides(client: AppClient) -> None:
    from automatos.extensions.auth.api_keys import create_key

    kernel: Kernel = client.app.state["kernel"]
    await add_user(kernel, "ops", admin=True)
    default = await kernel.store.get_workspace("default")
    assert default is not None
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.WorkspaceMember(workspace_id=default.id, user_id="ops", role="owner"))
    _, key = await create_key(kernel, default.id, "ops", "owner", user_id="ops")
    bearer = {"Authorization": f"Bearer {key}"}
    created = await client.post("/api/workspaces", json={"slug": "ops-made", "name": "Ops"}, headers=bearer)
    assert created.status_code == 201, created.text
    other = await _workspace(client, "alice", "elsewhere")
    _problem(await client.get(f"/api/workspaces/{other['id']}/members", headers=bearer), 403)
    listed = await client.get(f"/api/workspaces/{other['id']}/members", headers={**bearer, "X-Admin-Override": "true"})
    assert listed.status_code == 200
    # an ordinary key stays inside its workspace
    _, plain = await create_key(kernel, default.id, "bot", "owner")
    refused = await client.post("/api/workspaces", json={"slug": "bot-made", "name": "x"}, headers={"X-API-Key": plain})
    assert _problem(refused, 403)["detail"] == "a credential bound to one workspace cannot create workspaces"


async def test_patch_answers_the_callers_role(client: AppClient) -> None:
    ws = (await client.post("/api/workspaces", json={"slug": "roles", "name": "R"}, headers=as_user("alice"))).json()
    await client.post(
        f"/api/workspaces/{ws['id']}/members",
        json={"email": "bob@example.com", "role": "admin"},
        headers=as_user("alice"),
    )
    mine = await client.patch(f"/api/workspaces/{ws['id']}", json={"name": "Roles"}, headers=as_user("alice"))
    assert mine.status_code == 200 and mine.json()["role"] == "owner"  # was null
    theirs = await client.patch(f"/api/workspaces/{ws['id']}", json={"name": "Roles 2"}, headers=as_user("bob"))
    assert theirs.status_code == 200 and theirs.json()["role"] == "admin"


async def test_setting_values_are_bounded(client: AppClient) -> None:
    ws = (await client.post("/api/workspaces", json={"slug": "big", "name": "B"}, headers=as_user("alice"))).json()
    huge = {"blob": "x" * (5 * 1024 * 1024)}
    body = _problem(
        await client.patch(f"/api/workspaces/{ws['id']}", json={"settings": huge}, headers=as_user("alice")), 422
    )
    assert body["field"] == "settings" and "SETTINGS_VALUE_MAX_BYTES" in body["detail"]
    fits = {"blob": "x" * 60_000}
    ok = await client.patch(f"/api/workspaces/{ws['id']}", json={"settings": fits}, headers=as_user("alice"))
    assert ok.status_code == 200 and ok.json()["settings"] == fits
    kernel: Kernel = client.app.state["kernel"]
    await add_user(kernel, "root", admin=True)
    root = as_user("root;admin")
    body = _problem(await client.put("/api/settings/LLM_MODEL", json={"value": "m" * 70_000}, headers=root), 422)
    assert body["field"] == "value"
    body = _problem(
        await client.put("/api/platform-settings/usage.currency", json={"value": "x" * 70_000}, headers=root), 422
    )
    assert body["field"] == "value" and "SETTINGS_VALUE_MAX_BYTES" in body["detail"]
    assert kernel.current_settings.group(LLMSettings).llm_model != "m" * 70_000


async def test_an_archived_workspace_keeps_its_slug_says_so_and_is_restored(client: AppClient) -> None:
    ws = await _workspace(client, "alice", "kept")
    base = f"/api/workspaces/{ws['id']}"
    added = await client.post(
        f"{base}/members", json={"email": "bob@example.com", "role": "admin"}, headers=as_user("alice")
    )
    assert added.status_code == 201
    assert (await client.delete(base, headers=as_user("alice"))).status_code == 204
    # not a place to act in any more
    _problem(await client.get(f"{base}/members", headers=as_user("alice")), 404)
    # but listed when asked for, with its status and the caller's role
    assert (await client.get("/api/workspaces", headers=as_user("alice"))).json()["total"] == 0
    listed = (await client.get("/api/workspaces?include_archived=true", headers=as_user("alice"))).json()
    assert [(w["slug"], w["status"], w["role"]) for w in listed["items"]] == [("kept", "archived", "owner")]
    # its slug is not free, and the answer says why (before: "already exists", for a workspace nobody sees)
    taken = _problem(
        await client.post("/api/workspaces", json={"slug": "kept", "name": "K"}, headers=as_user("carol")), 409
    )
    assert taken["field"] == "slug" and "archived" in taken["detail"] and "restore" in taken["detail"]
    # restore: owners (or platform admins) only
    denied = _problem(await client.post(f"{base}/restore", headers=as_user("bob")), 403)
    assert "owners" in denied["detail"]
    _problem(await client.post(f"{base}/restore", headers=as_user("carol")), 404)  # not hers to know of
    restored = await client.post(f"{base}/restore", headers=as_user("alice"))
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "active" and restored.json()["role"] == "owner"
    members = await client.get(f"{base}/members", headers=as_user("alice"))
    assert members.status_code == 200 and members.json()["total"] == 2  # membership survived
    again = _problem(await client.post(f"{base}/restore", headers=as_user("alice")), 409)
    assert again["field"] == "workspace_id"
    audit = (await client.get(f"{base}/audit?action=workspace.*", headers=as_user("alice"))).json()
    assert [e["action"] for e in audit["items"]][:2] == ["workspace.restored", "workspace.archived"]


async def test_a_platform_admin_restores_any_archived_workspace(client: AppClient) -> None:
    kernel: Kernel = client.app.state["kernel"]
    await add_user(kernel, "root", admin=True)
    ws = await _workspace(client, "alice", "lost")
    assert (await client.delete(f"/api/workspaces/{ws['id']}", headers=as_user("alice"))).status_code == 204
    every = (await client.get("/api/workspaces?all=true&include_archived=true", headers=as_user("root;admin"))).json()
    assert ("lost", "archived") in [(w["slug"], w["status"]) for w in every["items"]]
    restored = await client.post(f"/api/workspaces/{ws['id']}/restore", headers=as_user("root;admin"))
    assert restored.status_code == 200 and restored.json()["status"] == "active"
