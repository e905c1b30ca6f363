"""The ``pgvector`` vector backend: PostgreSQL ranks by cosine distance (``<=>``) itself.

Rows live in the kernel table ``vector_items`` (writes shared with the ``exact`` backend through
:class:`~automatos.extensions.vectors.exact.SQLVectorBackend`), so switching between the two
backends needs no data migration. ``embedding`` is an un-dimensioned ``vector`` column, so one
table serves every embedding model; pgvector cannot compare vectors of different lengths, hence
every query also filters on ``dimensions``. Without a fixed dimension there is no HNSW index:
a query scans one workspace's collection, which the primary key narrows — the right trade for
per-workspace collections of up to a few hundred thousand rows, and no state in process memory,
so any number of API nodes share it.

Measured for the router's semantic tier (``bench/routing_semantic.py``, 10,000 384-d agents in one
workspace beside another tenant's 10,000, this 2-core machine): the exact scan takes ~13 ms; a
partial HNSW expression index (``(embedding::vector(384)) vector_cosine_ops WHERE dimensions = 384``,
iterative scans, ``ef_search`` 40) ~2.5-3.5 ms, with recall@1 1.00 on vectors grouped around 100
directions (as real profiles group by role) but 0.22 on uniformly random ones. Not added: a router
that misses the best agent decides wrongly, and recall depends on the data; see docs/routing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import Float, Table, bindparam, cast, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from automatos.extensions.vectors.exact import SQLVectorBackend
from automatos.kernel.backends import BackendContext, VectorMatch
from automatos.kernel.db.base import EmbeddingType
from automatos.kernel.db.models import VectorItem
from automatos.kernel.errors import ValidationError
from automatos.kernel.hookspecs import hookimpl

if TYPE_CHECKING:
    from automatos.kernel.types import BackendFactory

__all__ = ["PgVectorBackend", "register_vector_backends"]

_TABLE: Table = VectorItem.__table__  # type: ignore[assignment]


class PgVectorBackend(SQLVectorBackend):
    """Cosine top-k computed by PostgreSQL with pgvector; nothing cached in the process."""

    name = "pgvector"

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"the pgvector backend needs PostgreSQL, not {engine.dialect.name}")
        super().__init__(engine)

    async def query(
        self, workspace_id: str, collection: str, vector: Sequence[float], *, top_k: int = 5
    ) -> list[VectorMatch]:
        query = self._check_query(workspace_id, collection, vector, top_k)
        probe = cast(bindparam("q", query, type_=EmbeddingType()), VECTOR())
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
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
            if not rows:
                stored = await self._collection_dimensions(connection, workspace_id, collection)
                if stored and stored != query.size:
                    raise ValidationError(
                        f"collection {collection!r} holds {stored}-dimensional vectors; got {query.size} dimensions",
                        field="vector",
                    )
        return [
            VectorMatch(id=row[0], score=max(-1.0, min(1.0, 1.0 - float(row[2]))), metadata=row[1] or {})
            for row in rows
        ]

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


@hookimpl
def register_vector_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Offer ``pgvector``: the default when the kernel's database is PostgreSQL."""
    register("pgvector", _factory)
