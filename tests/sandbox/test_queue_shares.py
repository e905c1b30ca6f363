"""Queue mode, submitting side: one workspace's runs beyond its share wait here, before the queue.

Against a real Valkey, with an in-test ``serve`` of two sandbox processes: a flooding workspace
holds at most one of them, so another workspace's run is still served. Outcomes, not timing: the
snippets signal through a capability that the test holds closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from automatos.extensions.cache.memory import MemoryKV
from automatos.kernel.backends import KVBackend
from automatos.sandbox import Limits, sandbox_from_settings
from automatos.sandbox.queue import QueueSandbox
from tests.sandbox.test_queue import _settings, caller, serving

pytestmark = [
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


class Gates:
    """The worker side of the ``gate`` capability: each run's gate (by spec id) waits until opened."""

    def __init__(self) -> None:
        self.entered: dict[str, asyncio.Event] = {}
        self.open: dict[str, asyncio.Event] = {}

    def event(self, table: dict[str, asyncio.Event], key: str) -> asyncio.Event:
        return table.setdefault(key, asyncio.Event())

    def rebuild(self, spec: dict[str, Any], *, kv: KVBackend | None) -> Any:
        gates, key = self, str(spec["id"])

        class Gate:
            name = "gate"
            methods = frozenset({"enter"})

            async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
                gates.event(gates.entered, key).set()
                await gates.event(gates.open, key).wait()
                return key

        return Gate()


class GateSpec:
    """The caller side: only its spec crosses the queue."""

    name = "gate"
    methods = frozenset({"enter"})

    def __init__(self, key: str) -> None:
        self.key = key

    def spec(self) -> dict[str, Any]:
        return {"name": "gate", "id": self.key}

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        raise AssertionError("runs on the worker")


async def test_a_flooding_workspace_holds_only_its_share(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=2)
    gates = Gates()
    limits = Limits(wall_seconds=60)
    async with serving(settings, kv=MemoryKV(), rebuild=gates.rebuild), caller(settings, workspace_limit=1) as sandbox:
        code = "result = gate.enter()"
        flood = [
            asyncio.ensure_future(sandbox.run(code, limits=limits, capabilities=[GateSpec(f"a{i}")], workspace="ws-a"))
            for i in range(3)
        ]
        await gates.event(gates.entered, "a0").wait()
        other = await sandbox.run("result = 'served'", workspace="quiet")
        assert other.ok and other.result == "served", other.error
        assert [gates.event(gates.entered, f"a{i}").is_set() for i in range(3)] == [True, False, False]
        assert sandbox.shares.holding("ws-a") == 3  # one in flight, two waiting here (not on the queue)
        for i in range(3):
            gates.event(gates.open, f"a{i}").set()
        results = await asyncio.gather(*flood)
        assert [r.result for r in results] == ["a0", "a1", "a2"]


def test_the_share_comes_from_the_settings(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=4)
    sandbox = sandbox_from_settings(settings)
    assert isinstance(sandbox, QueueSandbox) and sandbox.shares.limit == 2  # the default share, 0.5
    assert sandbox.status()["mode"] == "queue" and sandbox.status()["workspace_limit"] == 2
