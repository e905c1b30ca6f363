"""One page shape for every list endpoint: ``items``, ``total``, ``offset``, ``limit``.

Every list takes the same ``offset`` and ``limit`` with the same bounds and the same default
(:data:`DEFAULT_LIMIT` items, at most :data:`MAX_LIMIT`), so a client that pages one list pages
them all; ``tests/api/test_pages.py`` checks every list route of the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Limit", "Offset", "Page", "paginate"]

DEFAULT_LIMIT = 100
"""Items per page when the request does not say."""
MAX_LIMIT = 500
"""Most items one page may hold."""

Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000, description="Items to skip (at most 10⁹).")]
Limit = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_LIMIT, description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."
    ),
]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def paginate(items: Sequence[T], *, offset: int, limit: int) -> Page[T]:
    return Page(items=list(items[offset : offset + limit]), total=len(items), offset=offset, limit=limit)
