"""The pgvector backend's HNSW index for agent profiles: where it exists, when it is used, what it returns.

The migration ``pgvector0001`` adds partial HNSW indexes for collection ``routing-agent-profiles`` (384
and 1536 dimensions) on PostgreSQL only. The backend answers through one only when asked
(``approximate=True``, which the semantic tier passes), for a large collection (≥ ``ANN_MIN_ROWS``), and
re-ranks the candidates exactly; every other query is the exact scan. Data: 2,500 384-d vectors grouped
around 50 directions (as real profiles group by role), another workspace beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.extensions.routing.profiles import COLLECTION
from automatos.extensions.routing.semantic import SemanticTier
from automatos.extensions.vectors import pgvector
from automatos.extensions.vectors.pgvector import ANN_INDEXES, ANN_MIN_ROWS, ANN_SIZE_TTL_SECONDS, PgVectorBackend
from automatos.kernel.backends import VectorMatch
from automatos.kernel.db import create_engine, upgrade
from automatos.kernel.db.migrate import current
from automatos.kernel.settings import load_settings
from automatos.kernel.types import AgentProfile, RouteDecision, RoutingRequest
from tests.helpers import migrations
from tests.routing.test_semantic import Context
from tests.services import fresh_database

__all__: list[str] = []

DIM = 384
ROWS = 2_500
CENTRES = np.random.default_rng(0).standard_normal((50, DIM))


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around :data:`CENTRES` (two of one group: cosine ~0.5, of two groups: ~0)."""
    rng = np.random.default_rng(seed)
    rows = CENTRES[rng.integers(0, len(CENTRES), n)] + rng.standard_normal((n, DIM))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


async def seed(backend: PgVectorBackend, ws: str, vectors: np.ndarray, collection: str = COLLECTION) -> None:
    for start in range(0, len(vectors), 500):
        chunk = vectors[start : start + 500]
        await backend.upsert(ws, collection, [(f"{ws[:8]}-{start + i:05d}", v, {}) for i, v in enumerate(chunk)])


@pytest.fixture(scope="module")
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(postgres_url, "automatos_ann_") as url:
        await upgrade(url, sources=migrations())
        made = create_engine(load_settings({}, database_url=url))
        try:
            yield made
        finally:
            await made.dispose()


@pytest.fixture(scope="module")
async def tenants(engine: AsyncEngine) -> dict[str, Any]:
    """Workspace ``mine`` (2,500 clustered profiles), ``crowd`` (2,500 profiles packed around the test
    queries' own directions, so the index's nearest rows belong to another tenant), ``small`` (100)."""
    backend = PgVectorBackend(engine)
    mine, crowd, small = (str(uuid.uuid4()) for _ in range(3))
    vectors = clustered(ROWS, 1)
    queries = clustered(20, 2)
    await seed(backend, mine, vectors)
    crowded = np.repeat(queries, ROWS // len(queries), axis=0)
    crowded = crowded + 0.01 * np.random.default_rng(3).standard_normal(crowded.shape) / np.sqrt(DIM)
    await seed(backend, crowd, crowded)
    await seed(backend, small, vectors[:100])
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE vector_items"))
    return {"mine": mine, "crowd": crowd, "small": small, "vectors": vectors, "queries": queries}


def ann(engine: AsyncEngine, min_rows: int = 2_000) -> PgVectorBackend:
    """The backend with a threshold the 2,500-row workspaces pass (the default is higher)."""
    backend = PgVectorBackend(engine)
    backend.ann_min_rows = min_rows
    return backend


def exact_top(vectors: np.ndarray, ws: str, query: np.ndarray, k: int) -> list[str]:
    scores = vectors.astype(np.float32).astype(np.float64) @ query
    return [f"{ws[:8]}-{i:05d}" for i in np.argsort(-scores, kind="stable")[:k]]


# --- the migration ------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_the_migration_adds_partial_hnsw_indexes_on_postgresql(engine: AsyncEngine) -> None:
    query = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'vector_items'")
    async with engine.connect() as connection:
        rows: dict[str, str] = {name: definition for name, definition in (await connection.execute(query))}
    for (collection, dimensions), name in ANN_INDEXES.items():
        definition = rows[name]
        assert "USING hnsw" in definition and f"vector({dimensions})" in definition
        assert f"'{collection}'" in definition and f"dimensions = {dimensions}" in definition


async def test_the_migration_is_a_no_op_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 's.db').as_posix()}"
    await upgrade(url, sources=migrations())
    assert "pgvector0001" in (await current(url) or "").split()
    made = create_engine(load_settings({}, database_url=url))
    try:
        async with made.connect() as connection:
            names = await connection.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("vector_items")})
    finally:
        await made.dispose()
    assert not names & set(ANN_INDEXES.values())


