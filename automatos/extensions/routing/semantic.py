"""The semantic tier (order 40): the message's embedding against every active agent's profile embedding.

Profiles are embedded and kept in the vector backend by :mod:`.profiles` (re-embedded when an
agent's profile text or the embedding model changes); a steady-state route costs one embedding (the
message) and one vector query.

Decisions:
- **Decide only when sure.** The tier answers an agent when the best cosine is at least
  ``threshold`` **and** beats the second agent's by at least ``margin``; otherwise it hands the best
  ``shortlist`` agents (default 5) with their cosines to the next tiers (intent, LLM). With a single
  candidate there is no second agent and only the threshold applies.
- **Parameters** come from the workspace's routing configuration, ``config["tiers"]["semantic"]``
  (``threshold``, ``margin``, ``shortlist``; calibration writes them there), else from defaults that
  depend on the embedding model, because cosines mean different things per model
  (:data:`DEFAULTS`, matched on the model id's prefix — and suffix ``+centered``):

  ====================================  =========  ======  ====================================
  model id                              threshold  margin  why
  ====================================  =========  ======  ====================================
  ``multilingual-e5…+centered``         0.33       0.06    centred cosines (local-e5 with its
                                                           background mean removed): off-topic
                                                           messages stayed below 0.26 against
                                                           the 10 seeded personas, clear
                                                           in-domain ones reached 0.37-0.49
  ``multilingual-e5…`` (raw)            0.88       0.03    raw cosines crowd 0.73-0.86, on
                                                           topic or not: practically never
                                                           decides, hands a shortlist
  ``offline-hashed-bow`` (fallback)     0.30       0.08    word overlap, not meaning: only a
                                                           strong overlap with one profile
  anything else (OpenAI…)               0.50       0.05
  ====================================  =========  ======  ====================================

  A configuration that names the ``model`` its values were calibrated for is ignored under another
  model (the defaults apply until it is calibrated again).
- **Confidence** is ``0.6 + 0.35 * (score - threshold) / (1 - threshold)`` clipped to 0.6-0.95: a
  monotone map of the cosine, 0.6 at the threshold, 0.95 for an identical direction — below the
  rules tier's 0.9 for all but near-copies of a profile.
- A request's ``shortlist`` (from an earlier tier or the caller) restricts the candidates; the
  query widens (doubling ``top_k``) until the best shortlisted agents are among its results.
- No vector backend, no active agent: the tier passes (``None``).
- **Approximate search where it pays**: a backend with ``supports_approximate`` (pgvector) is asked
  for ``approximate=True``; it uses its HNSW index only for a large collection (≥ 3,000 profiles of
  an indexed length) and re-ranks the candidates exactly — smaller workspaces, and every other
  backend, scan exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from automatos.extensions.routing.profiles import COLLECTION, index_for
from automatos.kernel.backends import VectorMatch
from automatos.kernel.errors import ValidationError
from automatos.kernel.types import RouteDecision, RouteShortlist, RoutingContext, RoutingRequest

__all__ = ["DEFAULTS", "SemanticParams", "SemanticTier", "confidence", "params_for"]


@dataclass(frozen=True)
class SemanticParams:
    threshold: float
    margin: float
    shortlist: int = 5


DEFAULTS: tuple[tuple[str, str, SemanticParams], ...] = (
    ("multilingual-e5", "+centered", SemanticParams(0.33, 0.06)),
    ("multilingual-e5", "", SemanticParams(0.88, 0.03)),
    ("offline-hashed-bow", "", SemanticParams(0.30, 0.08)),
    ("", "", SemanticParams(0.50, 0.05)),
)
"""``(model id prefix, suffix, parameters)``, first match wins."""


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if low <= value <= high else None


def params_for(model: str, config: Mapping[str, Any]) -> SemanticParams:
    """The tier's parameters for ``model`` under the workspace's routing ``config``."""
    base = next(p for prefix, suffix, p in DEFAULTS if model.startswith(prefix) and model.endswith(suffix))
    tiers = config.get("tiers")
    own = tiers.get("semantic") if isinstance(tiers, Mapping) else None
    if not isinstance(own, Mapping):
        own = config.get("semantic")
    if not isinstance(own, Mapping):
        return base
    size = own.get("shortlist")
    shortlist = size if isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 100 else base.shortlist
    calibrated_for = own.get("model")
    if isinstance(calibrated_for, str) and calibrated_for and calibrated_for != model:
        return SemanticParams(base.threshold, base.margin, shortlist)
    threshold = _number(own.get("threshold"), -1.0, 1.0)
    margin = _number(own.get("margin"), 0.0, 2.0)
    return SemanticParams(
        base.threshold if threshold is None else threshold, base.margin if margin is None else margin, shortlist
    )


def confidence(score: float, threshold: float) -> float:
    """The decision's confidence: monotone in ``score``, 0.6 at ``threshold``, 0.95 at 1.0."""
    span = max(1.0 - threshold, 1e-6)
    return round(max(0.6, min(0.95, 0.6 + 0.35 * (score - threshold) / span)), 4)


