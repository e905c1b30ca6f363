"""Per-process state of the agents layer: the prompt registry, small caches, providers per workspace.

One :class:`AgentsRuntime` per kernel (:func:`agents_of`), made on first use; it holds no tenant
data that could leak between workspaces: every cache is keyed by workspace id (providers) or holds
platform rows only (prompts, prices, platform settings).

Caches and how they stay correct:
- **Prompts** live in the kernel's key-value backend (``prompts:`` namespace) for 60 seconds
  (``prompts.cache_seconds``): with Redis every node shares one copy, and an edit deletes it, so
  every node reads the new text at once. With the in-process backend (one node) the same holds.
  The cache fails open: when the backend (Redis) is down or slow, a read is a miss and a write or
  delete is skipped (:class:`~automatos.kernel.faults.FailOpen`: counted, logged once a minute), so a
  Redis outage costs one query per prompt read, never a failed chat. A delete skipped during an
  outage leaves an edited prompt stale for at most the cache time on a Redis that kept its data.
- **Platform settings and model prices** are read through an in-process TTL cache (60 s): an admin's
  change reaches chats within a minute. They are tuning knobs, not security decisions. Concurrent
  misses of one key share one query (a cold cache under load is one query per key, not one per
  request).

No method here opens a database session while another is open in the same task: callers that hold
a session read what they need from here *before* opening it (see :mod:`automatos.kernel.db.pool`).
- **Providers** of a workspace are collected through its hook view once and reused until the view
  (extensions or their config changed) or the run-time settings object changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec
from sqlalchemy import func, select

from automatos.agents import models as am
from automatos.agents.records import from_row
from automatos.kernel.errors import NotFoundError
from automatos.kernel.faults import FailOpen
from automatos.kernel.hooks import Collected
from automatos.kernel.types import EmbeddingProvider, LLMProvider, Workspace

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.hooks import HookView

__all__ = ["AgentsRuntime", "PromptRecord", "TTLCache", "agents_of"]

log = logging.getLogger("automatos.agents")

K = TypeVar("K")
V = TypeVar("V")

PROMPT_TTL = 60.0
SETTINGS_TTL = 60.0


class _Abandoned(Exception):
    """The task loading a cache entry was cancelled; whoever waited for it loads it again."""


class TTLCache(Generic[K, V]):
    """A small in-process cache: values expire ``ttl`` seconds after they were loaded.

    Concurrent misses of one key wait for one load. ``clock`` is injectable (tests expire entries
    without sleeping).
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._data: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        while True:
            hit = self._data.get(key)
            if hit is not None and hit[0] > self.clock():
                return hit[1]
            pending = self._loading.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except _Abandoned:  # its loader was cancelled: load it ourselves
                continue
        pending = self._loading[key] = asyncio.get_running_loop().create_future()
        try:
            value = await load()
        except BaseException as exc:
            pending.set_exception(exc if isinstance(exc, Exception) else _Abandoned())
            pending.exception()  # retrieved here: waiters re-raise it themselves
            raise
        else:
            pending.set_result(value)
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (self.clock() + self.ttl, value)
            return value
        finally:
            del self._loading[key]

    def drop(self, key: K | None = None) -> None:
        if key is None:
            self._data.clear()
        else:
            self._data.pop(key, None)


class PromptRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    body: str
    version: int


