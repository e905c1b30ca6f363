"""The router: ``POST /api/route``, ``GET /api/routing/unrouted``, ``GET``/``PUT /api/routing/config``.

Thin: the rules are :mod:`automatos.routing.service`'s (docs/routing.md).

- ``POST /api/route`` ``{"message", "agent"?, "source"?, "channel"?}`` (``agents.use``): which agent
  answers — ``{agent_id, agent_slug, confidence, route_type, tier, reason, explanation: [{tier,
  outcome, score, ms}], cache_hit}``, 200. 422 naming ``message`` when it is empty or longer than
  ``ROUTING_MAX_MESSAGE_CHARS``; naming ``agent`` when the named agent is not an active agent here.
  The decision is recorded.
- ``GET /api/routing/unrouted`` (``audit.read``: workspace admins — an event keeps the beginning of a
  message someone sent): messages no tier decided, newest first, paged, ``since`` optional.
- ``GET /api/routing/config`` (``agents.read``): the configuration with the defaults merged in, its
  version, and the workspace's tiers in the order they run. ``PUT`` (``workspace.update``: workspace
  admins) replaces it; 422 naming the field at fault (``tiers.semantic.threshold``,
  ``default_agent``…). Audited.

Chat routes through the same service (:func:`routed_agent`): ``/api/chat`` without ``agent`` (and
without ``session_id``) and ``/v1/chat/completions`` with ``model: "auto"`` answer with
:func:`routing_headers` — ``X-Routing-Agent-ID``, ``X-Routing-Confidence``, ``X-Routing-Type``,
``X-Routing-Tier``. When no agent comes out (``unrouted`` without a default agent, or ``orchestrate``
— there is no orchestrator yet — without one), the chat is refused: 422 naming ``agent`` (``model``
on ``/v1``) — "name one".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, QueryParameter

from automatos.api.dependencies import request_context, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.errors import ValidationError
from automatos.kernel.permissions import Permission
from automatos.kernel.types import Workspace
from automatos.routing.records import UnroutedEvent
from automatos.routing.service import ConfigRecord, RouteResult

__all__ = [
    "RouteController",
    "RouteRequest",
    "RoutingConfigBody",
    "RoutingController",
    "routed_agent",
    "routing_headers",
]

Message = Annotated[str, msgspec.Meta(max_length=1_000_000, description="The message to route.")]
AgentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="An agent's id or slug.")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def routing_headers(result: RouteResult) -> dict[str, str]:
    """The ``X-Routing-*`` headers of a chat the router chose the agent for."""
    return {
        "X-Routing-Agent-ID": result.agent_id or "",
        "X-Routing-Confidence": f"{result.confidence:.4f}",
        "X-Routing-Type": result.route_type,
        "X-Routing-Tier": result.tier or "",
    }


async def routed_agent(
    request: Request[Any, Any, Any], workspace: Workspace, text: str, *, field: str, text_field: str, source: str
) -> RouteResult:
    """The router's choice for a chat that named no agent; 422 naming ``field`` when none comes out.

    A message longer than ``ROUTING_MAX_MESSAGE_CHARS`` is routed on its beginning (chat has its own
    limit); an empty one is a 422 naming ``text_field``.
    """
    router = services(request).router()
    result = await router.route(workspace, text, source=source, field=text_field, truncate=True)
    if result.agent_id is None and result.route_type == "orchestrate":
        default = await router.default_agent(workspace)
        if default is not None:
            result = msgspec.structs.replace(result, agent_id=default.id, agent_slug=default.slug)
    if result.agent_id is None:
        what = (
            "no agent of this workspace fits the message"
            if result.route_type == "unrouted"
            else ("the router hands the message to the orchestrator, which does not exist yet")
        )
        raise ValidationError(
            f"{what}, and the workspace has no default agent (PUT /api/routing/config): name an agent",
            field=field,
        )
    return result


class RouteRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    message: Message
    agent: AgentRef | None = None
    """Route to this agent (the override tier), if it is an active agent here."""
    source: Label | None = None
    """Where the message came from (``slack``, ``email``, ``webhook:github``…): rules and the cache key use it."""
    channel: Label | None = None
    start_recipes: bool = False
    """Also start one run of each active recipe whose ``routes`` list the chosen agent (docs/recipes.md)."""


class RouteAnswer(RouteResult, kw_only=True):
    runs: list[str] = []
    """The recipe runs this decision started (``start_recipes``; none otherwise)."""


class RoutingConfigBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tiers: dict[str, dict[str, Any]] = {}
    """Tier name -> ``{"enabled", "order", "timeout", ...tier params}``."""
    default_agent: str | None = None
    """The agent (id or slug) that answers when nothing routes; ``null``: none."""


class RouteController(Controller):
    path = "/api/route"
    tags = ["routing"]

    @post("/", status_code=200, summary="Which agent should answer this message (the tiered router)")
    async def route(self, request: Request[Any, Any, Any], data: JSONBody[RouteRequest]) -> RouteAnswer:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.AGENTS_USE)
        container = services(request)
        result = await container.router().route(
            got.workspace, data.message, agent=data.agent, source=data.source, channel=data.channel
        )
        runs: list[str] = []
        if data.start_recipes and result.route_type == "agent" and result.agent_id is not None:
            route = {
                "agent_id": result.agent_id,
                "agent_slug": result.agent_slug,
                "confidence": result.confidence,
                "route_type": result.route_type,
                "tier": result.tier,
            }
            runs = await container.recipes().start_for_route(
                got.workspace,
                route,
                {"message": data.message, "source": data.source, "channel": data.channel},
                actor_id=got.principal.id,
                request_id=got.request_id,
            )
        return RouteAnswer(**msgspec.structs.asdict(result), runs=runs)


class RoutingController(Controller):
    path = "/api/routing"
    tags = ["routing"]

    @get("/unrouted", summary="Messages no tier decided, newest first (workspace admins)")
    async def unrouted(
        self,
        request: Request[Any, Any, Any],
        since: Annotated[datetime | None, QueryParameter(description="Only events at or after (ISO 8601).")] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[UnroutedEvent]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AUDIT_READ).workspace
        items, total = await services(request).router().unrouted(workspace.id, since=since, offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/config", summary="The workspace's routing configuration (defaults merged) and its tiers in order")
    async def get_config(self, request: Request[Any, Any, Any]) -> ConfigRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).router().get_config(workspace)

    @put("/config", summary="Replace the workspace's routing configuration (workspace admins)")
    async def put_config(self, request: Request[Any, Any, Any], data: JSONBody[RoutingConfigBody]) -> ConfigRecord:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.WORKSPACE_UPDATE)
        body = {"tiers": data.tiers, "default_agent": data.default_agent}
        return (
            await services(request)
            .router()
            .set_config(scope.workspace, body, actor_id=scope.principal.id, request_id=ctx.request_id)
        )
