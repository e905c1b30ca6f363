"""Helpers for the scan-engine tests: build a one-bundle target and run the engine's rules."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from automatos.extensions.scanning.rules import RULES
from automatos.kernel.scanning import ScanReport, ScanTarget, run_rules


def scan(
    files: Mapping[str, str],
    permissions: Mapping[str, Any] | None = None,
    entry: str | None = "plug",
) -> ScanReport:
    manifest = {"name": "t", "version": "1", "entry": entry, "permissions": dict(permissions or {})}
    data = {path: textwrap.dedent(text).encode() for path, text in files.items()}
    return run_rules(RULES, ScanTarget(files=data, manifest=manifest, entry=entry))