class SemanticTier:
    """Embeds the message and compares it with the workspace's agent profiles in the vector backend."""

    name = "semantic"
    order = 40

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | RouteShortlist | None:
        backend = context.vectors
        if backend is None:
            return None
        agents = await context.agents()
        if not agents:
            return None
        allowed = set(request.shortlist) & {agent.id for agent in agents} if request.shortlist else None
        if allowed is not None and not allowed:
            return None
        model, vectors = await context.embed([request.text])
        message = vectors[0]
        params = params_for(model, context.config)
        index = index_for(backend, context.workspace.id)
        await index.ensure(agents, model, context)
        active = {agent.id: agent for agent in agents}
        candidates = allowed if allowed is not None else active.keys()
        k = max(5, params.shortlist)
        # An ANN index where the backend has one and the collection is large (pgvector); else exact.
        search: Callable[..., Any] = backend.query
        if getattr(backend, "supports_approximate", False):
            search = partial(search, approximate=True)
        try:
            matches = await self._query(search, context.workspace.id, message, k, candidates, len(active))
        except ValidationError:
            # The collection holds another length: another node changed the model. Re-read, re-index, retry.
            index.stale()
            await index.ensure(agents, model, context)
            matches = await self._query(search, context.workspace.id, message, k, candidates, len(active))
        ranked: list[VectorMatch] = []
        for match in matches:
            if match.metadata.get("model", model) != model:
                index.stale()  # written by another model: the next route re-reads what is stored
            elif match.id in candidates:
                ranked.append(match)
        if not ranked:
            return None
        best = ranked[0]
        second = ranked[1].score if len(ranked) > 1 else None
        gap = best.score - second if second is not None else math.inf
        if best.score >= params.threshold and gap >= params.margin:
            runner_up = f", {gap:.3f} ≥ {params.margin:.3f} over {ranked[1].id}" if second is not None else ""
            return RouteDecision(
                agent_id=best.id,
                confidence=confidence(best.score, params.threshold),
                tier=self.name,
                reason=f"cosine {best.score:.3f} ≥ {params.threshold:.3f}{runner_up} ({active[best.id].slug})",
            )
        top = ranked[: params.shortlist]
        why = (
            f"best cosine {best.score:.3f} < threshold {params.threshold:.3f}"
            if best.score < params.threshold
            else f"margin {gap:.3f} < {params.margin:.3f} between {best.id} and {ranked[1].id}"
        )
        return RouteShortlist(
            agent_ids=tuple(m.id for m in top), scores=tuple(round(m.score, 4) for m in top), reason=why
        )

    @staticmethod
    async def _query(
        query: Callable[..., Any],
        workspace_id: str,
        vector: Sequence[float],
        k: int,
        candidates: Any,
        total: int,
    ) -> list[VectorMatch]:
        """The best ``k`` candidates; when candidates are a subset, widen until they are all seen."""
        if len(candidates) == total:
            return list(await query(workspace_id, COLLECTION, vector, top_k=k))
        top_k = max(k, 4 * len(candidates))
        while True:
            matches: list[VectorMatch] = list(await query(workspace_id, COLLECTION, vector, top_k=top_k))
            # Results are best first: once k candidates are among them they are the best k.
            seen = sum(1 for m in matches if m.id in candidates)
            if seen >= min(k, len(candidates)) or len(matches) < top_k:
                return matches
            top_k *= 2
