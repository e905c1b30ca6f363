"""Query helpers every package's services share: paging, records from rows, partial updates, catalogs.

Generic (no table of its own): :func:`page` counts and slices an ordered query; :func:`from_row`
reads a response struct off a mapped row; :func:`lookable` keeps what cannot name a row away from
SQL; :func:`set_fields` applies a partial update; :class:`ReferenceCatalog` is the list-and-get of
a read-only table of reference rows (credential types, plugin categories, the model catalogue), so
those services do not each repeat it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec
from msgspec import UNSET
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.errors import NotFoundError

__all__ = ["ReferenceCatalog", "from_row", "lookable", "page", "set_fields"]

R = TypeVar("R", bound=msgspec.Struct)


def from_row(row: object, record: type[R]) -> R:
    """The response struct ``record`` read off a mapped row's attributes of the same names."""
    return msgspec.convert(row, record, from_attributes=True)


def lookable(ref: str) -> bool:
    """Whether ``ref`` could name a row at all (a NUL never reaches SQL: PostgreSQL refuses it)."""
    return 0 < len(ref) <= 200 and "\x00" not in ref


async def page(session: AsyncSession, query: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``query`` (already ordered) and how many rows it has in all."""
    total = int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    return list(await session.scalars(query.offset(offset).limit(limit))), total


def set_fields(
    row: Any,
    data: msgspec.Struct,
    *,
    skip: Collection[str] = (),
    checks: Mapping[str, Callable[[Any], Any]] | None = None,
) -> list[str]:
    """Copy the fields ``data`` carries (not ``UNSET``) onto ``row``, each through its check if it has one.

    Lists are copied (the row must not share the request's list). Returns the names of the fields
    set: what an audit entry records, never their values.
    """
    changed: list[str] = []
    for field in data.__struct_fields__:
        value = getattr(data, field)
        if value is UNSET or field in skip:
            continue
        if checks and field in checks:
            value = checks[field](value)
        setattr(row, field, list(value) if isinstance(value, list) else value)
        changed.append(field)
    return changed


class ReferenceCatalog(Generic[R]):
    """Read a table of reference rows: a page of them in a fixed order, or one by primary key.

    A subclass declares the table and the response struct::

        class PluginCategories(ReferenceCatalog[PluginCategoryRecord]):
            model = PluginCategory
            record = PluginCategoryRecord
            order_by = (PluginCategory.position, PluginCategory.slug)
            missing = "plugin category {key!r} does not exist"
    """

    model: Any
    """The mapped class."""
    record: type[R]
    """The response struct, read off a row by :func:`from_row`."""
    order_by: Sequence[Any] = ()
    """The order of a page."""
    missing: str = "{key!r} does not exist"
    """The 404's message, ``{key!r}`` standing for the asked key (cut to 100 characters)."""
    field: str = "slug"
    """What the 404 names."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def page(self, *where: Any, offset: int = 0, limit: int = 100) -> tuple[list[R], int]:
        """A page of the rows matching ``where`` (all of them without), in the catalog's order."""
        query = select(self.model).where(*where).order_by(*self.order_by)
        async with self.sessionmaker() as session:
            rows, total = await page(session, query, offset, limit)
        return [from_row(r, self.record) for r in rows], total

    async def get(self, key: str) -> R:
        """The row ``key`` names; 404 naming :attr:`field` when there is none."""
        async with self.sessionmaker() as session:
            return from_row(await self.row(session, key), self.record)

    async def row(self, session: AsyncSession, key: str) -> Any:
        """The mapped row ``key`` names, in the caller's session (for writes); 404 when there is none."""
        row = await session.get(self.model, key) if lookable(key) else None
        if row is None:
            raise NotFoundError(self.missing.format(key=key[:100]), field=self.field)
        return row
