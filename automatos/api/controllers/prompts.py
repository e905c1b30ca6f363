"""The prompt registry: ``/api/prompts``, the platform's system prompts by slug.

Anyone signed in may read them (they shape every agent's answers, so their text is no secret to
the people using the agents); platform admins edit them. An edit bumps the prompt's ``version``,
is audited, and drops the cached copy, so the next chat on any node uses the new text (reads are
cached 60 s otherwise; see :mod:`automatos.chat.prompts`).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody

from automatos.api.dependencies import request_context, require_platform_admin, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.chat.prompts import PromptRecord
from automatos.kernel.errors import AuthenticationError, NotFoundError
from automatos.kernel.validation import validate_slug

__all__ = ["PromptsController"]


class PromptUpdate(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)] | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class PromptsController(Controller):
    path = "/api/prompts"
    tags = ["prompts"]

    @get("/", summary="The platform's system prompts")
    async def list_prompts(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[PromptRecord]:
        _, ctx = await request_context(request)
        if ctx.principal is None:
            raise AuthenticationError("credentials are required")
        items, total = await services(request).prompts().list_prompts(offset, limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{slug:str}", summary="One system prompt")
    async def get_prompt(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> PromptRecord:
        _, ctx = await request_context(request)
        if ctx.principal is None:
            raise AuthenticationError("credentials are required")
        record = await services(request).prompts().prompt(slug)
        if record is None:
            raise NotFoundError(f"prompt {slug!r} does not exist", field="slug")
        return record

    @put("/{slug:str}", summary="Edit (or add) a system prompt; platform admins only")
    async def put_prompt(
        self, request: Request[Any, Any, Any], slug: FromPath[str], data: JSONBody[PromptUpdate]
    ) -> PromptRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        validate_slug(slug.replace(".", "-").replace("_", "-"))
        prompts = services(request).prompts()
        return await prompts.update_prompt(
            slug,
            body=data.body,
            name=data.name,
            description=data.description,
            actor_id=admin.id,
            request_id=ctx.request_id,
            create=True,
        )
