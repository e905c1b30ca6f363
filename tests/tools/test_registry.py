"""The tool registry on a running kernel: the test extension's tools and fake plugin proxies joined to
one workspace's view, containment of failing providers, agents' tools and content in assignment order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from automatos.kernel.errors import NotFoundError
from automatos.kernel.types import ContentItem, ToolResult, ToolSpec
from automatos.tools.registry import ToolRegistry
from tests.tools.conftest import Kernelled
from tests.tools.fakes import FakePlugin


class Setup(Kernelled):
    def __init__(self, base: Kernelled) -> None:
        super().__init__(base.kernel, base.plugins, base.one, base.two)
        self.registry = ToolRegistry(base.kernel, list_timeout=0.5)


@pytest.fixture
async def setup(kernelled: Kernelled) -> Setup:
    await kernelled.kernel.set_extension(kernelled.one, "tests.everything", enabled=True)
    return Setup(kernelled)


def skill(name: str, text: str, source: str = "") -> ContentItem:
    return ContentItem(kind="skill", name=name, text=text, source=source)


async def test_extensions_then_proxies_and_only_in_their_workspace(setup: Setup) -> None:
    await setup.plugins.set(setup.one.id, FakePlugin("cards", ["card", "badge"]))
    tools = await setup.registry.tools(setup.one)
    assert [(t.name, t.provider, t.source) for t in tools] == [
        ("echo", "test-tools", "builtin"),
        ("cards__card", "plugin:cards", "plugin"),
        ("cards__badge", "plugin:cards", "plugin"),
    ]
    assert [t.name for t in await setup.registry.tools(setup.two)] == ["echo"]  # the extension, not the plugin
    with pytest.raises(NotFoundError) as missing:
        await setup.registry.find(setup.two, "cards__card")
    assert missing.value.field == "name" and "cards__card" in missing.value.detail
    with pytest.raises(NotFoundError):
        await setup.registry.execute(setup.two, "cards__card", {"url": "x"})
    got = await setup.registry.execute(setup.one, "cards__card", {"url": "x"})
    assert got.ok and got.result == {"tool": "cards__card", "workspace": setup.one.id, "arguments": {"url": "x"}}


async def test_a_plain_value_from_an_older_provider_is_an_ok_result(setup: Setup) -> None:
    got = await setup.registry.execute(setup.one, "echo", {"a": 1})
    assert got == ToolResult(ok=True, result={"a": 1})


class Slow(FakePlugin):
    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        await asyncio.sleep(30)
        return []


class Named(FakePlugin):
    def __init__(self, slug: str, names: list[str]) -> None:
        super().__init__(slug)
        self.names = names

    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        return [ToolSpec(name=n, description="d", source="plugin") for n in self.names]


async def test_failing_slow_and_unsafe_providers_are_left_out(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    await setup.plugins.set(
        setup.one.id,
        FakePlugin("broken", fail_listing=True),
        Slow("slow"),
        Named("odd", ["odd__ok", "has space", "x" * 65, "echo"]),  # "echo" is the extension's already
        FakePlugin("fine"),
    )
    with caplog.at_level(logging.WARNING, logger="automatos.tools"):
        tools = await setup.registry.tools(setup.one)
    assert [(t.name, t.provider) for t in tools] == [
        ("echo", "test-tools"),
        ("odd__ok", "plugin:odd"),  # the provider's name filled in
        ("fine__card", "plugin:fine"),
    ]
    logged = caplog.text
    assert "broken failed to list" in logged and "slow did not list its tools in time" in logged
    assert "unsafe tool name 'has space'" in logged and "hides behind test-tools" in logged


class Raising(FakePlugin):
    def __init__(self, slug: str, exc: BaseException | None = None, *, hang: bool = False) -> None:
        super().__init__(slug, ["run"])
        self.exc, self.hang = exc, hang

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        if self.hang:
            await asyncio.sleep(30)
        assert self.exc is not None
        raise self.exc


async def test_execute_always_answers_a_result(setup: Setup) -> None:
    from automatos.sandbox.service import SandboxUnavailableError

    await setup.plugins.set(
        setup.one.id,
        Raising("bug", KeyError("secret-key-name")),
        Raising("down", SandboxUnavailableError("the sandbox is disabled")),
        Raising("hang", hang=True),
    )
    registry = ToolRegistry(setup.kernel, execute_timeout=0.2)
    bug = await registry.execute(setup.one, "bug__run", {})
    assert not bug.ok and bug.error == {"kind": "provider", "message": "the tool's provider failed (KeyError)"}
    down = await registry.execute(setup.one, "down__run", {})
    assert down.error == {"kind": "unavailable", "message": "the sandbox is disabled"}
    hang = await registry.execute(setup.one, "hang__run", {})
    assert hang.error is not None and hang.error["kind"] == "timeout"


async def test_agents_get_their_assigned_providers_in_position_order(setup: Setup) -> None:
    one = setup.one.id
    await setup.plugins.set(
        one,
        FakePlugin("a", ["x"], content=[skill("A", "from a")], assignments={"agent-1": 2}),
        FakePlugin("b", ["y", "z"], content=[skill("B", "from b")], assignments={"agent-1": 1, "agent-2": 1}),
        FakePlugin("c", ["w"], content=[skill("C", "from c")], assignments={"agent-2": 0}),
        FakePlugin("broken", ["v"], content=[skill("X", "never")], assignments={"agent-1": 0}, fail_content=True),
    )
    names = [t.name for t in await setup.registry.agent_tools(setup.one, "agent-1")]
    assert names == ["broken__v", "b__y", "b__z", "a__x"]
    assert [t.name for t in await setup.registry.agent_tools(setup.one, "agent-2")] == ["c__w", "b__y", "b__z"]
    assert await setup.registry.agent_tools(setup.one, "nobody") == []
    content = await setup.registry.agent_content(setup.one, "agent-1")
    assert [c.text for c in content] == ["from b", "from a"]  # the failing one skipped
    assert [c.text for c in await setup.registry.agent_content(setup.one, "agent-2")] == ["from c", "from b"]
    assert await setup.registry.agent_content(setup.two, "agent-1") == []  # another workspace's view


async def test_the_providers_follow_the_view(setup: Setup) -> None:
    await setup.plugins.set(setup.one.id, FakePlugin("first"))
    assert [t.name for t in await setup.registry.tools(setup.one)] == ["echo", "first__card"]
    await setup.plugins.set(setup.one.id, FakePlugin("second"))  # a new view: collected again
    assert [t.name for t in await setup.registry.tools(setup.one)] == ["echo", "second__card"]
    await setup.kernel.set_extension(setup.one, "tests.everything", enabled=False)
    assert [t.name for t in await setup.registry.tools(setup.one)] == ["second__card"]
