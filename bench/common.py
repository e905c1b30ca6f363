"""Shared bits of the benchmarks: import path, header, statistics and tables.

Every script prints, first, the exact command that produced its output (run from the repository
root), then a table, then each figure next to its goal. Rules followed (see
/work/shared/BENCHMARKS.md): A and B side by side in one run, interleaved, the order reversed every
round, medians and per-round paired ratios.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: ``tests`` (helpers, services, test plugins) is imported from there."""
BENCH = ROOT / "bench"

for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

__all__ = [
    "BENCH",
    "ROOT",
    "command",
    "fmt",
    "header",
    "median",
    "percentile",
    "quiet",
    "table",
    "verdict",
]


def command() -> str:
    """The command line that runs this script, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return "cd " + shlex.quote(str(ROOT)) + " && " + shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


def header(title: str) -> None:
    print(f"$ {command()}")
    print(
        f"# {title} — {_dt.datetime.now().isoformat(timespec='seconds')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    print()


def quiet() -> None:
    """Keep the kernel's and alembic's INFO lines (extension loaded, migration ran) out of the tables."""
    for name in ("automatos", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in 0..100 (p100 is the max)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a Markdown table with aligned columns (numbers right-aligned)."""
    body = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, width in zip(cells, widths, strict=True):
            numeric = cell[:1].isdigit() or (cell[:1] in "-+." and cell[1:2].isdigit())
            out.append(cell.rjust(width) if numeric else cell.ljust(width))
        return "| " + " | ".join(out) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in body:
        print(line(r))
    print()


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"
