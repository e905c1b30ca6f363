"""The whole app on the production backends: PostgreSQL+pgvector, Redis, S3 — two API nodes."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from automatos.api.app import create_app
from tests.helpers import make_container, running_kernel, serve_app
from tests.services import fresh_database

ADMIN = {"X-Test-User": "root;admin", "X-Admin-Override": "true"}


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


async def test_two_nodes_on_postgres_redis_and_s3(
    tmp_path: Path, postgres_url: str, redis_url: str, s3_endpoint_url: str
) -> None:
    bucket = f"automatos-{uuid.uuid4().hex[:8]}"
    async with fresh_database(postgres_url) as database_url:
        settings: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint_url,
        }
        node_a = create_app(make_container(tmp_path / "a", **settings))
        node_b = create_app(make_container(tmp_path / "b", **settings))
        # The test clients run each app in a loop of their own: talk to them over HTTP only, and use a
        # third node in this loop for direct checks.
        async with serve_app(node_a) as a, serve_app(node_b) as b, running_kernel(tmp_path / "c", **settings) as node_c:
            ready = (await a.get("/health/ready")).json()
            assert ready["status"] == "ready", ready
            assert set(ready["checks"]) == {"database", "blob:s3", "kv:redis", "pubsub:redis", "vector:pgvector"}

            # the S3 bucket was created at start; a pre-signed URL downloads from the store itself
            await node_c.backends.blob.put("bundles/x.zip", b"PK", content_type="application/zip")
            url = await node_c.backends.blob.presigned_url("bundles/x.zip", expires_in=60)
            assert await asyncio.to_thread(_download, url) == b"PK"
            await node_c.backends.vectors.upsert("ws", "docs", [("d1", [1.0, 0.0], {"t": 1})])
            assert [m.id for m in await node_c.backends.vectors.query("ws", "docs", [1.0, 0.1])] == ["d1"]

            # disabling through node A's API is seen by node B's API
            ws = await node_c.store.get_workspace("default")
            assert ws is not None
            listed = (await b.get(f"/api/workspaces/{ws.id}/extensions", headers=ADMIN)).json()["items"]
            assert {e["name"]: e["enabled"] for e in listed}["hello"] is True
            put = await a.put(f"/api/workspaces/{ws.id}/extensions/hello", json={"enabled": False}, headers=ADMIN)
            assert put.status_code == 200, put.text
            for _ in range(100):
                listed = (await b.get(f"/api/workspaces/{ws.id}/extensions", headers=ADMIN)).json()["items"]
                if {e["name"]: e["enabled"] for e in listed}["hello"] is False:
                    break
                await asyncio.sleep(0.02)
            assert {e["name"]: e["enabled"] for e in listed}["hello"] is False
            # and by the third node, which only heard it through Redis
            assert node_c.views.cached(ws.id) is None or "hello" in (await node_c.view_for(ws)).hidden
