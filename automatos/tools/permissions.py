"""Who may use which tool: agents' apps, the workspace's tool switches, agents' intents.

Three rules decide whether an agent may call a tool, checked when the tools are offered to its
model **and again when a call runs** (any of them may change in between):

1. **Assignment** — the tool's app is one of the agent's: a marketplace plugin assigned to it
   (``agent_plugins``, the marketplace's), or an app of another source listed in
   ``agent_app_assignments`` (``(source, app)``: ``composio``/``github``, ``mcp``/``<server>``,
   ``builtin``/``<extension>``).
2. **Switches** — the workspace has not switched the tool, or its whole app (``tool = '*'``), off
   (``workspace_tool_config``; no row means on; a row for the tool wins over its app's). A tool
   that is off is also refused to ``POST /api/tools/{name}/invoke`` (403 naming ``name``).
3. **Intents** — the tool's :attr:`~automatos.kernel.types.ToolSpec.intent` (``read``, ``write``,
   ``destructive``) is one the agent's configuration allows (``agents.tool_intents``; unset means
   ``read`` and ``write``: destructive tools need an explicit opt-in).

All three are read with the workspace's view: :meth:`ToolPermissions.policy` is an extras loader
(:meth:`WorkspaceViews.add_extras <automatos.kernel.views.WorkspaceViews.add_extras>`) that joins
one :class:`ToolPolicy` to the view, so neither offering tools nor checking a call reads a
database. Every write here takes the workspace's lock, writes, bumps ``extensions_version`` and
adds its audit entry (``agent.apps_set``, ``tool.switched``, ``tool.switch_cleared``) in one
transaction, then rebuilds this node's view and tells the others
(:mod:`automatos.kernel.view_versions`); the agents service does the same when an agent's
``tool_intents`` change. The agents' intents come from a loader the composition root hands in
(``AgentService.tool_intents``: this package does not import ``agents/``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import msgspec
from sqlalchemy import delete, func, select

from automatos.kernel.errors import NotFoundError, ValidationError, echo
from automatos.kernel.http import Page
from automatos.kernel.store import KernelStore, lock_workspace
from automatos.kernel.view_versions import bump, join_views, publish_versions
from automatos.tools.models import AgentAppAssignment, WorkspaceToolConfig

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import ToolSpec

__all__ = [
    "DEFAULT_INTENTS",
    "INTENTS",
    "SOURCES",
    "AppRef",
    "Switch",
    "ToolPermissions",
    "ToolPolicy",
    "app_of",
]

INTENTS = ("read", "write", "destructive")
"""What calling a tool may do, from least to most."""
DEFAULT_INTENTS = frozenset({"read", "write"})
"""An agent whose configuration names no intents may call these."""
SOURCES = ("builtin", "plugin", "composio", "mcp")
"""Where tools come from."""
APP_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,99}$")
"""An app's name as assignments and switches take it."""
ANY_TOOL = "*"
"""A switch's ``tool`` for the whole app."""
MAX_APPS = 100
"""Apps one agent may be given at the most."""

Intent = Literal["read", "write", "destructive"]
Source = Literal["builtin", "plugin", "composio", "mcp"]


def app_of(spec: ToolSpec) -> str:
    """The app of a tool: its own ``app``, else its provider's name without the ``plugin:`` prefix."""
    return spec.app or spec.provider.split(":", 1)[-1]


class AppRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One app: ``source`` and ``app`` as the registry lists them (``GET /api/tools/apps``)."""

    source: Source
    app: str


class Switch(msgspec.Struct, frozen=True, kw_only=True):
    """A tool (or its whole app, ``tool: "*"``) switched on or off in the workspace."""

    source: str
    app: str
    tool: str
    enabled: bool


class ToolPolicy:
    """One workspace's assignments, switches and agents' intents, joined to its view (read with it,
    never per request). Not a provider of anything: the registry finds it among the view's extras."""

    name = "automatos:tool-policy"
    """Like the other extras of a view (what a listing of them keys them by)."""

    def __init__(
        self,
        workspace_id: str,
        apps: Mapping[str, Mapping[tuple[str, str], int]],
        switches: Mapping[tuple[str, str, str], bool],
        intents: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.apps = apps
        """agent id → {(source, app): position}."""
        self.switches = switches
        """(source, app, tool or ``*``) → enabled."""
        self.intents: Mapping[str, frozenset[str]] = intents or {}
        """agent id → its allowed intents, for the agents that set theirs."""

    def intents_of(self, agent_id: str) -> frozenset[str]:
        """What the agent's tool calls may do (:data:`DEFAULT_INTENTS` unless it says)."""
        return self.intents.get(agent_id, DEFAULT_INTENTS)

    def enabled(self, spec: ToolSpec) -> bool:
        """Whether the workspace has the tool on: its own switch, else its app's, else on."""
        if not self.switches:
            return True
        app = app_of(spec)
        own = self.switches.get((spec.source, app, spec.name))
        if own is not None:
            return own
        return self.switches.get((spec.source, app, ANY_TOOL), True)

    def position(self, agent_id: str, spec: ToolSpec) -> int | None:
        """The tool's app's position among the agent's apps, or ``None`` when it is not one of them."""
        mine = self.apps.get(agent_id)
        return None if mine is None else mine.get((spec.source, app_of(spec)))


EMPTY_POLICY = ToolPolicy("", {}, {})


def check_intents(intents: Sequence[str] | None, field: str = "tool_intents") -> list[str] | None:
    """``intents`` as stored: known ones, deduplicated in :data:`INTENTS` order (422 naming the item)."""
    if intents is None:
        return None
    for index, intent in enumerate(intents):
        if intent not in INTENTS:
            raise ValidationError(
                f"{field}[{index}]: {echo(str(intent))} is not an intent (one of: {', '.join(INTENTS)})",
                field=f"{field}[{index}]",
            )
    return [i for i in INTENTS if i in intents]


IntentsLoader = Callable[[str], Awaitable[Mapping[str, Sequence[str]]]]
"""``intents(workspace_id) -> {agent id: intents}`` for the agents that set theirs."""


class ToolPermissions:
    """The one writer of ``agent_app_assignments`` and ``workspace_tool_config``, and their loader."""

    def __init__(self, kernel: Kernel, intents: IntentsLoader | None = None) -> None:
        self.kernel = kernel
        self.intents = intents
        """The agents' intents (``AgentService.tool_intents``); ``None``: every agent has the default."""
        self._started = False

    async def start(self) -> None:
        """Join each workspace's :class:`ToolPolicy` to its view from now on (once per process)."""
        if not self._started:
            self._started = True
            await join_views(self.kernel, self.policy, "its tool policy")

    async def policy(self, workspace_id: str) -> list[ToolPolicy]:
        """The extras loader: the workspace's assignments and switches, two small queries."""
        async with self.kernel.store.sessionmaker() as session:
            assigned = (
                await session.execute(
                    select(
                        AgentAppAssignment.agent_id,
                        AgentAppAssignment.source,
                        AgentAppAssignment.app,
                        AgentAppAssignment.position,
                    ).where(AgentAppAssignment.workspace_id == workspace_id)
                )
            ).all()
            switched = (
                await session.execute(
                    select(
                        WorkspaceToolConfig.source,
                        WorkspaceToolConfig.app,
                        WorkspaceToolConfig.tool,
                        WorkspaceToolConfig.enabled,
                    ).where(WorkspaceToolConfig.workspace_id == workspace_id)
                )
            ).all()
        apps: dict[str, dict[tuple[str, str], int]] = {}
        for agent_id, source, app, position in assigned:
            apps.setdefault(agent_id, {})[(source, app)] = int(position)
        switches = {(source, app, tool): bool(enabled) for source, app, tool, enabled in switched}
        intents: dict[str, frozenset[str]] = {}
        if self.intents is not None:
            intents = {agent: frozenset(i) for agent, i in (await self.intents(workspace_id)).items()}
        return [ToolPolicy(workspace_id, apps, switches, intents)]

    # --- agents' apps ------------------------------------------------------------------------------

    async def agent_apps(self, workspace_id: str, agent_id: str) -> list[AppRef]:
        async with self.kernel.store.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(AgentAppAssignment.source, AgentAppAssignment.app)
                    .where(AgentAppAssignment.workspace_id == workspace_id, AgentAppAssignment.agent_id == agent_id)
                    .order_by(AgentAppAssignment.position, AgentAppAssignment.source, AgentAppAssignment.app)
                )
            ).all()
        return [msgspec.convert({"source": source, "app": app}, AppRef) for source, app in rows]

    async def set_agent_apps(
        self,
        workspace_id: str,
        agent_id: str,
        apps: Sequence[AppRef],
        *,
        known: set[tuple[str, str]],
        actor_id: str | None,
        request_id: str | None = None,
    ) -> list[AppRef]:
        """Replace the agent's apps with ``apps``, in that order. Each must be an app the workspace
        has now (``known``, from the registry; a plugin's own assignment is ``PUT
        /api/agents/{agent}/plugins``): else 422 naming ``apps[i]``; duplicates are dropped."""
        if len(apps) > MAX_APPS:
            raise ValidationError(f"apps: at most {MAX_APPS} apps", field="apps")
        ordered: list[AppRef] = []
        for index, ref in enumerate(apps):
            field = f"apps[{index}]"
            if ref.source == "plugin":
                raise ValidationError(
                    f"{field}: plugins are given to agents with PUT /api/agents/{{agent}}/plugins", field=field
                )
            if (ref.source, ref.app) not in known:
                raise ValidationError(
                    f"{field}: this workspace has no {ref.source} app {echo(ref.app)} (GET /api/tools/apps lists them)",
                    field=field,
                )
            if ref not in ordered:
                ordered.append(ref)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            await session.execute(
                delete(AgentAppAssignment).where(
                    AgentAppAssignment.workspace_id == workspace_id, AgentAppAssignment.agent_id == agent_id
                )
            )
            session.add_all(
                AgentAppAssignment(
                    workspace_id=workspace_id, agent_id=agent_id, source=ref.source, app=ref.app, position=position
                )
                for position, ref in enumerate(ordered)
            )
            version = await bump(session, workspace_id)
            data = {"apps": [f"{ref.source}:{ref.app}" for ref in ordered]}
            KernelStore._audit(session, workspace_id, actor_id, "agent.apps_set", "agent", agent_id, data, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return ordered

    async def forget_agent(self, workspace_id: str, agent_id: str) -> None:
        """Drop an archived agent's apps (no audit entry of its own: the archive has one)."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            gone = await session.execute(
                delete(AgentAppAssignment).where(
                    AgentAppAssignment.workspace_id == workspace_id, AgentAppAssignment.agent_id == agent_id
                )
            )
            version = await bump(session, workspace_id) if getattr(gone, "rowcount", 0) else None
        if version is not None:
            await publish_versions(self.kernel, [(workspace_id, version)])

    # --- the workspace's switches ------------------------------------------------------------------

    async def switches(self, workspace_id: str, *, offset: int = 0, limit: int = 100) -> Page[Switch]:
        where = WorkspaceToolConfig.workspace_id == workspace_id
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(WorkspaceToolConfig).where(where)) or 0)
            rows = (
                await session.execute(
                    select(
                        WorkspaceToolConfig.source,
                        WorkspaceToolConfig.app,
                        WorkspaceToolConfig.tool,
                        WorkspaceToolConfig.enabled,
                    )
                    .where(where)
                    .order_by(WorkspaceToolConfig.source, WorkspaceToolConfig.app, WorkspaceToolConfig.tool)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        items = [Switch(source=s, app=a, tool=t, enabled=bool(e)) for s, a, t, e in rows]
        return Page(items=items, total=total, offset=offset, limit=limit)

    async def switch(
        self,
        workspace_id: str,
        source: str,
        app: str,
        tool: str,
        enabled: bool | None,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> Switch | None:
        """Switch a tool (``tool = '*'``: the app) on or off; ``enabled=None`` removes the switch
        (404 when there is none). ``source``, ``app`` and ``tool`` are checked (422 naming them)."""
        if source not in SOURCES:
            raise ValidationError(f"source: one of {', '.join(SOURCES)}", field="source")
        if not APP_NAME.fullmatch(app):
            raise ValidationError("app: 1-100 letters, digits, '_', '-', '.', ':'", field="app")
        if tool != ANY_TOOL and not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", tool):
            raise ValidationError("tool: a tool's name (1-64 letters, digits, '_', '-') or '*'", field="tool")
        key = (
            WorkspaceToolConfig.workspace_id == workspace_id,
            WorkspaceToolConfig.source == source,
            WorkspaceToolConfig.app == app,
            WorkspaceToolConfig.tool == tool,
        )
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await session.scalar(select(WorkspaceToolConfig).where(*key))
            target = f"{source}:{app}:{tool}"
            if enabled is None:
                if row is None:
                    raise NotFoundError(f"no switch for {echo(target)} in this workspace", field="tool")
                await session.delete(row)
                action = "tool.switch_cleared"
            elif row is None:
                session.add(
                    WorkspaceToolConfig(
                        workspace_id=workspace_id,
                        source=source,
                        app=app,
                        tool=tool,
                        enabled=enabled,
                        updated_by=actor_id,
                    )
                )
                action = "tool.switched"
            else:
                row.enabled = enabled
                row.updated_by = actor_id
                action = "tool.switched"
            version = await bump(session, workspace_id)
            data = {"source": source, "app": app, "tool": tool, "enabled": enabled}
            KernelStore._audit(session, workspace_id, actor_id, action, "tool", target, data, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return None if enabled is None else Switch(source=source, app=app, tool=tool, enabled=enabled)
