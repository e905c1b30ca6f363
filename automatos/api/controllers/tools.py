"""The workspace's tools: ``/api/tools``, ``/api/tools/{name}``, ``…/invoke``, ``/api/agents/{agent}/tools``.

Thin: the workspace is the request's (``X-Workspace-ID``, the key's own, or the principal's
default); the rules are :mod:`automatos.tools.service`'s and :mod:`automatos.tools.registry`'s.

- ``GET /api/tools`` (``agents.read``): the workspace's tools — extensions' and its enabled
  plugins' — with their source, searched by ``q`` (name or description), filtered by ``source``,
  paged.
- ``GET /api/tools/{name}`` (``agents.read``): one tool with its JSON Schema; 404 when this
  workspace has no such tool (another workspace's tools do not exist here).
- ``POST /api/tools/{name}/invoke`` ``{"arguments": {...}}`` (``tools.use``): 200 with the
  outcome — ``ok`` and the result, or ``ok: false`` and the error (the shape of
  ``/api/sandbox/run``'s, ``limit`` and ``value`` for a limit); 422 naming the argument
  (``arguments.url``) when the arguments do not fit the schema, ``arguments`` when it is not an
  object; 404 for an unknown tool; 409 when the tool's own schema is invalid; 503 when the sandbox
  cannot run it now. The body is at most 1 MiB (413 beyond). Audited as ``tool.invoke`` with the
  arguments' sha256, never the arguments.
- ``GET /api/tools/apps`` (``agents.read``): the workspace's apps — ``(source, app)`` with the
  provider and how many tools are on and off — filtered by ``source``, paged. ``GET /api/tools``
  takes ``app`` too.
- ``GET /api/tools/config`` (``extensions.read``): the workspace's switches;
  ``PUT /api/tools/config/{source}/{app}/{tool}`` ``{"enabled": false}`` (``extensions.manage``)
  switches a tool (``tool`` = ``*``: the whole app) off or on; ``DELETE`` the same path removes the
  switch (404 when there is none).
- ``GET /api/agents/{agent}/tools`` (``agents.read``): what the agent may call now — its plugins'
  and apps' tools, less what is switched off, within its ``tool_intents``; 404 naming ``agent`` for
  an agent this workspace does not have.
- ``GET``/``PUT /api/agents/{agent}/apps`` (``agents.read``/``agents.manage``): the agent's apps of
  other sources than plugins, ``{"apps": [{"source": "mcp", "app": "files"}, …]}`` in order; each
  must be an app the workspace has now (422 naming ``apps[i]``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.permissions import Permission
from automatos.kernel.types import ToolSpec
from automatos.tools.permissions import AppRef, Switch
from automatos.tools.registry import AppSummary
from automatos.tools.service import ToolInvocation

__all__ = ["AgentToolsController", "ToolConfigController", "ToolInvoke", "ToolsController"]

INVOKE_BODY_BYTES = 1_048_576
"""The largest invoke body accepted (413 beyond): arguments are for a tool call, not uploads."""


class AgentApps(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    apps: list[AppRef]
    """The agent's apps of other sources than plugins, in order."""


class AgentAppsRecord(msgspec.Struct, kw_only=True):
    agent_id: str
    apps: list[AppRef]


class SwitchBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool


class ToolInvoke(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)
    """The tool's arguments: an object checked against the tool's JSON Schema (``parameters``)."""


