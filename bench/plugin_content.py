"""A plugin's content (skills, prompts) through the KV cache: the cost of a hit, and of a miss.

One kernel (embedded default: SQLite, the in-process KV backend; with ``--redis`` the KV backend is
a real Redis server from ``tests.services.start_redis()``), one workspace with one enabled plugin
whose bundle ships three skill files. ``PluginProxy.content`` is what a chat turn asks of each of an
agent's plugins: a hit reads three KV keys; a miss (the keys dropped before each call) reads the
bundle from the blob store, checks its sha256, unzips it and fills the keys. Hits and misses are
interleaved, the order reversed every round. Goal: a hit under 1 ms.

Run: .venv/bin/python bench/plugin_content.py [--rounds 200] [--redis]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from common import fmt, header, median, percentile, quiet, table, verdict
from plugin_view import _NoSandbox, seed

from automatos.marketplace.runtime.content import content_key
from automatos.marketplace.runtime.service import PluginsService
from tests.helpers import running_kernel
from tests.workspaces.helpers import new_workspace

GOAL_MS = 1.0
FILES = {f"skills/skill_{i}.md": (f"# Skill {i}\n" + "Be helpful and precise. " * 80).encode() for i in range(3)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--redis", action="store_true", help="a real Redis as the KV backend")
    args = parser.parse_args()
    header("bench/plugin_content.py: a plugin's skills through the KV cache (hit) and from the bundle (miss)")
    quiet()
    settings: dict[str, Any] = {"feature_sandbox": False}
    redis = None
    if args.redis:
        from tests.services import start_redis

        redis = start_redis()
        settings["redis_url"] = redis.url
    try:
        backend, times = await measure(args.rounds, settings)
    finally:
        if redis is not None:
            redis.stop()
    rows = [(label, len(v), fmt(median(v), 3), fmt(percentile(v, 95), 3), fmt(max(v), 3)) for label, v in times.items()]
    table(["content", "calls", "median ms", "p95 ms", "max ms"], rows)
    print()
    hit_ms = median(times["hit"])
    print(f"- KV backend: {backend}; {len(FILES)} files of {len(next(iter(FILES.values())))} bytes")
    print(f"- cache hit: {fmt(hit_ms, 3)} ms (median); goal < {GOAL_MS:g} ms: {verdict(hit_ms < GOAL_MS)}")


async def measure(rounds: int, settings: dict[str, Any]) -> tuple[str, dict[str, list[float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_kernel(Path(tmp), **settings) as kernel:
            ws = await new_workspace(kernel, "content", "Content")
            await seed(kernel, ws.id, 1, files=FILES)
            service = PluginsService(kernel, _NoSandbox())
            await service.start()
            proxy = (await kernel.views.get(ws.id)).proxies[0]
            paths = [path for _, path in proxy.content_paths()]  # type: ignore[attr-defined]
            times: dict[str, list[float]] = {"hit": [], "miss": []}

            async def hit() -> None:
                await proxy.content(ws.id)  # type: ignore[attr-defined]

            async def miss() -> None:
                for path in paths:
                    await kernel.backends.kv.delete(content_key(proxy.ref.sha256, path))  # type: ignore[attr-defined]
                start = time.perf_counter()
                await proxy.content(ws.id)  # type: ignore[attr-defined]
                times["miss"].append((time.perf_counter() - start) * 1000)

            await hit()
            for i in range(rounds):
                for label in ("hit", "miss") if i % 2 == 0 else ("miss", "hit"):
                    if label == "hit":
                        start = time.perf_counter()
                        items = await proxy.content(ws.id)  # type: ignore[attr-defined]
                        times["hit"].append((time.perf_counter() - start) * 1000)
                        assert len(items) == len(FILES)
                    else:
                        await miss()
            await service.stop()
            return kernel.backends.kv.name, times


if __name__ == "__main__":
    asyncio.run(main())
