"""Rate limiter cost and fairness: one client sending all the traffic vs 10,000 clients sharing it.

In process (``await app(scope, receive, send)``, as ``bench/inproc.py``), a small Litestar app with
``GET /api/ping`` → ``{"status": "ok"}``, in four variants:

- ``bare``     no middleware (the floor);
- ``sliding``  the request middleware (``build_middleware(pipeline)``: request id, CORS, authentication,
               rate limit, security headers, statistics) with the sliding-window-counter limiter;
- ``fixed``    the same with ``strategy="fixed-window"`` (its own kernel and pipeline);
- ``stock``    Litestar's own ``RateLimitMiddleware`` (``RateLimitConfig(rate_limit=("minute", 10**9))``),
               the reference BENCHMARKS.md measured at ~8% of bare over HTTP.

Requests are anonymous, so the middleware keys the limiter by peer address: (a) one client
(``scope["client"]`` always ``198.51.100.7``), (b) 10,000 clients (request ``i`` from address
``i mod 10,000``, every one already known to the limiter before timing starts). The limit
(``RATE_LIMIT_DEFAULT``) is ``1000000000/minute``: every request is counted, none refused (checked:
the same app at ``2/minute`` refuses the third request). Kernels: real, SQLite, in-memory limiter
storage, every installed extension. The apps are built with ``logging_config=None``, as the real
app is (Litestar's default logging set-up would otherwise be installed by each).

Each round runs every (variant, clients) cell, order reversed every round; a cell's round figure is
the median of ``--samples`` samples of ``--requests`` sequential requests. The stock limiter keeps
one list of timestamps per client for the whole minute, so its one-client cost grows with the
requests already made; it gets ``--stock-requests`` per sample and the history length is printed.

Goal (issue 3): throughput one client / 10,000 clients >= 0.90 (= µs(10k) / µs(1), paired per round).

Run: .venv/bin/python bench/limiter.py [--rounds 7] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import msgspec
from apps import fixture
from common import fmt, header, median, quiet, table, verdict
from inproc import BASE_SCOPE, Lifespan, call, check, sample
from litestar import Litestar, get
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.memory import MemoryStore

from automatos.api.middleware import RequestPipeline, build_middleware
from automatos.api.stats import RouteStats
from automatos.kernel.core import Kernel

PATH = "/api/ping"
SCOPE: dict[str, Any] = dict(BASE_SCOPE, path=PATH, raw_path=PATH.encode())
ONE = [("198.51.100.7", 40000)]
MANY = [(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 40000) for i in range(10_000)]
CLIENTS = {"1 client": ONE, "10k clients": MANY}
GOAL = 0.90
STOCK_LIMIT = ("minute", 1_000_000_000)


@get(PATH, sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"status": "ok"}


def pipeline(kernel: Kernel, strategy: str) -> RequestPipeline:
    """What the container's ``pipeline`` provider builds, with the strategy asked for."""
    return RequestPipeline(kernel, RouteStats(), strategy=strategy)


def stock_history(app: Litestar, client: str) -> int:
    """How many timestamps the stock limiter holds for ``client`` (its store is in memory)."""
    store = app.stores.get("rate_limit")
    assert isinstance(store, MemoryStore)
    for key, value in store._store.items():
        if client in key:
            return len(msgspec.json.decode(value.data)["history"])
    return 0


