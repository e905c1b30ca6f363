"""The platform's reference catalogs: LLM models, credential types, plugin categories.

None of it is tenant data. Any authenticated caller reads models, credential types and plugin
categories (a request that names a workspace must still name one the caller may act in: the
request context checks that first). Platform admins change the model catalog; every change is
audited with ``workspace_id`` empty. The rules are :mod:`automatos.agents.catalog`'s.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.agents.catalog import (
    CatalogService,
    CredentialTypeRecord,
    ModelCreate,
    ModelRecord,
    ModelUpdate,
    PluginCategoryRecord,
)
from automatos.api.dependencies import request_context, require_platform_admin
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.core import Kernel
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.types import Principal, RequestContext

__all__ = [
    "CredentialTypesController",
    "ModelsController",
    "PluginCategoriesController",
]


def _service(kernel: Kernel) -> CatalogService:
    return CatalogService(kernel.store.sessionmaker)


def _authenticated(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    return ctx.principal


class ModelsController(Controller):
    path = "/api/models"
    tags = ["catalog"]

    @get("/", summary="The LLM model catalog (deprecated models only with ?status=deprecated)")
    async def list_models(
        self,
        request: Request[Any, Any, Any],
        provider: Annotated[str | None, QueryParameter(max_length=50, description="Only this provider's.")] = None,
        kind: Annotated[Literal["chat", "embedding"] | None, QueryParameter(description="Only this kind.")] = None,
        capability: Annotated[
            str | None, QueryParameter(max_length=100, description="Only models with this capability.")
        ] = None,
        status: Annotated[
            Literal["active", "deprecated"] | None, QueryParameter(description="Only models with this status.")
        ] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ModelRecord]:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        items, total = await _service(kernel).list_models(
            provider=provider, kind=kind, capability=capability, status=status, offset=offset, limit=limit
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{model_id:str}", summary="One model of the catalog")
    async def get_model(self, request: Request[Any, Any, Any], model_id: FromPath[str]) -> ModelRecord:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        return await _service(kernel).get_model(model_id)

    @post("/", summary="Add a model to the catalog (platform admins)")
    async def create_model(self, request: Request[Any, Any, Any], data: JSONBody[ModelCreate]) -> ModelRecord:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        return await _service(kernel).create_model(data, actor_id=principal.id, request_id=ctx.request_id)

    @patch("/{model_id:str}", summary="Change a model of the catalog (platform admins)")
    async def update_model(
        self, request: Request[Any, Any, Any], model_id: FromPath[str], data: JSONBody[ModelUpdate]
    ) -> ModelRecord:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        return await _service(kernel).update_model(model_id, data, actor_id=principal.id, request_id=ctx.request_id)

    @delete("/{model_id:str}", summary="Deprecate a model (platform admins)", status_code=204)
    async def deprecate_model(self, request: Request[Any, Any, Any], model_id: FromPath[str]) -> None:
        kernel, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        await _service(kernel).deprecate_model(model_id, actor_id=principal.id, request_id=ctx.request_id)


class CredentialTypesController(Controller):
    path = "/api/credential-types"
    tags = ["catalog"]

    @get("/", summary="Kinds of credentials a tool connection can hold")
    async def list_credential_types(
        self,
        request: Request[Any, Any, Any],
        category: Annotated[str | None, QueryParameter(max_length=50, description="Only this category.")] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[CredentialTypeRecord]:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        items, total = await _service(kernel).list_credential_types(category=category, offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{slug:str}", summary="One credential type")
    async def get_credential_type(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> CredentialTypeRecord:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        return await _service(kernel).get_credential_type(slug)


class PluginCategoriesController(Controller):
    path = "/api/plugin-categories"
    tags = ["catalog"]

    @get("/", summary="The marketplace's categories, in display order")
    async def list_plugin_categories(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[PluginCategoryRecord]:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        items, total = await _service(kernel).list_plugin_categories(offset=offset, limit=limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @get("/{slug:str}", summary="One plugin category")
    async def get_plugin_category(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> PluginCategoryRecord:
        kernel, ctx = await request_context(request)
        _authenticated(ctx)
        return await _service(kernel).get_plugin_category(slug)
