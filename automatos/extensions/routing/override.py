"""The ``override`` tier (order 0): the agent the request names answers, with confidence 1.0.

``request.agent`` is an id or a slug (``POST /api/route``'s ``agent``). The router has already
refused one that is not an active agent of the workspace (422 naming ``agent``); here an unknown
name is simply no decision, so the tier is safe to run from anywhere.
"""

from __future__ import annotations

from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest

__all__ = ["OverrideTier"]


class OverrideTier:
    name = "override"
    order = 0

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        wanted = request.agent
        if not wanted:
            return None
        for agent in await context.agents():
            if wanted in (agent.id, agent.slug):
                return RouteDecision(agent_id=agent.id, confidence=1.0, tier=self.name, reason="named in the request")
        return None
