"""One page shape for every list endpoint: ``items``, ``total``, ``offset``, ``limit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

__all__ = ["Limit", "Offset", "Page", "paginate"]

Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000, description="Items to skip (at most 10⁹).")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Items per page (at most 500).")]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def paginate(items: Sequence[T], *, offset: int, limit: int) -> Page[T]:
    return Page(items=list(items[offset : offset + limit]), total=len(items), offset=offset, limit=limit)
