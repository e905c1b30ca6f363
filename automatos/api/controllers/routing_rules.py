"""The workspace's routing rules: ``/api/routing/rules`` (list, create) and ``/api/routing/rules/{rule_id}``.

The workspace is the request's (``X-Workspace-ID``, the key's own workspace, or the principal's
default), as for agents; a rule of another workspace does not exist here (404 naming ``rule_id``).
Reading needs ``agents.use`` (members); writing ``workspace.update`` (admins). The rules — at
least one condition, a regex RE2 runs (or one that cannot backtrack without RE2), an active agent
— are :mod:`automatos.routing.rules`'s: 422 naming ``regex``, ``agent_id`` or ``keywords``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.permissions import Permission
from automatos.routing.rules import RuleCreate, RuleRecord, RuleUpdate

__all__ = ["RoutingRulesController"]


class RoutingRulesController(Controller):
    path = "/api/routing/rules"
    tags = ["routing"]

    @get("/", summary="The workspace's routing rules, highest priority first")
    async def list_routing_rules(
        self,
        request: Request[Any, Any, Any],
        active: Annotated[bool | None, QueryParameter(description="Only active (or only inactive) rules.")] = None,
        agent_id: Annotated[
            str | None, QueryParameter(max_length=100, description="Only the rules of this agent (its id).")
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[RuleRecord]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_USE).workspace
        items, total = (
            await services(request)
            .routing_rules()
            .list_rules(workspace.id, active=active, agent_id=agent_id, offset=offset, limit=limit)
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @post("/", summary="Create a routing rule")
    async def create_routing_rule(self, request: Request[Any, Any, Any], data: JSONBody[RuleCreate]) -> RuleRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.WORKSPACE_UPDATE)
        return (
            await services(request)
            .routing_rules()
            .create_rule(got.workspace.id, data, actor_id=got.principal.id, request_id=ctx.request_id)
        )

    @get("/{rule_id:str}", summary="One routing rule")
    async def get_routing_rule(self, request: Request[Any, Any, Any], rule_id: FromPath[str]) -> RuleRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_USE).workspace
        return await services(request).routing_rules().get_rule(workspace.id, rule_id)

    @patch("/{rule_id:str}", summary="Change a routing rule (only the fields sent)")
    async def update_routing_rule(
        self, request: Request[Any, Any, Any], rule_id: FromPath[str], data: JSONBody[RuleUpdate]
    ) -> RuleRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.WORKSPACE_UPDATE)
        return (
            await services(request)
            .routing_rules()
            .update_rule(got.workspace.id, rule_id, data, actor_id=got.principal.id, request_id=ctx.request_id)
        )

    @delete("/{rule_id:str}", summary="Delete a routing rule", status_code=204)
    async def delete_routing_rule(self, request: Request[Any, Any, Any], rule_id: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.WORKSPACE_UPDATE)
        await (
            services(request)
            .routing_rules()
            .delete_rule(got.workspace.id, rule_id, actor_id=got.principal.id, request_id=ctx.request_id)
        )
