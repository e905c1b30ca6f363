"""What an agent's turn may call: its tools, or the two meta-tools over them, and how calls run.

:func:`tool_use` builds the turn's :class:`~automatos.chat.tool_loop.ToolUse`:

- the tools the agent may call (:meth:`ToolRegistry.agent_tools
  <automatos.tools.registry.ToolRegistry.agent_tools>`: its plugins and apps, less what the
  workspace switched off, within the intents its configuration allows — ``agents.tool_intents``);
- more of them than ``chat.tool_meta_threshold`` → the model is offered ``search_tools`` and
  ``call_tool`` instead (:mod:`automatos.tools.meta`), so a catalogue of hundreds costs two
  schemas of prompt;
- every call runs through :meth:`ToolService.run_for_agent
  <automatos.tools.service.ToolService.run_for_agent>`, which checks the permissions **again** as
  the workspace's view holds them when the call runs (an assignment, a switch or the agent's
  intents may have changed since the tools were offered; every change rebuilds the view).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from automatos.chat.tool_loop import ToolLimits, ToolUse
from automatos.tools.meta import MetaTools

if TYPE_CHECKING:
    from automatos.chat.records import TurnSettings
    from automatos.kernel.types import ToolCall, ToolResult, ToolSpec, Workspace
    from automatos.tools.service import ToolService

__all__ = ["tool_use"]

log = logging.getLogger("automatos.chat")


async def tool_use(
    runner: ToolService,
    workspace: Workspace,
    agent_id: str,
    knobs: TurnSettings,
    *,
    actor_id: str | None,
    request_id: str | None,
) -> ToolUse | None:
    """The turn's tools and how its calls run, or ``None`` when the agent may call none. A registry
    that fails is logged and the turn goes on without tools."""
    if knobs.tool_max_calls == 0:
        return None
    try:
        tools = await runner.registry.agent_tools(workspace, agent_id)
    except Exception:
        log.exception("workspace %s: agent %s: its tools could not be listed", workspace.id, agent_id)
        return None
    if not tools:
        return None

    async def run(call: ToolCall) -> ToolResult:
        return await runner.run_for_agent(workspace, agent_id, call, actor_id=actor_id, request_id=request_id)

    limits = ToolLimits(
        max_calls=knobs.tool_max_calls, seconds=knobs.tool_seconds, result_chars=knobs.tool_result_chars
    )
    if len(tools) <= knobs.tool_meta_threshold:
        return ToolUse(tools=tools, execute=run, limits=limits)

    async def allowed() -> list[ToolSpec]:
        return await runner.registry.agent_tools(workspace, agent_id)

    meta = MetaTools(allowed, run)
    return ToolUse(tools=list(meta.specs), execute=meta.execute, limits=limits)
