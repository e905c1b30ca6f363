"""The one settings registry: every setting that can change while the platform runs, with its scope.

One registry (:class:`SettingsRegistry`, ``kernel.settings_registry``), three kinds of entry:

- **Run-time environment settings** (scope *platform*): the fields a settings struct marks
  ``runtime`` (``LOG_LEVEL``, ``LLM_MODEL``…). Their overrides live in ``system_settings`` as the
  raw string of the variable, parsed by the same code as the environment
  (:class:`~automatos.kernel.overrides.SettingsOverrides`). ``/api/settings`` and
  ``automatos settings`` serve them (:meth:`SettingsRegistry.runtime` / :meth:`set_runtime`).
- **Declared platform settings** (:class:`Declared`, scope ``platform``): the product's tuning knobs
  (``chat.history_limit``, ``api_keys.max_per_workspace``…), typed JSON values in
  ``platform_settings``. A new value must fit its declaration (:func:`check_value`: kind, bounds,
  choices), so what is stored is always what the code reading it will use. ``/api/platform-settings``
  serves them; code reads them with :meth:`SettingsRegistry.setting` / :meth:`int_setting` (cached
  :data:`SETTINGS_TTL` seconds: an admin's change reaches every node within a minute; a tuning knob,
  not a security decision; concurrent misses of one key share one query).
- **Declared workspace settings** (scope ``workspace``): keys of a workspace's ``settings`` document
  (``sandbox_http_allow_hosts``…), set by its admins. :meth:`SettingsRegistry.workspace_value`
  reads one: the declared default when it is missing or not of the declared kind.

Who declares: each owner its own. Extensions through ``register_settings(register)``
(``register(Declared(...))``), feature packages through the composition root
(``automatos/container.py``, ``PACKAGE_PARTS.declared``); the kernel gets them all as
``kernel.parts.declared``. Keys under ``seed.`` are the seed's bookkeeping: neither listed nor
writable. Every platform-setting change is audited with ``workspace_id`` empty, naming whether the
row was created, never its value. A read of a platform setting opens a session of its own on a miss:
call it before opening one, never inside (see :mod:`automatos.kernel.db.pool`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from automatos.kernel.db import models as m
from automatos.kernel.db.queries import page
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.kernel.store import KernelStore
from automatos.kernel.ttl_cache import TTLCache

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from automatos.kernel.overrides import SettingsOverrides

__all__ = [
    "SETTINGS_TTL",
    "SETTING_KEY",
    "Declared",
    "PlatformSettingRecord",
    "RuntimeSetting",
    "Scope",
    "SettingKind",
    "SettingsRegistry",
    "check_value",
]

log = logging.getLogger("automatos.settings")

Scope = Literal["platform", "workspace"]
SettingKind = Literal["integer", "number", "string", "string_list"]
SETTINGS_TTL = 60.0
"""Seconds a node keeps a platform setting's value before reading it again."""
SETTING_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_INTERNAL = "seed."
"""Keys the seed keeps for itself (its fingerprint): neither listed nor writable through the API."""


class Declared(msgspec.Struct, frozen=True, kw_only=True):
    """A setting stored in the database: ``platform`` (one value for the deployment, an admin sets
    it) or ``workspace`` (a key of each workspace's ``settings`` document, its admins set it)."""

    key: str
    scope: Scope
    kind: SettingKind
    default: Any
    """The value of a new install (seeded) or of a workspace that has not set it."""
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    """The values a ``string`` (or each item of a ``string_list``) may take; empty: any."""


