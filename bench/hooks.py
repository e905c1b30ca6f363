"""Hook-layer micro-benchmarks: the facade's call loop, the cached view lookup, building a view.

(a) ``await hooks.call(view, "on_event", kwargs)`` with 10 implementations vs ``pm.hook.on_event(...)``
    called directly. Goal: the facade within 2x of pluggy direct (sync implementations). The ratio
    for 10 ``async def`` implementations is reported for information; its pluggy side awaits the
    coroutines pluggy returns (pluggy itself cannot await them).
(b) ``WorkspaceViews.cached(ws_id)`` p50/p99 in ns. Goal: p99 < 1 µs.
(c) building a view with 20 extensions (plus the real built-ins): ``HookView(...)`` and
    ``WorkspaceViews.build`` on a real SQLite kernel. Goal: < 20 ms. For reference: building a
    PluginManager with 20 plugins.

Run: .venv/bin/python bench/hooks.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy
from common import fmt, header, median, percentile, quiet, table, verdict

from automatos.kernel import hookspecs
from automatos.kernel.hooks import Hooks, HookView
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.registry import Candidate, Registry
from automatos.kernel.settings import load_settings
from automatos.kernel.types import Event, Workspace
from automatos.kernel.views import ExtensionRow, WorkspaceViews
from tests.helpers import EVERYTHING, running_kernel

CONFIG: Mapping[str, Any] = {}
EVENT = Event(name="bench.tick", workspace_id="ws-bench", data={"n": 1})
WORKSPACE = Workspace(id="ws-bench", slug="bench", name="Bench")


# --------------------------------------------------------------------------------------------------
# plugins
# --------------------------------------------------------------------------------------------------


class SyncOnEvent:
    """One sync ``on_event`` implementation that does nothing: the figure is pure call overhead."""

    @hookimpl
    def on_event(self, event: Event, workspace: Workspace | None, config: Mapping[str, Any]) -> None:
        return None


class AsyncOnEvent:
    @hookimpl
    async def on_event(self, event: Event, workspace: Workspace | None, config: Mapping[str, Any]) -> None:
        return None


class SmallExtension:
    """A typical small extension: six hooks, sync and async, some per-workspace."""

    @hookimpl
    async def on_event(self, event: Event, workspace: Workspace | None, config: Mapping[str, Any]) -> None:
        return None

    @hookimpl
    def register_llm_providers(self, register: Callable[[Any], None], config: Mapping[str, Any]) -> None:
        return None

    @hookimpl
    def register_routing_tiers(self, register: Callable[[Any], None], workspace: Workspace) -> None:
        return None

    @hookimpl
    async def register_tool_providers(self, register: Callable[[Any], None]) -> None:
        return None

    @hookimpl
    async def startup(self, kernel: Any) -> None:
        return None

    @hookimpl
    def shutdown(self, kernel: Any) -> None:
        return None


def constant(value: Any) -> Callable[[], Any]:
    """A ``Candidate.loader`` that hands over an already-built plugin object."""
    return lambda: value


def candidates(plugins: list[Any], prefix: str) -> list[Candidate]:
    return [
        Candidate(
            name=f"{prefix}{i:02d}",
            module=f"bench.{prefix}{i:02d}",
            distribution="automatos-bench",
            version="0",
            builtin=False,
            loader=constant(p),
        )
        for i, p in enumerate(plugins)
    ]


def registry_with(plugins: list[Any], prefix: str, *, builtins: bool = False) -> Registry:
    registry = Registry()
    found = Registry.discover() if builtins else []
    registry.load([*found, *candidates(plugins, prefix)])
    return registry


# --------------------------------------------------------------------------------------------------
# (a) facade vs pluggy direct
# --------------------------------------------------------------------------------------------------


async def facade_sample(hooks: Hooks, view: HookView, n: int) -> float:
    call = hooks.call
    kwargs = {"event": EVENT, "workspace": WORKSPACE}
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(n):
        await call(view, "on_event", kwargs)
    return (clock() - t0) / n / 1000


async def pluggy_sync_sample(pm: pluggy.PluginManager, n: int) -> float:
    hook = pm.hook.on_event
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(n):
        hook(event=EVENT, workspace=WORKSPACE, config=CONFIG)
    return (clock() - t0) / n / 1000


async def pluggy_async_sample(pm: pluggy.PluginManager, n: int) -> float:
    hook = pm.hook.on_event
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(n):
        for coro in hook(event=EVENT, workspace=WORKSPACE, config=CONFIG):
            await coro
    return (clock() - t0) / n / 1000


async def plain_loop_sample(functions: list[Callable[..., Any]], n: int) -> float:
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(n):
        for f in functions:
            f(EVENT, WORKSPACE, CONFIG)
    return (clock() - t0) / n / 1000


async def bench_facade(rounds: int, samples: int, batch: int) -> tuple[float, float]:
    settings = load_settings({})
    sync_reg = registry_with([SyncOnEvent() for _ in range(10)], "sync")
    async_reg = registry_with([AsyncOnEvent() for _ in range(10)], "async")
    sync_hooks, async_hooks = Hooks(sync_reg, settings), Hooks(async_reg, settings)
    sync_view, async_view = HookView(sync_reg.pm), HookView(async_reg.pm)
    assert len(sync_view.plans["on_event"]) == 10 and len(async_view.plans["on_event"]) == 10
    functions = [i.function for i in sync_view.plans["on_event"]]

    variants: dict[str, Callable[[], Any]] = {
        "pluggy direct, 10 sync": lambda: pluggy_sync_sample(sync_reg.pm, batch),
        "facade, 10 sync": lambda: facade_sample(sync_hooks, sync_view, batch),
        "pluggy direct + await, 10 async": lambda: pluggy_async_sample(async_reg.pm, batch),
        "facade, 10 async": lambda: facade_sample(async_hooks, async_view, batch),
        "plain loop, 10 sync (reference)": lambda: plain_loop_sample(functions, batch),
    }
    names = list(variants)
    for make in variants.values():  # warm up
        await make()
    per_round: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        got: dict[str, list[float]] = {n: [] for n in names}
        # Interleave at sample granularity too: each sample runs every variant once.
        for _ in range(samples):
            for name in order:
                got[name].append(await variants[name]())
        for name in names:
            per_round[name].append(median(got[name]))

    print("## (a) one hook, 10 implementations: facade vs pluggy direct (µs/call)")
    print(f"{rounds} rounds x {samples} samples x {batch} calls, variants interleaved, order reversed each round;")
    print("each round's figure is the median of its samples; GC enabled.")
    print()
    rows = []
    for name in names:
        rows.append([name, *(fmt(v) for v in per_round[name]), fmt(median(per_round[name]))])
    table(["variant", *(f"round {i + 1}" for i in range(rounds)), "median µs/call"], rows)

    sync_ratios = [
        f / p for f, p in zip(per_round["facade, 10 sync"], per_round["pluggy direct, 10 sync"], strict=True)
    ]
    async_ratios = [
        f / p for f, p in zip(per_round["facade, 10 async"], per_round["pluggy direct + await, 10 async"], strict=True)
    ]
    table(
        ["paired ratio (facade / pluggy)", *(f"round {i + 1}" for i in range(rounds)), "median"],
        [
            ["10 sync", *(fmt(x) for x in sync_ratios), fmt(median(sync_ratios))],
            ["10 async (information)", *(fmt(x) for x in async_ratios), fmt(median(async_ratios))],
        ],
    )
    return median(sync_ratios), median(async_ratios)


# --------------------------------------------------------------------------------------------------
# (b) cached view lookup
# --------------------------------------------------------------------------------------------------


def fresh(keys: list[str]) -> list[str]:
    """Equal strings that are new objects: their hash is not cached yet, as for an id parsed from a request."""
    return ["".join((k[:8], k[8:])) for k in keys]


async def bench_cached(n_views: int, batches: int, batch: int, singles: int) -> tuple[float, float, float]:
    registry = registry_with([SmallExtension() for _ in range(20)], "ext", builtins=True)

    async def loader(workspace_id: str) -> tuple[int, Mapping[str, ExtensionRow]]:
        return 1, {}

    views = WorkspaceViews(registry, loader)
    ids = [f"{i:08d}-0000-4000-8000-{i:012d}" for i in range(n_views)]
    for ws in ids:
        await views.get(ws)
    assert views.cached(ids[0]) is not None
    cached = views.cached
    clock = time.perf_counter_ns
    stride = max(1, n_views // batch)
    picks = [ids[(i * stride + i) % n_views] for i in range(batch)]

    # Method 1: batches of `batch` lookups timed together, divided by `batch`. Loop overhead included
    # (reported separately as "empty loop").
    batch_fresh: list[float] = []
    batch_same: list[float] = []
    batch_empty: list[float] = []
    for _ in range(batches):
        keys = fresh(picks)
        t0 = clock()
        for k in keys:
            cached(k)
        batch_fresh.append((clock() - t0) / batch)
        t0 = clock()
        for k in keys:  # same objects again: hash now cached
            cached(k)
        batch_same.append((clock() - t0) / batch)
        t0 = clock()
        for _k in keys:
            pass
        batch_empty.append((clock() - t0) / batch)

    # Method 2: every lookup timed on its own with two perf_counter_ns() calls; the timer's own cost
    # (median of back-to-back reads) is measured the same way and reported next to it.
    single: list[int] = [0] * singles
    timer: list[int] = [0] * singles
    keys = fresh([ids[(i * 7919) % n_views] for i in range(singles)])
    for i, k in enumerate(keys):
        t0 = clock()
        cached(k)
        single[i] = clock() - t0
    for i in range(singles):
        t0 = clock()
        timer[i] = clock() - t0
    overhead = median(timer)

    print(f"## (b) WorkspaceViews.cached(ws_id), {n_views:,} views cached (ns/lookup)")
    print(
        f"batched: {batches:,} batches of {batch:,} lookups, each batch timed once and divided by {batch:,}; "
        "p50/p99 are over the batch means (fresh str keys: hash computed in the lookup, like an id parsed from "
        "a request)."
    )
    print(
        f"individual: {singles:,} lookups each between two perf_counter_ns() reads; the raw figure includes "
        f"the timer's own cost (median {overhead:.0f} ns, measured alone), 'net' subtracts that median."
    )
    print()
    rows = [
        [
            "batched, fresh str keys",
            fmt(median(batch_fresh), 1),
            fmt(percentile(batch_fresh, 99), 1),
            fmt(max(batch_fresh), 1),
        ],
        [
            "batched, same key objects (hash cached)",
            fmt(median(batch_same), 1),
            fmt(percentile(batch_same, 99), 1),
            fmt(max(batch_same), 1),
        ],
        [
            "batched, empty loop (overhead)",
            fmt(median(batch_empty), 1),
            fmt(percentile(batch_empty, 99), 1),
            fmt(max(batch_empty), 1),
        ],
        ["individual, raw", fmt(median(single), 0), fmt(percentile(single, 99), 0), fmt(max(single), 0)],
        ["individual, timer alone", fmt(overhead, 0), fmt(percentile(timer, 99), 0), fmt(max(timer), 0)],
        [
            "individual, net of timer median",
            fmt(median(single) - overhead, 0),
            fmt(percentile(single, 99) - overhead, 0),
            fmt(max(single) - overhead, 0),
        ],
    ]
    table(["method", "p50 ns", "p99 ns", "max ns"], rows)
    return percentile(batch_fresh, 99), percentile(single, 99), percentile(single, 99) - overhead


# --------------------------------------------------------------------------------------------------
# (c) building a view with 20 extensions
# --------------------------------------------------------------------------------------------------


def timed_ms(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


def build_pm(plugins: list[Any]) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for i, p in enumerate(plugins):
        pm.register(p, name=f"ext{i:02d}")
    return pm


async def bench_build(rounds: int, per_round: int, kernel_builds: int) -> dict[str, tuple[float, float]]:
    plugins = [SmallExtension() for _ in range(20)]
    registry = registry_with(plugins, "ext", builtins=True)
    loaded = registry.loaded()
    names = [n for n in loaded if n.startswith("ext")]
    assert len(names) == 20, names
    hidden = set(names[:5])
    configs = {n: {"api_key": "k", "n": i} for i, n in enumerate(names[5:15])}
    pm = registry.pm

    variants: dict[str, Callable[[], Any]] = {
        "HookView(pm), nothing hidden": lambda: HookView(pm),
        "HookView(pm, hidden=5, configs=10)": lambda: HookView(pm, hidden=hidden, configs=configs, workspace_id="w"),
        "PluginManager + 20 plugins (reference)": lambda: build_pm(plugins),
        "Registry().load(20 candidates) (reference)": lambda: registry_with(plugins, "ext"),
    }
    for fn in variants.values():
        fn()
    got: dict[str, list[float]] = {n: [] for n in variants}
    order = list(variants)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            for _ in range(per_round):
                got[name].append(timed_ms(variants[name]))

    # WorkspaceViews.build on a real kernel: SQLite file, real built-ins, the test extension, 20 more.
    kernel_build: list[float] = []
    kernel_load: list[float] = []
    kernel_view: list[float] = []
    with tempfile.TemporaryDirectory(prefix="automatos-bench-") as tmp:
        async with running_kernel(Path(tmp), plugins=(EVERYTHING, *candidates(plugins, "ext"))) as kernel:
            ws = await kernel.store.get_workspace("default")
            assert ws is not None
            for n in names[:5]:
                await kernel.set_extension(ws, n, enabled=False)
            for i, n in enumerate(names[5:15]):
                await kernel.set_extension(ws, n, enabled=True, config={"api_key": "k", "n": i})
            n_plugins = len(kernel.registry.pm.get_plugins())
            for _ in range(kernel_builds):
                t0 = time.perf_counter_ns()
                await kernel.views.build(ws.id)
                kernel_build.append((time.perf_counter_ns() - t0) / 1e6)
            # The two halves of a build, separately.
            for _ in range(kernel_builds):
                t0 = time.perf_counter_ns()
                version, rows = await kernel.store.extension_state(ws.id)
                t1 = time.perf_counter_ns()
                HookView(
                    kernel.registry.pm,
                    hidden=kernel.views.hidden_for(rows),
                    configs={name: row.config for name, row in rows.items()},
                    workspace_id=ws.id,
                    version=version,
                )
                t2 = time.perf_counter_ns()
                kernel_load.append((t1 - t0) / 1e6)
                kernel_view.append((t2 - t1) / 1e6)
            view = kernel.views.cached(ws.id)
            assert view is not None
            n_hidden = len(view.hidden)

    print(
        f"## (c) building a view: {len(loaded)} extensions loaded "
        f"({len(loaded) - 20} discovered + 20 small ones, 6 hooks each)"
    )
    print(
        f"in-memory: {rounds} rounds x {per_round} builds per variant, variants interleaved, order reversed each "
        f"round. Kernel: {kernel_builds} x WorkspaceViews.build on a real SQLite kernel ({n_plugins} plugins "
        f"registered, {n_hidden} hidden in the workspace, 10 with a config)."
    )
    print()
    lines: list[list[str]] = []
    out: dict[str, tuple[float, float]] = {}
    for name, values in got.items():
        lines.append([name, fmt(median(values), 3), fmt(percentile(values, 99), 3), fmt(max(values), 3)])
        out[name] = (median(values), max(values))
    for name, values in (
        ("WorkspaceViews.build (SQLite kernel)", kernel_build),
        ("  of which store.extension_state (DB)", kernel_load),
        ("  of which HookView(...) (same args)", kernel_view),
    ):
        lines.append([name, fmt(median(values), 3), fmt(percentile(values, 99), 3), fmt(max(values), 3)])
        out[name] = (median(values), max(values))
    table(["what", "median ms", "p99 ms", "max ms"], lines)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    header("bench/hooks.py: hook facade, cached view lookup, view construction")
    quiet()

    sync_ratio, async_ratio = await bench_facade(args.rounds, samples=15, batch=2000)
    gc.collect()
    p99_batch, p99_single, p99_net = await bench_cached(n_views=1000, batches=2000, batch=1000, singles=200_000)
    gc.collect()
    build = await bench_build(args.rounds, per_round=40, kernel_builds=100)

    hv_med, hv_max = build["HookView(pm, hidden=5, configs=10)"]
    kb_med, kb_max = build["WorkspaceViews.build (SQLite kernel)"]
    pm_med, _ = build["PluginManager + 20 plugins (reference)"]
    print("## Figures vs goals")
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "(a) facade / pluggy direct, 10 sync impls (median of paired ratios)",
                f"{sync_ratio:.2f}x",
                "<= 2x",
                verdict(sync_ratio <= 2),
            ],
            ["(a) facade / pluggy direct + await, 10 async impls", f"{async_ratio:.2f}x", "information", "-"],
            ["(b) cached(ws) p99, batched (fresh keys)", f"{p99_batch:.0f} ns", "< 1000 ns", verdict(p99_batch < 1000)],
            [
                "(b) cached(ws) p99, individual raw (incl. timer)",
                f"{p99_single:.0f} ns",
                "< 1000 ns",
                verdict(p99_single < 1000),
            ],
            ["(b) cached(ws) p99, individual net of timer", f"{p99_net:.0f} ns", "< 1000 ns", verdict(p99_net < 1000)],
            [
                "(c) HookView with 20 extensions, median / max",
                f"{hv_med:.2f} / {hv_max:.2f} ms",
                "< 20 ms",
                verdict(hv_max < 20),
            ],
            [
                "(c) WorkspaceViews.build (SQLite), median / max",
                f"{kb_med:.2f} / {kb_max:.2f} ms",
                "< 20 ms",
                verdict(kb_max < 20),
            ],
            ["(c) PluginManager + 20 plugins, median (reference)", f"{pm_med:.2f} ms", "-", "-"],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
