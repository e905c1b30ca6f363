"""Marketplace plugins in workspaces: the catalogue, enabling per workspace, agents' plugins.

- ``GET /api/marketplace/plugins`` (``?category=&q=&offset=&limit=``) and ``…/{slug}``: approved,
  active plugins, for any member of the request's workspace (``extensions.read``).
- ``/api/workspaces/{workspace_id}/plugins``: the workspace's plugins (``extensions.read``; the
  reason of a quarantine only for callers holding ``extensions.manage``), enabling (``POST``),
  disabling (``DELETE …/{slug}``), configuration (``PATCH …/{slug}``), ``POST …/{slug}/upgrade``
  and ``POST …/{slug}/restore`` (a quarantined plugin, active again) — ``extensions.manage``.
- ``/api/agents/{agent}/plugins``: an agent of the request's workspace and its ordered plugins
  (``GET``: ``agents.read``; ``PUT``: ``agents.manage``); the agent is looked up through the agents
  service first, so another workspace's agent is a 404.

Configuration values are never answered: only which keys are set. The rules, the audit entries and
the propagation to every node are the service's (:mod:`automatos.marketplace.runtime.service`).
With ``FEATURE_MARKETPLACE`` off every route here answers 503 (``marketplace-unavailable``) after
authentication; plugins already enabled keep running.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import in_workspace, request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.http import Scoped
from automatos.kernel.permissions import Permission, allowed
from automatos.marketplace.runtime.records import (
    AgentPluginsRecord,
    AgentPluginsRequest,
    CatalogueEntry,
    ConfigRequest,
    EnableRequest,
    UpgradeRequest,
    WorkspacePluginRecord,
)
from automatos.marketplace.runtime.service import PluginsService

__all__ = ["AgentPluginsController", "CatalogueController", "WorkspacePluginsController"]

CategoryFilter = Annotated[
    str | None, QueryParameter(max_length=100, description="Only plugins of this category (its slug).")
]
Search = Annotated[
    str | None,
    QueryParameter(max_length=200, description="Part of the name, slug or description (case-insensitive)."),
]


def _service(request: Request[Any, Any, Any]) -> PluginsService:
    service: PluginsService = services(request).plugins()
    service.require_enabled()
    return service


def _manager(got: Scoped) -> bool:
    scopes = got.principal.scopes
    return any(allowed(role, Permission.EXTENSIONS_MANAGE, scopes) for role in got.ctx.roles)


def _seen(record: WorkspacePluginRecord, *, manager: bool) -> WorkspacePluginRecord:
    return record if manager else msgspec.structs.replace(record, status_reason=None)


class CatalogueController(Controller):
    path = "/api/marketplace/plugins"
    tags = ["plugins"]

    @get("/", summary="The catalogue: approved, active plugins")
    async def list_catalogue(
        self,
        request: Request[Any, Any, Any],
        category: CategoryFilter = None,
        q: Search = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[CatalogueEntry]:
        _, ctx = await request_context(request)
        scoped(ctx, Permission.EXTENSIONS_READ)
        items, total = await _service(request).plugins(category=category, q=q, offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{slug:str}", summary="One plugin of the catalogue")
    async def get_catalogue_plugin(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> CatalogueEntry:
        _, ctx = await request_context(request)
        scoped(ctx, Permission.EXTENSIONS_READ)
        return await _service(request).plugin(slug)


class WorkspacePluginsController(Controller):
    path = "/api/workspaces/{workspace_id:str}/plugins"
    tags = ["plugins"]

    async def _scoped(self, request: Request[Any, Any, Any], workspace_id: str, permission: Permission) -> Scoped:
        kernel, ctx = await request_context(request)
        return await in_workspace(kernel, ctx, workspace_id, permission)

    @get("/", summary="Plugins enabled in this workspace")
    async def list_workspace_plugins(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[WorkspacePluginRecord]:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_READ)
        items, total = await _service(request).workspace_plugins(got.workspace.id, offset=offset, limit=limit)
        manager = _manager(got)
        return Page(items=[_seen(i, manager=manager) for i in items], total=total, offset=offset, limit=limit)

    @post("/", summary="Enable an approved plugin in this workspace", status_code=201)
    async def enable_plugin(
        self, request: Request[Any, Any, Any], workspace_id: FromPath[str], data: JSONBody[EnableRequest]
    ) -> WorkspacePluginRecord:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_MANAGE)
        return await _service(request).enable(
            got.workspace.id,
            data.slug,
            version=data.version,
            config=data.config,
            actor_id=got.principal.id,
            request_id=got.request_id,
        )

    @get("/{slug:str}", summary="One plugin enabled in this workspace")
    async def get_workspace_plugin(
        self, request: Request[Any, Any, Any], workspace_id: FromPath[str], slug: FromPath[str]
    ) -> WorkspacePluginRecord:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_READ)
        record = await _service(request).workspace_plugin(got.workspace.id, slug)
        return _seen(record, manager=_manager(got))

    @delete("/{slug:str}", summary="Disable a plugin here (its agent assignments go too)", status_code=204)
    async def disable_plugin(
        self, request: Request[Any, Any, Any], workspace_id: FromPath[str], slug: FromPath[str]
    ) -> None:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_MANAGE)
        await _service(request).disable(got.workspace.id, slug, actor_id=got.principal.id, request_id=got.request_id)

    @patch("/{slug:str}", summary="Replace the plugin's configuration in this workspace")
    async def configure_plugin(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        slug: FromPath[str],
        data: JSONBody[ConfigRequest],
    ) -> WorkspacePluginRecord:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_MANAGE)
        return await _service(request).configure(
            got.workspace.id, slug, data.config, actor_id=got.principal.id, request_id=got.request_id
        )

    @post("/{slug:str}/upgrade", summary="Switch to a newer approved version (the newest by default)", status_code=200)
    async def upgrade_plugin(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[str],
        slug: FromPath[str],
        data: JSONBody[UpgradeRequest],
    ) -> WorkspacePluginRecord:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_MANAGE)
        return await _service(request).upgrade(
            got.workspace.id, slug, version=data.version, actor_id=got.principal.id, request_id=got.request_id
        )

    @post("/{slug:str}/restore", summary="Make a quarantined plugin active again", status_code=200)
    async def restore_plugin(
        self, request: Request[Any, Any, Any], workspace_id: FromPath[str], slug: FromPath[str]
    ) -> WorkspacePluginRecord:
        got = await self._scoped(request, workspace_id, Permission.EXTENSIONS_MANAGE)
        return await _service(request).restore(
            got.workspace.id, slug, actor_id=got.principal.id, request_id=got.request_id
        )


class AgentPluginsController(Controller):
    path = "/api/agents/{agent:str}/plugins"
    tags = ["plugins"]

    @get("/", summary="The agent's plugins, in order")
    async def get_agent_plugins(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentPluginsRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_READ)
        found = await services(request).agents().get_agent(got.workspace.id, agent)
        slugs = await _service(request).agent_plugins(got.workspace.id, found.id)
        return AgentPluginsRecord(agent_id=found.id, plugins=slugs)

    @put("/", summary="Set the agent's plugins (ordered; each enabled in the workspace)")
    async def set_agent_plugins(
        self, request: Request[Any, Any, Any], agent: FromPath[str], data: JSONBody[AgentPluginsRequest]
    ) -> AgentPluginsRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_MANAGE)
        found = await services(request).agents().get_agent(got.workspace.id, agent)
        slugs = await _service(request).set_agent_plugins(
            got.workspace.id, found.id, data.plugins, actor_id=got.principal.id, request_id=got.request_id
        )
        return AgentPluginsRecord(agent_id=found.id, plugins=slugs)
