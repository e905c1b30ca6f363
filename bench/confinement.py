"""The second wall's cost: sandbox round trip and worker start-up with OS confinement on vs off.

1. Round trip of a tiny snippet through ``WorkerPool.run`` on two warm pools side by side, one with
   ``confinement="auto"`` (every layer this kernel allows: network namespace, no_new_privs,
   landlock, seccomp) and one with ``confinement="off"``; sequential runs, rounds interleaved, the
   order reversed each round: p50/p95 per pool, per-round p50 ratios, overall ratio. Two snippets:
   ``result = 1 + 1`` and one that imports and encodes (``json.dumps`` of its inputs).
2. Worker start-up (``WorkerProcess.spawn`` to its ``ready`` frame), on vs off, interleaved; and
   where the difference goes: ``confine()`` alone in a fresh interpreter, split into loading
   ``confine.py`` (and ctypes), importing pyseccomp, and applying the layers.

Run: .venv/bin/python bench/confinement.py [--runs 2000] [--rounds 5] [--starts 20]   (~1 min)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time

from common import fmt, header, median, percentile, table

from automatos.sandbox import WorkerPool
from automatos.sandbox.process import WORKER_PATH, WorkerProcess

SNIPPETS = {
    "trivial": ("result = 1 + 1", {}, 2),
    "json": ("import json\nresult = json.dumps(inputs)", {"a": [1, 2, 3]}, '{"a": [1, 2, 3]}'),
}
MODES = ("auto", "off")

_CONFINE_ONLY = """
import importlib.util, json, os, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("confine", os.path.join(os.path.dirname(sys.argv[1]), "confine.py"))
confine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(confine)
t1 = time.perf_counter()
confine._load_seccomp()
t2 = time.perf_counter()
report = confine.confine("auto", readable=[p for p in sys.path if p.startswith("/")])
t3 = time.perf_counter()
print(json.dumps({"load": (t1 - t0) * 1000, "pyseccomp": (t2 - t1) * 1000, "apply": (t3 - t2) * 1000}))
"""


async def part_roundtrip(runs: int, rounds: int) -> dict[str, dict[str, float]]:
    pools = {mode: WorkerPool(2, confinement=mode) for mode in MODES}
    await asyncio.gather(*(pool.start() for pool in pools.values()))
    out: dict[str, dict[str, float]] = {}
    try:
        print("confinement of the pools' workers:")
        for mode, pool in pools.items():
            print(f"  {mode}: {pool.status()['confinement']}")
        print()
        per_round = max(1, runs // rounds)
        rows = []
        for name, (code, inputs, expected) in SNIPPETS.items():
            for pool in pools.values():
                for _ in range(100):  # warm: both workers, the code cache
                    r = await pool.run(code, inputs)
                    assert r.ok and r.result == expected, r
            times: dict[str, list[float]] = {mode: [] for mode in MODES}
            ratios: list[float] = []
            for rnd in range(rounds):
                order = MODES if rnd % 2 == 0 else tuple(reversed(MODES))
                got: dict[str, list[float]] = {mode: [] for mode in MODES}
                for mode in order:
                    gc.collect()
                    for _ in range(per_round):
                        t0 = time.perf_counter()
                        r = await pools[mode].run(code, inputs)
                        got[mode].append((time.perf_counter() - t0) * 1000)
                        if not (r.ok and r.result == expected):
                            raise SystemExit(f"{name} run failed under {mode}: {r}")
                for mode in MODES:
                    times[mode] += got[mode]
                ratios.append(median(got["auto"]) / median(got["off"]))
            for mode in MODES:
                rows.append([name, mode, fmt(percentile(times[mode], 50), 3), fmt(percentile(times[mode], 95), 3),
                             fmt(percentile(times[mode], 99), 3), str(len(times[mode]))])  # fmt: skip
            ratio = percentile(times["auto"], 50) / percentile(times["off"], 50)
            p95 = percentile(times["auto"], 95) / percentile(times["off"], 95)
            paired = "per round: " + " ".join(f"{x:.3f}" for x in ratios)
            rows.append([name, "on/off", fmt(ratio, 3), fmt(p95, 3), "", paired])
            out[name] = {"on": percentile(times["auto"], 50), "off": percentile(times["off"], 50), "ratio": ratio}
    finally:
        await asyncio.gather(*(pool.stop() for pool in pools.values()))
    print("## 1. Warm-pool round trip, confinement on (auto) vs off")
    print(
        f"WorkerPool(2) each, warm (100 runs first), sequential `await pool.run(...)`, {rounds} interleaved rounds. ms."
    )
    print()
    table(["snippet", "confinement", "p50", "p95", "p99", "runs"], rows)
    return out


async def part_startup(starts: int) -> dict[str, float]:
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for i in range(starts):
        for mode in MODES if i % 2 == 0 else tuple(reversed(MODES)):
            t0 = time.perf_counter()
            worker = await WorkerProcess.spawn(sys.executable, confinement=mode)
            times[mode].append((time.perf_counter() - t0) * 1000)
            await worker.stop()
    parts: dict[str, list[float]] = {"load": [], "pyseccomp": [], "apply": []}
    for _ in range(max(3, starts // 2)):
        command = [sys.executable, "-I", "-c", _CONFINE_ONLY, WORKER_PATH]
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=True, timeout=60)
        for key, value in json.loads(done.stdout).items():
            parts[key].append(value)
    print("## 2. Worker start-up (spawn to ready), confinement on (auto) vs off")
    rows = [[mode, fmt(median(times[mode]), 1), fmt(percentile(times[mode], 95), 1), str(len(times[mode]))]
            for mode in MODES]  # fmt: skip
    rows.append(["on - off", fmt(median(times["auto"]) - median(times["off"]), 1), "", ""])
    rows.append(["  confine.py loaded by path", fmt(median(parts["load"]), 2), "", str(len(parts["load"]))])
    rows.append(["  import pyseccomp (known sonames first)", fmt(median(parts["pyseccomp"]), 2), "",
                 str(len(parts["pyseccomp"]))])  # fmt: skip
    rows.append(["  confine('auto'): netns, nnp, landlock, seccomp", fmt(median(parts["apply"]), 2), "",
                 str(len(parts["apply"]))])  # fmt: skip
    table(["what", "median ms", "p95 ms", "samples"], rows)
    return {"on": median(times["auto"]), "off": median(times["off"])}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000, help="runs per snippet and pool, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=20, help="worker starts per mode")
    args = parser.parse_args()
    header("Sandbox second wall: cost of OS confinement")
    rt = await part_roundtrip(args.runs, args.rounds)
    st = await part_startup(args.starts)
    print("## Summary")
    for name, figures in rt.items():
        print(f"- round trip `{name}`: p50 {figures['on']:.3f} ms on vs {figures['off']:.3f} ms off "
              f"(ratio {figures['ratio']:.3f})")  # fmt: skip
    print(f"- worker start: {st['on']:.1f} ms on vs {st['off']:.1f} ms off (+{st['on'] - st['off']:.1f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