def check_value(spec: Declared, value: Any) -> Any:
    """``value`` if it is of ``spec``'s kind and within its bounds/choices; 422 naming ``value`` else."""
    key = spec.key
    if spec.kind in ("string", "string_list"):
        items = value if spec.kind == "string_list" and isinstance(value, list) else [value]
        if spec.kind == "string_list" and not isinstance(value, list):
            raise ValidationError(f"{key} must be a list of strings, not {value!r:.100}", field="value")
        for item in items:
            if not isinstance(item, str) or (spec.choices and item not in spec.choices):
                wanted = f"one of {', '.join(spec.choices)}" if spec.choices else "a string"
                raise ValidationError(f"{key} must be {wanted}, not {item!r:.100}", field="value")
        return value
    number = spec.kind == "number"
    if isinstance(value, bool) or not isinstance(value, (int, float) if number else int):
        wanted = "a number" if number else "an integer"
        raise ValidationError(f"{key} must be {wanted}, not {value!r:.100}", field="value")
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        bounds = f"from {spec.minimum if spec.minimum is not None else '-inf'} to {spec.maximum or 'inf'}"
        raise ValidationError(f"{key} must be {bounds}, not {value!r}", field="value")
    return value


def _fits(spec: Declared, value: Any) -> bool:
    try:
        check_value(spec, value)
    except ValidationError:
        return False
    return True


class PlatformSettingRecord(msgspec.Struct, kw_only=True):
    """A platform setting as ``/api/platform-settings`` shows it."""

    key: str
    value: Any
    description: str
    updated_by: str | None
    updated_at: datetime
    kind: str | None = None
    """``integer``, ``number``, ``string`` or ``string_list``: what a new value must be (``null`` for a
    row nothing declares)."""
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] = []
    """The values a ``string`` setting may take."""


class RuntimeSetting(msgspec.Struct, kw_only=True):
    """A run-time environment setting as ``/api/settings`` shows it."""

    key: str
    """The environment variable's name."""
    value: Any
    """The value in force."""
    source: str
    """``system_settings`` (overridden at run time) or ``environment``."""
    form: str
    """What a value must look like."""


