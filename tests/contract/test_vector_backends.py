"""One contract for every vector backend: exact on SQLite, exact on PostgreSQL, pgvector.

Backends are obtained the way the kernel obtains them: through their ``register_vector_backends``
hook implementation and a factory called with a :class:`BackendContext`. Every test works in
workspaces of its own, so tests share a migrated database per dialect.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.extensions.vectors import exact, pgvector
from automatos.kernel.backends import BackendContext, VectorBackend
from automatos.kernel.db import create_engine, upgrade
from automatos.kernel.errors import ValidationError
from automatos.kernel.settings import load_settings
from tests.helpers import backend_factories, migrations
from tests.services import fresh_database

__all__: list[str] = []

BACKENDS = [
    pytest.param(("exact", "sqlite"), id="exact-sqlite"),
    pytest.param(("exact", "postgres"), id="exact-postgres", marks=pytest.mark.postgres),
    pytest.param(("pgvector", "postgres"), id="pgvector-postgres", marks=pytest.mark.postgres),
]
MODULES: dict[str, ModuleType] = {"exact": exact, "pgvector": pgvector}


def _factories(module: ModuleType) -> dict[str, Callable[[BackendContext], VectorBackend]]:
    return backend_factories("vector", module)


@pytest.fixture(scope="module")
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(postgres_url, "automatos_vec_") as url:
        await upgrade(url, sources=migrations())
        engine = create_engine(load_settings({}, database_url=url))
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('vectors') / 'v.db').as_posix()}"
    await upgrade(url, sources=migrations())
    engine = create_engine(load_settings({}, database_url=url))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[VectorBackend]:
    name, dialect = request.param
    engine: AsyncEngine = request.getfixturevalue(f"{dialect}_engine")
    factory = _factories(MODULES[name])[name]
    made = factory(BackendContext(settings=load_settings({}), engine=engine))
    assert made.name == name
    yield made


@pytest.fixture
def ws() -> Callable[[], str]:
    """A new workspace id per call: tests never see each other's rows."""
    return lambda: str(uuid.uuid4())


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def _reference(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarities in float64 of the float32 values the backends store."""
    stored = vectors.astype(np.float32).astype(np.float64)
    return _unit(stored) @ _unit(query.astype(np.float32).astype(np.float64))


# --- Writes -------------------------------------------------------------------------------------


async def test_upsert_count_and_replace(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 0, 0], {"n": 1}), ("b", [0, 1, 0], {}), ("c", [0, 0, 1], {})])
    assert await backend.count(w, "docs") == 3
    assert [m.id for m in await backend.query(w, "docs", [1, 0, 0], top_k=1)] == ["a"]

    await backend.upsert(w, "docs", [("a", [0, 0, -1], {"n": 2})])
    assert await backend.count(w, "docs") == 3
    best = await backend.query(w, "docs", [0, 0, -1], top_k=1)
    assert best[0].id == "a"
    assert best[0].metadata == {"n": 2}
    assert best[0].score == pytest.approx(1.0, abs=1e-6)


async def test_duplicate_ids_in_one_batch_keep_the_last(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 0], {"v": 1}), ("a", [0, 1], {"v": 2})])
    assert await backend.count(w, "docs") == 1
    match = (await backend.query(w, "docs", [0, 1]))[0]
    assert (match.id, match.metadata) == ("a", {"v": 2})


async def test_empty_upsert_and_empty_collection(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [])
    assert await backend.count(w, "docs") == 0
    assert await backend.query(w, "docs", [1.0, 2.0]) == []


async def test_delete(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 0], {}), ("b", [0.9, 0.1], {}), ("c", [0, 1], {})])
    assert await backend.query(w, "docs", [1, 0], top_k=3)  # loads any cache before the delete
    assert await backend.delete(w, "docs", ["a", "b", "missing"]) == 2
    assert await backend.count(w, "docs") == 1
    assert [m.id for m in await backend.query(w, "docs", [1, 0], top_k=3)] == ["c"]
    assert await backend.delete(w, "docs", []) == 0
    assert await backend.delete(w, "docs", ["c"]) == 1
    assert await backend.query(w, "docs", [1, 0]) == []


async def test_concurrent_writers(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await asyncio.gather(
        *(backend.upsert(w, "docs", [(f"{i}-{j}", [i + 1, j + 1], {}) for j in range(10)]) for i in range(5))
    )
    assert await backend.count(w, "docs") == 50


# --- Queries ------------------------------------------------------------------------------------


async def test_top_k_order_and_scores_match_numpy(backend: VectorBackend, ws: Callable[[], str]) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 8))
    w = ws()
    await backend.upsert(w, "docs", [(f"v{i:02d}", vectors[i].tolist(), {"i": i}) for i in range(40)])
    for _ in range(5):
        query = rng.normal(size=8)
        expected = _reference(vectors, query)
        order = np.argsort(-expected)[:7]
        matches = await backend.query(w, "docs", query.tolist(), top_k=7)
        assert [m.id for m in matches] == [f"v{i:02d}" for i in order]
        assert [m.metadata["i"] for m in matches] == order.tolist()
        for match, i in zip(matches, order, strict=True):
            assert match.score == pytest.approx(expected[i], abs=1e-5)
        assert all(a.score >= b.score for a, b in itertools.pairwise(matches))


async def test_top_k_beyond_collection_size(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 1], {}), ("b", [1, -1], {}), ("c", [-1, 0], {})])
    matches = await backend.query(w, "docs", [1, 0], top_k=10)
    assert [m.id for m in matches] == ["a", "b", "c"]  # a and b tie: id order
    assert matches[0].score == pytest.approx(math.sqrt(0.5), abs=1e-6)
    assert matches[2].score == pytest.approx(-1.0, abs=1e-6)


async def test_scores_ignore_magnitude(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("small", [0.001, 0.002], {}), ("big", [-500.0, 100.0], {})])
    matches = await backend.query(w, "docs", [10.0, 20.0], top_k=2)
    assert matches[0].id == "small"
    assert matches[0].score == pytest.approx(1.0, abs=1e-6)


async def test_thousand_random_vectors_top1_equals_numpy(backend: VectorBackend, ws: Callable[[], str]) -> None:
    rng = np.random.default_rng(1234)
    vectors = rng.normal(size=(1000, 64))
    w = ws()
    await backend.upsert(w, "big", [(f"id{i}", vectors[i].tolist(), {}) for i in range(1000)])
    assert await backend.count(w, "big") == 1000
    for _ in range(20):
        query = rng.normal(size=64)
        expected = _reference(vectors, query)
        best = int(np.argmax(expected))
        matches = await backend.query(w, "big", query.tolist(), top_k=1)
        assert [m.id for m in matches] == [f"id{best}"]
        assert matches[0].score == pytest.approx(expected[best], abs=1e-5)


# --- Isolation ----------------------------------------------------------------------------------


async def test_workspace_isolation(backend: VectorBackend, ws: Callable[[], str]) -> None:
    a, b = ws(), ws()
    await backend.upsert(a, "docs", [("x", [1, 0], {"owner": "a"}), ("y", [0, 1], {"owner": "a"})])
    await backend.upsert(b, "docs", [("x", [0, 1], {"owner": "b"})])
    assert await backend.count(a, "docs") == 2
    assert await backend.count(b, "docs") == 1
    assert {m.metadata["owner"] for m in await backend.query(a, "docs", [1, 0], top_k=10)} == {"a"}
    assert [(m.id, m.metadata) for m in await backend.query(b, "docs", [1, 0], top_k=10)] == [("x", {"owner": "b"})]
    assert await backend.delete(b, "docs", ["x", "y"]) == 1
    assert await backend.count(a, "docs") == 2
    # Another workspace may use another length in a collection of the same name.
    await backend.upsert(b, "docs", [("z", [1, 0, 0], {})])
    assert [m.id for m in await backend.query(b, "docs", [1, 0, 0])] == ["z"]


async def test_collection_isolation(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "one", [("x", [1, 0], {"c": 1})])
    await backend.upsert(w, "two", [("x", [0, 1], {"c": 2}), ("y", [1, 1], {"c": 2})])
    assert await backend.count(w, "one") == 1
    assert await backend.count(w, "two") == 2
    assert [m.metadata for m in await backend.query(w, "one", [0, 1], top_k=5)] == [{"c": 1}]
    assert await backend.delete(w, "one", ["y"]) == 0
    assert await backend.count(w, "two") == 2


# --- Validation ---------------------------------------------------------------------------------

BAD_VECTORS = [
    pytest.param([], id="empty"),
    pytest.param([1.0, float("nan")], id="nan"),
    pytest.param([float("inf"), 1.0], id="inf"),
    pytest.param([1e39, 1.0], id="float32-overflow"),
    pytest.param([0.0, 0.0], id="zero"),
    pytest.param([[1.0, 2.0]], id="nested"),
    pytest.param(["a", "b"], id="text"),
]


@pytest.mark.parametrize("vector", BAD_VECTORS)
async def test_bad_vectors_rejected(backend: VectorBackend, ws: Callable[[], str], vector: Any) -> None:
    w = ws()
    with pytest.raises(ValidationError) as raised:
        await backend.upsert(w, "docs", [("a", vector, {})])
    assert raised.value.field == "vector"
    assert await backend.count(w, "docs") == 0
    await backend.upsert(w, "docs", [("ok", [1.0, 2.0], {})])
    with pytest.raises(ValidationError) as raised:
        await backend.query(w, "docs", vector)
    assert raised.value.field == "vector"


async def test_dimension_mismatch_rejected(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 0, 0], {}), ("b", [0, 1, 0], {})])
    with pytest.raises(ValidationError) as raised:
        await backend.upsert(w, "docs", [("c", [1, 0, 0, 0], {})])
    assert raised.value.field == "vector"
    with pytest.raises(ValidationError):  # mixed lengths in one batch: nothing is written
        await backend.upsert(w, "docs", [("d", [1, 0, 0], {}), ("e", [1, 0], {})])
    # Replacing every item with a new length is still a mismatch while others keep the old one.
    with pytest.raises(ValidationError):
        await backend.upsert(w, "docs", [("a", [1, 0], {})])
    assert await backend.count(w, "docs") == 2
    assert [m.id for m in await backend.query(w, "docs", [1, 0, 0], top_k=1)] == ["a"]
    with pytest.raises(ValidationError) as raised:
        await backend.query(w, "docs", [1, 0])
    assert raised.value.field == "vector"
    # Re-embedding the whole collection in one batch may change its length.
    await backend.upsert(w, "docs", [("a", [1, 0], {}), ("b", [0, 1], {})])
    assert [m.id for m in await backend.query(w, "docs", [0, 1], top_k=1)] == ["b"]


async def test_bad_arguments_rejected(backend: VectorBackend, ws: Callable[[], str]) -> None:
    w = ws()
    await backend.upsert(w, "docs", [("a", [1, 0], {})])
    with pytest.raises(ValidationError) as raised:
        await backend.query(w, "docs", [1, 0], top_k=0)
    assert raised.value.field == "top_k"
    with pytest.raises(ValidationError) as raised:
        await backend.upsert(w, "", [("a", [1, 0], {})])
    assert raised.value.field == "collection"
    with pytest.raises(ValidationError) as raised:
        await backend.upsert(w, "docs", [("", [1, 0], {})])
    assert raised.value.field == "id"
    with pytest.raises(ValidationError) as raised:
        await backend.upsert("x" * 37, "docs", [("a", [1, 0], {})])
    assert raised.value.field == "workspace_id"


async def test_check(backend: VectorBackend) -> None:
    await backend.check()


# --- Backend specifics --------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_exact_sees_writes_of_other_processes(
    request: pytest.FixtureRequest, dialect: str, ws: Callable[[], str]
) -> None:
    """Two backends on one database stand for two processes: caches must not hide the other's writes."""
    engine: AsyncEngine = request.getfixturevalue(f"{dialect}_engine")
    writer, reader = exact.ExactVectorBackend(engine), exact.ExactVectorBackend(engine)
    w = ws()
    await writer.upsert(w, "docs", [("a", [1, 0], {}), ("b", [0, 1], {})])
    assert [m.id for m in await reader.query(w, "docs", [1, 0.1], top_k=1)] == ["a"]
    await writer.upsert(w, "docs", [("c", [1, 0.1], {})])  # new best, written elsewhere
    assert [m.id for m in await reader.query(w, "docs", [1, 0.1], top_k=1)] == ["c"]
    await writer.upsert(w, "docs", [("c", [-1, 0], {})])  # replaced
    assert [m.id for m in await reader.query(w, "docs", [1, 0.1], top_k=1)] == ["a"]
    await writer.delete(w, "docs", ["a"])
    assert [m.id for m in await reader.query(w, "docs", [1, 0.1], top_k=3)] == ["b", "c"]
    await writer.delete(w, "docs", ["b", "c"])
    assert await reader.query(w, "docs", [1, 0.1]) == []


async def test_exact_cache_stays_within_budget(sqlite_engine: AsyncEngine, ws: Callable[[], str]) -> None:
    backend = exact.ExactVectorBackend(sqlite_engine, max_cache_bytes=1)
    w = ws()
    for name in ("one", "two", "three"):
        await backend.upsert(w, name, [("a", [1, 0], {})])
        assert [m.id for m in await backend.query(w, name, [1, 0])] == ["a"]
    assert len(backend._cache) == 1  # the newest always stays


def test_factories_need_an_engine(sqlite_engine: AsyncEngine) -> None:
    settings = load_settings({})
    with pytest.raises(ValueError, match="engine"):
        _factories(exact)["exact"](BackendContext(settings=settings))
    with pytest.raises(ValueError, match="PostgreSQL"):
        _factories(pgvector)["pgvector"](BackendContext(settings=settings, engine=sqlite_engine))
