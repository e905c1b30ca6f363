"""The ``exact`` vector backend: rows in ``vector_items``, exact cosine top-k in numpy.

The embedded default (SQLite) has no vector index, and for the collection sizes a single node
serves (up to a few hundred thousand vectors) an exact scan over a normalized float32 matrix is
fast and never misses a neighbour. The matrix of each ``(workspace_id, collection)`` is loaded on
its first query and kept in process memory (least recently used first out, within a byte budget).

The rows stay the truth, so several processes can share the database (``AUTOMATOS_WORKERS`` > 1 on
one SQLite file, or this backend on PostgreSQL): before answering, a query reads the collection's
row count and newest ``updated_at`` — an index range scan — and reloads the matrix when they differ
from the loaded ones. Writes in this process drop the entry at once. Every write stamps
``updated_at`` to the microsecond, so any insert, replace or delete changes that fingerprint.

The write path (validation, ``INSERT … ON CONFLICT`` upsert, one length per collection) is shared
with the ``pgvector`` backend through :class:`SQLVectorBackend`.
"""

from __future__ import annotations

import abc
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from automatos.kernel.backends import BackendContext, VectorBackend, VectorMatch
from automatos.kernel.db.base import utcnow
from automatos.kernel.db.models import VectorItem
from automatos.kernel.errors import ValidationError
from automatos.kernel.hookspecs import hookimpl

if TYPE_CHECKING:
    from automatos.kernel.types import BackendFactory

__all__ = [
    "MAX_DIMENSIONS",
    "ExactVectorBackend",
    "SQLVectorBackend",
    "as_vector",
    "register_vector_backends",
]

MAX_DIMENSIONS = 16000
"""pgvector's limit for a stored ``vector``; the exact backend keeps the same so backends agree."""

_TABLE: Table = VectorItem.__table__  # type: ignore[assignment]
_LIMITS = {"workspace_id": 36, "collection": 200, "id": 255}
_DELETE_CHUNK = 500  # stays far below SQLite's bound-parameter limit

Vector = npt.NDArray[np.float32]


def _check_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field} must be a non-empty string", field=field)
    if len(value) > _LIMITS[field]:
        raise ValidationError(f"{field} is longer than {_LIMITS[field]} characters", field=field)
    return value


def as_vector(vector: Sequence[float] | npt.NDArray[Any], *, field: str = "vector") -> Vector:
    """``vector`` as float32, or a :class:`ValidationError` naming ``field`` when it is unusable.

    Rejected: non-numeric or nested values, an empty vector, NaN or infinite components (also
    after the cast to float32), the zero vector (it has no direction, so no cosine), and more than
    :data:`MAX_DIMENSIONS` components.
    """
    try:
        array = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("a vector is a list of numbers", field=field) from None
    if array.ndim != 1:
        raise ValidationError(f"a vector is one-dimensional; got shape {array.shape}", field=field)
    if array.size == 0:
        raise ValidationError("a vector cannot be empty", field=field)
    if array.size > MAX_DIMENSIONS:
        raise ValidationError(f"a vector has at most {MAX_DIMENSIONS} dimensions", field=field)
    with np.errstate(over="ignore"):
        single = array.astype(np.float32)
    if not np.isfinite(single).all():
        raise ValidationError("a vector cannot contain NaN or infinite values (as float32)", field=field)
    if not np.any(single):
        raise ValidationError("the zero vector has no direction: cosine similarity is undefined", field=field)
    return single


def _dimension_mismatch(collection: str, expected: int, got: int) -> ValidationError:
    return ValidationError(
        f"collection {collection!r} holds {expected}-dimensional vectors; got {got} dimensions",
        field="vector",
    )


def _prepare(
    collection: str, items: Iterable[tuple[str, Sequence[float], Mapping[str, Any]]]
) -> tuple[int, dict[str, tuple[Vector, dict[str, Any]]]]:
    """Validated items by id (a later duplicate replaces an earlier one) and their common length."""
    prepared: dict[str, tuple[Vector, dict[str, Any]]] = {}
    dimensions = 0
    for item_id, vector, metadata in items:
        _check_name(item_id, "id")
        array = as_vector(vector)
        if dimensions and array.size != dimensions:
            raise _dimension_mismatch(collection, dimensions, array.size)
        dimensions = array.size
        if metadata is not None and not isinstance(metadata, Mapping):
            raise ValidationError("metadata is a JSON object", field="metadata")
        prepared[item_id] = (array, dict(metadata or {}))
    return dimensions, prepared


