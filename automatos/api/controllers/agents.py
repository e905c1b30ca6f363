"""Agents, personas and skills of the caller's workspace: ``/api/agents``, ``/api/personas``, ``/api/skills``.

Archived agents keep their slug: they are read by id or slug with ``status: archived``, listed with
``?include_archived=true``, restored with ``POST /api/agents/{id}/restore`` (``agents.manage``), and
a new agent cannot take their slug (409 saying it belongs to an archived agent). Paused agents are
listed and read like active ones (``status: paused``); chat and ``/v1`` do not serve them.

The workspace is the request's (``X-Workspace-ID``, the key's own workspace, or the principal's
default), as for API keys. Reading needs ``agents.read`` (viewers), writing ``agents.manage``
(members). Personas and skills list the platform's rows next to the workspace's own; a workspace
writes only its own (403 on a platform row). Platform admins write the platform's rows through the
same routes with ``?scope=platform``. The rules are :mod:`automatos.agents.service`'s and
:mod:`automatos.agents.owned`'s; personas and skills share one controller, made by
:func:`owned_resource_controller`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UnsetType

from automatos.agents.owned import OwnedResources, Scope
from automatos.agents.personas import PersonaCreate, PersonaRecord, PersonaUpdate
from automatos.agents.records import ModelSettings
from automatos.agents.service import AgentCreate, AgentRecord, AgentUpdate
from automatos.agents.skills import SkillCreate, SkillRecord, SkillUpdate
from automatos.api.dependencies import request_context, require_platform_admin, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.permissions import Permission
from automatos.kernel.types import Principal, RequestContext, Workspace

if TYPE_CHECKING:
    from automatos.container import Container

__all__ = ["AgentsController", "PersonasController", "SkillsController", "owned_resource_controller"]

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

# What the owned-resource handlers' annotations name: each controller gives Litestar the real structs
# through its signature namespace (owned_resource_controller), which wins over these stand-ins.
Create: TypeAlias = Any
Update: TypeAlias = Any
Record: TypeAlias = Any


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


async def _providers(
    request: Request[Any, Any, Any], workspace: Workspace, settings: ModelSettings | UnsetType
) -> set[str]:
    """The workspace's LLM providers, asked for only when the settings name one."""
    if isinstance(settings, ModelSettings) and settings.provider is not None:
        return await services(request).llm_providers().names(workspace)
    return set()


