"""The rules tier (order 20): the workspace's routing rules, highest priority first, the first whose
every condition holds decides (confidence 0.9, ``config["tiers"]["rules"]["confidence"]``).

Conditions a rule may set (``context.rules()``; one set at least, else it is an intent-only rule
this tier skips):

- ``source``: a glob (``fnmatch``, case-insensitive) over ``request.source`` — no source, no match;
- ``channel``: equal to ``request.channel`` (case-insensitive);
- ``keywords``: any of them as a whole word, or a whole phrase, of ``request.normalized`` (the
  normalised text: case, punctuation and whitespace folded, every script kept); a keyword in a
  script written without spaces (Chinese, Japanese, Thai…) matches anywhere in the text;
- ``regex``: found in the first ``config["tiers"]["rules"]["text_chars"]`` (4,096) characters of
  ``request.text`` (:mod:`automatos.kernel.patterns`: RE2 when installed, so linear in the text).

A workspace's rules are compiled once per list ``context.rules()`` answers (the rules service
answers the same list object until a rule changes): keyword sets, source globs, and every regex in
one :class:`~automatos.kernel.patterns.PatternSet` searched once per message — 1,000 rules cost
about what ten do. Imports only the kernel.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from automatos.kernel.patterns import MAX_PATTERN_TEXT, PatternSet, UnsafePattern, compile_safe
from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest, RoutingRule

__all__ = ["DEFAULT_CONFIDENCE", "MAX_WORKSPACES", "RulesTier", "number", "tier_params", "unspaced"]

log = logging.getLogger("automatos.routing.rules")

DEFAULT_CONFIDENCE = 0.9
MAX_WORKSPACES = 1000
"""Workspaces whose compiled rules a tier keeps (one instance serves every workspace)."""
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")


def tier_params(context: RoutingContext, name: str) -> Mapping[str, Any]:
    """The tier's parameters in the workspace's routing configuration (``config["tiers"][name]``)."""
    tiers = context.config.get("tiers")
    params = tiers.get(name) if isinstance(tiers, Mapping) else None
    if not isinstance(params, Mapping):
        params = context.config.get(name)
    return params if isinstance(params, Mapping) else {}


def number(params: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    """``params[key]`` when it is a number within ``[low, high]``, else ``default``."""
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        return default
    return float(value)


def unspaced(word: str) -> bool:
    """Whether ``word`` is in a script written without spaces between words (matched as a substring)."""
    return any(unicodedata.name(ch, "").startswith(_UNSPACED) for ch in word)


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: RoutingRule
    source: re.Pattern[str] | None
    channel: str | None
    words: frozenset[str]
    phrases: tuple[str, ...]
    """Multi-word keywords (`` a b ``, padded) and keywords of unspaced scripts (bare)."""
    regex: int | None
    """The rule's index in the tier's :class:`PatternSet`; -1: a regex that does not run (never matches)."""


@dataclass(frozen=True, slots=True)
class _RuleSet:
    rules: Sequence[RoutingRule]
    """What it was compiled from (held: compared by identity)."""
    entries: tuple[_Compiled, ...]
    patterns: PatternSet | None


def _fold(keyword: str) -> str:
    return " ".join(keyword.casefold().split())


def _compile(rules: Sequence[RoutingRule]) -> _RuleSet:
    entries: list[_Compiled] = []
    regexes: list[str] = []
    for rule in sorted(rules, key=lambda r: -r.priority):  # stable: the service's order among equals
        if not (rule.source or rule.channel or rule.keywords or rule.regex):
            continue  # intent keywords only: the intent tier's
        words: set[str] = set()
        phrases: list[str] = []
        for keyword in filter(None, map(_fold, rule.keywords)):
            if unspaced(keyword):
                phrases.append(keyword)
            elif " " in keyword:
                phrases.append(f" {keyword} ")
            else:
                words.add(keyword)
        regex: int | None = None
        if rule.regex:
            try:
                compile_safe(rule.regex)
                regex = len(regexes)
                regexes.append(rule.regex)
            except UnsafePattern as exc:
                log.warning("routing rule %s: regex not run (%s)", rule.id, exc.reason)
                regex = -1
        source = re.compile(fnmatch.translate(rule.source.casefold())) if rule.source else None
        channel = rule.channel.casefold() if rule.channel else None
        entries.append(_Compiled(rule, source, channel, frozenset(words), tuple(phrases), regex))
    return _RuleSet(rules, tuple(entries), PatternSet(regexes) if regexes else None)


class RulesTier:
    """Routing rules, highest priority first; the first whose every set condition holds decides."""

    name = "rules"
    order = 20

    def __init__(self) -> None:
        self._compiled: dict[str, _RuleSet] = {}

    def compiled(self, workspace_id: str, rules: Sequence[RoutingRule]) -> _RuleSet:
        held = self._compiled.get(workspace_id)
        if held is None or held.rules is not rules:
            if held is None and len(self._compiled) >= MAX_WORKSPACES:
                self._compiled.pop(next(iter(self._compiled)))  # the oldest workspace compiled
            held = self._compiled[workspace_id] = _compile(rules)
        return held

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        rules = await context.rules()
        if not rules:
            return None
        ruleset = self.compiled(request.workspace_id, rules)
        params = tier_params(context, "rules")
        found: set[int] | None = None  # the regexes found, searched once, on the first rule that needs it
        normalized = request.normalized
        words = frozenset(normalized.split())
        padded = f" {normalized} "
        source = request.source.casefold() if request.source else None
        channel = request.channel.casefold() if request.channel else None
        for entry in ruleset.entries:
            if entry.source is not None and (source is None or entry.source.match(source) is None):
                continue
            if entry.channel is not None and entry.channel != channel:
                continue
            keyword = None
            if entry.words or entry.phrases:
                keyword = next(iter(entry.words & words), None) or next(
                    (p.strip() for p in entry.phrases if p in padded), None
                )
                if keyword is None:
                    continue
            if entry.regex is not None:
                if entry.regex < 0 or ruleset.patterns is None:
                    continue
                if found is None:
                    limit = int(number(params, "text_chars", MAX_PATTERN_TEXT, 1, 1_000_000))
                    found = ruleset.patterns.search(request.text, limit)
                if entry.regex not in found:
                    continue
            return RouteDecision(
                agent_id=entry.rule.agent_id,
                confidence=number(params, "confidence", DEFAULT_CONFIDENCE, 0.0, 1.0),
                tier=self.name,
                reason=_reason(entry, keyword),
            )
        return None


def _reason(entry: _Compiled, keyword: str | None) -> str:
    rule = entry.rule
    held = [f"source {rule.source!r}"] if rule.source else []
    held += [f"channel {rule.channel!r}"] if rule.channel else []
    held += [f"keyword {keyword!r}"] if keyword else []
    held += ["its regex"] if rule.regex else []
    return f"rule {rule.id} (priority {rule.priority}): " + ", ".join(held)