# --- the approximate path -----------------------------------------------------------------------


@pytest.mark.postgres
async def test_approximate_queries_find_the_exact_best_through_the_index(
    engine: AsyncEngine, tenants: dict[str, Any]
) -> None:
    backend = ann(engine)
    mine, vectors = tenants["mine"], tenants["vectors"]
    for query in clustered(30, 4):
        got = await backend.query(mine, COLLECTION, query, top_k=5, approximate=True)
        assert [m.id for m in got][:1] == exact_top(vectors, mine, query, 1)
        assert len(got) == 5 and all(m.id.startswith(mine[:8]) for m in got)
        # Re-ranked exactly: best first, each score the exact cosine of that row.
        assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)
        for match in got:
            row = vectors[int(match.id.rsplit("-", 1)[1])].astype(np.float32).astype(np.float64)
            assert match.score == pytest.approx(float(row @ query / np.linalg.norm(row)), abs=1e-5)
    assert backend.approximate_answers == 30

    # The statement really goes through the index: EXPLAIN of what was sent names it.
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "candidates" in statement:
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await backend.query(mine, COLLECTION, vectors[0], top_k=5, approximate=True)
        statement, parameters = sent[-1]
        async with engine.connect() as connection:
            plan = (await connection.exec_driver_sql("EXPLAIN " + statement, parameters)).scalars().all()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert any(ANN_INDEXES[(COLLECTION, DIM)] in line for line in plan), plan


@pytest.mark.postgres
async def test_another_workspaces_rows_never_come_back_and_k_results_still_do(
    engine: AsyncEngine, tenants: dict[str, Any]
) -> None:
    """The index is shared: ``crowd``'s 2,500 rows sit nearest every query, so the index must scan
    past them (iterative scan) and still return k of ``mine``'s rows, the best of them first."""
    backend = ann(engine)
    mine, crowd, vectors = tenants["mine"], tenants["crowd"], tenants["vectors"]
    for query in tenants["queries"]:
        for k in (1, 5, 40):
            got = await backend.query(mine, COLLECTION, query, top_k=k, approximate=True)
            assert len(got) == k and all(m.id.startswith(mine[:8]) for m in got)
            assert got[0].id == exact_top(vectors, mine, query, 1)[0]
        theirs = await backend.query(crowd, COLLECTION, query, top_k=5, approximate=True)
        assert len(theirs) == 5 and all(m.id.startswith(crowd[:8]) for m in theirs)
    assert backend.approximate_answers == len(tenants["queries"]) * 4


@pytest.mark.postgres
async def test_without_iterative_scans_a_short_answer_falls_back_to_the_exact_scan(
    engine: AsyncEngine, tenants: dict[str, Any]
) -> None:
    """pgvector < 0.8 filters after a fixed ``ef_search``: ``crowd`` fills it, few rows of ``mine``
    remain, and the exact scan answers instead."""
    backend = ann(engine)
    backend._features = (frozenset(ANN_INDEXES), False)  # as detected on an older pgvector
    mine, vectors = tenants["mine"], tenants["vectors"]
    query = tenants["queries"][0]
    got = await backend.query(mine, COLLECTION, query, top_k=5, approximate=True)
    assert [m.id for m in got] == exact_top(vectors, mine, query, 5)
    assert backend.approximate_answers == 0  # the index's answer was short: not used


@pytest.mark.postgres
async def test_the_index_is_used_only_when_asked_for_a_large_indexed_collection(
    engine: AsyncEngine, tenants: dict[str, Any]
) -> None:
    mine, small, vectors = tenants["mine"], tenants["small"], tenants["vectors"]
    query = clustered(1, 5)[0]
    default = PgVectorBackend(engine)
    assert ROWS < ANN_MIN_ROWS  # 2,500 rows: the exact scan is as cheap
    got = await default.query(mine, COLLECTION, query, top_k=5, approximate=True)
    assert [m.id for m in got] == exact_top(vectors, mine, query, 5) and default.approximate_answers == 0

    backend = ann(engine)
    assert [m.id for m in await backend.query(mine, COLLECTION, query, top_k=5)] == exact_top(vectors, mine, query, 5)
    got = await backend.query(small, COLLECTION, query, top_k=5, approximate=True)
    assert [m.id for m in got] == exact_top(vectors[:100], small, query, 5)
    await backend.query(mine, COLLECTION, query, top_k=pgvector.ANN_MAX_TOP_K + 1, approximate=True)
    assert backend.approximate_answers == 0
    await backend.query(mine, COLLECTION, query, top_k=5, approximate=True)
    assert backend.approximate_answers == 1


