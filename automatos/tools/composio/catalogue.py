"""Composio's catalogue: synchronised into cache tables by a background job, read with no external call.

- **Sync** (:meth:`ComposioCatalogue.start_sync`, a platform admin's ``POST /api/composio/sync``):
  one run at a time (409 naming the run in progress, in this process or — started within the last
  hour — another). The run is a row of ``composio_sync_runs`` and an asyncio task of this process:
  stage ``apps`` (toolkits), then ``actions`` (tools), then ``triggers`` (trigger types), each read
  page by page through the SDK; after every page its rows are upserted and the run's ``done`` of
  ``total`` written, so ``GET /api/composio/sync/{id}`` shows progress. When every stage succeeded,
  rows the run did not see (gone upstream) are deleted; a failure leaves the cache as it was plus
  what was upserted, and the run ``failed`` with the reason (never a key or a header).
- **Reads** (:meth:`apps`, :meth:`actions`, :meth:`triggers`): pages of the cache, ``q`` a
  case-insensitive part of the slug or name, ``app`` a toolkit. Platform data: no workspace, no
  call to Composio, and they work without ``COMPOSIO_API_KEY``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update

from automatos.kernel.db.base import new_id, utcnow
from automatos.kernel.errors import ConflictError, NotFoundError, echo
from automatos.kernel.http import Page
from automatos.kernel.tasks import cancel_and_wait
from automatos.tools.composio.client import ComposioClient, describe_error
from automatos.tools.composio.models import ComposioAction, ComposioApp, ComposioSyncRun, ComposioTrigger

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel

__all__ = ["ActionRecord", "AppRecord", "ComposioCatalogue", "SyncRunRecord", "TriggerRecord"]

log = logging.getLogger("automatos.tools.composio")

PAGE_SIZE = 200
"""Items asked of Composio per request while syncing."""
ABANDONED_AFTER = timedelta(hours=1)
"""A ``running`` run older than this was left by a stopped process: it no longer blocks a sync."""


class SyncRunRecord(msgspec.Struct, kw_only=True):
    id: str
    status: str
    """``running``, ``succeeded`` or ``failed``."""
    stage: str
    """``apps``, ``actions`` or ``triggers``: what ``done`` of ``total`` counts."""
    done: int
    total: int | None
    error: str | None
    started_by: str | None
    started_at: datetime
    finished_at: datetime | None


class AppRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    logo: str | None
    categories: list[str]
    auth_schemes: list[str]
    actions_count: int
    triggers_count: int


class ActionRecord(msgspec.Struct, kw_only=True):
    slug: str
    app: str
    name: str
    description: str
    parameters: dict[str, Any]
    tags: list[str]
    version: str | None


class TriggerRecord(msgspec.Struct, kw_only=True):
    slug: str
    app: str
    name: str
    description: str
    config: dict[str, Any]


def _run_record(row: ComposioSyncRun) -> SyncRunRecord:
    return SyncRunRecord(
        id=row.id,
        status=row.status,
        stage=row.stage,
        done=row.done,
        total=row.total,
        error=row.error,
        started_by=row.started_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _get(item: Any, name: str, default: Any = None) -> Any:
    """An attribute of an SDK model (lenient: Composio adds and drops fields)."""
    value = getattr(item, name, default)
    return default if value is None else value


def _app_row(item: Any) -> dict[str, Any]:
    meta = _get(item, "meta")
    categories = [str(_get(c, "name", "")) for c in _get(meta, "categories", [])]
    return {
        "slug": str(item.slug),
        "name": str(_get(item, "name", item.slug))[:200],
        "description": str(_get(meta, "description", "")),
        "logo": (str(_get(meta, "logo", "")) or None),
        "categories": categories,
        "auth_schemes": [str(s) for s in _get(item, "auth_schemes", [])],
        "actions_count": int(_get(meta, "tools_count", 0)),
        "triggers_count": int(_get(meta, "triggers_count", 0)),
    }


def _action_row(item: Any) -> dict[str, Any]:
    parameters = _get(item, "input_parameters", {}) or {"type": "object", "properties": {}}
    return {
        "slug": str(item.slug),
        "app_slug": str(_get(_get(item, "toolkit"), "slug", "")).lower(),
        "name": str(_get(item, "name", item.slug))[:300],
        "description": str(_get(item, "description", "")),
        "parameters": dict(parameters),
        "tags": [str(t) for t in _get(item, "tags", [])],
        "version": (str(_get(item, "version", "")) or None),
    }


def _trigger_row(item: Any) -> dict[str, Any]:
    return {
        "slug": str(item.slug),
        "app_slug": str(_get(_get(item, "toolkit"), "slug", "")).lower(),
        "name": str(_get(item, "name", item.slug))[:300],
        "description": str(_get(item, "description", "")),
        "config": dict(_get(item, "config", {})),
        "payload": dict(_get(item, "payload", {})),
    }


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` or update them by primary key (``slug``), on SQLite and PostgreSQL alike."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(model).values(rows)
        pg_set = {name: pg.excluded[name] for name in rows[0] if name != "slug"}
        await session.execute(pg.on_conflict_do_update(index_elements=["slug"], set_=pg_set))
        return
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(model).values(rows)
    columns = {name: statement.excluded[name] for name in rows[0] if name != "slug"}
    await session.execute(statement.on_conflict_do_update(index_elements=["slug"], set_=columns))


def _search(query: Select[Any], q: str | None, *columns: Any) -> Select[Any]:
    if not q:
        return query
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    conditions: list[ColumnElement[bool]] = [func.lower(c).like(pattern, escape="\\") for c in columns]
    return query.where(or_(*conditions))


class ComposioCatalogue:
    """The sync job and the cache's reads (see the module docstring)."""

    def __init__(self, kernel: Kernel, client: ComposioClient) -> None:
        self.kernel = kernel
        self.client = client
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- the sync job --------------------------------------------------------------------------------

    async def start_sync(self, actor_id: str | None) -> SyncRunRecord:
        """Start a run in the background; 503 without Composio, 409 while another runs."""
        await self.client.sdk()  # 503 naming the reason before anything is written
        async with self._lock:
            if self._task is not None and not self._task.done():
                raise ConflictError("a Composio sync is already running", field="sync")
            now = utcnow()
            async with self.kernel.store.sessionmaker.begin() as session:
                await session.execute(
                    update(ComposioSyncRun)
                    .where(ComposioSyncRun.status == "running", ComposioSyncRun.started_at < now - ABANDONED_AFTER)
                    .values(status="failed", error="abandoned: the process running it stopped", finished_at=now)
                )
                running = await session.scalar(select(ComposioSyncRun.id).where(ComposioSyncRun.status == "running"))
                if running is not None:
                    raise ConflictError(f"the Composio sync {running} is already running", field="sync")
                row = ComposioSyncRun(id=new_id(), status="running", stage="apps", done=0, started_by=actor_id)
                row.started_at = now
                session.add(row)
            record = _run_record(row)
            self._task = asyncio.create_task(self._run(record.id, now), name=f"automatos-composio-sync-{record.id}")
        await self.kernel.store.audit(None, actor_id, "composio.sync", "composio_sync_run", record.id, {})
        return record

    async def get_run(self, run_id: str) -> SyncRunRecord:
        async with self.kernel.store.sessionmaker() as session:
            row = await session.get(ComposioSyncRun, run_id)
        if row is None:
            raise NotFoundError(f"sync run {echo(run_id)} does not exist", field="id")
        return _run_record(row)

    async def wait(self) -> None:
        """Until the run of this process (if any) has ended."""
        task = self._task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            await cancel_and_wait(task)

    async def _run(self, run_id: str, stamp: datetime) -> None:
        sdk = await self.client.sdk()
        stages: tuple[tuple[str, Callable[..., Any], Any, Callable[[Any], dict[str, Any]]], ...] = (
            ("apps", sdk.toolkits.list, ComposioApp, _app_row),
            ("actions", sdk.client.tools.list, ComposioAction, _action_row),
            ("triggers", sdk.triggers.list, ComposioTrigger, _trigger_row),
        )
        try:
            for stage, fetch, model, to_row in stages:
                await self._progress(run_id, stage=stage, done=0, total=None)
                await self._sync_stage(run_id, stage, fetch, model, to_row, stamp)
            async with self.kernel.store.sessionmaker.begin() as session:
                for model in (ComposioApp, ComposioAction, ComposioTrigger):
                    await session.execute(delete(model).where(model.synced_at < stamp))  # gone upstream
                await session.execute(
                    update(ComposioSyncRun)
                    .where(ComposioSyncRun.id == run_id)
                    .values(status="succeeded", finished_at=utcnow())
                )
        except asyncio.CancelledError:
            await self._fail(run_id, "cancelled: the process stopped")
            raise
        except Exception as exc:
            kind, message = describe_error(exc)
            log.warning("the Composio sync %s failed (%s): %s", run_id, kind, message)
            await self._fail(run_id, message)

    async def _sync_stage(
        self,
        run_id: str,
        stage: str,
        fetch: Callable[..., Any],
        model: Any,
        to_row: Callable[[Any], dict[str, Any]],
        stamp: datetime,
    ) -> None:
        cursor: str | None = None
        done = 0
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                kwargs["cursor"] = cursor
            page = await self.client.call(fetch, **kwargs)
            rows = {}
            for item in page.items:
                row = to_row(item)
                row["synced_at"] = stamp
                rows[row["slug"]] = row  # a slug twice in one page: the last wins
            async with self.kernel.store.sessionmaker.begin() as session:
                await _upsert(session, model, list(rows.values()))
            done += len(page.items)
            total = int(getattr(page, "total_items", 0) or 0) or None
            await self._progress(run_id, stage=stage, done=done, total=total)
            cursor = getattr(page, "next_cursor", None)
            if not cursor or not page.items:
                return

    async def _progress(self, run_id: str, **values: Any) -> None:
        async with self.kernel.store.sessionmaker.begin() as session:
            await session.execute(update(ComposioSyncRun).where(ComposioSyncRun.id == run_id).values(**values))

    async def _fail(self, run_id: str, message: str) -> None:
        try:
            await asyncio.shield(self._progress(run_id, status="failed", error=message, finished_at=utcnow()))
        except Exception as exc:  # the database is gone too: the run is abandoned, unblocked after an hour
            log.error("the Composio sync %s could not be marked failed: %s", run_id, type(exc).__name__)

    # --- reads of the cache --------------------------------------------------------------------------

    async def apps(self, *, q: str | None = None, offset: int = 0, limit: int = 100) -> Page[AppRecord]:
        c = ComposioApp
        query = _search(select(c), q, c.slug, c.name)
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = (await session.scalars(query.order_by(c.slug).offset(offset).limit(limit))).all()
        items = [
            AppRecord(
                slug=r.slug,
                name=r.name,
                description=r.description,
                logo=r.logo,
                categories=list(r.categories),
                auth_schemes=list(r.auth_schemes),
                actions_count=r.actions_count,
                triggers_count=r.triggers_count,
            )
            for r in rows
        ]
        return Page(items=items, total=total, offset=offset, limit=limit)

    async def actions(self, app: str, *, q: str | None = None, offset: int = 0, limit: int = 100) -> Page[ActionRecord]:
        """A page of the app's actions; 404 naming ``slug`` for an app the cache does not have."""
        c = ComposioAction
        columns = (c.slug, c.app_slug, c.name, c.description, c.parameters, c.tags, c.version)
        query = _search(select(*columns).where(c.app_slug == app), q, c.slug, c.name)
        async with self.kernel.store.sessionmaker() as session:
            if await session.get(ComposioApp, app) is None:
                raise NotFoundError(f"app {echo(app)} is not in the Composio catalogue", field="slug")
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = (await session.execute(query.order_by(c.slug).offset(offset).limit(limit))).all()
        items = [
            ActionRecord(slug=s, app=a, name=n, description=d, parameters=p, tags=t, version=v)
            for s, a, n, d, p, t, v in rows
        ]
        return Page(items=items, total=total, offset=offset, limit=limit)

    async def triggers(
        self, *, app: str | None = None, q: str | None = None, offset: int = 0, limit: int = 100
    ) -> Page[TriggerRecord]:
        c = ComposioTrigger
        query = select(c.slug, c.app_slug, c.name, c.description, c.config)
        if app:
            query = query.where(c.app_slug == app)
        query = _search(query, q, c.slug, c.name)
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = (await session.execute(query.order_by(c.slug).offset(offset).limit(limit))).all()
        items = [TriggerRecord(slug=s, app=a, name=n, description=d, config=cfg) for s, a, n, d, cfg in rows]
        return Page(items=items, total=total, offset=offset, limit=limit)

    async def trigger(self, slug: str) -> TriggerRecord | None:
        async with self.kernel.store.sessionmaker() as session:
            row = await session.get(ComposioTrigger, slug)
        if row is None:
            return None
        return TriggerRecord(
            slug=row.slug, app=row.app_slug, name=row.name, description=row.description, config=row.config
        )

    async def app_exists(self, slug: str) -> bool:
        async with self.kernel.store.sessionmaker() as session:
            return await session.get(ComposioApp, slug) is not None


def actions_of_apps(apps: Sequence[str]) -> Select[Any]:
    """The cached actions of ``apps``, by app then slug (the provider's loader reads them)."""
    c = ComposioAction
    return (
        select(c.slug, c.app_slug, c.description, c.name, c.parameters, c.tags, c.version)
        .where(c.app_slug.in_(list(apps)))
        .order_by(c.app_slug, c.slug)
    )
