"""The router's settings: how long a routing decision is cached, how sure the LLM tier must be, how
long a message may be, which embedding provider the tiers use, how long a tier may take.

Read from the environment like every settings struct (:class:`~automatos.kernel.settings.SettingsGroup`)
and handed to the kernel by the composition root (``automatos/container.py``, ``package_settings``);
all may be overridden while the platform runs. :class:`automatos.routing.service.RouterService` reads
them from the kernel's current settings on every request and hands the tiers what they need through
the routing configuration (``tiers.cache.ttl_hours``, ``tiers.llm.threshold``): extensions do not
import this package.
"""

from __future__ import annotations

from typing import ClassVar

from automatos.kernel.settings import FieldDoc, SettingsGroup, setting

__all__ = ["RoutingSettings"]


class RoutingSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "routing package"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting(
            "ROUTING_CACHE_TTL_HOURS", "routing_cache_ttl_hours", "number > 0", runtime=True, valid=lambda v: v > 0
        ),
        setting(
            "ROUTING_LLM_CONFIDENCE_THRESHOLD",
            "routing_llm_confidence_threshold",
            "number 0-1",
            runtime=True,
            valid=lambda v: 0 <= v <= 1,
        ),
        setting(
            "ROUTING_MAX_MESSAGE_CHARS",
            "routing_max_message_chars",
            "integer 1-1000000",
            runtime=True,
            valid=lambda v: 1 <= v <= 1_000_000,
        ),
        setting(
            "ROUTING_EMBEDDING_PROVIDER",
            "routing_embedding_provider",
            "embedding provider name (empty: local-e5 when registered, else offline)",
            runtime=True,
        ),
        setting(
            "ROUTING_TIER_TIMEOUT_SECONDS",
            "routing_tier_timeout_seconds",
            "number > 0",
            runtime=True,
            valid=lambda v: v > 0,
        ),
        setting(
            "ROUTING_AGENTS_CACHE_SECONDS",
            "routing_agents_cache_seconds",
            "number >= 0",
            runtime=True,
            valid=lambda v: v >= 0,
        ),
        setting(
            "ROUTING_UNROUTED_EXCERPT_CHARS",
            "routing_unrouted_excerpt_chars",
            "integer 0-4000",
            runtime=True,
            valid=lambda v: 0 <= v <= 4000,
        ),
    )

    routing_cache_ttl_hours: float = 24.0
    """How long routing decisions are cached."""
    routing_llm_confidence_threshold: float = 0.5
    """Minimum confidence for the LLM routing tier (below it: ``orchestrate``)."""
    routing_max_message_chars: int = 4000
    """The longest message ``POST /api/route`` accepts (422 naming ``message`` beyond); chat routes on
    the first this many characters of a longer message."""
    routing_embedding_provider: str = ""
    """The embedding provider the tiers' ``context.embed`` uses; empty: ``local-e5`` when registered,
    else the hashed fallback ``offline``."""
    routing_tier_timeout_seconds: float = 5.0
    """How long one tier may take (a workspace's ``tiers.<name>.timeout`` overrides it); past it the
    tier's outcome is ``timeout`` and the cascade goes on."""
    routing_agents_cache_seconds: float = 5.0
    """How long the router keeps a workspace's active agents (and routing config) before reading them
    again; a routing write on any node drops them at once (bus channel ``routing``)."""
    routing_unrouted_excerpt_chars: int = 200
    """How much of an unrouted message its event keeps for admins (0: nothing; decisions keep only a
    hash of the normalised text)."""
