"""The semantic routing tier at scale: 10,000 agents on pgvector, 1,000 on the embedded default.

What one steady-state route costs in ``SemanticTier.route`` (``automatos/extensions/routing/semantic.py``):
the agents' check against what is stored (in memory), one vector query, the decision. Profiles are
seeded directly through the backend (random unit 384-d vectors, the real metadata and ledger, agents
whose text has the real profile shape: a seeded persona's name, description and prompt, ~1 KB), so
the tier finds everything up to date and never re-embeds.

Two data sets of ``--agents`` (10,000) each, in two workspaces of one table (each the other's
neighbouring tenant, so the shared HNSW index has another tenant's rows to skip): **random** (uniform
unit vectors: the worst case for any graph index, and not what embeddings look like) and
**clustered** (around ``--clustered`` 100 directions, as real profiles group by role; two of one
group: cosine ~0.4). Messages are drawn the same way as their data set's profiles.

Rows of the route table, interleaved A B A B … with the order reversed every round
(/work/shared/BENCHMARKS.md):
- ``pgvector exact`` — the backend with its approximate path switched off: PostgreSQL computes
  ``<=>`` over the workspace's rows (primary-key range) and keeps the top k;
- ``pgvector HNSW`` — the backend as shipped: the semantic tier asks for ``approximate=True``, the
  collection is large, so the migration's partial HNSW index (``pgvector0001``) answers, iterative
  scan, ``hnsw.ef_search`` = ``--ef-search``, candidates re-ranked exactly;
- ``exact on PostgreSQL`` — the ``exact`` backend over the random rows (numpy over a cached matrix);
- ``exact (embedded default), 1,000 agents`` — SQLite rows, numpy matrix in process memory;
- with the ``local-e5`` provider installed, the same with the real model embedding every message.

Then, per data set, recall@1 and recall@5 of the backend's approximate answer against its exact
answer (200 messages) for several ``ef_search`` values with the raw query's median; and the exact
scan's median for workspaces of 500 to 10,000 rows (why ``ANN_MIN_ROWS`` is 3,000).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from common import fmt, header, median, quiet, table, verdict
from sqlalchemy import text

from automatos.agents.seed_data import PERSONAS
from automatos.extensions.routing.profiles import COLLECTION, LEDGER, index_for
from automatos.extensions.routing.semantic import SemanticTier
from automatos.extensions.vectors.exact import ExactVectorBackend
from automatos.extensions.vectors.pgvector import ANN_EF_SEARCH, PgVectorBackend
from automatos.kernel.backends import VectorBackend
from automatos.kernel.db import create_engine, upgrade
from automatos.kernel.settings import load_settings
from automatos.kernel.types import AgentProfile, RouteDecision, RoutingRequest, Workspace
from tests.helpers import migrations
from tests.services import fresh_database, start_postgres

DIM = 384
MESSAGES = [
    "our deploy pipeline keeps failing and prod is down",
    "can you look over my pull request before I merge",
    "write a cold email to the head of marketing at Acme",
    "how do I rank higher on google for my blog",
    "the customer says the app crashes when they log in",
    "plan our editorial calendar for next quarter",
    "help me close this enterprise deal, they want a discount",
    "our biggest client hasn't logged in for a month",
]


def profiles(n: int) -> tuple[AgentProfile, ...]:
    out = []
    for i in range(n):
        p = PERSONAS[i % len(PERSONAS)]
        text = f"{p.name} #{i}. {p.description} {p.system_prompt}"
        out.append(AgentProfile(id=f"agent-{i:05d}", slug=f"{p.slug}-{i}", name=f"{p.name} #{i}", text=text))
    return tuple(out)


def unit_rows(n: int, seed: int, clusters: int = 0) -> np.ndarray:
    """Uniform unit vectors, or (``clusters`` > 0) unit vectors around that many random directions."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    if clusters:
        centres = np.random.default_rng(0).standard_normal((clusters, DIM)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        rows = centres[rng.integers(0, clusters, n)] + 0.06 * rows  # two of one cluster: cosine ~0.4
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


async def seed(
    backend: VectorBackend, ws: str, agents: Sequence[AgentProfile], model: str, rng_seed: int, clusters: int = 0
) -> None:
    vectors = unit_rows(len(agents), rng_seed, clusters)
    for start in range(0, len(agents), 1000):
        chunk = agents[start : start + 1000]
        metas = [{"profile_sha256": hashlib.sha256(a.text.encode()).hexdigest(), "model": model} for a in chunk]
        await backend.upsert(
            ws, COLLECTION, [(a.id, vectors[start + j], m) for j, (a, m) in enumerate(zip(chunk, metas, strict=True))]
        )
        await backend.upsert(
            ws, LEDGER, [(a.id, [1.0], {**m, "dimensions": DIM}) for a, m in zip(chunk, metas, strict=True)]
        )


class Precomputed:
    """Message vectors computed beforehand: the tier's own cost, without the model."""

    def __init__(self, model: str, vectors: np.ndarray) -> None:
        self.model, self.vectors, self.i = model, [v.tolist() for v in vectors], 0

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        self.i += 1
        return self.model, [self.vectors[self.i % len(self.vectors)] for _ in texts]


class Real:
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        return self.provider.model, await self.provider.embed(texts)


class Context:
    def __init__(self, ws: str, vectors: VectorBackend, agents: tuple[AgentProfile, ...], embedder: Any) -> None:
        self.workspace = Workspace(id=ws, slug="bench", name="bench")
        self.config: dict[str, Any] = {}
        self.kv = None
        self.vectors = vectors
        self._agents = agents
        self.embedder = embedder

    async def agents(self) -> tuple[AgentProfile, ...]:
        return self._agents

    async def rules(self) -> tuple[()]:
        return ()

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        result: tuple[str, list[list[float]]] = await self.embedder.embed(texts)
        return result

    async def complete(self, messages: Any, *, max_tokens: int = 200) -> Any:
        raise NotImplementedError

    def now(self) -> float:
        return 0.0


async def sample(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Milliseconds of each of ``n`` calls."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def local_provider() -> Any | None:
    try:
        from automatos.extensions.embeddings import local
    except ImportError:
        return None
    found: list[Any] = []
    local.register_embedding_providers(register=found.append, settings=load_settings({}), config={"center": True})
    return found[0] if found else None


class ExactPgVector(PgVectorBackend):
    """The shipped backend with its approximate path off: every query is the exact scan."""

    supports_approximate = False


async def recall(backend: PgVectorBackend, ws: str, queries: np.ndarray, ef_values: Sequence[int]) -> list[list[str]]:
    """Per ``ef_search``: recall@1 and recall@5 of the approximate answer against the exact one, and the
    raw approximate query's median ms."""
    exact = [[m.id for m in await backend.query(ws, COLLECTION, q.tolist(), top_k=5)] for q in queries]
    rows, before = [], backend.ef_search
    for ef in ef_values:
        backend.ef_search = ef
        firsts = hits = 0
        ms: list[float] = []
        answered = backend.approximate_answers
        for q, best in zip(queries, exact, strict=True):
            t0 = time.perf_counter()
            got = [m.id for m in await backend.query(ws, COLLECTION, q.tolist(), top_k=5, approximate=True)]
            ms.append((time.perf_counter() - t0) * 1000)
            firsts += got[:1] == best[:1]
            hits += len(set(got) & set(best))
        through = backend.approximate_answers - answered
        rows.append(
            [
                str(ef),
                f"{firsts / len(queries):.3f}",
                f"{hits / (5 * len(queries)):.3f}",
                fmt(median(ms), 2),
                f"{through}/{len(queries)}",
            ]
        )
    backend.ef_search = before
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--embedded-agents", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=60)
    parser.add_argument("--ef-search", type=int, default=ANN_EF_SEARCH, help="for the route rows")
    parser.add_argument("--ef-sweep", default="20,40,100,200", help="ef_search values of the recall table")
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--skip-model", action="store_true", help="no local-e5 rows (the tier alone)")
    parser.add_argument("--clustered", type=int, default=100, metavar="N", help="the clustered set's directions")
    args = parser.parse_args()
    header(
        f"semantic tier: {args.agents:,} agents on pgvector (random and clustered), {args.embedded_agents:,} embedded"
    )
    quiet()

    provider = None if args.skip_model else local_provider()
    model = provider.model if provider is not None else "bench-random-384"
    queries = {"random": unit_rows(256, 99), "clustered": unit_rows(256, 99, args.clustered)}
    tier = SemanticTier()
    big, small = profiles(args.agents), profiles(args.embedded_agents)

    server = start_postgres()
    tmp = Path(tempfile.mkdtemp(prefix="bench-semantic-"))
    sqlite_url = f"sqlite+aiosqlite:///{(tmp / 'b.db').as_posix()}"
    try:
        async with fresh_database(server.url, "automatos_bench_sem_") as url:
            await upgrade(url, sources=migrations())  # pgvector0001: the HNSW indexes, empty
            await upgrade(sqlite_url, sources=migrations())
            pg_engine = create_engine(load_settings({}, database_url=url))
            lite_engine = create_engine(load_settings({}, database_url=sqlite_url))
            ann, pg, lite = PgVectorBackend(pg_engine), ExactPgVector(pg_engine), ExactVectorBackend(lite_engine)
            ann.ef_search = args.ef_search
            exact_pg = ExactVectorBackend(pg_engine)
            ws = {"random": str(uuid.uuid4()), "clustered": str(uuid.uuid4())}
            ws_lite = str(uuid.uuid4())
            t0 = time.perf_counter()
            await seed(ann, ws["random"], big, model, 1)
            await seed(ann, ws["clustered"], big, model, 2, args.clustered)
            await seed(lite, ws_lite, small, model, 3)
            # Workspaces of 500 to 5,000 rows for the exact scan's cost by size.
            sizes = [n for n in (500, 1_000, 2_000, 5_000) if n < args.agents]
            ws_sized = {n: str(uuid.uuid4()) for n in sizes}
            for n, w in ws_sized.items():
                await seed(ann, w, profiles(n), model, 10 + n)
            seeded = time.perf_counter() - t0
            async with pg_engine.begin() as connection:
                await connection.execute(text("ANALYZE vector_items"))

            variants: dict[str, Context] = {}
            for kind in ("random", "clustered"):
                variants[f"pgvector exact, {kind}"] = Context(ws[kind], pg, big, Precomputed(model, queries[kind]))
                variants[f"pgvector HNSW, {kind}"] = Context(ws[kind], ann, big, Precomputed(model, queries[kind]))
            variants["exact on PostgreSQL, random"] = Context(
                ws["random"], exact_pg, big, Precomputed(model, queries["random"])
            )
            variants["exact (embedded default), 1,000 agents"] = Context(
                ws_lite, lite, small, Precomputed(model, queries["random"])
            )
            cold: dict[str, float] = {}
            for name, context in variants.items():
                t0 = time.perf_counter()
                await tier.route(RoutingRequest(workspace_id=context.workspace.id, text="warm"), context)
                cold[name] = (time.perf_counter() - t0) * 1000
                assert index_for(context.vectors, context.workspace.id).embeds == 0, "seeded profiles re-embedded"
            if provider is not None:
                for name in ["pgvector HNSW, clustered", "exact (embedded default), 1,000 agents"]:
                    base = variants[name]
                    variants[name + " + local-e5 message"] = Context(
                        base.workspace.id, base.vectors, base._agents, Real(provider)
                    )
                await provider.embed(["warm up the model"])

            ef_values = [int(x) for x in args.ef_sweep.split(",") if x]
            recall_rows = {
                kind: await recall(ann, ws[kind], unit_rows(args.recall_queries, 7, c), ef_values)
                for kind, c in (("random", 0), ("clustered", args.clustered))
            }
            probe = unit_rows(1, 5)[0].tolist()
            by_size: list[list[str]] = []
            for n, w in [*ws_sized.items(), (args.agents, ws["random"])]:
                ms = await sample(partial(pg.query, w, COLLECTION, probe, top_k=5), 40)
                by_size.append([f"{n:,}", fmt(median(ms), 2)])

            names = list(variants)
            samples: dict[str, list[float]] = {n: [] for n in names}
            per_round: dict[str, list[float]] = {n: [] for n in names}
            counter = iter(range(10**9))
            through = ann.approximate_answers
            for r in range(args.rounds):
                for name in names if r % 2 == 0 else reversed(names):
                    context = variants[name]

                    async def one(context: Context = context) -> object:
                        text = MESSAGES[next(counter) % len(MESSAGES)]
                        result = await tier.route(RoutingRequest(workspace_id=context.workspace.id, text=text), context)
                        assert result is None or isinstance(result, RouteDecision) or result.agent_ids
                        return result

                    got = await sample(one, args.per_round)
                    samples[name] += got
                    per_round[name].append(median(got))
            hnsw_routes = sum(len(samples[n]) for n in names if n.startswith("pgvector HNSW"))
            assert ann.approximate_answers - through == hnsw_routes, "an HNSW route took the exact scan"
            embed_ms: list[float] = []
            if provider is not None:
                embed_ms = await sample(lambda: provider.embed([MESSAGES[0]]), 40)
            await pg_engine.dispose()
            await lite_engine.dispose()
    finally:
        server.stop()

    print(
        f"seeded 2 x {args.agents:,} agents (random, clustered around {args.clustered} directions) "
        f"+ {sum(ws_sized):,} (the size sweep) on pgvector, through the HNSW indexes, and "
        f"{args.embedded_agents:,} on SQLite in {seeded:.1f} s"
    )
    print(
        "message vectors: drawn like the data set's profiles"
        + (f" (the model {model} embeds the + local-e5 rows' messages)" if provider else "")
    )
    print()
    table(
        ["variant", "median ms", "p90 ms", "first route ms (reads the ledger)", "per-round medians"],
        [
            [
                n,
                fmt(median(samples[n]), 3),
                fmt(sorted(samples[n])[int(0.9 * len(samples[n]))], 3),
                fmt(cold.get(n, float("nan")), 1),
                " ".join(fmt(v, 2) for v in per_round[n]),
            ]
            for n in names
        ],
    )
    for kind in ("random", "clustered"):
        ratios = [
            a / b
            for a, b in zip(per_round[f"pgvector exact, {kind}"], per_round[f"pgvector HNSW, {kind}"], strict=True)
        ]
        print(f"exact / HNSW per round, {kind}: {' '.join(f'{x:.2f}' for x in ratios)}")
    print()
    for kind, rows in recall_rows.items():
        print(f"approximate vs exact top 5, {kind} set, {args.recall_queries} messages, top_k 5:")
        table(["ef_search", "recall@1", "recall@5", "query median ms", "answered through the index"], rows)
        print()
    print("exact scan (backend.query, top_k 5) by workspace size:")
    table(["rows in the workspace", "median ms"], by_size)
    print()
    if embed_ms:
        print(f"one message embedded by local-e5: median {median(embed_ms):.2f} ms")
        print()
    hnsw = median(samples["pgvector HNSW, clustered"])
    exact_median = median(samples["pgvector exact, clustered"])
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                f"semantic tier, {args.agents:,} agents on pgvector (HNSW, as shipped), clustered, message excluded",
                f"{hnsw:.2f} ms",
                "< 10 ms",
                verdict(hnsw < 10),
            ],
            [
                f"semantic tier, {args.agents:,} agents on pgvector, exact scan, clustered",
                f"{exact_median:.2f} ms",
                "< 10 ms",
                verdict(exact_median < 10),
            ],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
