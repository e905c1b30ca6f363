"""What is scanned, how scan rules are run over it, and how findings become a score and a verdict.

The kernel owns the mechanism; the rules are built-in extensions (``register_scan_rules``). One
pipeline serves both kinds of third-party code:

- a pip-installed extension: the registry builds a :class:`ScanTarget` from the distribution's files
  before importing anything of it;
- a marketplace bundle: ``automatos.marketplace`` builds one from the archive (every file, with the
  parsed ``plugin.toml`` as ``manifest``).

A rule sees the whole target (:class:`TargetRule`, ``check_target``) — every file, the manifest,
the entry module — or, the older per-file form (:class:`ScanRule`, ``check``), the text of each
Python file. Rules share expensive work (parsed trees, folded constants, the import graph) through
``target.cache``, keyed by a name of their own.

Score (documented in docs/plugins.md, "Risk score"): each finding weighs its severity's points
(:data:`POINTS`) times 0.5 when the code is not reachable from the entry module and does not run at
import or install time (``reachable=False``), times 0.5 when the capability it uses is declared in
the manifest's ``[permissions]`` (``declared=True``). Sorted heaviest first, the score is
``w1 + w2/2 + (w3 + w4 + …)/4``, rounded, capped at 100. ``< 20`` safe, ``20-69`` review, ``≥ 70``
blocked. A rule that fails (out of memory included), or a file that cannot be read, makes the
verdict at least ``review`` — a scanner error is never ``safe`` — and adds nothing to the score:
it says nothing about the code, so it cannot block it either.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgspec

from automatos.kernel.types import ScanFinding, ScanRule, Severity

__all__ = [
    "BLOCKED_AT",
    "POINTS",
    "REVIEW_AT",
    "SCANNER_ERROR_RULES",
    "ScanReport",
    "ScanTarget",
    "TargetRule",
    "Verdict",
    "run_rules",
    "score",
    "verdict_for",
]

log = logging.getLogger("automatos.scanning")

POINTS: Mapping[Severity, float] = {
    Severity.CRITICAL: 80.0,
    Severity.HIGH: 40.0,
    Severity.MEDIUM: 15.0,
    Severity.LOW: 5.0,
    Severity.INFO: 0.0,
}
REVIEW_AT = 20
BLOCKED_AT = 70
SCANNER_ERROR_RULES = frozenset({"rule-failed", "unreadable"})
"""Findings that say the scanner could not do its job: the verdict is never ``safe`` with one."""


class Verdict(enum.StrEnum):
    SAFE = "safe"
    REVIEW = "review"
    BLOCKED = "blocked"


@dataclass
class ScanTarget:
    """Everything a rule may look at: every file (path -> bytes), the manifest, the entry module.

    ``files`` paths are POSIX, relative to the bundle or distribution root, in a stable order.
    ``manifest`` is the parsed ``plugin.toml`` as plain data (``None`` for a pip distribution
    without one). ``entry`` is the dotted module the plugin is loaded through (``plugin.toml``'s
    ``entry``, or an entry point's module). ``cache`` is for rules to share derived data.
    """

    files: dict[str, bytes]
    manifest: Mapping[str, Any] | None = None
    entry: str | None = None
    kind: str = "bundle"
    """``bundle`` (marketplace) or ``distribution`` (pip-installed extension)."""
    cache: dict[str, Any] = field(default_factory=dict)

    def text(self, path: str) -> str | None:
        """The file as UTF-8 text, or ``None`` when it is not valid UTF-8."""
        try:
            return self.files[path].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def python_files(self) -> list[str]:
        return [p for p in self.files if p.endswith((".py", ".pyw", ".pyi"))]

    def permissions(self) -> Mapping[str, Any]:
        """The manifest's ``[permissions]`` table (empty when there is none)."""
        manifest = self.manifest or {}
        permissions = manifest.get("permissions")
        return permissions if isinstance(permissions, Mapping) else {}


@runtime_checkable
class TargetRule(Protocol):
    """A scan rule over a whole :class:`ScanTarget` (every file, the manifest, the entry)."""

    @property
    def id(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]: ...


class ScanReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one scan: findings heaviest first, the score, the verdict."""

    risk_score: int
    verdict: Verdict
    findings: tuple[ScanFinding, ...]
    errors: tuple[str, ...] = ()
    """Rules that failed and files that could not be read (each also a finding)."""


def weight(finding: ScanFinding) -> float:
    if finding.rule in SCANNER_ERROR_RULES:
        return 0.0  # says nothing about the code: it makes the verdict at least review, not the score
    points = POINTS.get(finding.severity, 0.0)
    if not finding.reachable:
        points *= 0.5
    if finding.declared:
        points *= 0.5
    return points


def score(findings: Iterable[ScanFinding]) -> int:
    """``w1 + w2/2 + (w3 + …)/4`` over the findings' weights, heaviest first; 0-100."""
    weights = sorted((weight(f) for f in findings), reverse=True)
    total = sum(w * (1.0 if i == 0 else 0.5 if i == 1 else 0.25) for i, w in enumerate(weights))
    return min(100, round(total))


def verdict_for(
    risk: int, *, scanner_error: bool = False, review_at: int = REVIEW_AT, blocked_at: int = BLOCKED_AT
) -> Verdict:
    """The verdict of ``risk``; the marketplace passes the platform's thresholds (platform settings
    ``marketplace.review_risk_threshold`` and ``marketplace.block_risk_threshold``)."""
    if risk >= blocked_at:
        return Verdict.BLOCKED
    if risk >= min(review_at, blocked_at) or scanner_error:
        return Verdict.REVIEW
    return Verdict.SAFE


def run_rules(
    rules: Sequence[ScanRule | TargetRule], target: ScanTarget, *, extra: Iterable[ScanFinding] = ()
) -> ScanReport:
    """Run every rule over ``target``; a rule that raises is a ``rule-failed`` finding (high).

    ``extra``: findings made before the rules ran (the archive's binary files, the signature),
    scored with the rest.
    """
    findings: list[ScanFinding] = list(extra)
    errors: list[str] = []

    def failed(rule_id: str, exc: Exception, path: str = "") -> None:
        message = f"rule {rule_id} failed: {type(exc).__name__}: {exc}"
        log.warning("scan %s", message)
        errors.append(message)
        findings.append(ScanFinding(rule="rule-failed", severity=Severity.HIGH, message=message, path=path))

    for rule in rules:
        if isinstance(rule, TargetRule):
            try:
                findings.extend(rule.check_target(target))
            except Exception as exc:
                failed(rule.id, exc)
            continue
        for path in target.python_files():
            source = target.text(path)
            if source is None:
                continue  # reported once below, not once per rule
            try:
                findings.extend(rule.check(source, path))
            except Exception as exc:
                failed(rule.id, exc, path)
    for path in target.python_files():
        if target.text(path) is None:
            message = "Python source that is not UTF-8 cannot be reviewed"
            errors.append(f"{path}: {message}")
            findings.append(ScanFinding(rule="unreadable", severity=Severity.HIGH, message=message, path=path))
    findings.sort(key=lambda f: (-weight(f), f.path, f.line, f.rule))
    risk = score(findings)
    scanner_error = any(f.rule in SCANNER_ERROR_RULES for f in findings)
    return ScanReport(
        risk_score=risk,
        verdict=verdict_for(risk, scanner_error=scanner_error),
        findings=tuple(findings),
        errors=tuple(errors),
    )


Register = Callable[[ScanRule | TargetRule], None]