class ToolsController(Controller):
    path = "/api/tools"
    tags = ["tools"]

    @get("/", summary="The workspace's tools (extensions' and enabled plugins'), with their source")
    async def list_tools(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Part of the name or description (case-insensitive)."),
        ] = None,
        source: Annotated[
            str | None, QueryParameter(max_length=50, description="Only tools of this source: plugin, builtin…")
        ] = None,
        app: Annotated[
            str | None, QueryParameter(max_length=100, description="Only tools of this app (GET /api/tools/apps).")
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ToolSpec]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).tools().list(workspace, q=q, source=source, app=app, offset=offset, limit=limit)

    @get("/apps", summary="The workspace's apps of every source, with how many tools each has on and off")
    async def list_apps(
        self,
        request: Request[Any, Any, Any],
        source: Annotated[
            str | None, QueryParameter(max_length=50, description="Only apps of this source: plugin, composio, mcp…")
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AppSummary]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).tools().apps(workspace, source=source, offset=offset, limit=limit)

    @get("/{name:str}", summary="One tool of the workspace, with the JSON Schema of its arguments")
    async def get_tool(self, request: Request[Any, Any, Any], name: FromPath[str]) -> ToolSpec:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).tools().get(workspace, name)

    @post(
        "/{name:str}/invoke",
        status_code=200,
        request_max_body_size=INVOKE_BODY_BYTES,
        summary="Invoke a tool with arguments checked against its schema; the answer says what it did",
        description=(
            "200 with the call's outcome: `ok` and `result`, or `ok` false with `error` (`kind`, `message`; "
            "`limit` and `value` when a sandbox limit stopped it) whatever the tool did; 422 naming the argument "
            "(`field`: `arguments.url`) when the arguments do not fit the tool's JSON Schema; 404 for a tool this "
            "workspace does not have; 409 when the tool's own schema is invalid; 503 when the sandbox cannot run "
            "it now. Needs `tools.use`; audited (`tool.invoke`) with the sha256 of the arguments, never the "
            "arguments."
        ),
    )
    async def invoke(
        self, request: Request[Any, Any, Any], name: FromPath[str], data: JSONBody[ToolInvoke]
    ) -> ToolInvocation:
        _, ctx = await request_context(request)
        return await services(request).tools().invoke(ctx, name, data.arguments)


class AgentToolsController(Controller):
    path = "/api/agents"
    tags = ["tools"]

    @get("/{agent:str}/tools", summary="What an agent may call now: its plugins' and apps' tools that are on")
    async def agent_tools(
        self,
        request: Request[Any, Any, Any],
        agent: FromPath[str],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ToolSpec]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        container = services(request)
        record = await container.agents().get_agent(workspace.id, agent)  # 404 naming agent: not this workspace's
        return await container.tools().agent_tools(workspace, record.id, offset=offset, limit=limit)

    @get("/{agent:str}/apps", summary="The agent's apps of other sources than plugins, in order")
    async def get_agent_apps(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentAppsRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        container = services(request)
        record = await container.agents().get_agent(workspace.id, agent)
        return AgentAppsRecord(
            agent_id=record.id, apps=await container.tool_permissions().agent_apps(workspace.id, record.id)
        )

    @put("/{agent:str}/apps", summary="Set the agent's apps (ordered; each an app the workspace has)")
    async def set_agent_apps(
        self, request: Request[Any, Any, Any], agent: FromPath[str], data: JSONBody[AgentApps]
    ) -> AgentAppsRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_MANAGE)
        container = services(request)
        record = await container.agents().get_agent(got.workspace.id, agent)
        known = {(a.source, a.app) for a in await container.tool_registry().apps(got.workspace)}
        apps = await container.tool_permissions().set_agent_apps(
            got.workspace.id, record.id, data.apps, known=known, actor_id=got.principal.id, request_id=got.request_id
        )
        return AgentAppsRecord(agent_id=record.id, apps=apps)


class ToolConfigController(Controller):
    path = "/api/tools/config"
    tags = ["tools"]

    @get("/", summary="The workspace's tool switches (tools or whole apps switched off or on)")
    async def list_switches(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[Switch]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.EXTENSIONS_READ).workspace
        return await services(request).tool_permissions().switches(workspace.id, offset=offset, limit=limit)

    @put("/{source:str}/{app:str}/{tool:str}", summary="Switch a tool (tool '*': its whole app) off or on")
    async def set_switch(
        self,
        request: Request[Any, Any, Any],
        source: FromPath[str],
        app: FromPath[str],
        tool: FromPath[str],
        data: JSONBody[SwitchBody],
    ) -> Switch:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        switch = (
            await services(request)
            .tool_permissions()
            .switch(
                got.workspace.id, source, app, tool, data.enabled, actor_id=got.principal.id, request_id=got.request_id
            )
        )
        assert switch is not None
        return switch

    @delete("/{source:str}/{app:str}/{tool:str}", summary="Remove a switch (the tool is on again)", status_code=204)
    async def clear_switch(
        self, request: Request[Any, Any, Any], source: FromPath[str], app: FromPath[str], tool: FromPath[str]
    ) -> None:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        await (
            services(request)
            .tool_permissions()
            .switch(got.workspace.id, source, app, tool, None, actor_id=got.principal.id, request_id=got.request_id)
        )
