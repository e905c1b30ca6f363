"""A warm plugin ``call`` round trip against a plain snippet round trip, side by side through one WorkerPool.

A. ``await pool.run("result = None")`` — the trivial snippet (``bench/sandbox.py`` measures it alone).
B. ``await pool.run("", plugin=PluginJob(action="call", handler="tiny.tools:noop"))`` — a no-op handler
   in a 3-module bundle (``tiny`` package ``__init__``, ``tiny.util``, ``tiny.tools`` importing both
   and ``json``): the modules travel in the job, are executed afresh (compiled code cached by sha256),
   the handler resolved and called with a ``CallContext``.
C. The same call with a 60-module bundle of which the handler imports 3 — what shipping sources on
   every call costs as a bundle grows.

Warm pool of 2 workers, sequential runs, rounds interleaved with the order reversed every round
(/work/shared/BENCHMARKS.md). Reported: the round trip (``usage.total_ms``) and the time inside the
worker (``usage.wall_ms``), medians per round and overall; the per-round paired ratios B/A, C/A.

Run: .venv/bin/python bench/plugin_call.py [--runs 500] [--rounds 5]   (~10 s)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from common import fmt, header, median, table

from automatos.sandbox import PluginJob, SandboxResult, WorkerPool

TINY = {
    "tiny": "from .util import VERSION\n",
    "tiny.util": "import json\nVERSION = '1'\ndef dumps(value):\n    return json.dumps(value)\n",
    "tiny.tools": "from tiny import util\nfrom .util import VERSION\n\ndef noop(ctx):\n    return None\n",
}


def _bundle(modules: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(modules.items())).encode()).hexdigest()


def _wide() -> dict[str, str]:
    """TINY plus 57 unused modules of ~1.5 KB each (sent, never executed)."""
    filler = "".join(f"def f{i}(x):\n    return [x * {i} for _ in range(3)]\n\n" for i in range(30))
    return {**TINY, **{f"tiny.extra{i}": filler for i in range(57)}}


async def _measure(run: Callable[[], Awaitable[SandboxResult]], n: int) -> tuple[list[float], list[float]]:
    totals, inside = [], []
    for _ in range(n):
        result = await run()
        assert result.ok, result.error
        totals.append(result.usage.total_ms)
        inside.append(result.usage.wall_ms)
    return totals, inside


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    header("Plugin call vs snippet round trip on a warm WorkerPool(2)")
    tiny = PluginJob(bundle=_bundle(TINY), modules=TINY, entry="tiny", action="call", handler="tiny.tools:noop")
    wide_modules = _wide()
    wide = PluginJob(
        bundle=_bundle(wide_modules), modules=wide_modules, entry="tiny", action="call", handler="tiny.tools:noop"
    )
    print(
        f"bundle sizes: 3 modules {sum(map(len, TINY.values()))} B; 60 modules {sum(map(len, wide_modules.values()))} B"
    )
    print()
    async with WorkerPool(2) as pool:
        kinds = {
            "A snippet": lambda: pool.run("result = None"),
            "B plugin call (3 modules)": lambda: pool.run("", plugin=tiny),
            "C plugin call (60 modules)": lambda: pool.run("", plugin=wide),
        }
        for run in kinds.values():  # warm: workers, code caches
            await _measure(run, 50)
        per_round: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
        everything: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in kinds}
        for index in range(args.rounds):
            order = list(kinds) if index % 2 == 0 else list(reversed(kinds))
            for kind in order:
                totals, inside = await _measure(kinds[kind], args.runs)
                per_round[kind].append((median(totals), median(inside)))
                everything[kind][0].extend(totals)
                everything[kind][1].extend(inside)
    rows = []
    for kind in kinds:
        totals, inside = everything[kind]
        rounds = " ".join(fmt(t, 3) for t, _ in per_round[kind])
        rows.append([kind, fmt(median(totals), 3), fmt(median(inside), 3), rounds])
    table(["run", "round trip ms (median)", "in worker ms (median)", "per-round round-trip medians"], rows)
    base = per_round["A snippet"]
    for kind in list(kinds)[1:]:
        ratios = [t / b for (t, _), (b, _) in zip(per_round[kind], base, strict=True)]
        print(f"{kind} / snippet, per round: {' '.join(fmt(r) for r in ratios)}; median {fmt(median(ratios))}x")


if __name__ == "__main__":
    asyncio.run(main())
