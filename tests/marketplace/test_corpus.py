"""The security corpus (issue 11, "Proof"): every sample scanned, the issue's targets asserted.

``tests/marketplace/corpus/{malicious,benign}/<family>-<name>/`` are plugin bundles written the way
real attacks (and their legitimate twins) are; each has an ``expected.toml``. The samples are read as
bytes and scanned through the marketplace pipeline (``bench/corpus_report.py`` does the reading,
scanning and table, so the lead runs the same code on a held-out corpus); nothing here imports or
runs a sample. Targets: every malicious sample flagged (verdict not ``safe``), at least 90% blocked,
no benign sample blocked, at most 10% of benign ones in review.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"


def _load_report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_report", ROOT / "bench" / "corpus_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("corpus_report", module)
    spec.loader.exec_module(module)
    return module


corpus_report = _load_report()


@pytest.fixture(scope="module")
def summary() -> Any:
    return corpus_report.evaluate(CORPUS)


@pytest.fixture(scope="module")
def table(summary: Any) -> str:
    text = str(corpus_report.report(summary, CORPUS))
    # on stdout (shown with -s or in the captured output of a failure) and in every assertion message
    print("\n" + text)
    return text


def test_corpus_is_well_formed_and_large_enough(summary: Any, table: str) -> None:
    assert summary.problems == [], table
    assert summary.count_failures() == [], table
    assert len(summary.malicious) >= 45, table
    assert len(summary.families()) >= 15, table
    assert len(summary.benign) >= 25, table
    twins = summary.twins()
    assert len(twins) >= 10, table
    assert all((CORPUS / o.sample.twin).is_dir() for o in twins), table
    assert sum(o.sample.expected == "review" for o in summary.malicious) <= 4, table
    assert sum(o.sample.expected == "review" for o in summary.benign) <= 2, table


def test_samples_are_inert(summary: Any) -> None:
    """Network targets only 127.0.0.1 or *.invalid: no sample names a real host to reach."""
    import re

    url = re.compile(rb"\b(?:https?|ftp)://([A-Za-z0-9.-]+)")
    bad: list[str] = []
    for outcome in summary.outcomes:
        for rel, data in corpus_report.bundle_files(outcome.sample.path).items():
            for host in url.findall(data):
                name = host.decode().lower().rstrip(".")
                if name not in {"127.0.0.1", "localhost"} and not name.endswith(".invalid"):
                    bad.append(f"{outcome.sample.name}/{rel}: {name}")
    assert bad == [], "samples must target only 127.0.0.1 or *.invalid:\n" + "\n".join(bad)


def test_every_malicious_sample_is_flagged(summary: Any, table: str) -> None:
    missed = [o.sample.name for o in summary.malicious if not o.flagged]
    assert missed == [], table


def test_at_least_90_percent_of_malicious_samples_are_blocked(summary: Any, table: str) -> None:
    assert summary.figures()["blocked"] >= 0.9, table


def test_no_benign_sample_is_blocked(summary: Any, table: str) -> None:
    blocked = [o.sample.name for o in summary.benign if o.verdict == "blocked"]
    assert blocked == [], table


def test_at_most_10_percent_of_benign_samples_go_to_review(summary: Any, table: str) -> None:
    assert summary.figures()["benign_review"] <= 0.10, table
