"""Scan a security corpus and print detection, blocked rate and false positives per family.

A corpus directory holds ``malicious/<sample>/`` and ``benign/<sample>/``, each a plugin bundle
(``plugin.toml`` at its root) plus an ``expected.toml`` (``verdict``, ``family``, optional ``twin``,
``notes``) that is not part of the bundle. Each sample is read the way an upload is
(``automatos.marketplace.bundle.load_directory``, without ``expected.toml``) and scanned with the
built-in rules (``automatos.marketplace.scan.scan_bundle``); a bundle the reader refuses counts as
blocked (it never reaches a workspace). Until those modules exist, the sample's files become a
``ScanTarget`` scanned by ``run_rules`` over the built-in ``automatos.scanning.*`` rules.

The repository's corpus is ``tests/marketplace/corpus`` (``tests/marketplace/test_corpus.py``
asserts the issue's targets on it); the lead runs this on a held-out corpus the scanner's authors
never saw:

    .venv/bin/python bench/corpus_report.py tests/marketplace/corpus
    .venv/bin/python bench/corpus_report.py /tmp/heldout --details

Not a benchmark of speed: it measures the scanner's verdicts. Nothing here imports or runs a sample.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPECTED = "expected.toml"
VERDICTS = ("safe", "review", "blocked")
TARGETS = {
    "malicious samples": 45,
    "families": 15,
    "benign samples": 25,
    "twins": 10,
}


@dataclass(frozen=True)
class Sample:
    kind: str
    """``malicious`` or ``benign``."""
    name: str
    path: Path
    expected: str
    family: str
    twin: str | None
    notes: str


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    verdict: str
    risk: int
    top: str
    """The heaviest finding (or why the bundle was refused), for the details table."""
    refused: bool = False

    @property
    def flagged(self) -> bool:
        return self.verdict != "safe"


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Malformed samples (bad expected.toml, missing twin)."""
    mode: str = ""

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.sample.kind == kind]

    @property
    def malicious(self) -> list[Outcome]:
        return self.of("malicious")

    @property
    def benign(self) -> list[Outcome]:
        return self.of("benign")

    def families(self) -> set[str]:
        return {o.sample.family for o in self.malicious}

    def twins(self) -> list[Outcome]:
        return [o for o in self.benign if o.sample.twin]

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    def figures(self) -> dict[str, float]:
        mal, ben = self.malicious, self.benign
        return {
            "detection": self.rate(sum(o.flagged for o in mal), len(mal)),
            "blocked": self.rate(sum(o.verdict == "blocked" for o in mal), len(mal)),
            "benign_blocked": self.rate(sum(o.verdict == "blocked" for o in ben), len(ben)),
            "benign_review": self.rate(sum(o.verdict == "review" for o in ben), len(ben)),
        }

    def failures(self) -> list[str]:
        """The issue's targets this corpus misses (empty: all met)."""
        mal, ben = self.malicious, self.benign
        out: list[str] = list(self.problems)
        missed = [o.sample.name for o in mal if not o.flagged]
        if missed:
            out.append(f"{len(missed)} malicious sample(s) rated safe: {', '.join(missed)}")
        f = self.figures()
        if f["blocked"] < 0.9:
            out.append(f"blocked rate {f['blocked']:.0%} < 90%")
        blocked = [o.sample.name for o in ben if o.verdict == "blocked"]
        if blocked:
            out.append(f"{len(blocked)} benign sample(s) blocked: {', '.join(blocked)}")
        if f["benign_review"] > 0.10:
            out.append(f"benign in review {f['benign_review']:.0%} > 10%")
        return out

    def count_failures(self) -> list[str]:
        counts = {
            "malicious samples": len(self.malicious),
            "families": len(self.families()),
            "benign samples": len(self.benign),
            "twins": len(self.twins()),
        }
        return [f"{name}: {counts[name]} < {least}" for name, least in TARGETS.items() if counts[name] < least]


# -- reading the corpus ----------------------------------------------------------------------------


