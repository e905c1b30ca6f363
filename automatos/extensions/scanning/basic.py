"""The built-in scan-rule extension ("automatos.scanning.basic"): registers the static engine's rules.

The rules (``rules.py``) share one analysis per target (``analysis.py``): constant folding, per-module
facts, the import graph from the entry module, source-to-sink flows, and the declared-vs-used
check against the manifest's ``[permissions]``. docs/scanning.md documents every rule.
"""

from __future__ import annotations

from collections.abc import Callable

from automatos.extensions.scanning.content_rules import CONTENT_RULES
from automatos.extensions.scanning.rules import RULES
from automatos.extensions.scanning.templates import TEMPLATE_RULE
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.scanning import TargetRule
from automatos.kernel.types import ScanRule

__all__ = ["RULES", "register_scan_rules"]


@hookimpl
def register_scan_rules(register: Callable[[ScanRule | TargetRule], None]) -> None:
    rules: tuple[ScanRule | TargetRule, ...] = (*RULES, TEMPLATE_RULE, *CONTENT_RULES)
    for rule in rules:
        register(rule)
