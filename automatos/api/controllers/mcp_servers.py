"""The workspace's MCP servers: ``/api/tools/mcp-servers`` — their tools join ``/api/tools``.

Thin: the workspace is the request's (``X-Workspace-ID``, the key's own, or the principal's
default); every route needs ``extensions.manage`` there (workspace admins). The rules, the audit
entries and the views' rebuild are the service's (:mod:`automatos.tools.mcp.servers`).

- ``GET /`` (paged), ``GET /{id}``: the servers, with their status and tools; header values are
  never answered, only their names.
- ``POST /`` ``{name, transport, url | command, headers}``: 201; the server's tools are listed once
  (a server that is down is saved ``unavailable`` with the reason). ``transport: stdio`` only for a
  platform admin (403 naming ``transport``).
- ``PATCH /{id}`` ``{enabled, url, headers}``, ``DELETE /{id}`` (204), ``POST /{id}/refresh``
  (lists the tools again; answers the server with its status and tools).
- Another workspace's server is a 404 naming ``id``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from automatos.api.dependencies import Scoped, request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.permissions import Permission
from automatos.tools.mcp.servers import McpServerCreate, McpServerPatch, McpServerRecord, McpServers

__all__ = ["McpServersController"]


async def _admin(request: Request[Any, Any, Any]) -> tuple[McpServers, Scoped]:
    _, ctx = await request_context(request)
    got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
    return services(request).mcp_servers(), got


class McpServersController(Controller):
    path = "/api/tools/mcp-servers"
    tags = ["tools"]

    @get("/", summary="The workspace's MCP servers (header values never answered)")
    async def list_mcp_servers(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[McpServerRecord]:
        service, got = await _admin(request)
        items, total = await service.list_servers(got.workspace.id, offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @post(
        "/",
        status_code=201,
        summary="Add an MCP server; its tools are listed once and join the workspace's tools",
        description=(
            "`transport` `http` (streamable HTTP at `url`) or `stdio` (`command`, platform admins only: 403 naming "
            "`transport`). `headers` are stored encrypted and never answered. A server that is down is saved with "
            "`status` `unavailable` and `status_reason`."
        ),
    )
    async def create_mcp_server(
        self, request: Request[Any, Any, Any], data: JSONBody[McpServerCreate]
    ) -> McpServerRecord:
        service, got = await _admin(request)
        return await service.create(
            got.workspace.id,
            data,
            platform_admin=got.principal.is_platform_admin,
            actor_id=got.principal.id,
            request_id=got.request_id,
        )

    @get("/{server_id:str}", summary="One MCP server of the workspace")
    async def get_mcp_server(self, request: Request[Any, Any, Any], server_id: FromPath[str]) -> McpServerRecord:
        service, got = await _admin(request)
        return await service.get(got.workspace.id, server_id)

    @patch("/{server_id:str}", summary="Enable or disable an MCP server, or change its url or headers")
    async def update_mcp_server(
        self, request: Request[Any, Any, Any], server_id: FromPath[str], data: JSONBody[McpServerPatch]
    ) -> McpServerRecord:
        service, got = await _admin(request)
        return await service.update(
            got.workspace.id, server_id, data, actor_id=got.principal.id, request_id=got.request_id
        )

    @delete("/{server_id:str}", status_code=204, summary="Remove an MCP server (its tools leave the workspace)")
    async def delete_mcp_server(self, request: Request[Any, Any, Any], server_id: FromPath[str]) -> None:
        service, got = await _admin(request)
        await service.delete(got.workspace.id, server_id, actor_id=got.principal.id, request_id=got.request_id)

    @post("/{server_id:str}/refresh", status_code=200, summary="List the server's tools again; answers its status")
    async def refresh_mcp_server(self, request: Request[Any, Any, Any], server_id: FromPath[str]) -> McpServerRecord:
        service, got = await _admin(request)
        return await service.refresh(got.workspace.id, server_id, actor_id=got.principal.id, request_id=got.request_id)
