"""What the owners of settings and tables hand to the kernel: :class:`Parts`.

An extension contributes its settings structs, its declared platform/workspace settings and its
tables through hooks (``register_settings``, ``register_migrations``). A feature package is not an
extension (no entry point, nothing to enable per workspace), and the kernel imports no feature
package: the composition root (``automatos/container.py``) lists the packages' parts in a
:class:`Parts` (the ``package_parts`` provider), and :func:`collect_parts` puts the kernel's own,
the packages' and every loaded extension's together. The kernel reads the result
(``kernel.parts``): it checks every settings struct when it is built, lets their run-time fields
be overridden, declares their settings, and runs every migration source.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from automatos.kernel.settings import SettingsGroup
from automatos.kernel.settings_registry import Declared

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import MetaData

    from automatos.kernel.hooks import Hooks

__all__ = ["MigrationSource", "Parts", "collect_parts"]

log = logging.getLogger("automatos.kernel")
T = TypeVar("T")


@dataclass(frozen=True)
class MigrationSource:
    """Tables someone other than the kernel owns: a directory of Alembic revisions that join the one
    revision graph (:mod:`automatos.kernel.db.migrate` runs them), and (optionally) the ``MetaData``
    of their models, for ``alembic revision --autogenerate``."""

    name: str
    """Who owns them (an extension's entry-point name, or a package's): unique."""
    versions: Path
    """The directory of revision files."""
    metadata: MetaData | None = None


@dataclass(frozen=True)
class Parts:
    settings: Sequence[type[SettingsGroup]] = ()
    """Settings structs read from the environment (``settings.group(XxxSettings)``)."""
    declared: Sequence[Declared] = ()
    """Platform- and workspace-scoped settings stored in the database."""
    migrations: Sequence[MigrationSource] = ()
    """Revision directories (and models) of tables the kernel does not own."""


def collect_parts(hooks: Hooks, packages: Parts | None = None) -> Parts:
    """The packages' parts, then every loaded extension's (through the hooks), each once."""
    packages = packages or Parts()
    declarations = hooks.settings_declarations()
    migrations = hooks.migration_sources()
    for error in [*declarations.errors, *migrations.errors]:
        log.error("extension %s: %s: %s", error.plugin, error.hook, error.error)
    registered = list(declarations.items.values())
    return Parts(
        settings=_once([*packages.settings, *(d for d in registered if isinstance(d, type))]),
        declared=_once([*packages.declared, *(d for d in registered if isinstance(d, Declared))]),
        migrations=_once([*packages.migrations, *migrations.items.values()]),
    )


def _once(items: Sequence[T]) -> tuple[T, ...]:
    out: list[T] = []
    for item in items:
        if item not in out:
            out.append(item)
    return tuple(out)
