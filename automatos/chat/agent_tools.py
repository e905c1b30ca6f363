"""What an agent's turn may call: its tools, or the two meta-tools over them, and how calls run.

:func:`tool_use` builds the turn's :class:`~automatos.chat.tool_loop.ToolUse`:

- the tools the agent may call (:meth:`ToolRegistry.agent_tools
  <automatos.tools.registry.ToolRegistry.agent_tools>`: its plugins and apps, less what the
  workspace switched off, within the intents its configuration allows — ``agents.tool_intents``);
- more of them than ``chat.tool_meta_threshold`` → the model is offered ``search_tools`` and
  ``call_tool`` instead (:mod:`automatos.tools.meta`), so a catalogue of hundreds costs two
  schemas of prompt;
- every call runs through :meth:`ToolService.run_for_agent
  <automatos.tools.service.ToolService.run_for_agent>`, which checks the permissions **again**,
  reading the agent's intents anew (one small query), since they may have changed since the tools
  were offered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from automatos.agents import models as am
from automatos.chat.tool_loop import ToolLimits, ToolUse
from automatos.tools.meta import MetaTools
from automatos.tools.permissions import DEFAULT_INTENTS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from automatos.chat.records import TurnSettings
    from automatos.kernel.types import ToolCall, ToolResult, ToolSpec, Workspace
    from automatos.tools.service import ToolService

__all__ = ["intents_of", "tool_use"]

log = logging.getLogger("automatos.chat")


def intents_of(stored: Sequence[str] | None) -> frozenset[str]:
    """An agent's allowed intents from its row (``null``: read and write)."""
    return DEFAULT_INTENTS if stored is None else frozenset(stored)


async def tool_use(
    runner: ToolService,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    agent_id: str,
    stored_intents: Sequence[str] | None,
    knobs: TurnSettings,
    *,
    actor_id: str | None,
    request_id: str | None,
) -> ToolUse | None:
    """The turn's tools and how its calls run, or ``None`` when the agent may call none. A registry
    that fails is logged and the turn goes on without tools."""
    if knobs.tool_max_calls == 0:
        return None
    intents = intents_of(stored_intents)
    try:
        tools = await runner.registry.agent_tools(workspace, agent_id, intents)
    except Exception:
        log.exception("workspace %s: agent %s: its tools could not be listed", workspace.id, agent_id)
        return None
    if not tools:
        return None

    async def current_intents() -> frozenset[str]:
        async with sessionmaker() as session:
            row = await session.scalar(
                select(am.Agent.tool_intents).where(am.Agent.workspace_id == workspace.id, am.Agent.id == agent_id)
            )
        return intents_of(row)

    async def run(call: ToolCall) -> ToolResult:
        return await runner.run_for_agent(
            workspace, agent_id, call, actor_id=actor_id, request_id=request_id, intents=current_intents
        )

    limits = ToolLimits(
        max_calls=knobs.tool_max_calls, seconds=knobs.tool_seconds, result_chars=knobs.tool_result_chars
    )
    if len(tools) <= knobs.tool_meta_threshold:
        return ToolUse(tools=tools, execute=run, limits=limits)

    async def allowed() -> list[ToolSpec]:
        return await runner.registry.agent_tools(workspace, agent_id, await current_intents())

    meta = MetaTools(allowed, run)
    return ToolUse(tools=list(meta.specs), execute=meta.execute, limits=limits)
