"""The intent tier (order 50): a light classifier over the routing rules' ``intent_keywords``.

Each agent's vocabulary is the intent keywords of its rules (``context.rules()``; a rule with only
intent keywords exists for this tier). Words are compared stemming-lite: the normalised text's
words, lower-cased, a plural ``s`` dropped (``refunds`` → ``refund``, ``policies`` → ``policy``;
not from words of three letters or fewer, nor after ``ss``, ``us``, ``is``); a keyword of several
words matches as a phrase; one in a script written without spaces (Chinese, Japanese, Thai…)
anywhere in the text.

An agent's score is the sum over its keywords found of ``1 / (how many agents have that keyword)``
— a word every agent claims tells nothing — and its confidence ``score / (score + 1)``: one keyword
of its own 0.5, two 0.67, three 0.75. Only agents of ``request.shortlist`` count when an earlier tier
narrowed the choice. The best agent is chosen when its confidence is at least
``config["tiers"]["intent"]["threshold"]`` (default :data:`DEFAULT_THRESHOLD`, 0.5) **and** exceeds the
second's by ``["margin"]`` (default :data:`DEFAULT_MARGIN`, 0.2); otherwise the tier passes.
Imports only the kernel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from automatos.extensions.routing.rules import MAX_WORKSPACES, number, tier_params, unspaced
from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest, RoutingRule

__all__ = ["DEFAULT_MARGIN", "DEFAULT_THRESHOLD", "IntentTier", "stem"]

DEFAULT_THRESHOLD = 0.5
DEFAULT_MARGIN = 0.2


def stem(word: str) -> str:
    """Stemming-lite: lower case, a plural ``s`` (``ies`` → ``y``) dropped."""
    word = word.casefold()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stem_all(text: str) -> str:
    return " ".join(stem(w) for w in text.split())


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    rules: Sequence[RoutingRule]
    """What it was built from (held: compared by identity)."""
    words: dict[str, tuple[str, ...]]
    """Stemmed single word → the agents claiming it."""
    phrases: dict[str, tuple[str, ...]]
    """Padded stemmed phrase (or unspaced keyword) → the agents claiming it."""


def _vocabulary(rules: Sequence[RoutingRule]) -> _Vocabulary:
    claims: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        for keyword in rule.intent_keywords:
            stemmed = _stem_all(keyword)
            if stemmed:
                claims[stemmed].add(rule.agent_id)
    words: dict[str, tuple[str, ...]] = {}
    phrases: dict[str, tuple[str, ...]] = {}
    for keyword, agents in claims.items():
        ordered = tuple(sorted(agents))
        if unspaced(keyword):
            phrases[keyword] = ordered
        elif " " in keyword:
            phrases[f" {keyword} "] = ordered
        else:
            words[keyword] = ordered
    return _Vocabulary(rules, words, phrases)


class IntentTier:
    """Agents scored by the intent keywords of their rules found in the message."""

    name = "intent"
    order = 50

    def __init__(self) -> None:
        self._vocabularies: dict[str, _Vocabulary] = {}

    def vocabulary(self, workspace_id: str, rules: Sequence[RoutingRule]) -> _Vocabulary:
        held = self._vocabularies.get(workspace_id)
        if held is None or held.rules is not rules:
            if held is None and len(self._vocabularies) >= MAX_WORKSPACES:
                self._vocabularies.pop(next(iter(self._vocabularies)))  # the oldest workspace built
            held = self._vocabularies[workspace_id] = _vocabulary(rules)
        return held

    def scores(self, request: RoutingRequest, vocabulary: _Vocabulary) -> dict[str, tuple[float, list[str]]]:
        """Agent id → (score, the keywords found), for the agents the request may go to."""
        allowed = set(request.shortlist) if request.shortlist else None
        text = _stem_all(request.normalized)
        padded = f" {text} "
        found: list[tuple[str, tuple[str, ...]]] = [
            (w, vocabulary.words[w]) for w in dict.fromkeys(text.split()) if w in vocabulary.words
        ]
        found += [(p.strip(), agents) for p, agents in vocabulary.phrases.items() if p in padded]
        scores: dict[str, tuple[float, list[str]]] = {}
        for keyword, agents in found:
            weight = 1.0 / len(agents)
            for agent_id in agents:
                if allowed is not None and agent_id not in allowed:
                    continue
                score, keywords = scores.get(agent_id, (0.0, []))
                scores[agent_id] = (score + weight, [*keywords, keyword])
        return scores

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        rules = await context.rules()
        if not rules:
            return None
        vocabulary = self.vocabulary(request.workspace_id, rules)
        if not vocabulary.words and not vocabulary.phrases:
            return None
        scores = self.scores(request, vocabulary)
        if not scores:
            return None
        params = tier_params(context, self.name)
        threshold = number(params, "threshold", DEFAULT_THRESHOLD, 0.0, 1.0)
        margin = number(params, "margin", DEFAULT_MARGIN, 0.0, 1.0)
        ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))
        best_id, (best, keywords) = ranked[0]
        confidence = best / (best + 1.0)
        second = ranked[1][1][0] if len(ranked) > 1 else 0.0
        runner_up = second / (second + 1.0)
        if confidence < threshold or confidence - runner_up < margin:
            return None
        return RouteDecision(
            agent_id=best_id,
            confidence=round(confidence, 4),
            tier=self.name,
            reason=f"intent keywords {', '.join(repr(k) for k in keywords[:5])} (next agent {runner_up:.2f})",
        )
