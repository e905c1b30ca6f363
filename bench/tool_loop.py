"""The tool loop's overhead per call, net of the tool itself (issue 14: under 2 ms median).

On a running embedded kernel (SQLite, in-process KV) one workspace has a tool provider joined to its
view the way a plugin proxy is (``tests.tools.fakes.Plugins``), assigned to an agent, whose ``card``
tool does nothing but answer. Each round, side by side:

- **tool alone**: the provider's own ``execute`` (what the tool costs: nothing here);
- **per call through the agent's path**: the turn's ``execute`` as the chat builds it
  (:func:`automatos.chat.agent_tools.tool_use`) — its permissions checked again (its apps, the
  workspace's switches, its intents: the view's ``ToolPolicy``), the
  arguments parsed and checked against the JSON Schema, the tool run through the registry
  (contained, bounded) and the ``tool.invoke`` audit row written;
- **per call in the loop**: :func:`automatos.chat.tool_loop.run_tool_loop` with a scripted model
  that asks for ``--calls`` calls in one round and answers after the results, divided by the
  calls (the model's two answers included: they cost microseconds here).

Reported: medians over ``--rounds`` rounds of ``--runs`` calls, and the overhead = per call minus
tool alone. The audit row is a database write on every call; it is most of the figure.

Run: .venv/bin/python bench/tool_loop.py [--rounds 5] [--runs 300] [--calls 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import fmt, header, median, quiet, table, verdict

from automatos.agents import models as am
from automatos.chat.agent_tools import tool_use
from automatos.chat.records import TurnSettings
from automatos.chat.tool_loop import ToolLimits, run_tool_loop
from automatos.kernel.types import ChatMessage, Completion, ToolCall
from automatos.tools.permissions import ToolPermissions
from automatos.tools.registry import ToolRegistry
from automatos.tools.service import ToolService
from tests.helpers import running_kernel
from tests.tools.fakes import FakePlugin, Plugins
from tests.workspaces.helpers import new_workspace

GOAL_MS = 2.0
AGENT = "agent-bench"
ARGUMENTS = '{"url": "https://example.test/a"}'


class Scripted:
    """A model that asks for ``calls`` tool calls, then answers once it has their results."""

    name = "scripted"

    def __init__(self, calls: int) -> None:
        self.calls = calls

    async def complete(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Completion:
        if messages[-1].role == "tool" or options.get("tool_choice") == "none":
            return Completion(text="done", model=model)
        asked = tuple(ToolCall(id=f"c{i}", name="cards__card", arguments=ARGUMENTS) for i in range(self.calls))
        return Completion(text="", model=model, finish_reason="tool_calls", tool_calls=asked)

    def stream(self, messages: Sequence[ChatMessage], *, model: str, **options: Any) -> Any:
        raise NotImplementedError


async def run(rounds: int, runs: int, calls: int) -> int:
    with tempfile.TemporaryDirectory(prefix="automatos-bench-loop-") as tmp:
        async with running_kernel(Path(tmp)) as kernel:
            plugins = Plugins(kernel)
            await ToolPermissions(kernel).start()  # the ToolPolicy in the view, as the app has it
            workspace = await new_workspace(kernel, "bench", "Bench")
            async with kernel.store.sessionmaker.begin() as session:
                session.add(am.Agent(id=AGENT, workspace_id=workspace.id, slug="bench", name="Bench"))
            plugin = FakePlugin("cards", ["card"], assignments={AGENT: 0})
            await plugins.set(workspace.id, plugin)
            tools = ToolService(kernel, ToolRegistry(kernel))
            knobs = TurnSettings(
                max_message_chars=1000,
                history_limit=0,
                title_chars=80,
                temperature=None,
                max_tokens=100,
                base_prompt="",
            )
            use = await tool_use(tools, workspace, AGENT, knobs, actor_id="bench", request_id=None)
            assert use is not None
            specs = use.tools
            execute = use.execute
            call = ToolCall(id="c", name="cards__card", arguments=ARGUMENTS)

            for _ in range(50):  # warm: the schema checked once, the view built, SQLite's pages in
                await execute(call)
            alone: list[float] = []
            direct: list[float] = []
            looped: list[float] = []
            model = Scripted(calls)
            limits = ToolLimits(max_calls=calls, seconds=3600)
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(runs):
                    await plugin.execute(workspace.id, "cards__card", {"url": "https://example.test/a"})
                alone.append((time.perf_counter() - t0) * 1000 / runs)
                plugin.calls.clear()
                t0 = time.perf_counter()
                for _ in range(runs):
                    await execute(call)
                direct.append((time.perf_counter() - t0) * 1000 / runs)
                loops = max(1, runs // calls)
                t0 = time.perf_counter()
                for _ in range(loops):
                    done = await run_tool_loop(
                        model,
                        [ChatMessage(role="user", content="go")],
                        model="m",
                        tools=specs,
                        execute=execute,
                        limits=limits,
                    )
                    assert len(done.steps) == calls and all(s.ok for s in done.steps)
                looped.append((time.perf_counter() - t0) * 1000 / (loops * calls))
                plugin.calls.clear()
    overhead_direct = median(direct) - median(alone)
    overhead_loop = median(looped) - median(alone)
    header("The tool loop: overhead per call, net of the tool")
    table(
        ["measure", "ms per call (median)", "goal", "verdict"],
        [
            ["tool alone (the provider's execute)", fmt(median(alone)), "", ""],
            ["the turn's execute (checks, run, audit row)", fmt(median(direct)), "", ""],
            [f"in the loop ({calls} calls a round, scripted model)", fmt(median(looped)), "", ""],
            ["overhead, the turn's execute", fmt(overhead_direct), f"< {GOAL_MS}", verdict(overhead_direct < GOAL_MS)],
            ["overhead, in the loop", fmt(overhead_loop), f"< {GOAL_MS}", verdict(overhead_loop < GOAL_MS)],
        ],
    )
    print("per-round ms (direct / loop):", [f"{d:.3f}/{lp:.3f}" for d, lp in zip(direct, looped, strict=True)])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    quiet()
    return asyncio.run(run(args.rounds, args.runs, args.calls))


if __name__ == "__main__":
    raise SystemExit(main())
