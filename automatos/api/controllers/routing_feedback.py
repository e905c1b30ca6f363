"""What the router learns and reports: corrections, labelled examples, statistics.

Thin: the rules are :mod:`automatos.routing.corrections`' and :mod:`automatos.routing.stats`'
(docs/routing.md).

- ``POST /api/routing/corrections`` ``{"message", "agent", "source"?, "decision_id"?}``
  (``agents.use``: members): 201, the correction with how many agree; two that agree on a message
  (text and source) rewrite its cached decision (confidence 1.0, tier ``correction``) and make a
  labelled example. 422 naming ``message``, ``agent`` or ``decision_id``. Audited.
- ``GET /api/routing/examples`` (``audit.read``: workspace admins — examples keep the normalised text
  of members' messages): the labelled examples, ``[{text, agent, source, corrections}]``.
- ``GET /api/routing/stats?since=&until=`` (``agents.read``): share decided per tier, cache hit
  rate, unrouted and orchestrate counts, latencies; the last 24 hours by default, at most 92 days
  (422 naming ``since`` or ``until``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, QueryParameter

from automatos.api.dependencies import request_context, scoped, services
from automatos.kernel.permissions import Permission
from automatos.routing.corrections import CorrectionCreate, CorrectionRecord, Example
from automatos.routing.stats import RoutingStats

__all__ = ["RoutingFeedbackController"]

Moment = Annotated[str | None, QueryParameter(max_length=64, description="An ISO 8601 date and time (naive: UTC).")]


class RoutingFeedbackController(Controller):
    path = "/api/routing"
    tags = ["routing"]

    @post("/corrections", status_code=201, summary="Say which agent should have answered a message")
    async def correct(self, request: Request[Any, Any, Any], data: JSONBody[CorrectionCreate]) -> CorrectionRecord:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.AGENTS_USE)
        return (
            await services(request)
            .routing_corrections()
            .correct(scope.workspace, data, actor_id=scope.principal.id, request_id=ctx.request_id)
        )

    @get("/examples", summary="Labelled examples from agreeing corrections (workspace admins)")
    async def examples(self, request: Request[Any, Any, Any]) -> list[Example]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AUDIT_READ).workspace
        return await services(request).routing_corrections().example_list(workspace.id)

    @get("/stats", summary="Routing statistics of the workspace over a time window")
    async def stats(self, request: Request[Any, Any, Any], since: Moment = None, until: Moment = None) -> RoutingStats:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.AGENTS_READ).workspace
        return await services(request).routing_stats().stats(workspace.id, since=since, until=until)
