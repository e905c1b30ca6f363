"""One scan of one marketplace bundle: the built-in scan rules over every file, plus what the
archive and the signature check found, scored into a :class:`~automatos.kernel.scanning.ScanReport`.

The rules are not imported from ``automatos.extensions`` (a feature package does not import
extensions): :func:`builtin_scan_rules` loads the built-in ``automatos.scanning.*`` extensions
through a registry of its own, exactly as the kernel does at startup, and collects what they
register through ``register_scan_rules``. The API process hands the same rules to its scan runner;
the CLI and the tests call :func:`builtin_scan_rules` directly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from automatos.kernel.registry import Registry
from automatos.kernel.scanning import ScanReport, TargetRule, run_rules
from automatos.kernel.types import ScanRule
from automatos.marketplace.settings import DEFAULT_ALLOWED_DEPENDENCIES

if TYPE_CHECKING:
    from automatos.marketplace.bundle import Bundle

__all__ = ["builtin_scan_rules", "normalise_dependency", "scan_bundle"]

SCANNING_PREFIX = "automatos.scanning"


def normalise_dependency(name: str) -> str:
    """PEP 503 normalised project name (``Foo_Bar.baz`` → ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def builtin_scan_rules() -> tuple[ScanRule | TargetRule, ...]:
    """The rules every built-in ``automatos.scanning.*`` extension registers, in registration order."""
    registry = Registry()
    registry.load(c for c in Registry.discover() if c.builtin and c.name.startswith(SCANNING_PREFIX))
    if registry.scan_errors:
        problems = "; ".join(f"{name}: {error}" for name, error in registry.scan_errors)
        raise RuntimeError(f"a built-in scan-rule extension failed: {problems}")
    return tuple(registry.scan_rules)


def scan_bundle(
    bundle: Bundle,
    rules: Sequence[ScanRule | TargetRule] | None = None,
    *,
    allowed_dependencies: Iterable[str] | None = None,
) -> ScanReport:
    """Scan every file of ``bundle`` with ``rules`` (default: the built-in ones).

    ``allowed_dependencies`` is the platform's allow-list (``PLUGINS_ALLOWED_DEPENDENCIES``; its
    default when not given); the manifest rule reads it from ``target.cache["allowed_dependencies"]``
    (normalised names).
    """
    target = bundle.target()
    allowed = DEFAULT_ALLOWED_DEPENDENCIES if allowed_dependencies is None else allowed_dependencies
    target.cache["allowed_dependencies"] = frozenset(normalise_dependency(n) for n in allowed)
    return run_rules(builtin_scan_rules() if rules is None else rules, target, extra=bundle.findings)
