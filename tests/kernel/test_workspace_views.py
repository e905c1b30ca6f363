"""Per-workspace hook views: enable/disable, essential built-ins, caching, invalidation across nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from automatos import Event
from automatos.kernel.core import Kernel
from automatos.kernel.db.base import utcnow
from automatos.kernel.errors import ConflictError, NotFoundError
from automatos.kernel.types import ChatMessage, ContentItem, ToolResult, ToolSpec
from tests.helpers import running_kernel
from tests.plugins import everything
from tests.workspaces.helpers import new_workspace


async def _wait_for(predicate: object, deadline_s: float = 5.0) -> None:
    """Poll until ``predicate()`` is true; a liveness deadline, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.01)


async def test_disable_hides_an_extension_from_that_workspace_only(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        one = await new_workspace(kernel, "one", "One")
        two = await new_workspace(kernel, "two", "Two")
        view_one = await kernel.view_for(one)
        assert "tests.everything" in view_one.plugins("register_llm_providers")
        assert kernel.views.cached(one.id) is view_one  # cached: same object

        version = await kernel.set_extension(one, "tests.everything", enabled=False, actor_id="u1")
        assert version == 1
        view_one = await kernel.view_for(one)
        assert view_one.version == 1
        assert "tests.everything" not in view_one.plugins("register_llm_providers")
        assert "tests.everything" in (await kernel.view_for(two)).plugins("register_llm_providers")
        assert "test-echo" not in (await kernel.hooks.llm_providers(view_one, one)).items

        await kernel.set_extension(one, "tests.everything", enabled=True, config={"prefix": "1:"})
        view_one = await kernel.view_for(one)
        providers = await kernel.hooks.llm_providers(view_one, one)
        assert (await providers.items["test-echo"].complete([_user("x")], model="m")).text == "1:x"


async def test_essential_and_unknown_extensions_are_refused(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await new_workspace(kernel, "ws", "WS")
        with pytest.raises(ConflictError, match="essential"):
            await kernel.set_extension(ws, "automatos.storage.local", enabled=False)
        with pytest.raises(NotFoundError):
            await kernel.set_extension(ws, "no.such.extension", enabled=False)
        # essential ones stay visible whatever a row says
        assert kernel.views.hidden_for({}) == set()


async def test_events_reach_enabled_extensions_with_their_config(tmp_path: Path) -> None:
    everything.EVENTS.clear()
    async with running_kernel(tmp_path) as kernel:
        ws = await new_workspace(kernel, "ev", "Events")
        await kernel.set_extension(ws, "tests.everything", enabled=True, config={"k": "v"})
        await _wait_for(lambda: ("extension.enabled", ws.id, {"k": "v"}) in everything.EVENTS)
        await kernel.set_extension(ws, "tests.everything", enabled=False)
        await kernel.emit(Event(name="custom.thing", workspace_id=ws.id))
        await asyncio.sleep(0.05)
        assert not [e for e in everything.EVENTS if e[0] == "custom.thing"]  # disabled: not told


async def test_lifecycle_hooks_run(tmp_path: Path) -> None:
    everything.LIFECYCLE.clear()
    async with running_kernel(tmp_path):
        assert everything.LIFECYCLE == ["startup"]
    assert everything.LIFECYCLE == ["startup", "shutdown"]


async def test_concurrent_misses_build_one_view(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await new_workspace(kernel, "many", "Many")
        await kernel.view_for(ws)  # extensions were told of the new workspace (workspace.created): built
        kernel.views.forget(ws.id)
        before = kernel.views.builds
        views = await asyncio.gather(*(kernel.views.get(ws.id) for _ in range(50)))
        assert kernel.views.builds == before + 1
        assert all(v is views[0] for v in views)


async def _two_nodes(tmp_path: Path, redis_url: str) -> tuple[Kernel, Kernel, object, object]:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    a = running_kernel(tmp_path / "a", database_url=db, redis_url=redis_url)
    b = running_kernel(tmp_path / "b", database_url=db, redis_url=redis_url)
    return await a.__aenter__(), await b.__aenter__(), a, b


async def test_invalidation_reaches_another_node_through_redis(tmp_path: Path, redis_url: str) -> None:
    node_a, node_b, ctx_a, ctx_b = await _two_nodes(tmp_path, redis_url)
    try:
        assert node_a.backends.pubsub.name == "redis"
        ws = await new_workspace(node_a, "shared", "Shared")
        before_b = await node_b.view_for(ws)
        assert "tests.everything" in before_b.plugins("on_event")
        await node_a.set_extension(ws, "tests.everything", enabled=False)
        await _wait_for(lambda: node_b.views.cached(ws.id).version == 1)  # type: ignore[union-attr]
        assert "tests.everything" not in node_b.views.cached(ws.id).plugins("on_event")  # type: ignore[union-attr]
    finally:
        await ctx_b.__aexit__(None, None, None)  # type: ignore[attr-defined]
        await ctx_a.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_recheck_catches_a_lost_invalidation(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with (
        running_kernel(tmp_path / "a", database_url=db) as node_a,
        running_kernel(tmp_path / "b", database_url=db) as node_b,
    ):
        # separate in-process buses: node_b never hears node_a, like a dropped pub/sub message
        ws = await new_workspace(node_a, "lost", "Lost")
        await node_b.view_for(ws)
        await node_a.set_extension(ws, "tests.everything", enabled=False)
        assert node_b.views.cached(ws.id).version == 0  # type: ignore[union-attr]
        assert await node_b.views.recheck() == 1
        await _wait_for(lambda: node_b.views.cached(ws.id).version == 1)  # type: ignore[union-attr]


def _user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def test_the_bus_journal_carries_messages_without_pubsub(tmp_path: Path) -> None:
    """Two nodes with separate in-process buses (like the CLI next to a server on the embedded
    default): the journal alone brings node A's messages to node B, each handled once."""
    from automatos.extensions.auth.api_keys import create_key, revoke_key
    from automatos.kernel.errors import AuthenticationError

    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    fast = {"database_url": db, "bus_poll_seconds": 0.05, "recheck_seconds": 3600.0, "api_key_pepper": "p"}
    async with running_kernel(tmp_path / "a", **fast) as node_a, running_kernel(tmp_path / "b", **fast) as node_b:
        ws = await new_workspace(node_a, "journal", "Journal")
        await node_b.view_for(ws)
        await node_a.set_extension(ws, "tests.everything", enabled=False)
        await _wait_for(lambda: node_b.views.cached(ws.id).version == 1)  # type: ignore[union-attr]

        record, key = await create_key(node_a, ws.id, "k", "member")
        from automatos.api.dependencies import authenticate

        assert await authenticate(node_b, {"x-api-key": key}) is not None  # now warm in node B's cache
        await revoke_key(node_a, ws.id, record.id, "u")
        refused: list[bool] = []

        async def poll_refusal() -> None:
            try:
                await authenticate(node_b, {"x-api-key": key})
            except AuthenticationError:
                refused.append(True)

        for _ in range(200):
            await poll_refusal()
            if refused:
                break
            await asyncio.sleep(0.02)
        assert refused, "node B kept accepting a key revoked on node A"
        assert await node_b.bus.poll(utcnow()) == 0  # nothing is handled twice


class _Proxy:
    """A provider joined to one workspace's view (what a marketplace plugin's proxy is)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        return [ToolSpec(name=f"{self.name}__t", description="d", provider=self.name, source="plugin")]

    async def execute(self, workspace_id: str, tool: str, arguments: object) -> ToolResult:
        return ToolResult(ok=True, result=workspace_id)

    async def content(self, workspace_id: str) -> list[ContentItem]:
        return [ContentItem(kind="skill", name="s", text="t", source=self.name)]


async def test_extras_join_proxies_to_their_workspace_view_only(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        one = await new_workspace(kernel, "one", "One")
        two = await new_workspace(kernel, "two", "Two")
        enabled = {one.id: ["plugin:a"]}

        async def extras(workspace_id: str) -> list[object]:
            return [_Proxy(name) for name in enabled.get(workspace_id, [])]

        kernel.views.add_extras(extras)
        kernel.views.invalidate_all()
        view_one = await kernel.views.build(one.id)
        view_two = await kernel.views.build(two.id)
        tools_one = await kernel.hooks.tool_providers(view_one, one)
        assert "plugin:a" in tools_one.items
        assert "plugin:a" not in (await kernel.hooks.tool_providers(view_two, two)).items
        assert list(kernel.hooks.content_providers(view_one).items) == ["plugin:a"]
        assert kernel.hooks.content_providers(view_two).items == {}
        # a proxy never takes the name of an extension's provider
        enabled[one.id] = ["test-tools"]
        view_one = await kernel.views.build(one.id)
        providers = await kernel.hooks.tool_providers(view_one, one)
        assert not isinstance(providers.items.get("test-tools"), _Proxy)