def read_samples(root: Path) -> tuple[list[Sample], list[str]]:
    """Every sample under ``root/malicious`` and ``root/benign``, and what is malformed about any."""
    samples: list[Sample] = []
    problems: list[str] = []
    for kind in ("malicious", "benign"):
        base = root / kind
        if not base.is_dir():
            problems.append(f"{base} is missing")
            continue
        for path in sorted(p for p in base.iterdir() if p.is_dir()):
            name = f"{kind}/{path.name}"
            try:
                meta = tomllib.loads((path / EXPECTED).read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                problems.append(f"{name}: {EXPECTED} unreadable: {exc}")
                continue
            verdict, family = meta.get("verdict"), meta.get("family")
            if verdict not in VERDICTS or not isinstance(family, str) or not family:
                problems.append(f"{name}: {EXPECTED} needs verdict (one of {VERDICTS}) and family")
                continue
            if not (path / "plugin.toml").is_file():
                problems.append(f"{name}: no plugin.toml")
                continue
            twin = meta.get("twin")
            if twin is not None and not (root / str(twin)).is_dir():
                problems.append(f"{name}: twin {twin} does not exist")
                twin = None
            notes = str(meta.get("notes", ""))
            if not notes:
                problems.append(f"{name}: {EXPECTED} has no notes (technique, inspiration)")
            samples.append(Sample(kind, name, path, verdict, family, twin, notes))
    return samples, problems


def bundle_files(path: Path) -> dict[str, bytes]:
    """The sample's files as a bundle holds them: POSIX paths, ``expected.toml`` left out."""
    files: dict[str, bytes] = {}
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).as_posix()
        if file.is_file() and rel != EXPECTED and "__pycache__" not in file.parts:
            files[rel] = file.read_bytes()
    return files


# -- scanning --------------------------------------------------------------------------------------


class Scanner:
    """The marketplace pipeline when it exists; otherwise the built-in rules over a ScanTarget."""

    def __init__(self) -> None:
        self.mode = "fallback: ScanTarget + run_rules"
        self._load: Any = None
        self._scan: Any = None
        self._allowed: tuple[str, ...] | None = None
        try:
            from automatos.marketplace.bundle import load_directory
            from automatos.marketplace.scan import scan_bundle
        except ImportError:
            self._rules = _builtin_rules()
            return
        self._load, self._scan = load_directory, scan_bundle
        self._allowed = _allowed_dependencies()
        self.mode = "marketplace: load_directory + scan_bundle"

    def scan(self, sample: Sample) -> Outcome:
        if self._load is not None:
            return self._scan_bundle(sample)
        return self._scan_target(sample)

    def _scan_bundle(self, sample: Sample) -> Outcome:
        from automatos.kernel.errors import ValidationError

        with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
            copy = Path(tmp) / sample.path.name
            shutil.copytree(sample.path, copy, ignore=shutil.ignore_patterns(EXPECTED, "__pycache__"))
            try:
                bundle = self._load(copy)
            except ValidationError as exc:
                # refused at upload: it never reaches a workspace
                return Outcome(sample, "blocked", 100, f"refused: {exc}", refused=True)
        report = self._scan(bundle, allowed_dependencies=self._allowed)
        return _outcome(sample, report)

    def _scan_target(self, sample: Sample) -> Outcome:
        from automatos.kernel.scanning import ScanTarget, run_rules

        files = bundle_files(sample.path)
        manifest = tomllib.loads(files["plugin.toml"].decode("utf-8"))
        entry = manifest.get("entry") if isinstance(manifest.get("entry"), str) else None
        target = ScanTarget(files=files, manifest=manifest, entry=entry, kind="bundle")
        if self._allowed is not None:
            target.cache["allowed_dependencies"] = frozenset(self._allowed)
        return _outcome(sample, run_rules(self._rules, target))


def _outcome(sample: Sample, report: Any) -> Outcome:
    top = ""
    if report.findings:
        f = report.findings[0]
        top = f"{f.rule} ({f.severity.value}) {f.path}:{f.line}"
    return Outcome(sample, str(report.verdict.value), int(report.risk_score), top)


