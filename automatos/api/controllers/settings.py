"""Run-time settings: read and override (platform admins only)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody

from automatos.api.context import request_context, require_platform_admin

__all__ = ["SettingsController"]


class SettingValue(msgspec.Struct, forbid_unknown_fields=True):
    value: str | None
    """The raw value, parsed like the environment variable; ``null`` removes the override."""


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get("/", summary="Run-time settings and where each value comes from")
    async def list_settings(self, request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return kernel.overrides.describe()

    @put("/{key:str}", summary="Override a run-time setting on every node")
    async def set_setting(
        self,
        request: Request[Any, Any, Any],
        key: FromPath[str],
        data: JSONBody[SettingValue],
    ) -> list[dict[str, Any]]:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        await kernel.set_setting(key, data.value, actor_id=principal.id)
        return kernel.overrides.describe()
