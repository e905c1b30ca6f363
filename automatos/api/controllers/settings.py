"""Run-time settings: read and override (platform admins only).

``GET /api/settings`` is a page like every other list (``items``, ``total``, ``offset``,
``limit``); ``GET``/``PUT /api/settings/{key}`` read and change one setting and answer that
setting. Values are the raw strings of the environment variable they override, parsed by the same
code (so an override is exactly as strict as the variable), and bounded by
``SETTINGS_VALUE_MAX_BYTES``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody

from automatos.api.dependencies import request_context, require_platform_admin
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page, paginate
from automatos.api.value_size import check_value_size
from automatos.kernel.core import Kernel
from automatos.kernel.errors import NotFoundError

__all__ = ["RuntimeSetting", "SettingsController"]


class SettingValue(msgspec.Struct, forbid_unknown_fields=True):
    value: str | None
    """The raw value, parsed like the environment variable; ``null`` removes the override."""


class RuntimeSetting(msgspec.Struct, kw_only=True):
    key: str
    """The environment variable's name."""
    value: Any
    """The value in force."""
    source: str
    """``system_settings`` (overridden at run time) or ``environment``."""
    form: str
    """What a value must look like."""


def _described(kernel: Kernel) -> list[RuntimeSetting]:
    return [msgspec.convert(item, RuntimeSetting) for item in kernel.overrides.describe()]


def _one(kernel: Kernel, key: str) -> RuntimeSetting:
    for item in _described(kernel):
        if item.key == key:
            return item
    raise NotFoundError(f"{key[:100]!r} is not a run-time setting", field="key")


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get("/", summary="Run-time settings and where each value comes from")
    async def list_settings(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[RuntimeSetting]:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return paginate(_described(kernel), offset=offset, limit=limit)

    @get("/{key:str}", summary="One run-time setting")
    async def get_setting(self, request: Request[Any, Any, Any], key: FromPath[str]) -> RuntimeSetting:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return _one(kernel, key)

    @put("/{key:str}", summary="Override a run-time setting on every node")
    async def set_setting(
        self,
        request: Request[Any, Any, Any],
        key: FromPath[str],
        data: JSONBody[SettingValue],
    ) -> RuntimeSetting:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        if data.value is not None:
            check_value_size(kernel, data.value, field="value")
        await kernel.set_setting(key, data.value, actor_id=principal.id)
        return _one(kernel, key)
