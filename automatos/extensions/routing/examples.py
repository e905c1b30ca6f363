"""The examples tier (order 35): few-shot routing from the workspace's own labelled examples.

Calibration (``automatos route fit``, ``POST /api/routing/calibration``;
:mod:`automatos.routing.calibration`) embeds the workspace's labelled messages — its calibration
file and the examples its members' agreeing corrections made — and stores one **centroid** per
label in the vector backend, collection :data:`COLLECTION`: the mean direction of the messages
labelled with an agent's slug, and of those labelled ``none`` (messages no single agent should
take). This tier embeds the message (``context.embed``: the same vector the semantic tier uses,
embedded once per route) and compares it with those centroids.

Decisions:
- **Only once calibrated.** Without ``tiers.examples.threshold`` in the routing configuration, or
  under another embedding model than the centroids' (``tiers.examples.model``), it passes: a
  workspace that never calibrated routes as before.
- **Decides when sure**: the best centroid's cosine ≥ ``threshold`` and ahead of the second by
  ``margin`` — the ``none`` centroid included. A ``none`` win is ``route_type: "orchestrate"`` (the
  examples say no single agent takes such messages); an agent's win is that agent, confidence
  ``0.6 + 0.35 * (score - threshold) / (1 - threshold)`` clipped to 0.6-0.95. Otherwise it passes
  and the semantic tier (agent profiles) tries.
- A request's ``shortlist`` restricts the agents (``none`` always competes); centroids of agents no
  longer active are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from automatos.kernel.types import RouteDecision, RouteShortlist, RoutingContext, RoutingRequest

__all__ = ["COLLECTION", "NONE_LABEL", "ExamplesTier"]

COLLECTION = "routing-example-centroids"
NONE_LABEL = "none"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class ExamplesTier:
    """Nearest label centroid (agents and ``none``) of the workspace's labelled examples."""

    name = "examples"
    order = 35

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | RouteShortlist | None:
        tiers = context.config.get("tiers")
        own = tiers.get(self.name) if isinstance(tiers, Mapping) else None
        if not isinstance(own, Mapping) or context.vectors is None:
            return None
        threshold, margin = _number(own.get("threshold")), _number(own.get("margin"))
        if threshold is None:
            return None
        margin = margin or 0.0
        agents = {agent.slug: agent for agent in await context.agents()}
        allowed = set(request.shortlist) if request.shortlist else None
        model, vectors = await context.embed([request.text])
        if own.get("model") not in (None, model):
            return None
        matches = await context.vectors.query(context.workspace.id, COLLECTION, vectors[0], top_k=len(agents) + 1)
        ranked = []
        for match in matches:
            label = match.metadata.get("label")
            if match.metadata.get("model") != model or not isinstance(label, str):
                continue
            if label == NONE_LABEL:
                ranked.append((match.score, label))
            elif label in agents and (allowed is None or agents[label].id in allowed):
                ranked.append((match.score, label))
        if not ranked:
            return None
        ranked.sort(reverse=True)
        best, label = ranked[0]
        gap = best - ranked[1][0] if len(ranked) > 1 else math.inf
        if best < threshold or gap < margin:
            return None
        confidence = round(max(0.6, min(0.95, 0.6 + 0.35 * (best - threshold) / max(1.0 - threshold, 1e-6))), 4)
        reason = (
            f"examples: nearest centroid {label!r} cosine {best:.3f} ≥ {threshold:.3f}, {gap:.3f} ≥ {margin:.3f} ahead"
        )
        if label == NONE_LABEL:
            return RouteDecision(
                agent_id=None, confidence=confidence, tier=self.name, reason=reason, route_type="orchestrate"
            )
        return RouteDecision(agent_id=agents[label].id, confidence=confidence, tier=self.name, reason=reason)
