"""The prompt registry: the platform's system prompts by slug (``agent.base``, …), read through a cache.

Prompts live in the kernel's key-value backend (``prompts:`` namespace) for 60 seconds
(``prompts.cache_seconds``): with Redis every node shares one copy, and an edit deletes it, so
every node reads the new text at once. With the in-process backend (one node) the same holds.
The cache fails open: when the backend (Redis) is down or slow, a read is a miss and a write or
delete is skipped (:class:`~automatos.kernel.faults.FailOpen`: counted, logged once a minute), so a
Redis outage costs one query per prompt read, never a failed chat. A delete skipped during an
outage leaves an edited prompt stale for at most the cache time on a Redis that kept its data.

Reads open a session of their own: call :meth:`PromptRegistry.prompt` before opening one, never
inside (see :mod:`automatos.kernel.db.pool`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select

from automatos.chat.models import Prompt
from automatos.kernel.db.queries import from_row
from automatos.kernel.errors import NotFoundError
from automatos.kernel.faults import FailOpen

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.settings_registry import SettingsRegistry

__all__ = ["PROMPT_TTL", "PromptRecord", "PromptRegistry"]

log = logging.getLogger("automatos.chat")

PROMPT_TTL = 60.0


class PromptRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    body: str
    version: int


class PromptRegistry:
    """The ``prompts`` rows of the kernel's database, cached in its key-value backend."""

    def __init__(self, kernel: Kernel, settings: SettingsRegistry) -> None:
        self.kernel = kernel
        self.settings = settings
        self.cache = FailOpen("the prompt cache", log, then="reading prompts from the database")
        """How the prompt cache's backend is doing: a failure is a miss, counted and logged."""

    def _kv(self) -> Any:
        return self.kernel.backends.kv.with_namespace("prompts:")

    async def prompt(self, slug: str) -> PromptRecord | None:
        """The prompt ``slug``, from the cache when it holds it (60 s), else from the database."""
        kv = self._kv()
        raw = await self.cache.call(lambda: kv.get(slug), None)
        if raw is not None:
            return msgspec.json.decode(raw, type=PromptRecord)
        async with self.kernel.store.sessionmaker() as session:
            row = await session.get(Prompt, slug)
        if row is None:
            return None
        record = from_row(row, PromptRecord)
        ttl = await self.settings.int_setting("prompts.cache_seconds", int(PROMPT_TTL), 1, 3600)
        encoded = msgspec.json.encode(record)
        await self.cache.call(lambda: kv.set(slug, encoded, ttl=float(ttl)), None)
        return record

    async def list_prompts(self, offset: int, limit: int) -> tuple[list[PromptRecord], int]:
        async with self.kernel.store.sessionmaker() as session:
            total = (await session.execute(select(func.count()).select_from(Prompt))).scalar_one()
            rows = (await session.scalars(select(Prompt).order_by(Prompt.slug).offset(offset).limit(limit))).all()
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
            row = await session.get(Prompt, slug, with_for_update=True)
            if row is None:
                if not create or body is None:
                    raise NotFoundError(f"prompt {slug!r} does not exist", field="slug")
                row = Prompt(slug=slug, name=name or slug, description=description or "", body=body, version=1)
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
            audit = {"version": record.version}
            self.kernel.store._audit(session, None, actor_id, "prompt.updated", "prompt", slug, audit, request_id)
        kv = self._kv()
        await self.cache.call(lambda: kv.delete(slug), False)
        return record
