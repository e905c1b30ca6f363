"""Scans through the shared job queue (``PLUGINS_SCAN_MODE=queue``) against a real Valkey/Redis.

The API (in-process) submits ``marketplace.scan`` jobs; a :func:`automatos.marketplace.queue.serve`
worker running in the test reads the bundle from the same blob backend, scans it and answers the
report; the API node writes it. Each test uses its own queue name.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.extensions.cache.redis import RedisQueueServer
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.marketplace.models import PluginVersion
from automatos.marketplace.queue import serve
from automatos.marketplace.settings import MarketplaceSettings
from tests.helpers import AppClient, container_of, make_container, serve_app
from tests.marketplace.test_submissions import ALICE, EVIL, URL, make_bundle, upload

pytestmark = [
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

Scan = Callable[[bytes, MarketplaceSettings, "list[str] | None"], Awaitable[dict[str, Any]]]


@pytest.fixture
async def client(tmp_path: Path, redis_url: str) -> AsyncIterator[AppClient]:
    container = make_container(
        tmp_path,
        rate_limit_default="100000/minute",
        redis_url=redis_url,
        plugins_scan_mode="queue",
        plugins_scan_queue_name=f"test-scans-{uuid.uuid4().hex[:10]}",
        plugins_scan_timeout_seconds=60,
    )
    app = create_app(container)
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        container.marketplace().scans.retry_delay = 0.05
        yield test_client


@asynccontextmanager
async def scan_worker(client: AppClient, scan: Scan | None = None) -> AsyncIterator[asyncio.Task[None]]:
    """A scan worker on the API's queue and blob backend, serving until the block ends (or it is cancelled)."""
    kernel: Kernel = client.app.state["kernel"]
    settings = kernel.settings.group(MarketplaceSettings)
    assert kernel.settings.redis_url
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve(
            settings,
            RedisQueueServer(kernel.settings.redis_url),
            kernel.backends.blob,
            stop_event=stop,
            ready=ready,
            grace_seconds=0,
            scan=scan,
        )
    )
    async with asyncio.timeout(30):
        await ready.wait()
    try:
        yield task
    finally:
        stop.set()
        if not task.done():
            async with asyncio.timeout(30):
                await asyncio.gather(task, return_exceptions=True)


async def scanned_audits(client: AppClient, version_id: str) -> int:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        query = select(func.count()).where(
            m.AuditLogEntry.action == "plugin.scanned", m.AuditLogEntry.target_id == version_id
        )
        return int(await session.scalar(query) or 0)


async def test_an_upload_is_scanned_by_a_queue_worker_not_by_the_api_node(client: AppClient) -> None:
    service = container_of(client).marketplace()
    async with scan_worker(client):
        made = await upload(client, make_bundle("Evil Tools", code=EVIL), ALICE)
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "pending"  # answered before any scan ran
        async with asyncio.timeout(60):
            await service.idle()
    seen = (await client.get(f"{URL}/{made.json()['id']}", headers=ALICE)).json()
    assert seen["status"] == "scanned" and seen["verdict"] == "blocked", seen
    assert any(f["rule"] != "llm-review" and f["file"] == "evil_tools.py" for f in seen["findings"])
    assert service.scans._process is None  # the API node never started a scan process of its own
    assert await scanned_audits(client, seen["id"]) == 1