async def limited_answer(data_dir: Path, strategy: str) -> list[int]:
    """Statuses of three requests from one client at ``2/minute``: the limiter is really in the path."""
    async with fixture.running(data_dir, rate_limit_default="2/minute") as kernel:
        quiet()  # a kernel start sets the automatos loggers' level again
        middleware = [build_middleware(pipeline(kernel, strategy))]
        app = Litestar(route_handlers=[ping], middleware=middleware, debug=False, logging_config=None)
        return [(await call(app, SCOPE))[0] for _ in range(3)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--requests", type=int, default=4000, help="requests per sample (our variants, bare)")
    parser.add_argument("--stock-requests", type=int, default=400, help="requests per sample, stock limiter")
    parser.add_argument("--profile", action="store_true", help="cProfile the sliding variant, 1 vs 10k clients")
    args = parser.parse_args()
    header("bench/limiter.py: rate limiter, one client vs 10,000 clients, in process")
    quiet()

    root = Path(tempfile.mkdtemp(prefix="automatos-bench-limiter-"))
    try:
        async with AsyncExitStack() as stack:
            kernels = {
                s: await stack.enter_async_context(fixture.running(root / s))
                for s in ("sliding-window-counter", "fixed-window")
            }
            pipelines = {s: pipeline(kernel, s) for s, kernel in kernels.items()}
            stock = Litestar(
                route_handlers=[ping],
                middleware=[RateLimitConfig(rate_limit=STOCK_LIMIT).middleware],
                debug=False,
                logging_config=None,
            )
            apps: dict[str, Litestar] = {
                "bare": Litestar(route_handlers=[ping], debug=False, logging_config=None),
                "sliding": Litestar(
                    route_handlers=[ping],
                    middleware=[build_middleware(pipelines["sliding-window-counter"])],
                    debug=False,
                    logging_config=None,
                ),
                "fixed": Litestar(
                    route_handlers=[ping],
                    middleware=[build_middleware(pipelines["fixed-window"])],
                    debug=False,
                    logging_config=None,
                ),
                "stock": stock,
            }
            quiet()  # a kernel start sets the automatos loggers' level again
            strategies = {
                name: type(pipelines[s].limiter).__name__
                for name, s in (("sliding", "sliding-window-counter"), ("fixed", "fixed-window"))
            }
            for app in apps.values():
                await stack.enter_async_context(Lifespan(app))
                await check(app, SCOPE)
            refused = {s: await limited_answer(root / f"check-{s}", s) for s in kernels}

            cells = [(a, c) for a in apps for c in CLIENTS]

            def size(app_name: str) -> int:
                return args.stock_requests if app_name == "stock" else args.requests

            for a, c in cells:  # warm up: every one of the 10,000 clients known to every limiter
                await sample(apps[a], max(size(a), len(CLIENTS[c])), SCOPE, CLIENTS[c])
            history_start = stock_history(stock, ONE[0][0])
            per_round: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
            for r in range(args.rounds):
                for a, c in cells if r % 2 == 0 else cells[::-1]:
                    got = [await sample(apps[a], size(a), SCOPE, CLIENTS[c]) for _ in range(args.samples)]
                    per_round[(a, c)].append(median(got))
            history_end = stock_history(stock, ONE[0][0])

            profiled = ""
            if args.profile:
                out = io.StringIO()
                for c in CLIENTS:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await sample(apps["sliding"], 20_000, SCOPE, CLIENTS[c])
                    profiler.disable()
                    out.write(f"\n### sliding, {c}: 20,000 requests, top 25 by own time\n```\n")
                    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
                    stats.print_stats(25)
                    out.write("```\n")
                profiled = out.getvalue()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"{args.rounds} rounds, {len(cells)} cells interleaved (order reversed every round); a cell's round figure "
        f"is the median of {args.samples} samples of {args.requests:,} requests ({args.stock_requests:,} for stock). "
        f"Limiters: sliding = {strategies['sliding']}, fixed = {strategies['fixed']}, "
        f"stock = litestar RateLimitMiddleware {STOCK_LIMIT}."
    )
    print(f"At 2/minute, three requests from one client answer: {refused} (the limiter is in the path).")
    print(
        f"Stock limiter: the one client's timestamp list held {history_start:,} entries when timing began and "
        f"{history_end:,} at the end."
    )
    print()
    rows = []
    for a, c in cells:
        values = per_round[(a, c)]
        med = median(values)
        rows.append([f"{a}, {c}", *(fmt(v) for v in values), fmt(med), f"{1e6 / med:,.0f}"])
    table(["µs/request", *(f"round {i + 1}" for i in range(args.rounds)), "median", "req/s (1 core)"], rows)

    ratio_rows = []
    goals = []
    bare_1 = per_round[("bare", "1 client")]
    for a in apps:
        one, many = per_round[(a, "1 client")], per_round[(a, "10k clients")]
        fairness = [m / o for o, m in zip(one, many, strict=True)]
        ratio_rows.append(
            [f"throughput 1 client / 10k clients, {a}", *(fmt(x, 3) for x in fairness), fmt(median(fairness), 3)]
        )
        if a != "bare":
            vs_bare = [b / o for o, b in zip(one, bare_1, strict=True)]
            ratio_rows.append(
                [f"throughput {a} / bare, 1 client", *(fmt(x, 3) for x in vs_bare), fmt(median(vs_bare), 3)]
            )
            extra = [o - b for o, b in zip(one, bare_1, strict=True)]
            ratio_rows.append([f"extra µs over bare, {a}, 1 client", *(fmt(x) for x in extra), fmt(median(extra))])
        if a in ("sliding", "fixed"):
            got = median(fairness)
            goals.append(
                [f"{a}: throughput 1 client / 10,000 clients", f"{got:.3f}", f">= {GOAL:.2f}", verdict(got >= GOAL)]
            )
    table(["paired, per round", *(f"round {i + 1}" for i in range(args.rounds)), "median"], ratio_rows)
    print("## Figures vs goals")
    stock_vs_bare = median([b / o for o, b in zip(per_round[("stock", "1 client")], bare_1, strict=True)])
    goals.append(["stock RateLimitMiddleware, 1 client: throughput / bare", f"{stock_vs_bare:.3f}", "-", "-"])
    table(["figure", "measured", "goal", "verdict"], goals)
    if profiled:
        print("## cProfile" + profiled)


if __name__ == "__main__":
    asyncio.run(main())
