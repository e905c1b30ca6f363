"""Platform settings as the code that uses them reads them: cached values with defaults and bounds.

:class:`PlatformSettingValues` answers "what is ``chat.history_limit`` now" for chat, the API-key
caps and the sandbox limits. Values are read through an in-process TTL cache (60 s): an admin's
change reaches them within a minute. They are tuning knobs, not security decisions. Concurrent
misses of one key share one query (a cold cache under load is one query per key, not one per
request). A read opens a session of its own on a miss: call it before opening one, never inside
(see :mod:`automatos.kernel.db.pool`).

Writing and listing settings is :mod:`automatos.agents.platform_settings`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.kernel.ttl_cache import TTLCache

__all__ = ["SETTINGS_TTL", "PlatformSettingValues"]

SETTINGS_TTL = 60.0


class PlatformSettingValues:
    """The ``platform_settings`` values of one database, cached for :data:`SETTINGS_TTL` seconds."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sessionmaker = sessionmaker
        self._values: TTLCache[str, Any] = TTLCache(SETTINGS_TTL, clock=clock)

    async def setting(self, key: str, default: Any) -> Any:
        """A platform setting's value (``platform_settings``), ``default`` when it is not there."""

        async def load() -> Any:
            async with self.sessionmaker() as session:
                row = await session.get(am.PlatformSetting, key)
                return row.value if row is not None else None

        value = await self._values.get(key, load)
        return default if value is None else value

    async def int_setting(self, key: str, default: int, low: int, high: int) -> int:
        """An integer setting within ``[low, high]``; ``default`` for anything else (missing, wrong type)."""
        value = await self.setting(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return default
        return value

    def forget(self) -> None:
        """Drop the cached values (tests; an admin's change otherwise arrives within a minute)."""
        self._values.drop()
