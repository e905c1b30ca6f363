"""Queue mode, submitting side: one workspace's runs beyond its share wait here, before the queue.

Against a real Valkey, with an in-test ``serve`` of two sandbox processes: a flooding workspace
holds at most one of them, so another workspace's run is still served. Outcomes, not timing: the
snippets signal through a capability that the test holds closed.
"""

from __future__ import annotations

import asyncio

import pytest

from automatos.extensions.cache.memory import MemoryKV
from automatos.sandbox import Limits, sandbox_from_settings
from automatos.sandbox.queue import QueueSandbox
from tests.sandbox.test_queue import _settings, caller, server, serving
from tests.sandbox.waiting import GATED, Gates, GateSpec

pytestmark = [
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


async def test_a_flooding_workspace_holds_only_its_share(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=2)
    gates = Gates()
    limits = Limits(wall_seconds=60)
    async with serving(settings, kv=MemoryKV(), rebuild=gates.rebuild), caller(settings, workspace_limit=1) as sandbox:
        flood = [
            asyncio.ensure_future(sandbox.run(GATED, limits=limits, capabilities=[GateSpec(f"a{i}")], workspace="ws-a"))
            for i in range(3)
        ]
        await gates["a0"].entered_event.wait()
        other = await sandbox.run("result = 'served'", workspace="quiet")
        assert other.ok and other.result == "served", other.error
        assert [gates[f"a{i}"].entered for i in range(3)] == [1, 0, 0]
        assert sandbox.shares.holding("ws-a") == 3  # one in flight, two waiting here (not on the queue)
        for i in range(3):
            gates[f"a{i}"].open.set()
        results = await asyncio.gather(*flood)
        assert [r.result for r in results] == ["through"] * 3


def test_the_share_comes_from_the_settings(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=4)
    sandbox = sandbox_from_settings(settings, server(settings))
    assert isinstance(sandbox, QueueSandbox) and sandbox.shares.limit == 2  # the default share, 0.5
    assert sandbox.status()["mode"] == "queue" and sandbox.status()["workspace_limit"] == 2
