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
- ``GET /api/agents/{agent}/tools`` (``agents.read``): what the agent's assigned plugins give it,
  in assignment order; 404 naming ``agent`` for an agent this workspace does not have.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.permissions import Permission
from automatos.kernel.types import ToolSpec
from automatos.tools.service import ToolInvocation

__all__ = ["AgentToolsController", "ToolInvoke", "ToolsController"]

INVOKE_BODY_BYTES = 1_048_576
"""The largest invoke body accepted (413 beyond): arguments are for a tool call, not uploads."""


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
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ToolSpec]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).tools().list(workspace, q=q, source=source, offset=offset, limit=limit)

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

    @get("/{agent:str}/tools", summary="The tools an agent's assigned plugins give it, in assignment order")
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
