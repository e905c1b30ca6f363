"""A test extension with scriptable routing tiers: each workspace's behaviour set by the test.

``SCRIPT[workspace_id][tier name]`` is ``async (request, context) -> answer`` (or a plain answer);
absent: the tier passes. ``CALLS`` counts each tier's calls per workspace. Orders: ``t-raise`` 15,
``t-short`` 25, ``t-decide`` 35, ``t-after`` 45 — between the built-ins' (override 0, cache 10…).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import RoutingContext, RoutingRequest, RoutingTier

SCRIPT: dict[str, dict[str, Any]] = {}
CALLS: Counter[tuple[str, str]] = Counter()


class ScriptTier:
    def __init__(self, name: str, order: int) -> None:
        self.name = name
        self.order = order

    async def route(self, request: RoutingRequest, context: RoutingContext) -> Any:
        CALLS[request.workspace_id, self.name] += 1
        action = SCRIPT.get(request.workspace_id, {}).get(self.name)
        if action is None:
            return None
        if callable(action):
            return await action(request, context)
        return action


TIERS = (ScriptTier("t-raise", 15), ScriptTier("t-short", 25), ScriptTier("t-decide", 35), ScriptTier("t-after", 45))


@hookimpl
def register_routing_tiers(register: Callable[[RoutingTier], None]) -> None:
    for tier in TIERS:
        register(tier)