def _builtin_rules() -> tuple[Any, ...]:
    try:
        from automatos.marketplace.scan import builtin_scan_rules

        return tuple(builtin_scan_rules())
    except ImportError:
        from automatos.kernel.registry import Registry

        registry = Registry()
        registry.load(c for c in Registry.discover() if c.builtin and c.name.startswith("automatos.scanning"))
        return tuple(registry.scan_rules)


def _allowed_dependencies() -> tuple[str, ...] | None:
    try:
        from automatos.marketplace.settings import DEFAULT_ALLOWED_DEPENDENCIES
    except ImportError:
        return None
    return tuple(DEFAULT_ALLOWED_DEPENDENCIES)


def evaluate(root: Path) -> Summary:
    samples, problems = read_samples(root)
    scanner = Scanner()
    summary = Summary(problems=problems, mode=scanner.mode)
    for sample in samples:
        summary.outcomes.append(scanner.scan(sample))
    return summary


# -- the report ------------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[object]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = (str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs)
        out.append("  ".join(cells))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def report(summary: Summary, root: Path, *, details: bool = False) -> str:
    lines = [f"corpus {root} — {summary.mode}", ""]
    mal, ben = summary.malicious, summary.benign
    rows: list[list[object]] = [["malicious family", "samples", "detected", "blocked", "expected review"]]
    for family in sorted(summary.families()):
        group = [o for o in mal if o.sample.family == family]
        rows.append(
            [
                family,
                len(group),
                sum(o.flagged for o in group),
                sum(o.verdict == "blocked" for o in group),
                sum(o.sample.expected == "review" for o in group),
            ]
        )
    rows.append(
        [
            "TOTAL",
            len(mal),
            sum(o.flagged for o in mal),
            sum(o.verdict == "blocked" for o in mal),
            sum(o.sample.expected == "review" for o in mal),
        ]
    )
    lines += [*_table(rows), ""]
    ben_rows: list[list[object]] = [["benign family", "samples", "twins", "safe", "review", "blocked"]]
    for family in sorted({o.sample.family for o in ben}):
        group = [o for o in ben if o.sample.family == family]
        ben_rows.append(
            [family, len(group), sum(bool(o.sample.twin) for o in group)]
            + [sum(o.verdict == v for o in group) for v in VERDICTS]
        )
    ben_rows.append(
        ["TOTAL", len(ben), sum(bool(o.sample.twin) for o in ben)]
        + [sum(o.verdict == v for o in ben) for v in VERDICTS]
    )
    lines += [*_table(ben_rows), ""]
    f = summary.figures()
    lines += [
        f"detection (malicious flagged, verdict != safe): {f['detection']:.1%}  target 100%",
        f"blocked rate (malicious blocked):                {f['blocked']:.1%}  target >= 90%",
        f"benign false positives (blocked):                {f['benign_blocked']:.1%}  target 0%",
        f"benign sent to review:                           {f['benign_review']:.1%}  target <= 10%",
        f"refused by the bundle reader (counted blocked):  {sum(o.refused for o in summary.outcomes)}",
    ]
    wrong = [o for o in summary.outcomes if o.verdict != o.sample.expected]
    shown = summary.outcomes if details else wrong
    if shown:
        lines += ["", "per sample (all)" if details else "samples whose verdict differs from expected.toml", ""]
        sample_rows: list[list[object]] = [["sample", "expected", "got", "risk", "heaviest finding"]]
        sample_rows += [[o.sample.name, o.sample.expected, o.verdict, o.risk, o.top[:90]] for o in shown]
        lines += _table(sample_rows)
    if summary.problems:
        lines += ["", "corpus problems:"] + [f"  - {p}" for p in summary.problems]
    short = summary.count_failures()
    if short:
        lines += ["", "size below the issue's minimum for the repository corpus (fine for a held-out set):"]
        lines += [f"  - {p}" for p in short]
    failures = summary.failures()
    lines += ["", "targets: " + ("MET" if not failures else "MISSED")] + [f"  - {x}" for x in failures]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path, help="directory with malicious/ and benign/")
    parser.add_argument("--details", action="store_true", help="list every sample, not only the mismatches")
    args = parser.parse_args(argv)
    print("$ " + " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])]))
    summary = evaluate(args.corpus)
    print(report(summary, args.corpus, details=args.details))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
