"""Shared plumbing of the content scan rules (data files, typosquatting, prompt injection, manifest).

Each content module analyses the whole target once (the result kept in ``target.cache`` under a
key of its own) and exposes one :class:`ContentRule` per rule id; a rule's ``check_target`` returns
the findings of that one id. Documenting, enabling and testing stay per rule while the expensive
work (decoding blobs, normalising text) runs once per scan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["DOC_SUFFIXES", "PYTHON_SUFFIXES", "ContentRule", "cached", "is_doc", "line_of", "suffix"]

PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
DOC_SUFFIXES = (".md", ".markdown", ".rst", ".adoc")


def suffix(path: str) -> str:
    """The lower-cased extension of ``path`` with its dot (``""`` when there is none)."""
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""


def is_doc(path: str) -> bool:
    """Prose for people: Markdown/reST files and the usual top-level text files (README, CHANGELOG)."""
    name = path.rsplit("/", 1)[-1].upper()
    return suffix(path) in DOC_SUFFIXES or name.startswith(("README", "CHANGELOG", "CHANGES", "HISTORY", "LICENSE"))


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


def cached(target: ScanTarget, key: str, build: Callable[[ScanTarget], list[ScanFinding]]) -> list[ScanFinding]:
    """``build(target)`` once per target: the rules of one module share the analysis."""
    found = target.cache.get(key)
    if found is None:
        found = build(target)
        target.cache[key] = found
    return list(found)


@dataclass(frozen=True)
class ContentRule:
    """One rule id over a shared analysis: ``check_target`` keeps the findings that carry its id."""

    id: str
    severity: Severity
    """The heaviest severity this rule reports (some findings are lighter, see docs/scanning.md)."""
    summary: str
    analyse: Callable[[ScanTarget], list[ScanFinding]]

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]:
        return [f for f in self.analyse(target) if f.rule == self.id]
