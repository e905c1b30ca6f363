"""The platform's reference catalogs: LLM models, credential types, plugin categories.

None of it is tenant data. Any authenticated caller reads models, credential types and plugin
categories (a request that names a workspace must still name one the caller may act in: the
request context checks that first). Platform admins change the model catalog; every change is
audited with ``workspace_id`` empty. The rules are :mod:`automatos.llm.catalog`'s,
:mod:`automatos.tools.credential_types`' and :mod:`automatos.marketplace.categories`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import request_context, require_platform_admin, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.errors import AuthenticationError
from automatos.llm.catalog import ModelCreate, ModelRecord, ModelUpdate
from automatos.marketplace.categories import PluginCategoryRecord
from automatos.tools.credential_types import CredentialTypeRecord

if TYPE_CHECKING:
    from automatos.container import Container

__all__ = ["CredentialTypesController", "ModelsController", "PluginCategoriesController"]

T = TypeVar("T")


async def _reader(request: Request[Any, Any, Any]) -> Container:
    """The services, once the caller is known (any authenticated caller reads the catalogs)."""
    _, ctx = await request_context(request)
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    return services(request)


def _page(found: tuple[list[T], int], offset: int, limit: int) -> Page[T]:
    return Page(items=found[0], total=found[1], offset=offset, limit=limit)


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
        models = (await _reader(request)).llm_catalog()
        found = await models.list_models(
            provider=provider, kind=kind, capability=capability, status=status, offset=offset, limit=limit
        )
        return _page(found, offset, limit)

    @get("/{model_id:str}", summary="One model of the catalog")
    async def get_model(self, request: Request[Any, Any, Any], model_id: FromPath[str]) -> ModelRecord:
        return await (await _reader(request)).llm_catalog().get(model_id)

    @post("/", summary="Add a model to the catalog (platform admins)")
    async def create_model(self, request: Request[Any, Any, Any], data: JSONBody[ModelCreate]) -> ModelRecord:
        _, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        models = services(request).llm_catalog()
        return await models.create_model(data, actor_id=principal.id, request_id=ctx.request_id)

    @patch("/{model_id:str}", summary="Change a model of the catalog (platform admins)")
    async def update_model(
        self, request: Request[Any, Any, Any], model_id: FromPath[str], data: JSONBody[ModelUpdate]
    ) -> ModelRecord:
        _, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        models = services(request).llm_catalog()
        return await models.update_model(model_id, data, actor_id=principal.id, request_id=ctx.request_id)

    @delete("/{model_id:str}", summary="Deprecate a model (platform admins)", status_code=204)
    async def deprecate_model(self, request: Request[Any, Any, Any], model_id: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        models = services(request).llm_catalog()
        await models.deprecate_model(model_id, actor_id=principal.id, request_id=ctx.request_id)


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
        found = await (await _reader(request)).credential_types().list(category=category, offset=offset, limit=limit)
        return _page(found, offset, limit)

    @get("/{slug:str}", summary="One credential type")
    async def get_credential_type(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> CredentialTypeRecord:
        return await (await _reader(request)).credential_types().get(slug)


class PluginCategoriesController(Controller):
    path = "/api/plugin-categories"
    tags = ["catalog"]

    @get("/", summary="The marketplace's categories, in display order")
    async def list_plugin_categories(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[PluginCategoryRecord]:
        found = await (await _reader(request)).plugin_categories().page(offset=offset, limit=limit)
        return _page(found, offset, limit)

    @get("/{slug:str}", summary="One plugin category")
    async def get_plugin_category(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> PluginCategoryRecord:
        return await (await _reader(request)).plugin_categories().get(slug)
