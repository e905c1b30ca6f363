"""Run-time overrides of settings from the ``system_settings`` table, without a restart.

Only settings marked ``runtime`` in a settings struct's ``FIELDS`` may be overridden — the
kernel's (:data:`automatos.kernel.settings.FIELDS`) and those of every struct the kernel was
given (feature packages' through the composition root, extensions' through ``register_settings``).
A database URL cannot be changed by a row in that database. Rows are keyed by the environment
variable's name and hold the raw string, parsed by the same code as the environment, so an
override is exactly as strict as the variable it replaces.

:attr:`SettingsOverrides.current` is the hot path: a cached :class:`Settings`, no I/O. It is
refreshed when the kernel bus says a setting changed, and re-checked every ``recheck_seconds``
against the newest ``updated_at`` in case a message was lost. The overridden values reach the
other structs through ``current.environ``: ``current.group(LLMSettings)`` reads them.

Building a :class:`SettingsOverrides` reads every struct it is given
(:func:`~automatos.kernel.settings.check_settings`): a malformed variable of any owner stops the
kernel from being built, with a :class:`SettingsError` naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.settings import FIELDS, FieldDoc, Settings, SettingsGroup, check_settings, load_settings

if TYPE_CHECKING:
    from automatos.kernel.store import KernelStore

__all__ = ["RUNTIME_SETTINGS", "SettingsOverrides"]

log = logging.getLogger("automatos.settings")
RUNTIME_SETTINGS = {f.env: f for f in FIELDS if f.runtime}
"""The kernel's own run-time settings (an instance's :attr:`SettingsOverrides.runtime` adds the rest)."""


class SettingsOverrides:
    def __init__(self, base: Settings, store: KernelStore, groups: Sequence[type[SettingsGroup]] = ()) -> None:
        self.base = base
        self.store = store
        self.groups = check_settings(base, groups)
        """The kernel's :class:`Settings` and every other struct, each once."""
        self.runtime: dict[str, tuple[type[SettingsGroup], FieldDoc]] = {
            doc.env: (group, doc) for group in self.groups for doc in group.FIELDS if doc.runtime
        }
        """Variable -> (its struct, its declaration), for every setting that may be overridden."""
        self.current: Settings = base
        self.values: dict[str, str] = {}
        self._stamp: tuple[int, datetime | None] | None = None
        self.listeners: list[Callable[[Settings], None]] = []
        """Called with the new effective settings after every refresh."""

    def _apply(self, values: dict[str, str]) -> Settings:
        """The base settings with ``values`` (variable -> raw string) in force; raises
        :class:`SettingsError` like the environment would."""
        own = {k: v for k, v in values.items() if self.runtime[k][0] is Settings}
        parsed = load_settings(own)  # parses and validates just the overridden kernel variables
        changes = {RUNTIME_SETTINGS[k].field: getattr(parsed, RUNTIME_SETTINGS[k].field) for k in own}
        others = {k: v for k, v in values.items() if k not in own}
        environ = self.base.environ.overridden(others, fields=[self.runtime[k][1].field for k in others])
        current = msgspec.structs.replace(self.base, **changes, environ=environ)
        for group in {self.runtime[k][0] for k in others}:
            current.group(group)  # parses and validates the overridden values of other structs
        return current

    async def refresh(self) -> Settings:
        rows, stamp = await self.store.setting_rows()
        values = {k: v for k, v in rows.items() if k in self.runtime}
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
        if env_name not in self.runtime:
            allowed = ", ".join(sorted(self.runtime))
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
        for env, (group, doc) in sorted(self.runtime.items()):
            value = getattr(self.current.group(group), doc.field)
            out.append(
                {
                    "key": env,
                    "value": list(value) if isinstance(value, tuple) else value,
                    "source": "system_settings" if env in self.values else "environment",
                    "form": doc.form,
                }
            )
        return out
