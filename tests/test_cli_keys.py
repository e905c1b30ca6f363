"""``automatos keys …`` and ``automatos admin create``, run as the installed command, then used over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.workspaces.service import WorkspaceService
from tests.api.test_api_keys_api import app_with_keys
from tests.helpers import AppClient, make_container, serve_app

AUTOMATOS = str(Path(sys.executable).parent / "automatos")


def _run_sync(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_"))}
    return subprocess.run([AUTOMATOS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


async def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(_run_sync, list(args), cwd)


def one_json_object(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result.stdout
    data: dict[str, Any] = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def server(tmp_path: Path) -> AbstractAsyncContextManager[AppClient]:
    """The app on the CLI's data directory (what ``automatos serve`` in ``tmp_path`` would use)."""
    return serve_app(app_with_keys(make_container(tmp_path / "automatos-data")))


async def test_keys_create_json_is_one_object_and_the_key_works(tmp_path: Path) -> None:
    created = await run(
        "keys", "create", "--init", "--workspace", "default", "--name", "ci", "--role", "admin", "--json", cwd=tmp_path
    )
    data = one_json_object(created)
    assert set(data) == {"key", "workspace_id", "id", "prefix", "name", "role"}
    assert (data["name"], data["role"]) == ("ci", "admin") and data["key"].startswith(f"atk_{data['prefix']}_")
    assert data["key"] not in created.stderr
    async with server(tmp_path) as client:
        kernel: Kernel = client.app.state["kernel"]
        ws = await kernel.store.get_workspace("default")
        assert ws is not None and ws.id == data["workspace_id"]
        for headers in ({"Authorization": f"Bearer {data['key']}"}, {"X-API-Key": data["key"]}):
            response = await client.get("/api/api-keys", headers=headers)
            assert response.status_code == 200, response.text
            assert [i["prefix"] for i in response.json()["items"]] == [data["prefix"]]


async def test_list_and_revoke(tmp_path: Path) -> None:
    human = await run("keys", "create", "--init", "--workspace", "default", "--name", "deploy bot", cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    key = next(line for line in human.stdout.splitlines() if line.startswith("atk_"))
    assert "deploy bot" in human.stdout and "role member" in human.stdout and "only this once" in human.stderr
    prefix = key.split("_")[1]
    listed = await run("keys", "list", "--workspace", "default", cwd=tmp_path)
    assert listed.returncode == 0 and prefix in listed.stdout and "deploy bot" in listed.stdout
    assert key not in listed.stdout
    async with server(tmp_path) as client:
        ok = await client.get("/api/workspaces/default/extensions", headers={"X-API-Key": key})
        assert ok.status_code == 200, ok.text
    revoked = await run("keys", "revoke", "--workspace", "default", prefix, cwd=tmp_path)
    assert revoked.returncode == 0 and f"revoked {prefix}" in revoked.stdout, revoked.stderr
    as_json = await run("keys", "list", "--workspace", "default", "--include-revoked", "--json", cwd=tmp_path)
    rows = json.loads(as_json.stdout)
    assert [r["prefix"] for r in rows] == [prefix] and rows[0]["revoked_at"]
    assert all("hash" not in k for k in rows[0])
    async with server(tmp_path) as client:
        refused = await client.get("/api/workspaces/default/extensions", headers={"X-API-Key": key})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        assert refused.headers["www-authenticate"].startswith("Bearer")
    missing = await run("keys", "create", "--workspace", "nowhere", "--name", "x", "--json", cwd=tmp_path)
    assert missing.returncode == 1 and "'nowhere' does not exist" in missing.stderr and missing.stdout == ""
    bad_role = await run("keys", "create", "--workspace", "default", "--name", "x", "--role", "god", cwd=tmp_path)
    assert bad_role.returncode == 2 and "--role" in bad_role.stderr


async def test_admin_create_makes_a_platform_admin_with_a_key(tmp_path: Path) -> None:
    data = one_json_object(
        await run("admin", "create", "--init", "--email", "Root@Example.com", "--json", cwd=tmp_path)
    )
    assert data["email"] == "root@example.com" and data["role"] == "owner" and data["key"].startswith("atk_")
    again = one_json_object(await run("admin", "create", "--email", "root@example.com", "--json", cwd=tmp_path))
    assert again["user_id"] == data["user_id"] and again["key"] != data["key"]  # promoted once, a new key
    async with server(tmp_path) as client:
        kernel: Kernel = client.app.state["kernel"]
        headers = {"Authorization": f"Bearer {data['key']}"}
        settings = await client.get("/api/settings", headers=headers)  # platform admins only
        assert settings.status_code == 200, settings.text
        keys = await client.get("/api/api-keys", headers=headers)
        assert keys.status_code == 200 and {i["user_id"] for i in keys.json()["items"]} == {data["user_id"]}
        async with kernel.store.sessionmaker() as session:
            users = (await session.scalars(select(m.User).where(m.User.email == "root@example.com"))).all()
            assert len(users) == 1 and users[0].is_platform_admin
        assert await WorkspaceService.of(kernel).member_role(data["workspace_id"], data["user_id"]) == "owner"


async def test_a_command_run_elsewhere_refuses_to_invent_a_database(tmp_path: Path) -> None:
    """From a directory with no database, ``keys create`` says where it looked and creates nothing."""
    refused = await run("keys", "create", "--workspace", "default", "--name", "ci", "--json", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    database = (tmp_path / "automatos-data" / "automatos.db").resolve()
    assert f"data directory {(tmp_path / 'automatos-data').resolve()}" in refused.stderr
    assert f"no database at {database}" in refused.stderr and "--init" in refused.stderr
    assert not os.listdir(tmp_path)  # not even the data directory
    created = await run("keys", "create", "--init", "--workspace", "default", "--name", "ci", "--json", cwd=tmp_path)
    assert one_json_object(created)["key"].startswith("atk_")
    assert f"database SQLite {database}" in created.stderr and "creating a new database" in created.stderr
    again = await run("keys", "list", "--workspace", "default", "--json", cwd=tmp_path)
    assert again.returncode == 0 and "creating" not in again.stderr, again.stderr
    assert [k["name"] for k in json.loads(again.stdout)] == ["ci"]
    elsewhere = tmp_path / "elsewhere"
    os.mkdir(elsewhere)
    other = await run("keys", "list", "--workspace", "default", cwd=elsewhere)
    assert other.returncode == 2 and not os.listdir(elsewhere)


async def test_a_cli_revocation_reaches_a_running_server_through_the_journal(tmp_path: Path) -> None:
    """On the embedded default (no Redis) the server reads the bus journal every second, so a key
    revoked from the CLI is refused within about a second, not after API_KEY_CACHE_SECONDS."""
    created = one_json_object(
        await run("keys", "create", "--init", "--workspace", "default", "--name", "x", "--json", cwd=tmp_path)
    )
    headers = {"X-API-Key": created["key"]}
    # a cache that would trust the key for an hour: only the journal can bring the revocation
    container = make_container(tmp_path / "automatos-data", api_key_cache_seconds=3600.0)
    async with serve_app(app_with_keys(container)) as client:
        route = "/api/workspaces/default/extensions"
        assert (await client.get(route, headers=headers)).status_code == 200  # now cached
        revoked = await run("keys", "revoke", "--workspace", "default", created["prefix"], cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30  # generous: the poll is every second
        status = 200
        while status != 401 and loop.time() < deadline:
            status = (await client.get(route, headers=headers)).status_code
            if status != 401:
                await asyncio.sleep(0.2)
        assert status == 401
