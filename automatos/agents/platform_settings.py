"""The seeded platform settings, declared for the one settings registry.

The seed's list (:data:`automatos.agents.seed_data.PLATFORM_SETTINGS`) is the product's platform
settings with the value of a new install and what a value may be (kind, bounds, choices). Reading,
listing, checking and setting them is the kernel's settings registry's
(:mod:`automatos.kernel.settings_registry`, ``kernel.settings_registry``, served at
``/api/platform-settings``); the composition root hands these declarations to the kernel
(``automatos/container.py``, ``PACKAGE_PARTS``). An owner that reads a setting may declare it itself
too — the sandbox its ``sandbox.*`` limits, the API-key extension its ``api_keys.*`` caps — with the
same values (``tests/kernel/test_settings_registry.py`` checks they agree); the first declaration of a key is
the one the registry keeps.
"""

from __future__ import annotations

from automatos.agents.seed_data import PLATFORM_SETTINGS, PlatformSettingSeed
from automatos.kernel.settings_registry import Declared

__all__ = ["SEEDED_DECLARED", "declared"]


def declared(seed: PlatformSettingSeed) -> Declared:
    """A seeded platform setting as the registry's declaration (its default: the seeded value)."""
    return Declared(
        key=seed.key,
        scope="platform",
        kind=seed.kind,
        default=seed.value,
        description=seed.description,
        minimum=seed.minimum,
        maximum=seed.maximum,
        choices=seed.choices,
    )


SEEDED_DECLARED: tuple[Declared, ...] = tuple(declared(seed) for seed in PLATFORM_SETTINGS)
