"""Platform settings: the product's tuning knobs (``platform_settings`` rows), listed, read and set.

What each setting may hold (its kind, range or choices) is declared by the seed next to its default
(:data:`automatos.agents.seed_data.PLATFORM_SETTINGS`); :func:`check_setting_value` refuses anything
else, so what is stored is always what the code reading it will use. Keys under ``seed.`` are the
seed's own bookkeeping: neither listed nor writable here. Every change is audited with
``workspace_id`` empty, naming whether the row was created, never its value.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.agents import models as am
from automatos.agents.seed_data import PLATFORM_SETTINGS, PlatformSettingSeed
from automatos.kernel.db.queries import from_row, page
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.kernel.store import KernelStore

__all__ = ["SETTING_KEY", "PlatformSettingRecord", "PlatformSettingsService", "check_setting_value"]

SETTING_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_INTERNAL_SETTINGS = "seed."
"""Keys the seed keeps for itself (its fingerprint): neither listed nor writable through the API."""


class PlatformSettingRecord(msgspec.Struct, kw_only=True):
    key: str
    value: Any
    description: str
    updated_by: str | None
    updated_at: datetime
    kind: str | None = None
    """``integer``, ``number`` or ``string``: what a new value must be (``null`` for a row no release defines)."""
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] = []
    """The values a ``string`` setting may take."""


_SETTING_SPECS: dict[str, PlatformSettingSeed] = {spec.key: spec for spec in PLATFORM_SETTINGS}
"""What each platform setting may hold: the seed declares it next to the default."""


def _setting(row: am.PlatformSetting) -> PlatformSettingRecord:
    record = from_row(row, PlatformSettingRecord)
    spec = _SETTING_SPECS.get(row.key)
    if spec is None:
        return record
    return msgspec.structs.replace(
        record, kind=spec.kind, minimum=spec.minimum, maximum=spec.maximum, choices=list(spec.choices)
    )


def check_setting_value(key: str, value: Any) -> Any:
    """``value`` if ``key`` is a platform setting and the value is of its kind and in its range.

    404 naming ``key`` for a setting no release defines (a typo would otherwise create a row nobody
    reads); 422 naming ``value`` for a wrong type or a value out of range, so what is stored is
    always what the code reading it will use.
    """
    spec = _SETTING_SPECS.get(key)
    if spec is None:
        known = ", ".join(sorted(_SETTING_SPECS))
        raise NotFoundError(f"platform setting {key[:100]!r} does not exist; the settings are: {known}", field="key")
    if spec.kind == "string":
        if not isinstance(value, str) or (spec.choices and value not in spec.choices):
            raise ValidationError(f"{key} must be one of {', '.join(spec.choices)}, not {value!r:.100}", field="value")
        return value
    number = spec.kind == "number"
    if isinstance(value, bool) or not isinstance(value, (int, float) if number else int):
        raise ValidationError(
            f"{key} must be {'a number' if number else 'an integer'}, not {value!r:.100}", field="value"
        )
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        bounds = f"from {spec.minimum if spec.minimum is not None else '-inf'} to {spec.maximum or 'inf'}"
        raise ValidationError(f"{key} must be {bounds}, not {value!r}", field="value")
    return value


class PlatformSettingsService:
    """The platform settings of one database."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def list_platform_settings(
        self, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[PlatformSettingRecord], int]:
        query = select(am.PlatformSetting).where(~am.PlatformSetting.key.startswith(_INTERNAL_SETTINGS))
        async with self.sessionmaker() as session:
            rows, total = await page(session, query.order_by(am.PlatformSetting.key), offset, limit)
            return [_setting(r) for r in rows], total

    async def get_platform_setting(self, key: str) -> PlatformSettingRecord:
        async with self.sessionmaker() as session:
            visible = SETTING_KEY.match(key) and not key.startswith(_INTERNAL_SETTINGS)
            row = await session.get(am.PlatformSetting, key) if visible else None
            if row is None:
                raise NotFoundError(f"platform setting {key[:100]!r} does not exist", field="key")
            return _setting(row)

    async def set_platform_setting(
        self,
        key: str,
        value: Any,
        *,
        description: str | UnsetType = UNSET,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> PlatformSettingRecord:
        """Replace a setting's value, checked by :func:`check_setting_value` (values are never audited)."""
        if not SETTING_KEY.match(key):
            raise ValidationError(
                "key must be 1-100 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or digit",
                field="key",
            )
        if key.startswith(_INTERNAL_SETTINGS):
            raise ValidationError(f"keys under {_INTERNAL_SETTINGS!r} are the seed's bookkeeping", field="key")
        value = check_setting_value(key, value)
        try:
            async with self.sessionmaker.begin() as session:
                row = await session.get(am.PlatformSetting, key)
                created = row is None
                if row is None:
                    row = am.PlatformSetting(key=key, value=value, description="")
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
                return _setting(row)
        except IntegrityError:
            raise ConflictError(f"platform setting {key!r} was created meanwhile; try again", field="key") from None
