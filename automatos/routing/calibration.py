"""Calibration: a workspace's routing thresholds, margins and few-shot centroids fitted on labelled examples.

``automatos route fit FILE.jsonl --workspace W`` and ``POST /api/routing/calibration`` (workspace
admins) hand :meth:`CalibrationService.fit` labelled examples ``{text, expected}`` — ``expected``
an active agent's slug or ``none`` (no single agent should take it) — optionally with the examples
the workspace's agreeing corrections made (:meth:`CorrectionsService.examples`).

What is fitted, and how:
1. Every example and every active agent's profile is embedded with the workspace's routing embedder
   (``context.embed``: the vectors the tiers compare).
2. **Centroids** per label (each agent's slug, and ``none``): the normalised mean of its examples'
   vectors, stored in the vector backend (collection ``routing-example-centroids``) for the
   examples tier (:mod:`automatos.extensions.routing.examples`, order 35).
3. **Thresholds and margins** of the examples tier and of the semantic tier, chosen together by
   replaying the cascade on the examples: examples tier (best centroid ≥ threshold and ahead by the
   margin; ``none`` wins → orchestrate), else semantic (best profile ≥ threshold, margin), else
   unrouted (a ``none`` precision with nothing answered ``none``, or a recall without ``none``
   examples, counts as 1.0: nothing to be wrong about). An example's own vector is left out of its
   label's centroid while fitting (leave-one-out), so thresholds are fitted on scores like a new
   message's, not on memorised ones.
4. **Objective — precision first**: among the grid's settings whose ``none`` precision and recall
   on the examples are both at least :data:`NONE_FLOOR` (0.6) — the router must not answer for
   an agent when none should, nor refuse everything — the one with the best accuracy; ties go to
   the better agent precision, then to the higher thresholds (decide less). When no setting reaches
   both floors, the one with the best ``min(none precision, none recall)``, then accuracy.
5. Persisted in the routing configuration (one audited write, ``routing.config.updated``):
   ``tiers.examples.{threshold, margin, model}``, ``tiers.semantic.{threshold, margin, model}``
   (``model``: the values hold only under that embedding model) and ``calibration``: when, how many
   examples (per label, from corrections), the model, the fitted values, the objective and the
   figures on the training examples. ``GET /api/routing/config`` shows it; each tier's row in a
   route's explanation shows the threshold it used.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from automatos.kernel.errors import ValidationError
from automatos.routing.evaluation import NONE, Labelled, check_labels
from automatos.routing.records import read_config

if TYPE_CHECKING:
    from automatos.kernel.types import Workspace
    from automatos.routing.corrections import CorrectionsService
    from automatos.routing.service import RouterService

__all__ = ["CENTROIDS", "MAX_EXAMPLES", "NONE_FLOOR", "CalibrationService", "Fit", "choose"]

log = logging.getLogger("automatos.routing")

CENTROIDS = "routing-example-centroids"
"""The examples tier's collection (``automatos.extensions.routing.examples.COLLECTION``)."""
NONE_FLOOR = 0.6
MAX_EXAMPLES = 5000
NEVER = 1.0
"""A threshold no cosine of two different texts reaches in practice: the tier does not decide."""
MARGINS_EXAMPLES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08)
MARGINS_SEMANTIC = (0.0, 0.02, 0.04, 0.06, 0.1)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.asarray(rows / np.where(norms == 0, 1.0, norms))