async def test_a_worker_stopped_mid_scan_loses_nothing_the_next_worker_scans_it_once(client: AppClient) -> None:
    service = container_of(client).marketplace()
    started = asyncio.Event()
    calls: list[str] = []

    async def hangs(data: bytes, settings: MarketplaceSettings, allowed: list[str] | None) -> dict[str, Any]:
        calls.append("first")
        started.set()
        await asyncio.Event().wait()  # the worker goes away before this scan ends
        raise AssertionError("unreachable")

    async with scan_worker(client, hangs) as first:
        made = (await upload(client, make_bundle(), ALICE)).json()
        async with asyncio.timeout(30):
            await started.wait()
        first.cancel()  # the worker is killed mid-scan
        await asyncio.gather(first, return_exceptions=True)
    async with client.app.state["kernel"].store.sessionmaker() as session:
        row = await session.get(PluginVersion, made["id"])
        assert row is not None and row.status == "scanning" and row.scans == 1  # not lost, not failed
    async with scan_worker(client):
        async with asyncio.timeout(60):
            await service.idle()
    seen = (await client.get(f"{URL}/{made['id']}", headers=ALICE)).json()
    assert seen["status"] == "scanned" and seen["verdict"] in ("safe", "review"), seen
    assert calls == ["first"]  # the second scan ran in the second worker's scan process
    assert await scanned_audits(client, made["id"]) == 1  # one result written, never two
    async with client.app.state["kernel"].store.sessionmaker() as session:
        row = await session.get(PluginVersion, made["id"])
        assert row is not None and row.scans == 1  # the same scan, handed to the next worker


async def test_a_superseded_scan_writes_nothing(client: AppClient) -> None:
    """A scan whose number was superseded (a sweep or a re-scan took the version) drops its result."""
    service = container_of(client).marketplace()
    release = asyncio.Event()
    started = asyncio.Event()

    async def fake_blocked(data: bytes, settings: MarketplaceSettings, allowed: list[str] | None) -> dict[str, Any]:
        started.set()
        await release.wait()
        finding = {"rule": "fake", "severity": "critical", "message": "x", "path": "a.py", "line": 1}
        return {"risk_score": 100, "verdict": "blocked", "findings": [finding], "errors": []}

    async with scan_worker(client, fake_blocked):
        made = (await upload(client, make_bundle(), ALICE)).json()
        async with asyncio.timeout(30):
            await started.wait()
        async with client.app.state["kernel"].store.sessionmaker.begin() as session:
            row = await session.get(PluginVersion, made["id"])
            assert row is not None
            row.scans += 1  # another node re-queued it meanwhile (what a sweep does)
        release.set()
        async with asyncio.timeout(60):
            await service.idle()
    seen = (await client.get(f"{URL}/{made['id']}", headers=ALICE)).json()
    assert seen["status"] == "scanning" and seen["verdict"] is None and seen["findings"] == []
    assert await scanned_audits(client, made["id"]) == 0


async def test_automatos_worker_serves_plugin_scans(client: AppClient, tmp_path: Path) -> None:
    """The real command: ``automatos worker --queue marketplace`` on the API's data dir and queue."""
    import os
    import signal
    import subprocess
    import sys

    kernel: Kernel = client.app.state["kernel"]
    own = kernel.settings.group(MarketplaceSettings)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "S3_", "AUTOMATOS_", "SANDBOX_", "LOG_", "PLUGINS_"))
    }
    env |= {
        "AUTOMATOS_DATA_DIR": str(kernel.settings.data_dir),
        "REDIS_URL": str(kernel.settings.redis_url),
        "PLUGINS_SCAN_QUEUE_NAME": own.plugins_scan_queue_name,
        "LOG_FORMAT": "text",
    }
    command = str(Path(sys.executable).parent / "automatos")
    worker = await asyncio.create_subprocess_exec(
        command, "worker", "--queue", "marketplace", cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        made = (await upload(client, make_bundle("Evil Tools", code=EVIL), ALICE)).json()
        async with asyncio.timeout(90):
            await container_of(client).marketplace().idle()
        worker.send_signal(signal.SIGTERM)
        _, raw = await asyncio.wait_for(worker.communicate(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    err = raw.decode()
    assert worker.returncode == 0, err
    assert "marketplace scan worker serving queue" in err and "sandbox worker" not in err
    seen = (await client.get(f"{URL}/{made['id']}", headers=ALICE)).json()
    assert seen["status"] == "scanned" and seen["verdict"] == "blocked", seen