def _where(workspace_id: str, collection: str) -> tuple[Any, Any]:
    return _TABLE.c.workspace_id == workspace_id, _TABLE.c.collection == collection


class SQLVectorBackend(VectorBackend, abc.ABC):
    """A vector backend whose rows live in the kernel table ``vector_items``.

    Implements writes, deletes and counts on both dialects; subclasses answer queries. Every
    statement is filtered by ``workspace_id``.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _lock_collection(self, connection: AsyncConnection, workspace_id: str, collection: str) -> None:
        """Serialize writers of one collection so the one-length rule holds under concurrency.

        SQLite needs nothing: it has a single writer, and the upsert comes first in the transaction.
        """
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"automatos.vectors:{workspace_id}:{collection}"},
            )

    def _upsert_statement(self, dialect: str) -> Any:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(_TABLE)
        replaced = ("dimensions", "embedding", "metadata", "updated_at")
        return statement.on_conflict_do_update(
            index_elements=[_TABLE.c.workspace_id, _TABLE.c.collection, _TABLE.c.item_id],
            set_={name: statement.excluded[name] for name in replaced},
        )

    async def upsert(
        self,
        workspace_id: str,
        collection: str,
        items: Sequence[tuple[str, Sequence[float], dict[str, Any]]],
    ) -> None:
        _check_name(workspace_id, "workspace_id")
        _check_name(collection, "collection")
        dimensions, prepared = _prepare(collection, items)
        if not prepared:
            return
        now = utcnow()
        rows = [
            {
                "workspace_id": workspace_id,
                "collection": collection,
                "item_id": item_id,
                "dimensions": dimensions,
                "embedding": vector,
                "metadata": metadata,
                "updated_at": now,
            }
            for item_id, (vector, metadata) in prepared.items()
        ]
        try:
            async with self.engine.begin() as connection:
                await self._lock_collection(connection, workspace_id, collection)
                await connection.execute(self._upsert_statement(connection.dialect.name), rows)
                # Checked after the write, inside the same transaction: the write lock is held, so no
                # concurrent writer can slip a vector of another length in between. A batch that
                # replaces every item may change the collection's length (re-embedding with a new model).
                other = await connection.scalar(
                    select(_TABLE.c.dimensions)
                    .where(*_where(workspace_id, collection), _TABLE.c.dimensions != dimensions)
                    .limit(1)
                )
                if other is not None:
                    raise _dimension_mismatch(collection, int(other), dimensions)
        finally:
            self._written(workspace_id, collection)

    async def delete(self, workspace_id: str, collection: str, ids: Sequence[str]) -> int:
        _check_name(workspace_id, "workspace_id")
        _check_name(collection, "collection")
        unique = list(dict.fromkeys(_check_name(item_id, "id") for item_id in ids))
        if not unique:
            return 0
        removed = 0
        try:
            async with self.engine.begin() as connection:
                for start in range(0, len(unique), _DELETE_CHUNK):
                    chunk = unique[start : start + _DELETE_CHUNK]
                    result = await connection.execute(
                        delete(_TABLE).where(*_where(workspace_id, collection), _TABLE.c.item_id.in_(chunk))
                    )
                    removed += int(result.rowcount)
        finally:
            self._written(workspace_id, collection)
        return removed

    async def count(self, workspace_id: str, collection: str) -> int:
        _check_name(workspace_id, "workspace_id")
        _check_name(collection, "collection")
        async with self.engine.connect() as connection:
            value = await connection.scalar(
                select(func.count()).select_from(_TABLE).where(*_where(workspace_id, collection))
            )
        return int(value or 0)

    async def _collection_dimensions(self, connection: AsyncConnection, workspace_id: str, collection: str) -> int:
        """The length of the collection's vectors, 0 when it is empty."""
        value = await connection.scalar(select(_TABLE.c.dimensions).where(*_where(workspace_id, collection)).limit(1))
        return int(value or 0)

    def _check_query(self, workspace_id: str, collection: str, vector: Sequence[float], top_k: int) -> Vector:
        _check_name(workspace_id, "workspace_id")
        _check_name(collection, "collection")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValidationError("top_k must be a positive integer", field="top_k")
        return as_vector(vector)

    def _written(self, workspace_id: str, collection: str) -> None:
        """Called after every write attempt to a collection (a cache may drop it)."""

    async def check(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(select(_TABLE.c.item_id).limit(0))


@dataclass(frozen=True)
class _Matrix:
    """One collection loaded for querying: unit-length rows, their ids and metadata."""

    ids: list[str]
    metadata: list[dict[str, Any]]
    unit: Vector
    fingerprint: tuple[int, datetime | None]

    @property
    def nbytes(self) -> int:
        return int(self.unit.nbytes) + 64 * len(self.ids)


class ExactVectorBackend(SQLVectorBackend):
    """Exact cosine top-k over an in-process matrix per ``(workspace_id, collection)``."""

    name = "exact"

    def __init__(self, engine: AsyncEngine, *, max_cache_bytes: int = 256 * 1024 * 1024) -> None:
        super().__init__(engine)
        self.max_cache_bytes = max_cache_bytes
        """Budget for loaded matrices; the least recently queried collections go first."""
        self._cache: OrderedDict[tuple[str, str], _Matrix] = OrderedDict()

    def _written(self, workspace_id: str, collection: str) -> None:
        self._cache.pop((workspace_id, collection), None)

    async def _fingerprint(
        self, connection: AsyncConnection, workspace_id: str, collection: str
    ) -> tuple[int, datetime | None]:
        row = (
            await connection.execute(
                select(func.count(), func.max(_TABLE.c.updated_at)).where(*_where(workspace_id, collection))
            )
        ).one()
        return int(row[0]), row[1]

    async def _load(self, connection: AsyncConnection, workspace_id: str, collection: str) -> _Matrix:
        result = await connection.execute(
            select(_TABLE.c.item_id, _TABLE.c.embedding, _TABLE.c["metadata"], _TABLE.c.updated_at)
            .where(*_where(workspace_id, collection))
            .order_by(_TABLE.c.item_id)
        )
        rows = result.all()
        if not rows:
            return _Matrix([], [], np.zeros((0, 0), dtype=np.float32), (0, None))
        matrix = np.vstack([row[1] for row in rows]).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # only rows written around validation could be zero; they score 0
        # The fingerprint comes from the rows themselves, so it always describes this matrix.
        fingerprint = (len(rows), max(row[3] for row in rows))
        return _Matrix([row[0] for row in rows], [row[2] or {} for row in rows], matrix / norms, fingerprint)

    def _remember(self, key: tuple[str, str], matrix: _Matrix) -> None:
        self._cache[key] = matrix
        self._cache.move_to_end(key)
        total = sum(entry.nbytes for entry in self._cache.values())
        while total > self.max_cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.nbytes

    async def query(
        self, workspace_id: str, collection: str, vector: Sequence[float], *, top_k: int = 5
    ) -> list[VectorMatch]:
        query = self._check_query(workspace_id, collection, vector, top_k)
        key = (workspace_id, collection)
        async with self.engine.connect() as connection:
            fingerprint = await self._fingerprint(connection, workspace_id, collection)
            if fingerprint[0] == 0:
                self._cache.pop(key, None)
                return []
            matrix = self._cache.get(key)
            if matrix is None or matrix.fingerprint != fingerprint:
                matrix = await self._load(connection, workspace_id, collection)
        if not matrix.ids:
            return []
        self._remember(key, matrix)
        if matrix.unit.shape[1] != query.size:
            raise _dimension_mismatch(collection, matrix.unit.shape[1], query.size)
        scores = matrix.unit @ (query / np.float32(np.linalg.norm(query)))
        k = min(top_k, len(matrix.ids))
        if k < len(matrix.ids):
            candidates = np.argpartition(-scores, k - 1)[:k]
        else:
            candidates = np.arange(len(matrix.ids))
        # Best first; equal scores in id order (rows are loaded sorted by id), like the pgvector backend.
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [
            VectorMatch(id=matrix.ids[i], score=_clip(float(scores[i])), metadata=matrix.metadata[i]) for i in order
        ]

    async def close(self) -> None:
        self._cache.clear()


def _clip(score: float) -> float:
    """Rounding can take a cosine a hair past ±1."""
    return max(-1.0, min(1.0, score)) if math.isfinite(score) else 0.0


def _factory(ctx: BackendContext) -> ExactVectorBackend:
    if ctx.engine is None:
        raise ValueError("the exact vector backend needs the kernel's database engine (ctx.engine)")
    return ExactVectorBackend(ctx.engine)


@hookimpl
def register_vector_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Offer ``exact``: works on any database the kernel supports."""
    register("exact", _factory)