class AgentsRuntime:
    def __init__(self, kernel: Kernel, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.kernel = kernel
        self._settings: TTLCache[str, Any] = TTLCache(SETTINGS_TTL, clock=clock)
        self._prices: TTLCache[tuple[str, str], tuple[float, float]] = TTLCache(SETTINGS_TTL, clock=clock)
        self.prompt_cache = FailOpen("the prompt cache", log, then="reading prompts from the database")
        """How the prompt cache's backend is doing: a failure is a miss, counted and logged."""
        self._providers: dict[str, tuple[object, object, Collected[Any]]] = {}
        self._embedders: dict[str, tuple[object, object, Collected[Any]]] = {}

    # --- platform settings and prices -------------------------------------------------------------

    async def setting(self, key: str, default: Any) -> Any:
        """A platform setting's value (``platform_settings``), ``default`` when it is not there."""

        async def load() -> Any:
            async with self.kernel.store.sessionmaker() as session:
                row = await session.get(am.PlatformSetting, key)
                return row.value if row is not None else None

        value = await self._settings.get(key, load)
        return default if value is None else value

    async def int_setting(self, key: str, default: int, low: int, high: int) -> int:
        value = await self.setting(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return default
        return value

    async def price(self, provider: str, model: str) -> tuple[float, float]:
        """US dollars per input and per output token for ``model``; zeros when the catalog lacks it."""

        async def load() -> tuple[float, float]:
            async with self.kernel.store.sessionmaker() as session:
                row = (
                    await session.execute(
                        select(am.LLMModel.input_price, am.LLMModel.output_price).where(
                            am.LLMModel.provider == provider, am.LLMModel.model == model
                        )
                    )
                ).first()
            return (float(row[0]), float(row[1])) if row is not None else (0.0, 0.0)

        return await self._prices.get((provider, model), load)

    def forget_settings(self) -> None:
        self._settings.drop()
        self._prices.drop()

    # --- prompts --------------------------------------------------------------------------------

    def _prompt_cache(self) -> Any:
        return self.kernel.backends.kv.with_namespace("prompts:")

    async def prompt(self, slug: str) -> PromptRecord | None:
        """The prompt ``slug``, from the cache when it holds it (60 s), else from the database.

        Opens a session of its own: call it before opening one, never inside.
        """
        cache = self._prompt_cache()
        raw = await self.prompt_cache.call(lambda: cache.get(slug), None)
        if raw is not None:
            return msgspec.json.decode(raw, type=PromptRecord)
        async with self.kernel.store.sessionmaker() as session:
            row = await session.get(am.Prompt, slug)
        if row is None:
            return None
        record = from_row(row, PromptRecord)
        ttl = await self.int_setting("prompts.cache_seconds", int(PROMPT_TTL), 1, 3600)
        encoded = msgspec.json.encode(record)
        await self.prompt_cache.call(lambda: cache.set(slug, encoded, ttl=float(ttl)), None)
        return record

    async def list_prompts(self, offset: int, limit: int) -> tuple[list[PromptRecord], int]:
        async with self.kernel.store.sessionmaker() as session:
            total = (await session.execute(select(func.count()).select_from(am.Prompt))).scalar_one()
            rows = (
                (await session.execute(select(am.Prompt).order_by(am.Prompt.slug).offset(offset).limit(limit)))
                .scalars()
                .all()
            )
        return [from_row(r, PromptRecord) for r in rows], int(total)

    async def update_prompt(
        self,
        slug: str,
        *,
        body: str | None,
        name: str | None,
        description: str | None,
        actor_id: str | None,
        request_id: str | None,
        create: bool = False,
    ) -> PromptRecord:
        """Edit (or, with ``create``, add) a prompt: bump its version, audit, drop it from the cache."""
        async with self.kernel.store.sessionmaker.begin() as session:
            row = await session.get(am.Prompt, slug, with_for_update=True)
            if row is None:
                if not create or body is None:
                    raise NotFoundError(f"prompt {slug!r} does not exist", field="slug")
                row = am.Prompt(slug=slug, name=name or slug, description=description or "", body=body, version=1)
                session.add(row)
            else:
                if body is not None:
                    row.body = body
                if name is not None:
                    row.name = name
                if description is not None:
                    row.description = description
                row.version = row.version + 1
            row.updated_by = actor_id
            await session.flush()
            record = from_row(row, PromptRecord)
            self.kernel.store._audit(
                session,
                None,
                actor_id,
                "prompt.updated",
                "prompt",
                slug,
                {"version": record.version},
                request_id=request_id,
            )
        cache = self._prompt_cache()
        await self.prompt_cache.call(lambda: cache.delete(slug), False)
        return record

    # --- providers ------------------------------------------------------------------------------

    async def llm_providers(self, workspace: Workspace) -> Collected[LLMProvider]:
        return await self._collected(self._providers, workspace, self.kernel.hooks.llm_providers)

    async def embedding_providers(self, workspace: Workspace) -> Collected[EmbeddingProvider]:
        return await self._collected(self._embedders, workspace, self.kernel.hooks.embedding_providers)

    async def _collected(
        self,
        cache: dict[str, tuple[object, object, Collected[Any]]],
        workspace: Workspace,
        collect: Callable[[HookView, Workspace], Awaitable[Collected[Any]]],
    ) -> Collected[Any]:
        view = await self.kernel.view_for(workspace)
        settings = self.kernel.current_settings
        hit = cache.get(workspace.id)
        if hit is not None and hit[0] is view and hit[1] is settings:
            return hit[2]
        got = await collect(view, workspace)
        if len(cache) > 10_000:
            cache.clear()
        cache[workspace.id] = (view, settings, got)
        return got


_RUNTIMES: weakref.WeakKeyDictionary[Any, AgentsRuntime] = weakref.WeakKeyDictionary()


def agents_of(kernel: Kernel) -> AgentsRuntime:
    """The kernel's :class:`AgentsRuntime`, made on first use."""
    runtime = _RUNTIMES.get(kernel)
    if runtime is None:
        runtime = _RUNTIMES[kernel] = AgentsRuntime(kernel)
    return runtime
