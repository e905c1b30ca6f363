"""The router's settings: how long a routing decision is cached, how sure the LLM tier must be.

Read from the environment like every settings struct (:class:`~automatos.kernel.settings.SettingsGroup`)
and handed to the kernel by the composition root (``automatos/container.py``, ``package_settings``);
both may be overridden at run time. Nothing built-in reads them yet (the router issue will); routing
extensions may, with ``settings.group(RoutingSettings)``.
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
    )

    routing_cache_ttl_hours: float = 24.0
    """How long routing decisions are cached."""
    routing_llm_confidence_threshold: float = 0.7
    """Minimum confidence for the LLM routing tier."""
