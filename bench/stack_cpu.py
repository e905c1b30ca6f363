"""In process, on CPU time: the full stack's extra cost over bare Litestar for the ``cached`` GET.

Why another script next to ``stack_inproc.py``: with six other sessions loading both cores, wall
time per request swung by half between rounds; the thread's own CPU time (``time.thread_time_ns``) does
not count the time the scheduler gave to others, and its rounds stay within ±2%. Same two apps
(``apps.bare_resource``, ``apps.fullstack`` with the sliding window), same request
(``Authorization: Bearer atk_…``), interleaved rounds, order reversed every round.

Before/after a change: run it once per tree, the other tree's package first on the path:
``PYTHONPATH=/tmp/before .venv/bin/python bench/stack_cpu.py`` (``git archive <commit> automatos |
tar -x -C /tmp/before``), then without ``PYTHONPATH``.

Run: .venv/bin/python bench/stack_cpu.py [--rounds 5] [--requests 2000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from apps import bare_resource, fixture, fullstack
from common import median, quiet
from http_stack import TIERS
from inproc import ASGIApp, Lifespan, authed_scope, call, sample

import automatos


async def cpu_sample(app: ASGIApp, n: int, base: dict[str, Any]) -> float:
    """CPU µs of this thread per request over ``n`` sequential requests (a fresh scope each)."""
    return await sample(app, n, base, clock=time.thread_time_ns)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"automatos from {Path(automatos.__file__).parent}")
    quiet()
    data_dir = Path(tempfile.mkdtemp(prefix="automatos-bench-cpu-"))
    try:
        fx = await fixture.prepare(data_dir)
        quiet()
        path = TIERS["cached"].format(fx.workspace_id)
        scope = authed_scope(path, fx.key)
        apps: dict[str, ASGIApp] = {
            "bare": bare_resource.create(data_dir),
            "sliding": fullstack.create(data_dir, "sliding-window-counter"),
        }
        quiet()
        async with AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(Lifespan(app))
            quiet()
            for name, app in apps.items():
                status, _, body = await call(app, scope)
                if status != 200:
                    raise RuntimeError(f"{name}: unexpected answer {status} {body[:300]!r}")
                await cpu_sample(app, args.requests, scope)
            extra, ratio = [], []
            for r in range(args.rounds):
                got: dict[str, float] = {}
                for name in ("bare", "sliding") if r % 2 == 0 else ("sliding", "bare"):
                    got[name] = median(
                        [await cpu_sample(apps[name], args.requests, scope) for _ in range(args.samples)]
                    )
                extra.append(got["sliding"] - got["bare"])
                ratio.append(got["bare"] / got["sliding"])
            print(f"extra CPU µs/request, sliding - bare, per round: {' '.join(f'{x:.1f}' for x in extra)}")
            print(f"  median {median(extra):.1f}")
            print(f"throughput sliding / bare (CPU), per round: {' '.join(f'{x:.3f}' for x in ratio)}")
            print(f"  median {median(ratio):.3f}")
            if args.profile:
                n = args.requests * 5
                profiler = cProfile.Profile()
                profiler.enable()
                await cpu_sample(apps["sliding"], n, scope)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                print(f"Python function calls per request: {stats.total_calls / n:.0f}")  # type: ignore[attr-defined]
                stats.sort_stats("cumulative").print_stats(40)
                print(out.getvalue())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
