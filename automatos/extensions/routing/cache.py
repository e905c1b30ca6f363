"""The ``cache`` tier (order 10): the same message, from the same source, gets the same decision.

An **exact** cache, not a similarity cache: the key is the workspace, the request's ``source`` and
the sha256 of the normalised text (case, whitespace and punctuation folded by the router: see
``automatos.routing.normalize``), so "turn on dark mode" and "turn off dark mode" are two entries
however close their embeddings are.

- Read in :meth:`CacheTier.route`; written in :meth:`CacheTier.remember`, which the router calls
  after a decision by any tier but ``cache`` and ``override`` (and which corrections use to rewrite
  an entry).
- An entry keeps the decision (agent, confidence as decided, the tier that decided, route type,
  reason) and when it expires by the router's clock (``context.now()``); the KV entry carries the
  same TTL. The TTL is ``config["tiers"]["cache"]["ttl_hours"]`` (the router fills it from
  ``ROUTING_CACHE_TTL_HOURS``, 24 h by default; a workspace may set its own).
- ``requires = ("kv",)``: when the platform's KV cache is down the router skips this tier (outcome
  ``skipped``), never fails the route. An entry that cannot be decoded is a miss.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping
from typing import Any

import msgspec

from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest

__all__ = ["DEFAULT_TTL_HOURS", "CacheEntry", "CacheTier", "cache_key"]

DEFAULT_TTL_HOURS = 24.0
KEY_PREFIX = "routing:decision:"


class CacheEntry(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str | None
    confidence: float
    tier: str
    route_type: str = "agent"
    reason: str = ""
    expires: float
    """When it stops counting, in the router's clock (seconds)."""


_decode = msgspec.json.Decoder(CacheEntry).decode
_encode = msgspec.json.Encoder().encode

_MEMO_CHARS = 512
_MEMO_SIZE = 4096


def cache_key(workspace_id: str, source: str | None, normalized: str) -> str:
    """The KV key of a message's decision: workspace, source and the normalised text's sha256
    (short texts' keys remembered: the same message again is what this tier is for)."""
    if len(normalized) <= _MEMO_CHARS:
        return _key_remembered(workspace_id, source, normalized)
    return _key(workspace_id, source, normalized)


def _key(workspace_id: str, source: str | None, normalized: str) -> str:
    digest = hashlib.sha256(f"{source or ''}\0{normalized}".encode()).hexdigest()
    return f"{KEY_PREFIX}{workspace_id}:{digest}"


_key_remembered = functools.lru_cache(maxsize=_MEMO_SIZE)(_key)


def _ttl_hours(config: Mapping[str, Any]) -> float:
    tiers = config.get("tiers")
    params = tiers.get("cache") if isinstance(tiers, Mapping) else None
    value = params.get("ttl_hours") if isinstance(params, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return DEFAULT_TTL_HOURS
    return float(value)


class CacheTier:
    name = "cache"
    order = 10
    requires = ("kv",)

    async def route(self, request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        kv = context.kv
        if kv is None or not request.normalized:
            return None
        raw = await kv.get(cache_key(request.workspace_id, request.source, request.normalized))
        if raw is None:
            return None
        try:
            entry = _decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if entry.expires <= context.now():
            return None
        return RouteDecision(
            agent_id=entry.agent_id,
            confidence=entry.confidence,
            tier=self.name,
            reason=f"the same message was decided by {entry.tier}" + (f": {entry.reason}" if entry.reason else ""),
            route_type=entry.route_type,
        )

    async def remember(self, request: RoutingRequest, decision: RouteDecision, context: RoutingContext) -> None:
        """Keep ``decision`` for this message (the router calls it; a correction may too)."""
        kv = context.kv
        if kv is None or not request.normalized:
            return
        ttl = _ttl_hours(context.config) * 3600
        entry = CacheEntry(
            agent_id=decision.agent_id,
            confidence=decision.confidence,
            tier=decision.tier,
            route_type=decision.route_type,
            reason=decision.reason[:500],
            expires=context.now() + ttl,
        )
        await kv.set(cache_key(request.workspace_id, request.source, request.normalized), _encode(entry), ttl=ttl)
