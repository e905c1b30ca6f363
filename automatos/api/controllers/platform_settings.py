"""``/api/platform-settings``: the product's platform settings, read and set by platform admins.

Every change is audited with ``workspace_id`` empty. The one settings registry
(:mod:`automatos.kernel.settings_registry`, ``kernel.settings_registry``) lists, checks and sets
them against their declarations; ``/api/settings`` serves its run-time environment settings.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, UnsetType

from automatos.api.dependencies import request_context, require_platform_admin
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.api.value_size import check_value_size
from automatos.kernel.settings_registry import PlatformSettingRecord

__all__ = ["PlatformSettingsController"]


class PlatformSettingValue(msgspec.Struct, forbid_unknown_fields=True):
    value: Any
    """A JSON value of the setting's kind and range (see the setting's ``kind``/``minimum``/``maximum``/``choices``)."""
    description: Annotated[str, msgspec.Meta(max_length=10_000)] | UnsetType = UNSET
    """What the setting is for; unchanged when absent."""


class PlatformSettingsController(Controller):
    path = "/api/platform-settings"
    tags = ["catalog"]

    @get("/", summary="The product's platform settings (platform admins)")
    async def list_platform_settings(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[PlatformSettingRecord]:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        items, total = await kernel.settings_registry.list_platform(offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{key:str}", summary="One platform setting (platform admins)")
    async def get_platform_setting(self, request: Request[Any, Any, Any], key: FromPath[str]) -> PlatformSettingRecord:
        kernel, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await kernel.settings_registry.get_platform(key)

    @put("/{key:str}", summary="Set a platform setting to a JSON value (platform admins; audited)")
    async def set_platform_setting(
        self, request: Request[Any, Any, Any], key: FromPath[str], data: JSONBody[PlatformSettingValue]
    ) -> PlatformSettingRecord:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        check_value_size(kernel, data.value, field="value")
        return await kernel.settings_registry.set_platform(
            key, data.value, description=data.description, actor_id=principal.id, request_id=ctx.request_id
        )