class Fit:
    """Scores of every example against the label centroids (leave-one-out) and the agent profiles."""

    def __init__(self, vectors: np.ndarray, labels: Sequence[str], profiles: np.ndarray, slugs: Sequence[str]) -> None:
        self.slugs = list(slugs)
        self.classes = [*self.slugs, NONE]
        index = {label: i for i, label in enumerate(self.classes)}
        self.y = np.array([index[label] for label in labels])
        x = _unit(np.asarray(vectors, dtype=np.float64))
        sums = np.zeros((len(self.classes), x.shape[1]))
        np.add.at(sums, self.y, x)
        counts = np.bincount(self.y, minlength=len(self.classes))
        self.present = counts > 0
        self.centroids = _unit(sums)
        loo = sums[None, :, :].repeat(len(x), 0)
        loo[np.arange(len(x)), self.y] -= x  # an example's own vector out of its label's centroid
        dots = np.einsum("nd,ncd->nc", x, _unit(loo))
        alone = counts[self.y] <= 1
        dots[np.arange(len(x)), self.y] = np.where(alone, -1.0, dots[np.arange(len(x)), self.y])
        dots[:, ~self.present] = -np.inf
        self.examples = dots
        self.profiles = x @ _unit(np.asarray(profiles, dtype=np.float64)).T

    @staticmethod
    def _top2(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = np.argsort(-scores, axis=1)
        rows = np.arange(len(scores))
        best = scores[rows, order[:, 0]]
        second = scores[rows, order[:, 1]] if scores.shape[1] > 1 else np.full(len(scores), -np.inf)
        return order[:, 0], best, best - second

    def predictions(self, te: float, me: float, ts: float, ms: float) -> np.ndarray:
        """The label index the cascade (examples, semantic, unrouted) gives each example."""
        none = len(self.slugs)
        e_top, e_best, e_gap = self._top2(self.examples)
        s_top, s_best, s_gap = self._top2(self.profiles)
        by_examples = (e_best >= te) & (e_gap >= me)
        by_semantic = (s_best >= ts) & (s_gap >= ms)
        return np.where(by_examples, e_top, np.where(by_semantic, s_top, none))

    def figures(self, predicted: np.ndarray) -> dict[str, float]:
        none = len(self.slugs)
        said_none, is_none = predicted == none, self.y == none
        hits = said_none & is_none
        agents = ~said_none
        return {
            "accuracy": round(float((predicted == self.y).mean()), 4),
            "none_precision": round(float(hits.sum() / said_none.sum()) if said_none.any() else 1.0, 4),
            "none_recall": round(float(hits.sum() / is_none.sum()) if is_none.any() else 1.0, 4),
            "agent_precision": round(float((agents & (predicted == self.y)).sum() / max(agents.sum(), 1)), 4),
        }


def _grid(best: np.ndarray, points: int) -> list[float]:
    finite = best[np.isfinite(best)]
    if not len(finite):
        return [NEVER]
    values = np.unique(np.round(np.quantile(finite, np.linspace(0, 1, points)), 4))
    return [*(float(v) for v in values if 0.0 <= v < NEVER), NEVER]


def choose(fit: Fit) -> tuple[dict[str, float], dict[str, float]]:
    """The thresholds and margins (see the module docstring's objective) and their figures."""
    best_key: tuple[Any, ...] | None = None
    chosen: tuple[dict[str, float], dict[str, float]] | None = None
    e_grid = _grid(Fit._top2(fit.examples)[1], 40)
    s_grid = _grid(Fit._top2(fit.profiles)[1], 30)
    for te in e_grid:
        for me in MARGINS_EXAMPLES:
            for ts in s_grid:
                for ms in MARGINS_SEMANTIC:
                    figures = fit.figures(fit.predictions(te, me, ts, ms))
                    floors = min(figures["none_precision"], figures["none_recall"])
                    key = (
                        floors >= NONE_FLOOR,
                        figures["accuracy"] if floors >= NONE_FLOOR else floors,
                        figures["accuracy"],
                        figures["agent_precision"],
                        te + ts,
                    )
                    if best_key is None or key > best_key:
                        best_key = key
                        values = {"examples_threshold": te, "examples_margin": me}
                        values |= {"semantic_threshold": ts, "semantic_margin": ms}
                        chosen = (values, figures)
    assert chosen is not None
    return chosen


class CalibrationService:
    """Fits and stores a workspace's routing calibration."""

    def __init__(self, router: RouterService, corrections: CorrectionsService | None = None) -> None:
        self.router = router
        self.corrections = corrections
        self.clock = router.clock

    async def fit(
        self,
        workspace: Workspace,
        examples: Sequence[Labelled],
        *,
        actor_id: str | None,
        use_corrections: bool = False,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Fit on ``examples`` (+ corrections' when asked), store, and answer the calibration record."""
        profiles = await self.router.profiles(workspace)
        if not profiles:
            raise ValidationError("the workspace has no active agent to calibrate for", field="examples")
        check_labels(examples, [p.slug for p in profiles])
        labelled = list(examples)
        from_corrections = 0
        if use_corrections and self.corrections is not None:
            active = {p.slug for p in profiles}
            extra = [
                Labelled(text, slug) for text, slug in await self.corrections.examples(workspace.id) if slug in active
            ]
            from_corrections = len(extra)
            labelled += extra
        if not labelled:
            raise ValidationError("no labelled example to fit on (none sent, no agreed correction)", field="examples")
        if len(labelled) > MAX_EXAMPLES:
            raise ValidationError(f"at most {MAX_EXAMPLES} labelled examples", field="examples")
        vectors_backend = self.router.vectors()
        if vectors_backend is None:
            raise ValidationError("calibration needs the vector backend (not available here)", field="examples")
        context = await self.router.context_for(workspace, with_kv=False)
        model, vectors = await context.embed([e.text for e in labelled])
        _, profile_vectors = await context.embed([p.text.strip() or p.name for p in profiles])
        fit = Fit(
            np.array(vectors), [e.expected for e in labelled], np.array(profile_vectors), [p.slug for p in profiles]
        )
        values, figures = choose(fit)
        stored, _ = await self._stored(workspace.id)
        previous = stored.get("calibration")
        old: dict[str, Any] = previous if isinstance(previous, dict) else {}
        stale = [label for label in old.get("labels", {}) if isinstance(label, str)]
        if stale:
            await vectors_backend.delete(workspace.id, CENTROIDS, stale)
        items = [
            (label, [float(v) for v in fit.centroids[i]], {"label": label, "model": model})
            for i, label in enumerate(fit.classes)
            if fit.present[i]
        ]
        await vectors_backend.upsert(workspace.id, CENTROIDS, items)
        counts = Counter(e.expected for e in labelled)
        record = {
            "at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "examples": len(labelled),
            "from_corrections": from_corrections,
            "labels": dict(sorted(counts.items())),
            "model": model,
            "values": values,
            "objective": f"max accuracy subject to none precision and recall >= {NONE_FLOOR}",
            "training": figures,
        }
        tiers = {name: dict(v) for name, v in (stored.get("tiers") or {}).items() if isinstance(v, dict)}
        tiers.setdefault("examples", {}).update(
            threshold=values["examples_threshold"], margin=values["examples_margin"], model=model
        )
        tiers.setdefault("semantic", {}).update(
            threshold=values["semantic_threshold"], margin=values["semantic_margin"], model=model
        )
        body = {"tiers": tiers, "default_agent": stored.get("default_agent"), "calibration": record}
        await self.router.set_config(workspace, body, actor_id=actor_id, request_id=request_id)
        return record

    async def _stored(self, workspace_id: str) -> tuple[dict[str, Any], int]:
        async with self.router.sessionmaker() as session:
            stored, version = await read_config(session, workspace_id)
        return dict(stored or {}), version