class AgentsController(Controller):
    path = "/api/agents"
    tags = ["agents"]

    @post("/", summary="Create an agent in the workspace")
    async def create_agent(self, request: Request[Any, Any, Any], data: JSONBody[AgentCreate]) -> AgentRecord:
        _, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        return (
            await services(request)
            .agents()
            .create_agent(
                workspace.id,
                data,
                providers=await _providers(request, workspace, data.model_settings),
                actor_id=principal.id,
                request_id=ctx.request_id,
            )
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
        _, ctx = await request_context(request)
        _, workspace = _scoped(ctx, Permission.AGENTS_READ)
        items, total = (
            await services(request)
            .agents()
            .list_agents(
                workspace.id,
                status=status,
                include_archived=include_archived,
                persona=persona_id,
                q=q,
                offset=offset,
                limit=limit,
            )
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{agent:str}", summary="One agent, by id or slug (an archived one too: status archived)")
    async def get_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentRecord:
        _, ctx = await request_context(request)
        _, workspace = _scoped(ctx, Permission.AGENTS_READ)
        return await services(request).agents().get_agent(workspace.id, agent)

    @patch("/{agent:str}", summary="Change an agent (only the fields sent)")
    async def update_agent(
        self, request: Request[Any, Any, Any], agent: FromPath[str], data: JSONBody[AgentUpdate]
    ) -> AgentRecord:
        _, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        return (
            await services(request)
            .agents()
            .update_agent(
                workspace.id,
                agent,
                data,
                providers=await _providers(request, workspace, data.model_settings),
                actor_id=principal.id,
                request_id=ctx.request_id,
            )
        )

    @delete("/{agent:str}", summary="Archive an agent", status_code=204)
    async def archive_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        agents = services(request).agents()
        await agents.archive_agent(workspace.id, agent, actor_id=principal.id, request_id=ctx.request_id)

    @post("/{agent:str}/restore", summary="Restore an archived agent", status_code=200)
    async def restore_agent(self, request: Request[Any, Any, Any], agent: FromPath[str]) -> AgentRecord:
        _, ctx = await request_context(request)
        principal, workspace = _scoped(ctx, Permission.AGENTS_MANAGE)
        agents = services(request).agents()
        return await agents.restore_agent(workspace.id, agent, actor_id=principal.id, request_id=ctx.request_id)


def owned_resource_controller(
    noun: str,
    plural: str,
    service: Callable[[Container], OwnedResources[Any, Any, Any]],
    create: type[Any],
    update: type[Any],
    record: type[Any],
) -> type[Controller]:
    """The controller of an owned resource (:mod:`automatos.agents.owned`) at ``/api/<plural>``: list, get,
    create, update, archive.

    ``noun`` names the path parameter (``/{persona}``) and the handlers (``create_persona``…), so the
    OpenAPI document reads as if each were written by hand; ``create``/``update``/``record`` are the
    request and response structs, given to Litestar through the controller's signature namespace
    (the handlers' annotations name ``Create``, ``Update`` and ``Record``).
    """

    async def create_(
        self: Controller, request: Request[Any, Any, Any], data: JSONBody[Create], owner: WriteScope = "workspace"
    ) -> Record:
        _, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        resources = service(services(request))
        return await resources.create(workspace_id, data, actor_id=principal.id, request_id=ctx.request_id)

    async def list_(
        self: Controller,
        request: Request[Any, Any, Any],
        owner: ScopeFilter = None,
        status: OwnedStatusFilter = None,
        q: Search = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Record]:
        _, ctx = await request_context(request)
        items, total = await service(services(request)).list(
            _reader(ctx), scope=owner, status=status, q=q, offset=offset, limit=limit
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    async def get_(self: Controller, request: Request[Any, Any, Any]) -> Record:
        _, ctx = await request_context(request)
        return await service(services(request)).get(_reader(ctx), request.path_params[noun])

    async def update_(
        self: Controller, request: Request[Any, Any, Any], data: JSONBody[Update], owner: WriteScope = "workspace"
    ) -> Record:
        _, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        return await service(services(request)).update(
            workspace_id,
            request.path_params[noun],
            data,
            scope=owner,
            actor_id=principal.id,
            request_id=ctx.request_id,
        )

    async def archive_(self: Controller, request: Request[Any, Any, Any], owner: WriteScope = "workspace") -> None:
        _, ctx = await request_context(request)
        principal, workspace_id = _writer(ctx, owner)
        await service(services(request)).archive(
            workspace_id, request.path_params[noun], scope=owner, actor_id=principal.id, request_id=ctx.request_id
        )

    def named(handler: Any, verb: str) -> Any:
        handler.__name__ = handler.__qualname__ = f"{verb}_{noun}" if verb != "list" else f"list_{plural}"
        return handler

    one = f"/{{{noun}:str}}"
    handlers = {
        "create": post("/", summary=f"Create a {noun} of the workspace (platform admins: ?scope=platform)")(
            named(create_, "create")
        ),
        "list": get("/", summary=f"The platform's {plural} and the workspace's own")(named(list_, "list")),
        "get": get(one, summary=f"One {noun}, by id or slug (the workspace's own wins over the platform's)")(
            named(get_, "get")
        ),
        "update": patch(one, summary=f"Change a {noun} of the workspace (platform admins: ?scope=platform)")(
            named(update_, "update")
        ),
        "archive": delete(
            one, summary=f"Archive a {noun} of the workspace (platform admins: ?scope=platform)", status_code=204
        )(named(archive_, "archive")),
    }
    namespace = {"Create": create, "Update": update, "Record": record}
    body = {"path": f"/api/{plural}", "tags": ["agents"], "signature_namespace": namespace, **handlers}
    return type(f"{plural.title()}Controller", (Controller,), body)


PersonasController = owned_resource_controller(
    "persona", "personas", lambda c: c.personas(), PersonaCreate, PersonaUpdate, PersonaRecord
)
SkillsController = owned_resource_controller(
    "skill", "skills", lambda c: c.skills(), SkillCreate, SkillUpdate, SkillRecord
)
