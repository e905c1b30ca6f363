"""Agents, personas and skills of the caller's workspace: ``/api/agents``, ``/api/personas``, ``/api/skills``.

Archived agents keep their slug: they are read by id or slug with ``status: archived``, listed with
``?include_archived=true``, restored with ``POST /api/agents/{id}/restore`` (``agents.manage``), and
a new agent cannot take their slug (409 saying it belongs to an archived agent). Paused agents are
listed and read like active ones (``status: paused``); chat and ``/v1`` do not serve them.

The workspace is the request's (``X-Workspace-ID``, the key's own workspace, or the principal's
default), as for API keys. Reading needs ``agents.read`` (viewers), writing ``agents.manage``
(members). Personas and skills list the platform's rows next to the workspace's own; a workspace
writes only its own (403 on a platform row). Platform admins write the platform's rows through the
same routes with ``?scope=platform``. The rules are :mod:`automatos.agents.catalog`'s.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UnsetType

from automatos.agents.catalog import (
    AgentCreate,
    AgentRecord,
    AgentUpdate,
    CatalogService,
    PersonaCreate,
    PersonaRecord,
    PersonaUpdate,
    Scope,
    SkillCreate,
    SkillRecord,
    SkillUpdate,
    llm_provider_names,
)
from automatos.agents.records import ModelSettings
from automatos.api.dependencies import request_context, require_platform_admin, scoped
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.core import Kernel
from automatos.kernel.permissions import Permission
from automatos.kernel.types import Principal, RequestContext, Workspace

__all__ = ["AgentsController", "PersonasController", "SkillsController"]

AgentStatusFilter = Annotated[
    Literal["active", "paused", "archived"] | None,
    QueryParameter(description="Only agents with this status (archived ones are listed only when asked for)."),
]
OwnedStatusFilter = Annotated[
    Literal["active", "archived"] | None,
    QueryParameter(description="Only rows with this status (archived ones are listed only when asked for)."),
]
ScopeFilter = Annotated[
    Scope | None, QueryParameter(name="scope", description="Only the platform's rows, or only the workspace's own.")
]
WriteScope = Annotated[
    Scope,
    QueryParameter(name="scope", description="``platform`` changes the platform's rows: platform admins only."),
]
Search = Annotated[
    str | None, QueryParameter(max_length=200, description="Part of the name or slug (case-insensitive).")
]


def _service(kernel: Kernel) -> CatalogService:
    return CatalogService(kernel.store.sessionmaker)


def _scoped(ctx: RequestContext, permission: Permission) -> tuple[Principal, Workspace]:
    got = scoped(ctx, permission)
    return got.principal, got.workspace


def _reader(ctx: RequestContext) -> str | None:
    """The workspace whose rows (next to the platform's) the caller reads; ``None``: the platform's only.

    A platform admin acting in no workspace reads the platform's rows; everyone else needs
    ``agents.read`` in the request's workspace.
    """
    if ctx.principal is not None and ctx.workspace is None and ctx.principal.is_platform_admin:
        return None
    return _scoped(ctx, Permission.AGENTS_READ)[1].id


def _writer(ctx: RequestContext, scope: Scope) -> tuple[Principal, str | None]:
    """Who writes, and whose rows: the workspace's (``agents.manage``) or the platform's (admins)."""
    if scope == "platform":
        return require_platform_admin(ctx), None
    principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
    return principal, workspace.id


async def _providers(kernel: Kernel, workspace: Workspace, settings: ModelSettings | UnsetType) -> set[str]:
    """The workspace's LLM providers, asked for only when the settings name one."""
    if isinstance(settings, ModelSettings) and settings.provider is not None:
        return await llm_provider_names(kernel, workspace)
    return set()


class AgentsController(Controller):
    path = "/api/agents"
    tags = ["agents"]

    @post("/", summary="Create an agent in the workspace")
    async def create_agent(self, request: Request[Any, Any, Any], data: JSONBody[AgentCreate]) -> AgentRecord:
        kernel, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        return await _service(kernel).create_agent(
            workspace.id,
            data,
            providers=await _providers(kernel, workspace, data.model_settings),
            actor_id=principal.id,
            request_id=ctx.request_id,
        )

    @get("/", summary="The workspace's agents, oldest first")
    async def list_agents(
        self,
        request: Request[Any, Any, Any],
        status: AgentStatusFilter = None,
        persona_id: Annotated[
            str | None, QueryParameter(max_length=100, description="Only agents with this persona (id or slug).")
        ] = None,
        q: Search = None,
        include_archived: Annotated[
            bool, QueryParameter(description="Archived agents too (``status: archived``), which can be restored.")
        ] = False,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AgentRecord]:
        kernel, ctx = await request_context(request)
        _, workspace = _scoped(ctx, Permission.AGENTS_READ)
        items, total = await _service(kernel).list_agents(
            workspace.id,
            status=status,
            include_archived=include_archived,
            persona=persona_id,
            q=q,
            offset=offset,
            limit=limit,
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{agent:str}", summary="One agent, by id or slug (an archived one too: status archived)")
    async def get_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentRecord:
        kernel, ctx = await request_context(request)
        _, workspace = _scoped(ctx, Permission.AGENTS_READ)
        return await _service(kernel).get_agent(workspace.id, agent)

    @patch("/{agent:str}", summary="Change an agent (only the fields sent)")
    async def update_agent(
        self, request: Request[Any, Any, Any], agent: FromPath[str], data: JSONBody[AgentUpdate]
    ) -> AgentRecord:
        kernel, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        return await _service(kernel).update_agent(
            workspace.id,
            agent,
            data,
            providers=await _providers(kernel, workspace, data.model_settings),
            actor_id=principal.id,
            request_id=ctx.request_id,
        )

    @delete("/{agent:str}", summary="Archive an agent", status_code=204)
    async def archive_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> None:
        kernel, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        await _service(kernel).archive_agent(workspace.id, agent, actor_id=principal.id, request_id=ctx.request_id)

    @post("/{agent:str}/restore", summary="Restore an archived agent", status_code=200)
    async def restore_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentRecord:
        kernel, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        return await _service(kernel).restore_agent(
            workspace.id, agent, actor_id=principal.id, request_id=ctx.request_id
        )


class PersonasController(Controller):
    path = "/api/personas"
    tags = ["agents"]

    @post("/", summary="Create a persona of the workspace (platform admins: ?scope=platform)")
    async def create_persona(
        self, request: Request[Any, Any, Any], data: JSONBody[PersonaCreate], owner: WriteScope = "workspace"
    ) -> PersonaRecord:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        return await _service(kernel).create_persona(
            workspace_id, data, actor_id=principal.id, request_id=ctx.request_id
        )

    @get("/", summary="The platform's personas and the workspace's own")
    async def list_personas(
        self,
        request: Request[Any, Any, Any],
        owner: ScopeFilter = None,
        status: OwnedStatusFilter = None,
        q: Search = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[PersonaRecord]:
        kernel, ctx = await request_context(request)
        items, total = await _service(kernel).list_personas(
            _reader(ctx), scope=owner, status=status, q=q, offset=offset, limit=limit
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{persona:str}", summary="One persona, by id or slug (the workspace's own wins over the platform's)")
    async def get_persona(self, request: Request[Any, Any, Any], persona: FromPath[str]) -> PersonaRecord:
        kernel, ctx = await request_context(request)
        return await _service(kernel).get_persona(_reader(ctx), persona)

    @patch("/{persona:str}", summary="Change a persona of the workspace (platform admins: ?scope=platform)")
    async def update_persona(
        self,
        request: Request[Any, Any, Any],
        persona: FromPath[str],
        data: JSONBody[PersonaUpdate],
        owner: WriteScope = "workspace",
    ) -> PersonaRecord:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        return await _service(kernel).update_persona(
            workspace_id, persona, data, scope=owner, actor_id=principal.id, request_id=ctx.request_id
        )

    @delete(
        "/{persona:str}",
        summary="Archive a persona of the workspace (platform admins: ?scope=platform)",
        status_code=204,
    )
    async def archive_persona(
        self, request: Request[Any, Any, Any], persona: FromPath[str], owner: WriteScope = "workspace"
    ) -> None:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        await _service(kernel).archive_persona(
            workspace_id, persona, scope=owner, actor_id=principal.id, request_id=ctx.request_id
        )


class SkillsController(Controller):
    path = "/api/skills"
    tags = ["agents"]

    @post("/", summary="Create a skill of the workspace (platform admins: ?scope=platform)")
    async def create_skill(
        self, request: Request[Any, Any, Any], data: JSONBody[SkillCreate], owner: WriteScope = "workspace"
    ) -> SkillRecord:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        return await _service(kernel).create_skill(workspace_id, data, actor_id=principal.id, request_id=ctx.request_id)

    @get("/", summary="The platform's skills and the workspace's own")
    async def list_skills(
        self,
        request: Request[Any, Any, Any],
        owner: ScopeFilter = None,
        status: OwnedStatusFilter = None,
        q: Search = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[SkillRecord]:
        kernel, ctx = await request_context(request)
        items, total = await _service(kernel).list_skills(
            _reader(ctx), scope=owner, status=status, q=q, offset=offset, limit=limit
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{skill:str}", summary="One skill, by id or slug (the workspace's own wins over the platform's)")
    async def get_skill(self, request: Request[Any, Any, Any], skill: FromPath[str]) -> SkillRecord:
        kernel, ctx = await request_context(request)
        return await _service(kernel).get_skill(_reader(ctx), skill)

    @patch("/{skill:str}", summary="Change a skill of the workspace (platform admins: ?scope=platform)")
    async def update_skill(
        self,
        request: Request[Any, Any, Any],
        skill: FromPath[str],
        data: JSONBody[SkillUpdate],
        owner: WriteScope = "workspace",
    ) -> SkillRecord:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        return await _service(kernel).update_skill(
            workspace_id, skill, data, scope=owner, actor_id=principal.id, request_id=ctx.request_id
        )

    @delete(
        "/{skill:str}", summary="Archive a skill of the workspace (platform admins: ?scope=platform)", status_code=204
    )
    async def archive_skill(
        self, request: Request[Any, Any, Any], skill: FromPath[str], owner: WriteScope = "workspace"
    ) -> None:
        kernel, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        await _service(kernel).archive_skill(
            workspace_id, skill, scope=owner, actor_id=principal.id, request_id=ctx.request_id
        )
