"""The ``triggers`` tier (order 30): an event from a tool provider's trigger subscription goes to the
agent the workspace mapped it to, with confidence 0.95.

**Convention**: a trigger event is routed with ``source`` = ``trigger:<provider>/<trigger>`` (for
example ``trigger:github/issue_opened``; tool providers that subscribe to triggers — issue 14's —
route the events they receive that way). The workspace's map lives in its routing configuration,
not in a table of its own (it is small, edited with the rest of the routing settings, versioned and
audited with them, and read from the router's per-workspace cache)::

    {"tiers": {"triggers": {"routes": {"github/issue_opened": "triage", "github/*": "devops"}}}}

``PUT /api/routing/config`` checks it: keys ``<provider>/<trigger>`` (or ``<provider>/*``), each
naming an active agent of the workspace by id or slug (stored as the id) — else 422 naming
``tiers.triggers.routes.<key>``. The exact key wins over the provider's ``*``; a source that is not a
trigger, or one no key maps, passes. An agent paused after it was mapped is refused by the router
(no decision) and the cascade goes on.
"""

from __future__ import annotations

from collections.abc import Mapping

from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest

__all__ = ["CONFIDENCE", "PREFIX", "TriggersTier", "trigger_key"]

CONFIDENCE = 0.95
PREFIX = "trigger:"


def trigger_key(source: str | None) -> str | None:
    """``<provider>/<trigger>`` of a trigger event's source, else ``None``."""
    if not source or not source.startswith(PREFIX):
        return None
    key = source[len(PREFIX) :]
    provider, slash, trigger = key.partition("/")
    return key if provider and slash and trigger else None


class TriggersTier:
    name = "triggers"
    order = 30

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        key = trigger_key(request.source)
        if key is None:
            return None
        tiers = context.config.get("tiers")
        own = tiers.get(self.name) if isinstance(tiers, Mapping) else None
        routes = own.get("routes") if isinstance(own, Mapping) else None
        if not isinstance(routes, Mapping):
            return None
        matched = key if key in routes else f"{key.partition('/')[0]}/*"
        agent = routes.get(matched)
        if not isinstance(agent, str):
            return None
        return RouteDecision(agent_id=agent, confidence=CONFIDENCE, tier=self.name, reason=f"trigger route {matched!r}")
