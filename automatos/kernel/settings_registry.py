"""The one registry of settings stored in the database: platform- and workspace-scoped.

A feature package or an extension *declares* each setting it reads (:class:`Declared`): its key,
its scope, the kind of value it holds, its bounds or choices, its default and what it means.
Extensions declare through ``register_settings(register)``; feature packages through the
composition root (``automatos/container.py``, ``package_parts``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = ["Declared", "Scope", "SettingKind"]

Scope = Literal["platform", "workspace"]
SettingKind = Literal["integer", "number", "string"]


class Declared(msgspec.Struct, frozen=True, kw_only=True):
    """A setting stored in the database: ``platform`` (one value for the deployment, an admin sets
    it) or ``workspace`` (a key of each workspace's ``settings`` document, its admins set it)."""

    key: str
    scope: Scope
    kind: SettingKind
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    """The values a ``string`` setting may take (empty: any string)."""
