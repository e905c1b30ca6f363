"""A plugin's call reaches the world only through what its approval granted.

The plugin declares two hosts and the admin grants one (``127.0.0.1``, where the test's HTTP server
listens; the test's settings allow private addresses). Its handler fetches a URL through ``ctx.http``
and keeps a counter in ``ctx.kv``: the granted host answers, the declared-but-not-granted one is
refused with the reason, and the ``kv`` namespace is the workspace's own.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, container_of, make_container, serve_app, serve_http
from tests.marketplace.test_runtime_enable import enable, view_proxies, workspaces
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, upload

CODE = """\
def fetch(ctx, url):
    count = (ctx.kv.get("count") or 0) + 1
    ctx.kv.set("count", count)
    ctx.log.info("fetching")
    return {"body": ctx.http.get(url)["text"], "count": count}


def register(ctx):
    schema = {"type": "object", "properties": {"url": {"type": "string"}}}
    ctx.add_tool(fetch, description="Fetch a URL.", parameters=schema)
"""

MANIFEST = """\
name = "Fetch Tools"
version = "1.0.0"
entry = "fetch_tools"
description = "Fetches."

[permissions]
network = ["127.0.0.1", "localhost"]
"""


def _bundle() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plugin.toml", MANIFEST)
        archive.writestr("fetch_tools.py", CODE)
    return out.getvalue()


async def _json_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"greeting": "from the granted host"}'})


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path, rate_limit_default="100000/minute", sandbox_http_allow_private=True))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.com", display_name="root", is_platform_admin=True))
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
            session.add(m.User(id="bob", email="bob@example.com", display_name="bob"))
        yield test_client


async def test_http_only_to_granted_hosts_and_kv_per_workspace(client: AppClient) -> None:
    made = await upload(client, _bundle(), ALICE)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    approve = {
        "sha256": made.json()["sha256"],
        "granted_permissions": {"network": ["127.0.0.1"]},
        "override": True,
        "reason": "test",
    }
    done = await client.post(f"/api/admin/plugins/versions/{made.json()['id']}/approve", json=approve, headers=ROOT)
    assert done.status_code == 200, done.text
    a, b = await workspaces(client)
    assert (await enable(client, a, ALICE, slug="fetch-tools")).status_code == 201
    assert (await enable(client, b, BOB, slug="fetch-tools")).status_code == 201
    proxy_a = (await view_proxies(client, a))["plugin:fetch-tools"]
    proxy_b = (await view_proxies(client, b))["plugin:fetch-tools"]
    async with serve_http(_json_app) as base:
        port = base.rsplit(":", 1)[1]
        granted = await proxy_a.execute(a, "fetch-tools__fetch", {"url": f"http://127.0.0.1:{port}/card"})
        assert granted.ok, granted
        assert granted.result == {"body": '{"greeting": "from the granted host"}', "count": 1}
        assert granted.logs == [{"level": "info", "message": "fetching"}]
        assert granted.usage["total_ms"] > 0
        again = await proxy_a.execute(a, "fetch-tools__fetch", {"url": f"http://127.0.0.1:{port}/card"})
        assert again.result["count"] == 2
        in_b = await proxy_b.execute(b, "fetch-tools__fetch", {"url": f"http://127.0.0.1:{port}/card"})
        assert in_b.result["count"] == 1  # B's kv is B's
        refused = await proxy_a.execute(a, "fetch-tools__fetch", {"url": f"http://localhost:{port}/card"})
        assert not refused.ok and refused.error is not None
        assert "localhost" in refused.error["message"], refused.error
    unknown = await proxy_a.execute(a, "fetch-tools__nope", {})
    assert not unknown.ok and unknown.error == {
        "kind": "unknown-tool",
        "message": "plugin fetch-tools has no tool 'fetch-tools__nope'",
    }
