"""The built-in routing tiers, one pluggy plugin (entry point ``automatos.routing.builtin``).

Each tier is a module of this package: ``override`` (0), ``cache`` (10), ``rules`` (20),
``triggers`` (30), ``examples`` (35: few-shot, once calibrated), ``semantic`` (40), ``intent``
(50), ``llm`` (60) — the default orders; a workspace reorders or switches them off in its routing configuration
(``PUT /api/routing/config``). One instance of each serves every workspace: what differs per
workspace comes through the ``RoutingContext`` the router hands each call (and what a tier keeps,
it keeps by workspace id). Only the kernel is imported here (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable

from automatos.extensions.routing.cache import CacheTier
from automatos.extensions.routing.examples import ExamplesTier
from automatos.extensions.routing.intent import IntentTier
from automatos.extensions.routing.llm import LLMTier
from automatos.extensions.routing.override import OverrideTier
from automatos.extensions.routing.rules import RulesTier
from automatos.extensions.routing.semantic import SemanticTier
from automatos.extensions.routing.triggers import TriggersTier
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import RoutingTier

__all__ = ["TIERS", "register_routing_tiers"]

TIERS: tuple[RoutingTier, ...] = (
    OverrideTier(),
    CacheTier(),
    RulesTier(),
    TriggersTier(),
    ExamplesTier(),
    SemanticTier(),
    IntentTier(),
    LLMTier(),
)
"""One instance of each built-in tier, in their default order."""


@hookimpl
def register_routing_tiers(register: Callable[[RoutingTier], None]) -> None:
    for tier in TIERS:
        register(tier)
