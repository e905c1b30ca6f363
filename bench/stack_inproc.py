"""In process: the authenticated, workspace-resolved GET of ``bench/http_stack.py``, µs/request.

The same four apps as over HTTP (``apps.bare_resource``, ``apps.fullstack`` with the sliding-window
counter and with the fixed window, ``apps.fastapi_ref``) on one data directory prepared by
:func:`apps.fixture.prepare`, each called directly (``await app(scope, receive, send)``) after its
ASGI lifespan startup, every request carrying ``Authorization: Bearer atk_…``. No server and no
sockets, so the figures are steadier than HTTP (±3% vs ±25%) and show what the stack itself costs
per request; the HTTP ratio is diluted by the server's own per-request cost (uvicorn, httptools),
which this leaves out.

``--profile`` adds a cProfile of the full stack (sliding), top functions by own time and the total
own time per package, to say what dominates.

Run: .venv/bin/python bench/stack_inproc.py [--rounds 7] [--tier cached|row] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import shutil
import tempfile
from collections import defaultdict
from contextlib import AsyncExitStack
from pathlib import Path

import msgspec
from apps import bare_resource, fastapi_ref, fixture, fullstack
from common import fmt, header, median, quiet, table, verdict
from http_stack import DESCRIPTIONS, GOAL_BARE, GOAL_FASTAPI, TIERS, _normal
from inproc import ASGIApp, Lifespan, authed_scope, call, sample


def package(filename: str) -> str:
    for marker, name in (
        ("/automatos/", "automatos"),
        ("/litestar/", "litestar"),
        ("/limits/", "limits"),
        ("/msgspec/", "msgspec"),
        ("/asyncio/", "asyncio"),
        ("/bench/", "bench harness"),
    ):
        if marker in filename:
            return name
    return "other (stdlib, builtins)"


def profile_text(profiler: cProfile.Profile, n: int, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    own: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        own[package(filename)] += tottime
        total += tottime
    lines = [f"own time per package, {n:,} requests (profiler overhead included):"]
    for name, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:28s} {seconds / n * 1e6:8.1f} µs/request  {seconds / total:6.1%}")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return "\n".join(lines) + "\n\n" + out.getvalue().strip()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tier", choices=list(TIERS), default="cached")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    header(f"bench/stack_inproc.py: authenticated workspace GET ({args.tier}) in process: ours vs bare vs FastAPI")
    quiet()

    data_dir = Path(tempfile.mkdtemp(prefix="automatos-bench-stack-"))
    try:
        fx = await fixture.prepare(data_dir)
        quiet()
        path = TIERS[args.tier].format(fx.workspace_id)
        scope = authed_scope(path, fx.key)
        apps: dict[str, ASGIApp] = {
            "bare": bare_resource.create(data_dir),
            "sliding": fullstack.create(data_dir, "sliding-window-counter"),
            "fixed": fullstack.create(data_dir, "fixed-window"),
            "fastapi": fastapi_ref.create(data_dir),  # type: ignore[dict-item]
        }
        quiet()  # create_app configured logging again
        expected = _normal(msgspec.to_builtins(fx.record))
        async with AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(Lifespan(app))
            quiet()  # a kernel start sets the automatos loggers' level again
            header_counts = {}
            for name, app in apps.items():
                status, headers, body = await call(app, scope)
                if status != 200 or _normal(json.loads(body)) != expected:
                    raise RuntimeError(f"{name}: unexpected answer {status} {body[:300]!r}")
                header_counts[name] = len(headers)
            for app in apps.values():
                await sample(app, args.requests, scope)
            names = list(apps)
            per_round: dict[str, list[float]] = {n: [] for n in names}
            for r in range(args.rounds):
                got: dict[str, list[float]] = {n: [] for n in names}
                for _ in range(args.samples):
                    for name in names if r % 2 == 0 else names[::-1]:
                        got[name].append(await sample(apps[name], args.requests, scope))
                for name in names:
                    per_round[name].append(median(got[name]))
            profiled = ""
            if args.profile:
                n = args.requests * 5
                profiler = cProfile.Profile()
                profiler.enable()
                await sample(apps["sliding"], n, scope)
                profiler.disable()
                profiled = profile_text(profiler, n, 35)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    print(
        f"GET {TIERS[args.tier].format('{id}')}; {args.rounds} rounds, each {args.samples} samples per app of "
        f"{args.requests:,} sequential requests, apps interleaved, order reversed each round; a round's figure is "
        "the median of its samples."
    )
    print()
    rows = []
    for name in names:
        med = median(per_round[name])
        rows.append(
            [
                f"{name}: {DESCRIPTIONS[name]}",
                str(header_counts[name]),
                *(fmt(v) for v in per_round[name]),
                fmt(med),
                f"{1e6 / med:,.0f}",
            ]
        )
    table(["app", "resp. headers", *(f"round {i + 1} µs" for i in range(args.rounds)), "median µs", "req/s"], rows)
    ratio_rows = []
    goals = []
    for ours in ("sliding", "fixed"):
        for ref, goal in (("bare", GOAL_BARE), ("fastapi", GOAL_FASTAPI)):
            ratios = [r / o for o, r in zip(per_round[ours], per_round[ref], strict=True)]
            ratio_rows.append([f"throughput {ours} / {ref}", *(fmt(x, 3) for x in ratios), fmt(median(ratios), 3)])
            goals.append(
                [
                    f"in process, `{args.tier}`: throughput {ours} / {ref}",
                    f"{median(ratios):.3f}",
                    f">= {goal:.2f}",
                    verdict(median(ratios) >= goal),
                ]
            )
        extra = [o - b for o, b in zip(per_round[ours], per_round["bare"], strict=True)]
        ratio_rows.append([f"extra µs {ours} - bare", *(fmt(x) for x in extra), fmt(median(extra))])
    table(["paired, per round", *(f"round {i + 1}" for i in range(args.rounds)), "median"], ratio_rows)
    print("## Figures vs goals (in process: no server cost; the goals are set for HTTP)")
    table(["figure", "measured", "goal", "verdict"], goals)
    if profiled:
        print(f"## cProfile of the full stack (sliding), {args.tier} tier\n```\n{profiled}\n```")


if __name__ == "__main__":
    asyncio.run(main())
