"""Run-time settings: read and override (platform admins only). The one settings registry's
(:mod:`automatos.kernel.settings_registry`) run-time environment settings; ``/api/platform-settings``
serves its platform settings.

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
from automatos.kernel.settings_registry import RuntimeSetting

__all__ = ["RuntimeSetting", "SettingsController"]


class SettingValue(msgspec.Struct, forbid_unknown_fields=True):
    value: str | None
    """The raw value, parsed like the environment variable; ``null`` removes the override."""


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get("/", summary="Run-time settings and where each value comes from")
    async def list_settings(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[RuntimeSetting]:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return paginate(kernel.settings_registry.runtime(), offset=offset, limit=limit)

    @get("/{key:str}", summary="One run-time setting")
    async def get_setting(self, request: Request[Any, Any, Any], key: FromPath[str]) -> RuntimeSetting:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return kernel.settings_registry.runtime_setting(key)

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
        return await kernel.settings_registry.set_runtime(key, data.value, actor_id=principal.id)
