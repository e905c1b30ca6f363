"""An agent's tool calls through ToolService.run_for_agent: permission re-checked at execution,
arguments checked against the schema (the error names the argument), audited, other workspaces' tools
never reachable — and the whole tool loop with the offline provider on a running kernel."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from automatos.chat.tool_loop import run_tool_loop
from automatos.extensions.llm.offline import OfflineProvider
from automatos.kernel.db import AuditLogEntry
from automatos.kernel.types import ChatMessage, ToolCall, Workspace
from automatos.tools.registry import ToolRegistry
from automatos.tools.service import ToolService, arguments_digest
from tests.tools.conftest import Kernelled
from tests.tools.fakes import FakePlugin


class Setup(Kernelled):
    def __init__(self, base: Kernelled) -> None:
        super().__init__(base.kernel, base.plugins, base.one, base.two)
        self.tools = ToolService(base.kernel, ToolRegistry(base.kernel, list_timeout=0.5))

    async def audit(self, workspace: Workspace) -> list[AuditLogEntry]:
        async with self.kernel.store.sessionmaker() as session:
            rows = await session.scalars(
                select(AuditLogEntry)
                .where(AuditLogEntry.workspace_id == workspace.id, AuditLogEntry.action.like("tool.%"))
                .order_by(AuditLogEntry.created_at)
            )
            return list(rows)


@pytest.fixture
def setup(kernelled: Kernelled) -> Setup:
    return Setup(kernelled)


def call(name: str, arguments: str, n: int = 1) -> ToolCall:
    return ToolCall(id=f"call_{n}", name=name, arguments=arguments)


async def test_a_call_runs_and_is_audited_with_the_arguments_digest_only(setup: Setup) -> None:
    cards = FakePlugin("cards", ["card"], assignments={"agent-1": 0})
    await setup.plugins.set(setup.one.id, cards)
    arguments = {"url": "https://example.test/secret-path", "options": {"depth": 2}}
    got = await setup.tools.run_for_agent(
        setup.one,
        "agent-1",
        call("cards__card", '{"url": "https://example.test/secret-path", "options": {"depth": 2}}'),
        actor_id="user-1",
        request_id="req-1",
    )
    assert got.ok and got.result["arguments"] == arguments
    assert cards.calls == [(setup.one.id, "cards__card", arguments)]
    [entry] = await setup.audit(setup.one)
    assert (entry.action, entry.actor_id, entry.target_id, entry.request_id) == (
        "tool.invoke",
        "user-1",
        "cards__card",
        "req-1",
    )
    assert entry.data["sha256"] == arguments_digest(arguments) and entry.data["agent_id"] == "agent-1"
    assert "secret-path" not in str(entry.data)


async def test_refused_at_execution_when_the_assignment_changed_since_selection(setup: Setup) -> None:
    await setup.plugins.set(setup.one.id, FakePlugin("cards", ["card"], assignments={"agent-1": 0}))
    offered = await setup.tools.registry.agent_tools(setup.one, "agent-1")
    assert [t.name for t in offered] == ["cards__card"]
    unassigned = FakePlugin("cards", ["card"], assignments={"agent-2": 0})
    await setup.plugins.set(setup.one.id, unassigned)  # between the offer and the call
    got = await setup.tools.run_for_agent(setup.one, "agent-1", call("cards__card", '{"url": "x"}'), actor_id="u")
    assert not got.ok and got.error == {
        "kind": "refused",
        "message": "tool 'cards__card' is not available to this agent",
    }
    assert unassigned.calls == []
    [entry] = await setup.audit(setup.one)
    assert entry.action == "tool.refused" and entry.data["reason"] == "not one of the agent's tools"


async def test_another_workspaces_tool_and_an_unassigned_one_are_refused_alike(setup: Setup) -> None:
    theirs = FakePlugin("theirs", ["card"], assignments={"agent-1": 0})
    await setup.plugins.set(setup.two.id, theirs)
    mine = FakePlugin("mine", ["card", "other"], assignments={})
    await setup.plugins.set(setup.one.id, mine)
    for name in ("theirs__card", "mine__card", "nothing", "x" * 500):
        got = await setup.tools.run_for_agent(setup.one, "agent-1", call(name, "{}"), actor_id=None)
        assert not got.ok and got.error is not None and got.error["kind"] == "refused", name
    assert theirs.calls == [] and mine.calls == []
    assert [e.action for e in await setup.audit(setup.one)] == ["tool.refused"] * 4
    assert await setup.audit(setup.two) == []


@pytest.mark.parametrize(
    ("arguments", "kind", "field", "said"),
    [
        ("{not json", "arguments", None, "not JSON"),
        ("[1, 2]", "arguments", None, "must be a JSON object"),
        ("{}", "arguments", "arguments.url", "required"),
        ('{"url": "x", "options": {"depth": -1}}', "arguments", "arguments.options.depth", "minimum"),
        ('{"url": "x", "extra": 1}', "arguments", "arguments.extra", "not allowed"),
    ],
)
async def test_bad_arguments_go_back_to_the_model_naming_the_argument(
    setup: Setup, arguments: str, kind: str, field: str | None, said: str
) -> None:
    cards = FakePlugin("cards", ["card"], assignments={"agent-1": 0})
    await setup.plugins.set(setup.one.id, cards)
    got = await setup.tools.run_for_agent(setup.one, "agent-1", call("cards__card", arguments), actor_id=None)
    assert not got.ok and got.error is not None
    assert got.error["kind"] == kind and got.error.get("field") == field
    assert said in got.error["message"] or said in got.error["message"].lower(), got.error
    assert cards.calls == []


async def test_a_failing_or_unavailable_tool_is_a_result_not_an_exception(setup: Setup) -> None:
    await setup.plugins.set(setup.one.id, FakePlugin("p", ["boom", "down"], assignments={"agent-1": 0}))
    boom = await setup.tools.run_for_agent(setup.one, "agent-1", call("p__boom", '{"url": "x"}'), actor_id=None)
    down = await setup.tools.run_for_agent(setup.one, "agent-1", call("p__down", '{"url": "x"}'), actor_id=None)
    assert not boom.ok and boom.error is not None and boom.error["kind"] == "provider"
    assert "hunter2" not in str(boom.error)
    assert not down.ok and down.error is not None and down.error["kind"] == "unavailable"
    assert [e.data["error"] for e in await setup.audit(setup.one)] == ["provider", "unavailable"]


async def test_the_loop_with_the_offline_model_calls_the_agents_tools_and_answers(setup: Setup) -> None:
    cards = FakePlugin("cards", ["card"], assignments={"agent-1": 0})
    await setup.plugins.set(setup.one.id, cards)
    tools = await setup.tools.registry.agent_tools(setup.one, "agent-1")
    text = (
        'Make me a card.\n/tool cards__card {"url": "https://a.test"}\n/tool cards__card {"url": ""}\n/tool other__x {}'
    )

    async def execute(tool_call: ToolCall) -> Any:
        return await setup.tools.run_for_agent(setup.one, "agent-1", tool_call, actor_id="user-1")

    result = await run_tool_loop(
        OfflineProvider(),
        [ChatMessage(role="user", content=text)],
        model="offline-echo",
        tools=tools,
        execute=execute,
    )
    assert [(s.ok, s.error) for s in result.steps] == [(True, None), (False, "arguments"), (False, "refused")]
    assert cards.calls == [(setup.one.id, "cards__card", {"url": "https://a.test"})]
    assert result.completion.text.startswith('[offline] tool results: cards__card → {"ok":true')
    assert '"field":"arguments.url"' in result.steps[1].content
    assert [e.action for e in await setup.audit(setup.one)] == ["tool.invoke", "tool.refused"]
