"""Run-time overrides of settings from the ``system_settings`` table, without a restart.

Only settings marked ``runtime`` in :data:`automatos.kernel.settings.FIELDS` may be overridden
(a database URL cannot be changed by a row in that database). Rows are keyed by the environment
variable's name and hold the raw string, parsed by the same code as the environment, so an
override is exactly as strict as the variable it replaces.

:attr:`SettingsOverrides.current` is the hot path: a cached :class:`Settings`, no I/O. It is
refreshed when the kernel bus says a setting changed, and re-checked every ``recheck_seconds``
against the newest ``updated_at`` in case a message was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.settings import FIELDS, Settings, load_settings

if TYPE_CHECKING:
    from automatos.kernel.store import KernelStore

__all__ = ["RUNTIME_SETTINGS", "SettingsOverrides"]

log = logging.getLogger("automatos.settings")
RUNTIME_SETTINGS = {f.env: f for f in FIELDS if f.runtime}


class SettingsOverrides:
    def __init__(self, base: Settings, store: KernelStore) -> None:
        self.base = base
        self.store = store
        self.current: Settings = base
        self.values: dict[str, str] = {}
        self._stamp: tuple[int, datetime | None] | None = None
        self.listeners: list[Callable[[Settings], None]] = []
        """Called with the new effective settings after every refresh."""

    def _apply(self, values: dict[str, str]) -> Settings:
        parsed = load_settings(values)  # parses and validates just the overridden variables
        changes = {RUNTIME_SETTINGS[k].field: getattr(parsed, RUNTIME_SETTINGS[k].field) for k in values}
        return msgspec.structs.replace(self.base, **changes)

    async def refresh(self) -> Settings:
        rows, stamp = await self.store.setting_rows()
        values = {k: v for k, v in rows.items() if k in RUNTIME_SETTINGS}
        try:
            self.current = self._apply(values)
            self.values = values
        except SettingsError as exc:  # a bad row must not take the node down: keep the last good state
            log.error("ignoring system_settings overrides: %s", exc)
        self._stamp = stamp
        for listener in self.listeners:
            listener(self.current)
        return self.current

    async def refresh_if_stale(self) -> None:
        if await self.store.settings_stamp() != self._stamp:
            await self.refresh()

    async def set(self, env_name: str, raw: str | None, *, actor_id: str | None = None) -> None:
        """Validate and store an override (``None`` removes it); the caller publishes the change."""
        if env_name not in RUNTIME_SETTINGS:
            allowed = ", ".join(sorted(RUNTIME_SETTINGS))
            raise ValidationError(f"{env_name} cannot be changed at run time; these can: {allowed}", field="key")
        if raw is not None:
            try:
                self._apply({**self.values, env_name: raw})
            except SettingsError as exc:
                raise ValidationError(str(exc), field="value") from None
        await self.store.set_setting(env_name, raw, actor_id=actor_id)
        await self.refresh()

    def describe(self) -> list[dict[str, Any]]:
        """Every run-time setting with its effective value and where it comes from."""
        out = []
        for env, doc in sorted(RUNTIME_SETTINGS.items()):
            value = getattr(self.current, doc.field)
            out.append(
                {
                    "key": env,
                    "value": list(value) if isinstance(value, tuple) else value,
                    "source": "system_settings" if env in self.values else "environment",
                    "form": doc.form,
                }
            )
        return out
