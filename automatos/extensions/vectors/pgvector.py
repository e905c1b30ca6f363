"""The ``pgvector`` vector backend: PostgreSQL ranks by cosine distance (``<=>``) itself.

Rows live in the kernel table ``vector_items`` (writes shared with the ``exact`` backend through
:class:`~automatos.extensions.vectors.exact.SQLVectorBackend`), so switching between the two
backends needs no data migration. ``embedding`` is an un-dimensioned ``vector`` column, so one
table serves every embedding model; pgvector cannot compare vectors of different lengths, hence
every query also filters on ``dimensions``. A query is an exact scan of one workspace's collection,
which the primary key narrows — the right trade for per-workspace collections of up to a few hundred
thousand rows, and no data in process memory, so any number of API nodes share it.

**Approximate search, only where it pays.** The extension's migration (``pgvector0001``) adds partial
HNSW expression indexes for the router's agent profiles only (:data:`ANN_INDEXES`: collection
``routing-agent-profiles``, 384 and 1536 dimensions). A query uses one only when all of these hold:
the caller passes ``approximate=True`` (the semantic tier does; nothing else does), an index exists
for the collection and length, ``top_k`` ≤ :data:`ANN_MAX_TOP_K`, and the workspace holds at least
:data:`ANN_MIN_ROWS` of those rows (counted up to that bound in the round trip that sets the search
parameters; the answer is kept :data:`ANN_SIZE_TTL_SECONDS`, dropped on a write through this
process). Otherwise — and for every other caller — the query is the exact scan: the exact statement
never spells the indexed expression, so the planner cannot pick the index for it.

On the approximate path: ``SET LOCAL hnsw.ef_search`` (:data:`ANN_EF_SEARCH`) and, on pgvector ≥
0.8, ``hnsw.iterative_scan = relaxed_order``, so the index keeps scanning past other workspaces'
rows (it is shared; the workspace filter is applied to what it returns) until the limit is met.
:data:`ANN_CANDIDATES` candidates are fetched and re-ranked by their exact cosine (the outer
``ORDER BY``), so the order returned is exact among them. Fewer than ``top_k`` rows (an older
pgvector without iterative scans, or ``hnsw.max_scan_tuples`` reached) → the exact scan answers.

Measured (``bench/routing_semantic.py``, 10,000 384-d agents in a workspace beside another tenant's
10,000, this 2-core machine; docs/routing.md, Figures): a semantic-tier route takes ~10.4 ms with the
exact scan, ~4.4 ms through the index with recall@1 1.00 on vectors grouped like real profiles. On
uniformly random 384-d vectors (which real embeddings are not) recall@1 is ~0.5 at ``ef_search`` 100.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import Float, Select, Table, bindparam, cast, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from automatos.extensions.vectors.exact import SQLVectorBackend
from automatos.kernel.backends import BackendContext, VectorMatch
from automatos.kernel.db.base import EmbeddingType
from automatos.kernel.db.models import VectorItem
from automatos.kernel.errors import ValidationError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.parts import MigrationSource

if TYPE_CHECKING:
    from automatos.kernel.types import BackendFactory

__all__ = [
    "ANN_CANDIDATES",
    "ANN_EF_SEARCH",
    "ANN_INDEXES",
    "ANN_MAX_TOP_K",
    "ANN_MIN_ROWS",
    "ANN_SIZE_TTL_SECONDS",
    "MIGRATIONS",
    "PgVectorBackend",
    "register_migrations",
    "register_vector_backends",
]

_TABLE: Table = VectorItem.__table__  # type: ignore[assignment]

ANN_INDEXES: dict[tuple[str, int], str] = {
    ("routing-agent-profiles", 384): "ix_vector_items_hnsw_routing_profiles_384",
    ("routing-agent-profiles", 1536): "ix_vector_items_hnsw_routing_profiles_1536",
}
"""``(collection, dimensions)`` → the partial HNSW index the migration ``pgvector0001`` creates."""
ANN_MIN_ROWS = 3000
"""Below this many rows of the workspace's collection the exact scan is as cheap as the index (measured
here: exact ~1.1 ms + ~0.9 µs per 384-d row, 2.2 ms at 2,000, 5.5 ms at 5,000; the index path ~3.5 ms
whatever the size) and never misses: the index is not used."""
ANN_SIZE_TTL_SECONDS = 60.0
"""How long a collection's "large or not" is trusted (writes through this process drop it at once)."""
_SIZES_KEPT = 10_000
ANN_MAX_TOP_K = 100
"""A larger ``top_k`` (a caller listing much of the collection) takes the exact scan."""
ANN_CANDIDATES = 40
"""Candidates fetched through the index (at least ``top_k``), then re-ranked exactly."""
ANN_EF_SEARCH = 100
"""``hnsw.ef_search``: the size of the index's candidate list (recall against speed, measured)."""
_ITERATIVE_SINCE = (0, 8, 0)

