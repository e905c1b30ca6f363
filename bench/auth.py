"""API-key verification on a warm cache, µs per call.

A real kernel (SQLite, every installed extension) on a temporary data directory; an owner key
created with the real service (``create_key``). After one cold call (the database lookup), every
call is a warm-cache hit: find the entry by prefix, one HMAC-SHA256 of the whole key under the
pepper, ``hmac.compare_digest``, an expiry check. Measured:

- ``ApiKeyAuth.authenticate(headers)`` directly (a hit returns the principal itself, no await), with
  ``Authorization: Bearer atk_…`` and with ``X-API-Key: atk_…``;
- ``await automatos.api.dependencies.authenticate(kernel, headers)``: what the request middleware calls
  (every auth method in priority order until one answers);
- the floor: the HMAC-SHA256 + ``compare_digest`` alone.

``headers`` is Litestar's :class:`~litestar.datastructures.Headers` built once from a request scope,
as the middleware passes it (building it is the middleware's cost, measured in ``bench/inproc.py``).

Two timing methods, interleaved by rounds (order reversed every round): **individual** (every call
between two ``perf_counter_ns()`` reads, the timer's own median cost subtracted: median and p99 of
all calls) and **batched** (``--batch`` calls timed together and divided: p50/p99 over batches).
Goal (issue 3): median < 50 µs.

Run: .venv/bin/python bench/auth.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from apps import fixture
from common import fmt, header, median, percentile, quiet, table, verdict
from litestar.datastructures import Headers

from automatos.api.dependencies import authenticate
from automatos.extensions.auth.api_keys import ApiKeyAuth, load_pepper
from automatos.kernel.types import Principal

GOAL_US = 50.0


def scope_headers(**values: str) -> Headers:
    raw = [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")]
    raw += [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in values.items()]
    return Headers.from_scope({"type": "http", "headers": raw})  # type: ignore[arg-type]


async def timer_floor(n: int) -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = clock()
        samples.append(clock() - t0)
    return median(samples) / 1000


async def individual(call: Callable[[], Any], is_async: bool, n: int, floor_us: float) -> list[float]:
    clock = time.perf_counter_ns
    out: list[float] = []
    append = out.append
    if is_async:
        for _ in range(n):
            t0 = clock()
            await call()
            append((clock() - t0) / 1000 - floor_us)
    else:
        for _ in range(n):
            t0 = clock()
            call()
            append((clock() - t0) / 1000 - floor_us)
    return out


async def batched(call: Callable[[], Any], is_async: bool, batches: int, batch: int) -> list[float]:
    clock = time.perf_counter_ns
    out: list[float] = []
    for _ in range(batches):
        t0 = clock()
        if is_async:
            for _ in range(batch):
                await call()
        else:
            for _ in range(batch):
                call()
        out.append((clock() - t0) / batch / 1000)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000, help="individually timed calls per variant per round")
    parser.add_argument("--batches", type=int, default=40, help="batches per variant per round")
    parser.add_argument("--batch", type=int, default=500, help="calls per batch")
    args = parser.parse_args()
    header("bench/auth.py: API-key verification on a warm cache")
    quiet()

    data_dir = Path(tempfile.mkdtemp(prefix="automatos-bench-auth-"))
    try:
        async with fixture.running(data_dir) as kernel:
            quiet()  # a kernel start sets the automatos loggers' level again
            fx = await fixture.create_fixture(kernel)
            method = next(m for m in kernel.auth_methods if isinstance(m, ApiKeyAuth))
            bearer = scope_headers(authorization=f"Bearer {fx.key}")
            x_api_key = scope_headers(x_api_key=fx.key)

            t0 = time.perf_counter_ns()
            cold: Any = method.authenticate(bearer)
            if isinstance(cold, Awaitable):
                cold = await cold
            cold_us = (time.perf_counter_ns() - t0) / 1000
            warm = method.authenticate(bearer)
            if not isinstance(cold, Principal) or not isinstance(warm, Principal):
                raise RuntimeError(f"expected principals, got {cold!r} then {warm!r}")
            if warm.workspace_id != fx.workspace_id or warm.role != "owner":
                raise RuntimeError(f"unexpected principal {warm!r}")
            via_context = await authenticate(kernel, bearer)
            if via_context != warm:
                raise RuntimeError(f"context.authenticate answered {via_context!r}")
            names = [m.name for m in kernel.auth_methods]

            pepper = load_pepper(kernel.settings)
            key_bytes = fx.key.encode()
            stored = fx.key_hash

            def hmac_floor() -> bool:
                return hmac.compare_digest(hmac.new(pepper, key_bytes, hashlib.sha256).hexdigest(), stored)

            variants: dict[str, tuple[Callable[[], Any], bool]] = {
                "ApiKeyAuth.authenticate, Bearer": (lambda: method.authenticate(bearer), False),
                "ApiKeyAuth.authenticate, X-API-Key": (lambda: method.authenticate(x_api_key), False),
                "context.authenticate (await), Bearer": (lambda: authenticate(kernel, bearer), True),
                "floor: HMAC-SHA256 + compare_digest": (hmac_floor, False),
            }
            floor_us = await timer_floor(200_000)
            for call, is_async in variants.values():  # warm up
                await batched(call, is_async, 5, args.batch)

            singles: dict[str, list[float]] = {n: [] for n in variants}
            batch_means: dict[str, list[float]] = {n: [] for n in variants}
            round_medians: dict[str, list[float]] = {n: [] for n in variants}
            order = list(variants)
            gc.collect()
            for r in range(args.rounds):
                for name in order if r % 2 == 0 else order[::-1]:
                    call, is_async = variants[name]
                    got = await individual(call, is_async, args.calls, floor_us)
                    singles[name] += got
                    round_medians[name].append(median(got))
                    batch_means[name] += await batched(call, is_async, args.batches, args.batch)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    print(
        f"{args.rounds} rounds, variants interleaved (order reversed every round); per variant and round "
        f"{args.calls:,} individually timed calls and {args.batches} batches of {args.batch}. "
        f"Timer cost subtracted from individual calls: {floor_us * 1000:.0f} ns. Auth methods in order: {names}. "
        f"Cold call (database lookup, first use): {cold_us:,.0f} µs."
    )
    print()
    rows = []
    for name in variants:
        rows.append(
            [
                name,
                fmt(median(singles[name])),
                fmt(percentile(singles[name], 99)),
                fmt(percentile(singles[name], 99.9)),
                " ".join(fmt(x) for x in round_medians[name]),
                fmt(median(batch_means[name])),
                fmt(percentile(batch_means[name], 99)),
            ]
        )
    table(
        [
            "µs per call",
            "individual median",
            "individual p99",
            "p99.9",
            "median per round",
            "batched p50",
            "batched p99",
        ],
        rows,
    )
    print("## Figures vs goals")
    direct = median(singles["ApiKeyAuth.authenticate, Bearer"])
    through = median(singles["context.authenticate (await), Bearer"])
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "ApiKeyAuth.authenticate, warm cache, median (p99)",
                f"{direct:.2f} µs ({percentile(singles['ApiKeyAuth.authenticate, Bearer'], 99):.2f})",
                f"< {GOAL_US:.0f} µs",
                verdict(direct < GOAL_US),
            ],
            [
                "context.authenticate, warm cache, median (p99)",
                f"{through:.2f} µs ({percentile(singles['context.authenticate (await), Bearer'], 99):.2f})",
                f"< {GOAL_US:.0f} µs",
                verdict(through < GOAL_US),
            ],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
