"""The regression corpora (tests/marketplace/regression/set1..6, see its README) held to issue 11's
targets: every malicious sample flagged, at least 90% blocked, no benign sample blocked, at most
10% of benign ones in review. Samples are read as bytes and scanned through the marketplace pipeline
(``bench/corpus_report.py``, shared with test_corpus.py); nothing imports or runs a sample.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.marketplace.test_corpus import corpus_report

SETS = sorted((Path(__file__).resolve().parent / "regression").glob("set*"))
URL = re.compile(rb"\b(?:https?|ftp)://([A-Za-z0-9.-]+)")


@pytest.mark.parametrize("corpus", SETS, ids=[s.name for s in SETS])
def test_a_regression_corpus_meets_the_targets(corpus: Path) -> None:
    summary = corpus_report.evaluate(corpus)
    table = str(corpus_report.report(summary, corpus))
    assert summary.problems == [], table
    assert [o.sample.name for o in summary.malicious if not o.flagged] == [], table
    assert summary.figures()["blocked"] >= 0.9, table
    assert [o.sample.name for o in summary.benign if o.verdict == "blocked"] == [], table
    assert summary.figures()["benign_review"] <= 0.10, table
    assert _network_targets(summary) == [], "samples must target only 127.0.0.1 or *.invalid"


def _network_targets(summary: object) -> list[str]:
    """Hosts in URLs of the samples' code that are neither 127.0.0.1 nor ``*.invalid``.

    Code only: metadata (a starjacking sample's ``homepage`` naming the project it impersonates, a
    YAML schema's ``$schema``) is not a network target. A partial match is no host either: a regex
    (``https://hooks\\.slack``) or a URL concatenated from pieces (``"https://sync." + …``).
    """
    found = []
    for outcome in summary.outcomes:  # type: ignore[attr-defined]
        for rel, data in corpus_report.bundle_files(outcome.sample.path).items():
            if not rel.endswith(".py"):
                continue
            for raw in URL.findall(data):
                host = raw.decode().lower()
                if host.endswith(".") or "." not in host:
                    continue
                if host not in {"127.0.0.1", "localhost"} and not host.endswith(".invalid"):
                    found.append(f"{outcome.sample.name}/{rel}: {host}")
    return found


def test_there_are_six_sets() -> None:
    assert [s.name for s in SETS] == [f"set{n}" for n in range(1, 7)]
