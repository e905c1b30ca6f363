"""The scan pipeline's arithmetic (kernel/scanning.py): weights, the score formula, verdicts, failures."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from automatos.kernel.scanning import ScanTarget, Verdict, run_rules, score, verdict_for, weight
from automatos.kernel.types import ScanFinding, Severity


def finding(severity: Severity, *, reachable: bool = True, declared: bool = False, rule: str = "r") -> ScanFinding:
    return ScanFinding(rule=rule, severity=severity, message="m", path="p.py", reachable=reachable, declared=declared)


def test_weights_halve_for_unreachable_and_for_declared() -> None:
    assert weight(finding(Severity.HIGH)) == 40
    assert weight(finding(Severity.HIGH, reachable=False)) == 20
    assert weight(finding(Severity.HIGH, declared=True)) == 20
    assert weight(finding(Severity.HIGH, reachable=False, declared=True)) == 10


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], 0),
        ([Severity.INFO] * 50, 0),
        ([Severity.CRITICAL], 80),
        ([Severity.HIGH], 40),
        ([Severity.HIGH, Severity.HIGH], 60),
        ([Severity.HIGH, Severity.HIGH, Severity.HIGH], 70),  # w1 + w2/2 + w3/4
        ([Severity.MEDIUM, Severity.MEDIUM], 22),  # 15 + 7.5 = 22.5, rounded half to even
        ([Severity.CRITICAL, Severity.CRITICAL, Severity.CRITICAL], 100),  # capped
        ([Severity.LOW, Severity.LOW, Severity.LOW], 9),  # 5 + 2.5 + 1.25
    ],
)
def test_score_formula(severities: list[Severity], expected: int) -> None:
    assert score(finding(s) for s in severities) == expected


def test_verdict_thresholds_and_a_scanner_error_is_never_safe() -> None:
    assert [verdict_for(n) for n in (0, 19, 20, 69, 70, 100)] == [
        Verdict.SAFE,
        Verdict.SAFE,
        Verdict.REVIEW,
        Verdict.REVIEW,
        Verdict.BLOCKED,
        Verdict.BLOCKED,
    ]
    assert verdict_for(0, scanner_error=True) is Verdict.REVIEW
    assert verdict_for(90, scanner_error=True) is Verdict.BLOCKED


class Broken:
    id = "broken"
    severity = Severity.LOW

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]:
        raise RuntimeError("boom")


class PerFile:
    id = "per-file"
    severity = Severity.MEDIUM

    def check(self, source: str, path: str) -> Sequence[ScanFinding]:
        return [ScanFinding(rule=self.id, severity=self.severity, message=source[:5], path=path, line=1)]


def test_run_rules_reports_failures_and_unreadable_sources_and_runs_both_rule_forms() -> None:
    target = ScanTarget(files={"a.py": b"print()", "b.py": b"\xff\xfe", "data.bin": b"\x00"}, entry="a")
    report = run_rules([Broken(), PerFile()], target, extra=[finding(Severity.LOW, rule="extra")])
    rules = sorted(f.rule for f in report.findings)
    assert rules == ["extra", "per-file", "rule-failed", "unreadable"]  # per-file ran on a.py only
    assert report.verdict is Verdict.REVIEW  # scanner errors, whatever the score
    assert any("broken failed: RuntimeError: boom" in e for e in report.errors)
    assert [f.rule for f in report.findings[:2]] == ["per-file", "extra"]  # heaviest first
    assert report.risk_score == 18  # 15 + 5/2; scanner errors weigh nothing: review, never blocked by them


def test_many_failing_rules_make_review_not_blocked() -> None:
    target = ScanTarget(files={"a.py": b"print()"})
    report = run_rules([Broken()] * 10, target)
    assert report.verdict is Verdict.REVIEW and report.risk_score == 0


def test_a_clean_target_is_safe() -> None:
    report = run_rules([PerFile()], ScanTarget(files={"README.md": b"hello"}))
    assert report.risk_score == 0 and report.verdict is Verdict.SAFE and report.findings == ()
