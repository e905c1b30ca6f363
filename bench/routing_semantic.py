"""The semantic routing tier at scale: 10,000 agents on pgvector, 1,000 on the embedded default.

What one steady-state route costs in ``SemanticTier.route`` (``automatos/extensions/routing/semantic.py``):
the agents' check against what is stored (in memory), one vector query, the decision. Profiles are
seeded directly through the backend (random unit 384-d vectors, the real metadata and ledger, agents
whose text has the real profile shape: a seeded persona's name, description and prompt, ~1 KB), so
the tier finds everything up to date and never re-embeds.

Rows, interleaved A B A B … with the order reversed every round (/work/shared/BENCHMARKS.md):
- ``pgvector, exact scan`` — the backend as shipped: PostgreSQL computes ``<=>`` over the
  workspace's rows (primary-key range) and keeps the top k;
- ``pgvector, HNSW`` — the same query through a partial HNSW expression index
  (``(embedding::vector(384)) vector_cosine_ops WHERE dimensions = 384``, m 16, ef_construction 64)
  with iterative scans and ``hnsw.ef_search`` = ``--ef-search`` (40), built for the run and measured
  for what it would buy — the shipped backend has no such index; its recall@1 and recall@5 against
  the exact top 5 are printed (``--no-ann`` skips it);
- ``exact on PostgreSQL`` — the ``exact`` backend over the same rows (a fingerprint query, then numpy
  over the matrix it keeps in memory);
- ``exact (embedded default), 1,000 agents`` — SQLite rows, numpy matrix in process memory;
- each with the message embedding excluded (a precomputed vector) and, when the ``local-e5``
  provider is installed, included (the real model embeds every message).

A second workspace with as many agents shares the table, so the index has other tenants' rows to skip.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import fmt, header, median, quiet, table, verdict

from automatos.agents.seed_data import PERSONAS
from automatos.extensions.routing.profiles import COLLECTION, LEDGER, index_for
from automatos.extensions.routing.semantic import SemanticTier
from automatos.extensions.vectors.exact import ExactVectorBackend
from automatos.extensions.vectors.pgvector import PgVectorBackend
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


CLUSTERS = 0
"""``--clustered N``: vectors drawn around N random directions (as real profiles group by role)."""


def unit_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    if CLUSTERS:
        centres = np.random.default_rng(0).standard_normal((CLUSTERS, DIM)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        rows = centres[rng.integers(0, CLUSTERS, n)] + 0.06 * rows  # two of one cluster: cosine ~0.4
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


async def seed(backend: VectorBackend, ws: str, agents: Sequence[AgentProfile], model: str, rng_seed: int) -> None:
    vectors = unit_rows(len(agents), rng_seed)
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


class AnnPgVector(PgVectorBackend):
    """The HNSW variant measured against the shipped exact scan (see the module docstring)."""

    ef_search = 40

    async def query(self, workspace_id: str, collection: str, vector: Sequence[float], *, top_k: int = 5) -> list[Any]:
        from sqlalchemy import text

        from automatos.kernel.backends import VectorMatch

        if len(vector) != DIM or top_k > 500:
            return await super().query(workspace_id, collection, vector, top_k=top_k)

        q = "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
        sql = text(
            f"SELECT item_id, metadata, d FROM (SELECT item_id, metadata, (embedding::vector({DIM})) <=> "
            f"CAST(:q AS vector({DIM})) AS d FROM vector_items WHERE workspace_id = :ws AND collection = :c "
            f"AND dimensions = {DIM} ORDER BY (embedding::vector({DIM})) <=> CAST(:q AS vector({DIM})) LIMIT :k) t "
            "ORDER BY d, item_id"
        )
        async with self.engine.begin() as connection:
            await connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            await connection.execute(text(f"SET LOCAL hnsw.ef_search = {self.ef_search}"))
            rows = (await connection.execute(sql, {"q": q, "ws": workspace_id, "c": collection, "k": top_k})).all()
        return [VectorMatch(id=r[0], score=1.0 - float(r[2]), metadata=r[1] or {}) for r in rows]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--embedded-agents", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=60)
    parser.add_argument("--no-ann", action="store_true")
    parser.add_argument("--ef-search", type=int, default=40)
    parser.add_argument("--skip-model", action="store_true", help="no local-e5 rows (the tier alone)")
    parser.add_argument("--clustered", type=int, default=0, metavar="N", help="vectors around N directions")
    args = parser.parse_args()
    global CLUSTERS
    CLUSTERS = args.clustered
    header(f"semantic tier: {args.agents:,} agents on pgvector, {args.embedded_agents:,} on the embedded default")
    quiet()

    provider = None if args.skip_model else local_provider()
    model = provider.model if provider is not None else "bench-random-384"
    queries = unit_rows(256, 99)
    tier = SemanticTier()
    big, small = profiles(args.agents), profiles(args.embedded_agents)

    server = start_postgres()
    tmp = Path(tempfile.mkdtemp(prefix="bench-semantic-"))
    sqlite_url = f"sqlite+aiosqlite:///{(tmp / 'b.db').as_posix()}"
    try:
        async with fresh_database(server.url, "automatos_bench_sem_") as url:
            await upgrade(url, sources=migrations())
            await upgrade(sqlite_url, sources=migrations())
            pg_engine = create_engine(load_settings({}, database_url=url))
            lite_engine = create_engine(load_settings({}, database_url=sqlite_url))
            pg, ann, lite = PgVectorBackend(pg_engine), AnnPgVector(pg_engine), ExactVectorBackend(lite_engine)
            ann.ef_search = args.ef_search
            exact_pg = ExactVectorBackend(pg_engine)
            ws, other, ws_lite = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
            t0 = time.perf_counter()
            await seed(pg, ws, big, model, 1)
            await seed(pg, other, profiles(args.agents), model, 2)
            await seed(lite, ws_lite, small, model, 3)
            seeded = time.perf_counter() - t0
            index_s = float("nan")
            if not args.no_ann:
                from sqlalchemy import text

                t0 = time.perf_counter()
                async with pg_engine.begin() as connection:
                    await connection.execute(
                        text(
                            f"CREATE INDEX ix_bench_hnsw ON vector_items USING hnsw "
                            f"((embedding::vector({DIM})) vector_cosine_ops) WHERE dimensions = {DIM}"
                        )
                    )
                    await connection.execute(text("ANALYZE vector_items"))
                index_s = time.perf_counter() - t0

            variants: dict[str, Context] = {
                "pgvector, exact scan": Context(ws, pg, big, Precomputed(model, queries)),
                "exact on PostgreSQL": Context(ws, exact_pg, big, Precomputed(model, queries)),
                "exact (embedded default), 1,000 agents": Context(ws_lite, lite, small, Precomputed(model, queries)),
            }
            if not args.no_ann:
                variants["pgvector, HNSW"] = Context(ws, ann, big, Precomputed(model, queries))
            cold: dict[str, float] = {}
            for name, context in variants.items():
                t0 = time.perf_counter()
                await tier.route(RoutingRequest(workspace_id=context.workspace.id, text="warm"), context)
                cold[name] = (time.perf_counter() - t0) * 1000
                assert index_for(context.vectors, context.workspace.id).embeds == 0, "seeded profiles re-embedded"
            if provider is not None:
                for name in ["pgvector, exact scan", "exact (embedded default), 1,000 agents"]:
                    base = variants[name]
                    variants[name + " + local-e5 message"] = Context(
                        base.workspace.id, base.vectors, base._agents, Real(provider)
                    )
                await provider.embed(["warm up the model"])

            # Recall of the HNSW top 5 against the exact top 5, same queries.
            recall = recall1 = float("nan")
            if not args.no_ann:
                hits = firsts = 0
                for q in queries[:50]:
                    exact5 = [m.id for m in await pg.query(ws, COLLECTION, q.tolist(), top_k=5)]
                    ann5 = [m.id for m in await ann.query(ws, COLLECTION, q.tolist(), top_k=5)]
                    hits += len(set(exact5) & set(ann5))
                    firsts += exact5[:1] == ann5[:1]
                recall, recall1 = hits / 250, firsts / 50

            names = list(variants)
            samples: dict[str, list[float]] = {n: [] for n in names}
            per_round: dict[str, list[float]] = {n: [] for n in names}
            counter = iter(range(10**9))
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
            embed_ms: list[float] = []
            if provider is not None:
                embed_ms = await sample(lambda: provider.embed([MESSAGES[0]]), 40)
            await pg_engine.dispose()
            await lite_engine.dispose()
    finally:
        server.stop()

    print(
        f"seeded {args.agents:,} + {args.agents:,} (another workspace) agents on pgvector and "
        f"{args.embedded_agents:,} on SQLite in {seeded:.1f} s; HNSW index built in {fmt(index_s, 1)} s"
    )
    print(
        f"message vectors: {'local-e5 model ' + model if provider else 'random'}"
        f"{f', profiles and messages around {CLUSTERS} directions' if CLUSTERS else ', profiles random'}"
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
    if "pgvector, HNSW" in per_round:
        ratios = [a / b for a, b in zip(per_round["pgvector, exact scan"], per_round["pgvector, HNSW"], strict=True)]
        print(
            f"exact / HNSW per round: {' '.join(f'{x:.2f}' for x in ratios)}; HNSW (ef_search {args.ef_search}) "
            f"recall@1 {recall1:.2f}, recall@5 {recall:.2f} against the exact top 5"
        )
    if embed_ms:
        print(f"one message embedded by local-e5: median {median(embed_ms):.2f} ms")
    print()
    exact_median = median(samples["pgvector, exact scan"])
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                "semantic tier, 10,000 agents on pgvector (exact scan, as shipped), message embedding excluded",
                f"{exact_median:.2f} ms",
                "< 10 ms",
                verdict(exact_median < 10),
            ]
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