class SettingsRegistry:
    """The settings of one deployment that change at run time: see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        overrides: SettingsOverrides | None = None,
        declared: Iterable[Declared] = (),
        *,
        set_runtime: Callable[[str, str | None, str | None], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.overrides = overrides
        self.declared: dict[str, Declared] = {}
        """Key -> declaration, platform and workspace scope (the first declaration of a key wins)."""
        for spec in declared:
            first = self.declared.setdefault(spec.key, spec)
            if first != spec:
                log.error("setting %s is declared twice, differently; the first declaration is kept", spec.key)
        self._set_runtime = set_runtime
        self._values: TTLCache[str, Any] = TTLCache(SETTINGS_TTL, clock=clock)

    # -- run-time environment settings (system_settings) -----------------------------------------

    def runtime(self) -> list[RuntimeSetting]:
        """Every run-time environment setting with its value in force and where it comes from."""
        if self.overrides is None:
            return []
        return [msgspec.convert(item, RuntimeSetting) for item in self.overrides.describe()]

    def runtime_setting(self, key: str) -> RuntimeSetting:
        for item in self.runtime():
            if item.key == key:
                return item
        raise NotFoundError(f"{key[:100]!r} is not a run-time setting", field="key")

    async def set_runtime(self, key: str, raw: str | None, *, actor_id: str | None = None) -> RuntimeSetting:
        """Override (``None``: stop overriding) a run-time setting on every node."""
        if self._set_runtime is None:
            raise RuntimeError("this registry cannot publish overrides (no kernel)")
        await self._set_runtime(key, raw, actor_id)
        return self.runtime_setting(key)

    # -- platform settings (platform_settings) ---------------------------------------------------

    def _record(self, row: m.PlatformSetting) -> PlatformSettingRecord:
        record = PlatformSettingRecord(
            key=row.key,
            value=row.value,
            description=row.description,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )
        spec = self.declared.get(row.key)
        if spec is None or spec.scope != "platform":
            return record
        return msgspec.structs.replace(
            record, kind=spec.kind, minimum=spec.minimum, maximum=spec.maximum, choices=list(spec.choices)
        )

    def check_platform(self, key: str, value: Any) -> Any:
        """``value`` if ``key`` is a declared platform setting and the value fits it.

        404 naming ``key`` for a setting nothing declares (a typo would otherwise create a row
        nobody reads); 422 naming ``value`` for a wrong type or a value out of range.
        """
        spec = self.declared.get(key)
        if spec is None or spec.scope != "platform":
            known = ", ".join(sorted(k for k, s in self.declared.items() if s.scope == "platform"))
            raise NotFoundError(
                f"platform setting {key[:100]!r} does not exist; the settings are: {known}", field="key"
            )
        return check_value(spec, value)

    async def list_platform(self, *, offset: int = 0, limit: int = 100) -> tuple[list[PlatformSettingRecord], int]:
        query = select(m.PlatformSetting).where(~m.PlatformSetting.key.startswith(_INTERNAL))
        async with self.sessionmaker() as session:
            rows, total = await page(session, query.order_by(m.PlatformSetting.key), offset, limit)
            return [self._record(r) for r in rows], total

    async def get_platform(self, key: str) -> PlatformSettingRecord:
        async with self.sessionmaker() as session:
            visible = SETTING_KEY.match(key) and not key.startswith(_INTERNAL)
            row = await session.get(m.PlatformSetting, key) if visible else None
            if row is None:
                raise NotFoundError(f"platform setting {key[:100]!r} does not exist", field="key")
            return self._record(row)

    async def set_platform(
        self,
        key: str,
        value: Any,
        *,
        description: str | UnsetType = UNSET,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> PlatformSettingRecord:
        """Replace a setting's value, checked by :meth:`check_platform` (values are never audited)."""
        if not SETTING_KEY.match(key):
            raise ValidationError(
                "key must be 1-100 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or digit",
                field="key",
            )
        if key.startswith(_INTERNAL):
            raise ValidationError(f"keys under {_INTERNAL!r} are the seed's bookkeeping", field="key")
        value = self.check_platform(key, value)
        try:
            async with self.sessionmaker.begin() as session:
                row = await session.get(m.PlatformSetting, key)
                created = row is None
                if row is None:
                    row = m.PlatformSetting(key=key, value=value, description="")
                    session.add(row)
                row.value = value
                row.updated_by = actor_id
                if description is not UNSET:
                    row.description = description
                await session.flush()
                KernelStore._audit(
                    session, None, actor_id, "platform_setting.changed", "platform_setting", key,
                    {"created": created}, request_id,
                )  # fmt: skip
                record = self._record(row)
        except IntegrityError:
            raise ConflictError(f"platform setting {key!r} was created meanwhile; try again", field="key") from None
        self._values.drop()  # this node reads the new value at once; the others within SETTINGS_TTL
        return record

    async def setting(self, key: str, default: Any) -> Any:
        """A platform setting's value, ``default`` when it is not there (cached, see the module)."""

        async def load() -> Any:
            async with self.sessionmaker() as session:
                row = await session.get(m.PlatformSetting, key)
                return row.value if row is not None else None

        value = await self._values.get(key, load)
        return default if value is None else value

    async def int_setting(self, key: str, default: int, low: int, high: int) -> int:
        """An integer setting within ``[low, high]``; ``default`` for anything else (missing, wrong type)."""
        value = await self.setting(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return default
        return value

    async def value(self, key: str) -> Any:
        """A declared platform setting's value: the stored one when it fits the declaration, else the
        declared default."""
        spec = self.declared[key]
        value = await self.setting(key, spec.default)
        return value if _fits(spec, value) else spec.default

    def forget(self) -> None:
        """Drop the cached values (tests; an admin's change otherwise arrives within a minute)."""
        self._values.drop()

    # -- workspace settings (a workspace's settings document) ------------------------------------

    def workspace_value(self, settings: Mapping[str, Any], key: str) -> Any:
        """A declared workspace setting from a workspace's ``settings``: the declared default when the
        key is missing or its value does not fit the declaration (logged)."""
        spec = self.declared[key]
        if key not in settings:
            return spec.default
        value = settings[key]
        if _fits(spec, value):
            return value
        log.warning("workspace setting %s does not fit its declaration (%s); the default applies", key, spec.kind)
        return spec.default

    def declarations(self, scope: Scope | None = None) -> list[Declared]:
        """Every declared setting (of ``scope``), by key."""
        return sorted((s for s in self.declared.values() if scope in (None, s.scope)), key=lambda s: s.key)