MIGRATIONS = MigrationSource(name="automatos.vectors.pgvector", versions=Path(__file__).parent / "migrations")
"""The HNSW indexes (branch ``pgvector``, after the kernel's ``0001``; a no-op on SQLite)."""


def _version(text_version: str) -> tuple[int, ...]:
    parts = []
    for piece in text_version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


class PgVectorBackend(SQLVectorBackend):
    """Cosine top-k computed by PostgreSQL with pgvector; no data cached in the process."""

    name = "pgvector"
    supports_approximate: ClassVar[bool] = True
    """``query(..., approximate=True)`` may answer through an HNSW index (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"the pgvector backend needs PostgreSQL, not {engine.dialect.name}")
        super().__init__(engine)
        self.ann_min_rows = ANN_MIN_ROWS
        self.clock: Callable[[], float] = time.monotonic
        self._large: OrderedDict[tuple[str, str, int], tuple[bool, float]] = OrderedDict()
        """``(workspace, collection, dimensions)`` → (≥ ``ann_min_rows`` rows?, when counted): a hint,
        not data — a stale one only picks the other path for at most :data:`ANN_SIZE_TTL_SECONDS`."""
        self.ann_candidates = ANN_CANDIDATES
        self.ef_search = ANN_EF_SEARCH
        self._features: tuple[frozenset[tuple[str, int]], bool] | None = None
        """(the indexes of :data:`ANN_INDEXES` that exist, whether iterative scans exist), read once."""
        self.approximate_answers = 0
        """Queries answered through an index (for tests and benchmarks)."""

    async def query(
        self,
        workspace_id: str,
        collection: str,
        vector: Sequence[float],
        *,
        top_k: int = 5,
        approximate: bool = False,
    ) -> list[VectorMatch]:
        """The ``top_k`` nearest by cosine, best first; ``approximate=True`` allows the HNSW index
        where one exists and the collection is large (the order returned is exact among candidates)."""
        query = self._check_query(workspace_id, collection, vector, top_k)
        probe = cast(bindparam("q", query, type_=EmbeddingType()), VECTOR())
        async with self.engine.connect() as connection:
            if approximate and top_k <= ANN_MAX_TOP_K and (collection, query.size) in ANN_INDEXES:
                rows = await self._approximate(connection, workspace_id, collection, query, top_k)
                if rows is not None:
                    return _matches(rows)
            distance = _TABLE.c.embedding.op("<=>", return_type=Float())(probe).label("distance")
            statement = (
                select(_TABLE.c.item_id, _TABLE.c["metadata"], distance)
                .where(
                    _TABLE.c.workspace_id == workspace_id,
                    _TABLE.c.collection == collection,
                    _TABLE.c.dimensions == query.size,
                )
                .order_by(distance, _TABLE.c.item_id)
                .limit(top_k)
            )
            rows = (await connection.execute(statement)).all()
            if not rows:
                stored = await self._collection_dimensions(connection, workspace_id, collection)
                if stored and stored != query.size:
                    raise ValidationError(
                        f"collection {collection!r} holds {stored}-dimensional vectors; got {query.size} dimensions",
                        field="vector",
                    )
        return _matches(rows)

    async def _approximate(
        self, connection: AsyncConnection, workspace_id: str, collection: str, query: Any, top_k: int
    ) -> Sequence[Any] | None:
        """Rows through the HNSW index, or ``None`` when the exact scan must answer."""
        indexes, iterative = await self._detect(connection)
        dimensions = int(query.size)
        if (collection, dimensions) not in indexes:
            return None
        key, now = (workspace_id, collection, dimensions), self.clock()
        known = self._large.get(key)
        if known is not None and now - known[1] > ANN_SIZE_TTL_SECONDS:
            known = None
        if known is not None and not known[0]:
            return None
        # One round trip: the search parameters (transaction-local) and, when not known, whether the
        # collection is large (its rows counted up to the bound).
        settings: list[Any] = [func.set_config("hnsw.ef_search", str(int(self.ef_search)), True)]
        if iterative:
            settings.append(func.set_config("hnsw.iterative_scan", "relaxed_order", True))
        if known is None:
            bounded = (
                select(literal(1))
                .where(
                    _TABLE.c.workspace_id == workspace_id,
                    _TABLE.c.collection == collection,
                    _TABLE.c.dimensions == dimensions,
                )
                .limit(self.ann_min_rows)
                .subquery()
            )
            settings.append(select(func.count()).select_from(bounded).scalar_subquery())
        answer = (await connection.execute(select(*settings))).one()
        if known is None:
            self._large[key] = known = (int(answer[-1]) >= self.ann_min_rows, now)
            while len(self._large) > _SIZES_KEPT:
                self._large.popitem(last=False)
            if not known[0]:
                return None
        rows = (await connection.execute(self._ann_statement(workspace_id, collection, dimensions, query, top_k))).all()
        if len(rows) < top_k:
            return None  # the index stopped early (no iterative scan, or max_scan_tuples): scan exactly
        self.approximate_answers += 1
        return rows

    def _ann_statement(
        self, workspace_id: str, collection: str, dimensions: int, query: Any, top_k: int
    ) -> Select[Any]:
        fixed = VECTOR(dimensions)
        probe = cast(bindparam("q", query, type_=EmbeddingType()), fixed)
        # The index's expression and predicate, with the constants inlined so every plan can use it.
        indexed = cast(_TABLE.c.embedding, fixed).op("<=>", return_type=Float())(probe)
        exact = _TABLE.c.embedding.op("<=>", return_type=Float())(probe).label("distance")
        candidates = (
            select(_TABLE.c.item_id, _TABLE.c["metadata"], exact)
            .where(
                _TABLE.c.workspace_id == workspace_id,
                _TABLE.c.collection == bindparam("c", collection, literal_execute=True),
                _TABLE.c.dimensions == bindparam("d", dimensions, literal_execute=True),
            )
            .order_by(indexed)
            .limit(max(top_k, self.ann_candidates))
            .subquery("candidates")
        )
        return (
            select(candidates.c.item_id, candidates.c["metadata"], candidates.c.distance)
            .order_by(candidates.c.distance, candidates.c.item_id)
            .limit(top_k)
        )

    def _written(self, workspace_id: str, collection: str) -> None:
        for key in [key for key in self._large if key[:2] == (workspace_id, collection)]:
            del self._large[key]

    async def _detect(self, connection: AsyncConnection) -> tuple[frozenset[tuple[str, int]], bool]:
        if self._features is None:
            version = await connection.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
            names = set(
                (
                    await connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'vector_items'"))
                ).scalars()
            )
            present = frozenset(key for key, name in ANN_INDEXES.items() if name in names)
            self._features = (present, _version(str(version or "0")) >= _ITERATIVE_SINCE)
        return self._features

    async def check(self) -> None:
        async with self.engine.connect() as connection:
            installed = await connection.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
            if installed is None:
                raise RuntimeError("the vector extension is not installed: run `automatos db upgrade`")
        await super().check()


def _factory(ctx: BackendContext) -> PgVectorBackend:
    if ctx.engine is None:
        raise ValueError("the pgvector backend needs the kernel's database engine (ctx.engine)")
    return PgVectorBackend(ctx.engine)


def _matches(rows: Sequence[Any]) -> list[VectorMatch]:
    return [
        VectorMatch(id=row[0], score=max(-1.0, min(1.0, 1.0 - float(row[2]))), metadata=row[1] or {}) for row in rows
    ]


@hookimpl
def register_migrations(register: Callable[[MigrationSource], None]) -> None:
    """The HNSW indexes of the router's agent profiles (PostgreSQL only)."""
    register(MIGRATIONS)


@hookimpl
def register_vector_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Offer ``pgvector``: the default when the kernel's database is PostgreSQL."""
    register("pgvector", _factory)
