"""Scan speed and memory: a 50-file, 5,000-line bundle (goal < 1 s) and 10 MB bundles (peak RSS).

Each measurement runs in a fresh subprocess (``python bench/scan.py --one KIND``) so the peak RSS
(``resource.getrusage``) is that scan's alone; the parent runs each kind for several rounds,
interleaved, and prints medians. The bundles are synthetic but realistic: plugin modules with
imports, classes, HTTP calls to a declared host, string building, and (for the 10 MB one) large
data files and long Python literals; ``encoded``, the worst case found so far for memory, is ~10 MB
of long hex text (decoded and re-decoded by the data-file rules) and random bytes. Every built-in
rule runs (``builtin_scan_rules``: the engine and the content rules), as a marketplace scan does.

    .venv/bin/python bench/scan.py            # ~10 s
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

ROUNDS = 3
_MODULE = """
import json
import os
import requests

API = "https://api.example.invalid/v1"
TABLE_{n} = {{"a": 1, "b": 2, "c": [1, 2, 3]}}


class Client{n}:
    def __init__(self, token: str) -> None:
        self.token = token
        self.session = requests.Session()

    def fetch(self, item: str) -> dict:
        url = API + "/items/" + item
        headers = {{"Authorization": "Bearer " + self.token}}
        response = self.session.get(url, headers=headers, timeout=10)
        return response.json()

"""
_FUNC = """
def helper_{n}_{i}(values: list[int], scale: float = 1.0) -> list[float]:
    total = 0
    out = []
    for v in values:
        if v % 2 == 0:
            total += v
        else:
            total -= v
        out.append(v * scale + total)
    label = "item-%d" % len(out) + "-" + "{{}}".format(total)
    return [x for x in out if x > 0] or [float(len(label))]

"""


def bundle(kind: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {"plug/__init__.py": b"from plug.m0 import Client0\n"}
    if kind == "encoded":
        import random

        rng = random.Random(7)  # the same bytes every run
        files["plug/m0.py"] = _MODULE.format(n=0).encode()
        for n in range(2):
            files[f"plug/data/digest{n}.txt"] = rng.randbytes(2_300_000).hex().encode()
        files["plug/data/blob.bin"] = rng.randbytes(1_000_000)
        return files
    if kind == "lines":
        for n in range(49):
            body = _MODULE.format(n=n) + "".join(_FUNC.format(n=n, i=i) for i in range(6))
            files[f"plug/m{n}.py"] = body.encode()
        return files
    for n in range(20):
        body = _MODULE.format(n=n) + "".join(_FUNC.format(n=n, i=i) for i in range(20))
        body += f"BLOB_{n} = {('x' * 100_000)!r}\n"
        files[f"plug/m{n}.py"] = body.encode()
    for n in range(8):
        files[f"plug/data/table{n}.json"] = json.dumps(
            {"rows": [[i, f"name{i}", i * 0.5] for i in range(40_000)]}
        ).encode()
    return files


def one(kind: str) -> None:
    from automatos.kernel.scanning import ScanTarget, run_rules
    from automatos.marketplace.scan import builtin_scan_rules

    rules = builtin_scan_rules()

    files = bundle(kind)
    manifest = {"permissions": {"network": ["api.example.invalid"]}}
    start = time.perf_counter()
    report = run_rules(rules, ScanTarget(files=files, manifest=manifest, entry="plug"))
    elapsed = time.perf_counter() - start
    lines = sum(f.count(b"\n") for p, f in files.items() if p.endswith(".py"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(len(f) for f in files.values()) / 1e6
    print(
        json.dumps(
            {
                "s": elapsed,
                "rss_mb": rss,
                "files": len(files),
                "lines": lines,
                "mb": size,
                "verdict": report.verdict.value,
                "score": report.risk_score,
            }
        )
    )


def main() -> None:
    print("$ .venv/bin/python bench/scan.py")
    kinds = ("lines", "size", "encoded")
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for r in range(ROUNDS):
        for kind in kinds if r % 2 == 0 else tuple(reversed(kinds)):
            out = subprocess.run([sys.executable, __file__, "--one", kind], capture_output=True, text=True, check=True)
            results[kind].append(json.loads(out.stdout))
    print(f"{'bundle':<8} {'files':>5} {'lines':>6} {'MB':>6} {'scan s (median)':>16} {'peak RSS MB':>12} verdict")
    for kind, rows in results.items():
        r0 = rows[0]
        seconds = statistics.median(r["s"] for r in rows)
        print(
            f"{kind:<8} {r0['files']:>5} {r0['lines']:>6} {r0['mb']:>6.1f} {seconds:>16.3f}"
            f" {statistics.median(r['rss_mb'] for r in rows):>12.0f} {r0['verdict']} ({r0['score']})"
        )
    lines_s = statistics.median(r["s"] for r in results["lines"])
    print("\nFigures vs goals")
    print(f"  50-file, ~5,000-line bundle scan < 1 s: {lines_s:.3f} s  {'MET' if lines_s < 1 else 'MISSED'}")
    for kind in ("size", "encoded"):
        rss = statistics.median(r["rss_mb"] for r in results[kind])
        print(f"  10 MB bundle ({kind}) peak RSS (whole process): {rss:.0f} MB (scan process cap: 2048 MiB)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        one(sys.argv[2])
    else:
        main()
