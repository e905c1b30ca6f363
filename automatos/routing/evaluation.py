"""Evaluation of a workspace's router on labelled messages (``automatos route eval``, calibration's figures).

A labelled example is ``{"text": ..., "expected": "<agent slug>" | "none"}`` (extra keys, such as the
shipped sets' ``kind``, are ignored). ``none`` means no single agent should take the message: the
router is right when it answers ``orchestrate`` or ``unrouted`` (a default agent answering an
unrouted message still counts as ``none`` — the route type says nobody was chosen).

Decisions:
- **Replay without side effects.** :func:`replay` routes each text through the workspace's own
  :class:`~automatos.routing.service.RouterService` with ``dry_run``: nothing recorded, nothing
  written to the decision cache, the cache not asked (an earlier live decision must not answer for
  the router), and ``without`` tiers left out (the evaluation leaves out ``llm`` by default: the
  figures are the offline components').
- **Metrics** (:func:`metrics`): accuracy overall; per tier — which tier decided (``(none)`` when
  none did) and how often it was right; per label — support, recall, precision; ``none`` precision
  and recall (predicted none = ``orchestrate`` or ``unrouted``); a confusion matrix
  ``expected → predicted → count``. Pure functions, so a hand-checked set tests them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automatos.kernel.errors import ValidationError

if TYPE_CHECKING:
    from automatos.kernel.types import Workspace
    from automatos.routing.service import RouterService

__all__ = ["NONE", "NO_TIER", "Labelled", "Outcome", "load_jsonl", "metrics", "parse_examples", "replay"]

NONE = "none"
NO_TIER = "(none)"
"""The tier of an outcome no tier decided (unrouted)."""
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Labelled:
    text: str
    expected: str
    """An agent slug or ``none``."""


@dataclass(frozen=True)
class Outcome:
    expected: str
    predicted: str
    """The chosen agent's slug, or ``none`` (orchestrate or unrouted)."""
    tier: str
    """The tier that decided, or :data:`NO_TIER`."""
    confidence: float = 0.0


def parse_examples(items: Any, *, field: str = "examples", limit: int = 5000) -> list[Labelled]:
    """A list of ``{text, expected}`` objects checked; 422 naming ``examples[i].text|expected``."""
    if not isinstance(items, list):
        raise ValidationError("a list of {text, expected} objects", field=field)
    if not items:
        raise ValidationError("at least one labelled example", field=field)
    if len(items) > limit:
        raise ValidationError(f"at most {limit} labelled examples", field=field)
    examples = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise ValidationError("a labelled example is an object {text, expected}", field=where)
        text, expected = item.get("text"), item.get("expected")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise ValidationError(
                f"text is a non-empty string of at most {MAX_TEXT_CHARS} characters", field=f"{where}.text"
            )
        if not isinstance(expected, str) or not 1 <= len(expected) <= 100:
            raise ValidationError("expected is an agent's slug or 'none'", field=f"{where}.expected")
        examples.append(Labelled(text=text, expected=expected))
    return examples


def load_jsonl(lines: Iterable[str], *, limit: int = 5000) -> list[Labelled]:
    """Labelled examples from JSON lines (blank lines skipped); 422 naming ``line N``."""
    items: list[Any] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"line {number} is not JSON: {exc.msg}", field=f"line {number}") from None
    return parse_examples(items, field="lines", limit=limit)


def check_labels(examples: Sequence[Labelled], slugs: Iterable[str], *, field: str = "examples") -> None:
    """Every ``expected`` is ``none`` or one of ``slugs``; 422 naming ``examples[i].expected``."""
    known = set(slugs)
    for i, example in enumerate(examples):
        if example.expected != NONE and example.expected not in known:
            raise ValidationError(
                f"{example.expected[:100]!r} is not an active agent of this workspace (a slug) nor 'none'",
                field=f"{field}[{i}].expected",
            )


async def replay(
    router: RouterService, workspace: Workspace, examples: Sequence[Labelled], *, without: Sequence[str] = ("llm",)
) -> list[Outcome]:
    """Route every example (dry run: no record, no cache) and say what the router chose."""
    outcomes = []
    for example in examples:
        result = await router.route(workspace, example.text, dry_run=True, without=without, truncate=True)
        chosen = result.route_type == "agent" and result.agent_slug is not None
        outcomes.append(
            Outcome(
                expected=example.expected,
                predicted=result.agent_slug if chosen and result.agent_slug else NONE,
                tier=result.tier or NO_TIER,
                confidence=result.confidence,
            )
        )
    return outcomes


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy overall, per tier and per label, ``none`` precision/recall, the confusion matrix."""
    total = len(outcomes)
    correct = sum(o.expected == o.predicted for o in outcomes)
    tiers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        tiers[o.tier][0] += 1
        tiers[o.tier][1] += o.expected == o.predicted
    labels = sorted({o.expected for o in outcomes} | {o.predicted for o in outcomes})
    support = Counter(o.expected for o in outcomes)
    predicted = Counter(o.predicted for o in outcomes)
    hits = Counter(o.expected for o in outcomes if o.expected == o.predicted)
    confusion: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = confusion.setdefault(o.expected, {})
        row[o.predicted] = row.get(o.predicted, 0) + 1
    agent_predictions = sum(n for label, n in predicted.items() if label != NONE)
    agent_hits = sum(n for label, n in hits.items() if label != NONE)
    return {
        "examples": total,
        "correct": correct,
        "accuracy": _ratio(correct, total),
        "tiers": {
            name: {"decided": n, "correct": ok, "accuracy": _ratio(ok, n), "share": _ratio(n, total)}
            for name, (n, ok) in sorted(tiers.items())
        },
        "labels": {
            label: {
                "support": support[label],
                "predicted": predicted[label],
                "correct": hits[label],
                "recall": _ratio(hits[label], support[label]),
                "precision": _ratio(hits[label], predicted[label]),
            }
            for label in labels
        },
        "none": {
            "support": support[NONE],
            "predicted": predicted[NONE],
            "correct": hits[NONE],
            "precision": _ratio(hits[NONE], predicted[NONE]),
            "recall": _ratio(hits[NONE], support[NONE]),
        },
        "agent_precision": _ratio(agent_hits, agent_predictions),
        "confusion": {label: dict(sorted(row.items())) for label, row in sorted(confusion.items())},
    }
