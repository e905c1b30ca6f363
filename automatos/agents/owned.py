"""One service for resources the platform and workspaces both own: :class:`OwnedResources`.

Personas and skills (and whatever comes next with the same shape) are either the platform's
(``workspace_id IS NULL``, ``scope = "platform"``) or a workspace's own (``scope = "workspace"``).
The rules, once for all of them:

- a workspace sees the platform's rows next to its own; by id or slug, its own row wins over a
  platform row of the same slug (``workspace_id=None`` reads the platform's rows only);
- a workspace changes only its own rows: a platform row is found but refused (403 saying how to
  copy it); platform admins change the platform's rows with ``scope="platform"`` (the caller checks
  who may ask for it);
- a slug is unique per owner, follows :func:`automatos.kernel.validation.validate_slug` and may not
  look like a row id (a reference is an id or a slug: the two must not be confusable);
- deleting archives (``status = 'archived'``; rows stay referenced by agents); archiving twice is a
  no-op;
- every change is audited in the same transaction (``<noun>.created|updated|archived``, platform
  rows with ``workspace_id = None``), naming what changed, never the values.

A subclass declares the table, the noun and the structs (:mod:`automatos.agents.personas`,
:mod:`automatos.agents.skills`); :class:`OwnedCreate` / :class:`OwnedUpdate` / :class:`OwnedRecord`
hold the fields every such resource has.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Collection
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db.queries import from_row, lookable, page, set_fields
from automatos.kernel.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from automatos.kernel.store import KernelStore
from automatos.kernel.validation import not_blank, validate_slug

__all__ = [
    "NAME_AND_SLUG",
    "Description",
    "Label",
    "Labels",
    "LongText",
    "Name",
    "OwnedCreate",
    "OwnedRecord",
    "OwnedResources",
    "OwnedStatus",
    "OwnedUpdate",
    "Scope",
    "Slug",
    "Summary",
    "checked_slug",
    "scope_of",
]

Scope = Literal["platform", "workspace"]
OwnedStatus = Literal["active", "archived"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Slug = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=63,
        description="1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'.",
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
LongText = Annotated[str, msgspec.Meta(max_length=100_000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Labels = Annotated[list[Label], msgspec.Meta(max_length=100)]

_ID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class OwnedCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    slug: Slug
    description: Description = ""


class OwnedUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    status: OwnedStatus | UnsetType = UNSET


class OwnedRecord(msgspec.Struct, kw_only=True):
    id: str
    scope: str = "workspace"
    """``platform`` (every workspace sees it, read-only) or ``workspace`` (this workspace's own)."""
    slug: str
    name: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime


class Summary(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str


def scope_of(workspace_id: str | None) -> Scope:
    return "platform" if workspace_id is None else "workspace"


def checked_slug(slug: str) -> str:
    """``slug`` when it follows the slug rule and does not have the shape of a row id."""
    validate_slug(slug)
    if _ID_SHAPE.match(slug):
        raise ValidationError("slug must not have the shape of an id (a UUID)", field="slug")
    return slug


NAME_AND_SLUG: dict[str, Callable[[str], str]] = {"name": not_blank, "slug": checked_slug}
"""What :func:`~automatos.kernel.db.queries.set_fields` runs a name and a slug through."""

RecordT = TypeVar("RecordT", bound=OwnedRecord)
CreateT = TypeVar("CreateT", bound=OwnedCreate)
UpdateT = TypeVar("UpdateT", bound=OwnedUpdate)


class OwnedResources(Generic[RecordT, CreateT, UpdateT]):
    """The rows of one owned-resource table; see the module docstring for the rules."""

    model: Any
    """The mapped class (an :class:`~automatos.agents.models.OwnedRow`)."""
    noun: str
    """What the rows are called in errors, audit actions and problem fields (``persona``)."""
    record: type[RecordT]

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    # -- reads -------------------------------------------------------------------------------------

    async def list(
        self,
        workspace_id: str | None,
        *,
        scope: Scope | None = None,
        status: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[RecordT], int]:
        """The platform's rows and the workspace's own (``workspace_id=None``: the platform's only)."""
        model = self.model
        query = select(model).where(self.visible(workspace_id))
        if scope == "platform":
            query = query.where(model.workspace_id.is_(None))
        elif scope == "workspace":
            query = query.where(model.workspace_id == workspace_id if workspace_id else model.id.is_(None))
        query = query.where(model.status == status) if status else query.where(model.status != "archived")
        if q:
            query = query.where(or_(model.name.icontains(q, autoescape=True), model.slug.icontains(q, autoescape=True)))
        query = query.order_by(model.workspace_id.is_not(None), model.slug, model.id)
        async with self.sessionmaker() as session:
            rows, total = await page(session, query, offset, limit)
            return [self.record_of(r) for r in rows], total

    async def get(self, workspace_id: str | None, ref: str) -> RecordT:
        async with self.sessionmaker() as session:
            return self.record_of(await self._get(session, workspace_id, ref, scope=None))

    # -- writes ------------------------------------------------------------------------------------

    async def create(
        self, workspace_id: str | None, data: CreateT, *, actor_id: str | None, request_id: str | None = None
    ) -> RecordT:
        """A row of the workspace, or with ``workspace_id=None`` of the platform."""
        slug = checked_slug(data.slug)
        async with self._writing() as session:
            await self._claim(session, workspace_id, slug)
            row = self.model(workspace_id=workspace_id, status="active")
            set_fields(row, data, checks=NAME_AND_SLUG)
            session.add(row)
            return await self._saved(session, row, "created", {"slug": slug}, actor_id, request_id)

    async def update(
        self,
        workspace_id: str | None,
        ref: str,
        data: UpdateT,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> RecordT:
        async with self._writing() as session:
            row = await self._writable(session, workspace_id, ref, scope)
            if data.slug is not UNSET and data.slug != row.slug:
                await self._claim(session, row.workspace_id, checked_slug(data.slug))
            changed = set_fields(row, data, checks=NAME_AND_SLUG)
            return await self._saved(session, row, "updated", {"fields": changed}, actor_id, request_id)

    async def archive(
        self,
        workspace_id: str | None,
        ref: str,
        *,
        scope: Scope = "workspace",
        actor_id: str | None,
        request_id: str | None = None,
    ) -> None:
        async with self.sessionmaker.begin() as session:
            row = await self._writable(session, workspace_id, ref, scope)
            if row.status == "archived":
                return
            row.status = "archived"
            self._audit(session, row, "archived", {}, actor_id, request_id)

    # -- in a caller's session (the agents' references) --------------------------------------------

    def visible(self, workspace_id: str | None) -> Any:
        """The rows ``workspace_id`` sees: the platform's and its own."""
        column = self.model.workspace_id
        if workspace_id is None:
            return column.is_(None)
        return or_(column.is_(None), column == workspace_id)

    async def find(
        self, session: AsyncSession, workspace_id: str | None, ref: str, *, scope: Scope | None, active: bool = False
    ) -> Any:
        """The row ``ref`` (id or slug) names: an id match, else this workspace's own, else the platform's."""
        if not lookable(ref):
            return None
        query = select(self.model).where(or_(self.model.id == ref, self.model.slug == ref))
        if scope == "platform":
            query = query.where(self.model.workspace_id.is_(None))
        elif scope == "workspace":
            if workspace_id is None:
                return None
            query = query.where(self.model.workspace_id == workspace_id)
        else:
            query = query.where(self.visible(workspace_id))
        if active:
            query = query.where(self.model.status == "active")
        rows = list(await session.scalars(query))
        rows.sort(key=lambda r: (r.id != ref, r.workspace_id is None))
        return rows[0] if rows else None

    async def by_id(self, session: AsyncSession, workspace_id: str, ids: Collection[str]) -> dict[str, Any]:
        """The rows of ``ids`` the workspace sees (archived ones too), by id; one query, none for no ids."""
        if not ids:
            return {}
        rows = await session.scalars(select(self.model).where(self.model.id.in_(ids), self.visible(workspace_id)))
        return {row.id: row for row in rows}

    def record_of(self, row: Any) -> RecordT:
        return msgspec.structs.replace(from_row(row, self.record), scope=scope_of(row.workspace_id))

    # -- helpers -----------------------------------------------------------------------------------

    async def _get(self, session: AsyncSession, workspace_id: str | None, ref: str, *, scope: Scope | None) -> Any:
        row = await self.find(session, workspace_id, ref, scope=scope)
        if row is None:
            raise NotFoundError(f"{self.noun} {ref[:100]!r} does not exist here", field=self.noun)
        return row

    async def _writable(self, session: AsyncSession, workspace_id: str | None, ref: str, scope: Scope) -> Any:
        """The row a write names. Without ``scope=platform`` a platform row is found but refused (403)."""
        if scope == "platform":
            return await self._get(session, None, ref, scope="platform")
        row = await self._get(session, workspace_id, ref, scope=None)
        if row.workspace_id is None:
            raise PermissionDeniedError(
                f"{self.noun} {row.slug!r} is the platform's and read-only to workspaces; copy it into a {self.noun}"
                " of your own (platform admins change it with ?scope=platform)",
                field=self.noun,
            )
        return row

    async def _claim(self, session: AsyncSession, workspace_id: str | None, slug: str) -> None:
        """409 naming ``slug`` when the owner (a workspace, or the platform) already has a row of that slug."""
        if await self.find(session, workspace_id, slug, scope=scope_of(workspace_id)) is not None:
            raise self._taken(slug)

    async def _saved(
        self,
        session: AsyncSession,
        row: Any,
        what: str,
        data: dict[str, Any],
        actor_id: str | None,
        request_id: str | None,
    ) -> RecordT:
        """The written row's record, its change audited in the same transaction."""
        await session.flush()
        self._audit(session, row, what, data, actor_id, request_id)
        return self.record_of(row)

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A transaction whose unique-slug violation (a concurrent writer took it) is a 409 naming ``slug``."""
        try:
            async with self.sessionmaker.begin() as session:
                yield session
        except IntegrityError:
            raise self._taken(None) from None

    def _taken(self, slug: str | None) -> ConflictError:
        which = f"slug {slug!r}" if slug is not None else "that slug"
        return ConflictError(f"a {self.noun} with {which} already exists", field="slug")

    def _audit(
        self,
        session: AsyncSession,
        row: Any,
        what: str,
        data: dict[str, Any],
        actor_id: str | None,
        request_id: str | None,
    ) -> None:
        KernelStore._audit(
            session, row.workspace_id, actor_id, f"{self.noun}.{what}", self.noun, row.id, data, request_id
        )