@pytest.mark.postgres
async def test_the_size_is_counted_again_after_a_write_here_or_after_the_ttl(engine: AsyncEngine) -> None:
    reader, writer = ann(engine, min_rows=150), PgVectorBackend(engine)
    now = [0.0]
    reader.clock = lambda: now[0]
    ws, query = str(uuid.uuid4()), clustered(1, 11)[0]
    await seed(reader, ws, clustered(100, 12))
    await reader.query(ws, COLLECTION, query, approximate=True)
    assert reader.approximate_answers == 0  # 100 < 150
    await writer.upsert(ws, COLLECTION, [(f"w{i}", v, {}) for i, v in enumerate(clustered(100, 13))])  # another node
    await reader.query(ws, COLLECTION, query, approximate=True)
    assert reader.approximate_answers == 0  # still known to be small
    now[0] += ANN_SIZE_TTL_SECONDS + 1
    await reader.query(ws, COLLECTION, query, approximate=True)
    assert reader.approximate_answers == 1
    await reader.delete(ws, COLLECTION, [f"w{i}" for i in range(100)])  # a write here: counted again at once
    await reader.query(ws, COLLECTION, query, approximate=True)
    assert reader.approximate_answers == 1


@pytest.mark.postgres
async def test_another_collection_is_never_approximate(engine: AsyncEngine) -> None:
    backend = PgVectorBackend(engine)
    ws = str(uuid.uuid4())
    vectors = clustered(ANN_MIN_ROWS + 10, 6)
    await seed(backend, ws, vectors, collection="documents")
    query = clustered(1, 7)[0]
    got = await backend.query(ws, "documents", query, top_k=5, approximate=True)
    assert [m.id for m in got] == exact_top(vectors, ws, query, 5)
    assert backend.approximate_answers == 0


# --- the semantic tier asks for it ----------------------------------------------------------------


class Recording(PgVectorBackend):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.asked: list[tuple[str, bool]] = []

    async def query(
        self, workspace_id: str, collection: str, vector: Sequence[float], *, top_k: int = 5, approximate: bool = False
    ) -> list[VectorMatch]:
        self.asked.append((collection, approximate))
        return await super().query(workspace_id, collection, vector, top_k=top_k, approximate=approximate)


class Fixed:
    """Every text embeds to one of the clustered vectors (the profiles in agent order, then the message)."""

    model = "test-clustered-384"

    def __init__(self, profiles: np.ndarray, message: np.ndarray) -> None:
        self.profiles, self.message = profiles, message

    async def embed(self, texts: Sequence[str]) -> tuple[str, list[list[float]]]:
        if len(texts) == 1 and texts[0].startswith("msg:"):
            return self.model, [self.message.tolist()]
        return self.model, [self.profiles[int(t.split()[1])].tolist() for t in texts]


@pytest.mark.postgres
async def test_the_semantic_tier_routes_through_the_index_to_the_exact_best(engine: AsyncEngine) -> None:
    backend = Recording(engine)
    backend.ann_min_rows = 2_000
    ws = str(uuid.uuid4())
    vectors = clustered(ROWS, 8)
    message = vectors[1234] + 0.1 * np.random.default_rng(9).standard_normal(DIM) / np.sqrt(DIM)
    agents = [AgentProfile(id=f"a{i:05d}", slug=f"a{i}", name=f"a{i}", text=f"agent {i}") for i in range(ROWS)]
    context = Context(ws, backend, agents, Fixed(vectors, message), {"tiers": {"semantic": {"threshold": 0.5}}})
    result = await SemanticTier().route(RoutingRequest(workspace_id=ws, text="msg: which one"), context)
    assert isinstance(result, RouteDecision) and result.agent_id == "a01234"
    assert (COLLECTION, True) in backend.asked and backend.approximate_answers == 1
    assert all(not approximate for collection, approximate in backend.asked if collection != COLLECTION)
