"""Declarative base and the column types every kernel and extension table shares.

Decisions:
- One naming convention for indexes and constraints, so every constraint has a stable name that
  Alembic migrations (and SQLite batch table rebuilds) can refer to on both dialects.
- JSON columns are ``JSONB`` on PostgreSQL (indexable, compact) and plain ``JSON`` text elsewhere,
  through :data:`JSONType`; code reads and writes Python dicts either way.
- Primary keys are UUID4 strings (``String(36)``) rather than native ``uuid``: the same value type
  on SQLite and PostgreSQL, safe to put in URLs, headers and JSON without conversion.
- Embeddings are pgvector's ``vector`` on PostgreSQL and little-endian float32 bytes elsewhere,
  through :class:`EmbeddingType`; code reads and writes numpy arrays either way. The column has no
  fixed dimension so one table serves collections of any embedding model.
- Timestamps are timezone-aware UTC everywhere. SQLite has no time zones, so :class:`UTCDateTime`
  stores naive UTC there and gives back aware ``datetime`` objects, the same as PostgreSQL's
  ``timestamptz``. SQLAlchemy sets them to the microsecond (change detection compares them); the
  server default ``now()`` covers rows inserted by plain SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import JSON, DateTime, Dialect, LargeBinary, MetaData, String, TypeDecorator, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column
from sqlalchemy.types import TypeEngine

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "EmbeddingType",
    "JSONType",
    "UTCDateTime",
    "created_at_column",
    "new_id",
    "updated_at_column",
    "utcnow",
    "uuid_pk",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON on every dialect, JSONB on PostgreSQL."""


class Base(DeclarativeBase):
    """Base of every mapped table; ``Base.metadata`` is what migrations are checked against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> str:
    """A new primary key: a UUID4 in its 36-character text form."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what :class:`UTCDateTime` columns hold)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL; naive UTC text on SQLite, returned timezone-aware.

    A naive ``datetime`` given to it is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if dialect.name == "postgresql":
            return aware
        return aware.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EmbeddingType(TypeDecorator[npt.NDArray[np.float32]]):
    """An un-dimensioned float32 vector: pgvector ``vector`` on PostgreSQL, ``BLOB`` elsewhere.

    Binds any 1-D sequence of numbers; results are ``numpy.float32`` arrays on both dialects. The
    bytes are little-endian whatever the machine, so a SQLite file can move between hosts.
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(VECTOR())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Sequence[float] | npt.NDArray[Any] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        array = np.asarray(value, dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"an embedding is one-dimensional; got shape {array.shape}")
        if dialect.name == "postgresql":
            return array  # pgvector's own bind processor renders it
        return array.astype("<f4", copy=False).tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> npt.NDArray[np.float32] | None:
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return np.frombuffer(value, dtype="<f4").astype(np.float32)
        return np.asarray(value, dtype=np.float32)


def uuid_pk() -> MappedColumn[Any]:
    """A ``String(36)`` primary key filled with :func:`new_id` when the row is inserted."""
    return mapped_column(String(36), primary_key=True, default=new_id)


def created_at_column(*, index: bool = False) -> MappedColumn[Any]:
    """When the row was inserted.

    SQLAlchemy fills it in (to the microsecond, known without a refresh); the server default
    covers rows inserted with plain SQL.
    """
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, server_default=func.now(), index=index)


def updated_at_column() -> MappedColumn[Any]:
    """When the row last changed: set on insert like ``created_at``, and on every SQLAlchemy update."""
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, server_default=func.now(), onupdate=utcnow)
