"""Composio: the cached catalogue, the sync job, a workspace's connections and trigger subscriptions,
the OAuth callback and the trigger webhook. Thin: the rules are :mod:`automatos.tools.composio`'s.

- ``GET /api/composio/apps?q=`` and ``/apps/{slug}/actions?q=``, ``/triggers?app=&q=`` (any signed-in
  caller): pages of the cache — no call to Composio, with or without ``COMPOSIO_API_KEY``; 404
  naming ``slug`` for an app the cache does not have.
- ``POST /api/composio/sync`` (platform admins): 202 with the run; 409 while one runs, and without
  Composio. ``GET /api/composio/sync/{id}``: its progress (``stage``, ``done`` of ``total``).
- ``/api/tools/connections`` (the request's workspace; ``extensions.read`` to read,
  ``extensions.manage`` to change): list, ``POST {"app"}`` → the connection and the ``redirect_url``
  the user opens (201), ``GET /{id}``, ``POST /{id}/refresh``, ``DELETE /{id}`` (revoke). Tokens are
  never answered. A Composio failure is 502, Composio not configured 409.
- ``/api/tools/triggers`` (same permissions): list, ``POST {"connection_id", "trigger", "config"}``
  (201), ``DELETE /{id}``.
- ``GET /api/composio/callback?connection=`` (no credentials: where Composio sends the user back):
  refreshes that connection's status from Composio and answers ``{id, status}`` only.
- ``POST /api/composio/webhook`` (no credentials: the signature is checked): the event routed by the
  router's trigger tier; 401 for a bad signature.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from automatos.api.dependencies import request_context, require_platform_admin, scoped, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.permissions import Permission
from automatos.tools.composio.catalogue import ActionRecord, AppRecord, SyncRunRecord, TriggerRecord
from automatos.tools.composio.connections import ConnectionRecord, Initiated
from automatos.tools.composio.triggers import SubscriptionRecord, WebhookOutcome

__all__ = [
    "ComposioCallbackController",
    "ComposioCatalogueController",
    "ConnectionsController",
    "TriggerSubscriptionsController",
]

WEBHOOK_BODY_BYTES = 1_048_576

Q = Annotated[str | None, QueryParameter(max_length=200, description="Part of the slug or name (case-insensitive).")]


class ConnectRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    app: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    """The toolkit to connect (a slug of ``GET /api/composio/apps``)."""


class SubscribeRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    connection_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    trigger: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    """A trigger slug of ``GET /api/composio/triggers``, of the connection's app."""
    config: dict[str, Any] = msgspec.field(default_factory=dict)


class CallbackOutcome(msgspec.Struct, kw_only=True):
    id: str
    status: str


async def _signed_in(request: Request[Any, Any, Any]) -> None:
    _, ctx = await request_context(request)
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")


class ComposioCatalogueController(Controller):
    path = "/api/composio"
    tags = ["composio"]

    @get("/apps", summary="Composio apps (toolkits) of the cached catalogue")
    async def apps(
        self, request: Request[Any, Any, Any], q: Q = None, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[AppRecord]:
        await _signed_in(request)
        return await services(request).composio_catalogue().apps(q=q, offset=offset, limit=limit)

    @get("/apps/{slug:str}/actions", summary="An app's actions, from the cached catalogue")
    async def actions(
        self,
        request: Request[Any, Any, Any],
        slug: FromPath[str],
        q: Q = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ActionRecord]:
        await _signed_in(request)
        return await services(request).composio_catalogue().actions(slug, q=q, offset=offset, limit=limit)

    @get("/triggers", summary="Composio triggers of the cached catalogue")
    async def triggers(
        self,
        request: Request[Any, Any, Any],
        app: Annotated[str | None, QueryParameter(max_length=100, description="Only this app's.")] = None,
        q: Q = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[TriggerRecord]:
        await _signed_in(request)
        return await services(request).composio_catalogue().triggers(app=app, q=q, offset=offset, limit=limit)

    @post("/sync", status_code=202, summary="Synchronise the catalogue from Composio (platform admins)")
    async def sync(self, request: Request[Any, Any, Any]) -> SyncRunRecord:
        _, ctx = await request_context(request)
        principal = require_platform_admin(ctx)
        return await services(request).composio_catalogue().start_sync(principal.id)

    @get("/sync/{run_id:str}", summary="A sync run's progress (platform admins)")
    async def sync_run(self, request: Request[Any, Any, Any], run_id: FromPath[str]) -> SyncRunRecord:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await services(request).composio_catalogue().get_run(run_id)


class ComposioCallbackController(Controller):
    """Composio's calls back: no credentials (what they carry is checked, or only triggers a re-read)."""

    path = "/api/composio"
    tags = ["composio"]

    @get("/callback", summary="Where Composio sends the user after the OAuth flow: the status, re-read")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        connection: Annotated[str, QueryParameter(min_length=1, max_length=36)],
    ) -> CallbackOutcome:
        record = await services(request).composio_connections().callback(connection)
        return CallbackOutcome(id=record.id, status=record.status)

    @post(
        "/webhook",
        status_code=200,
        request_max_body_size=WEBHOOK_BODY_BYTES,
        summary="Composio's trigger events (signed), routed by the router's trigger tier",
    )
    async def webhook(self, request: Request[Any, Any, Any]) -> WebhookOutcome:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        return await services(request).composio_triggers().webhook(body, headers)


class ConnectionsController(Controller):
    path = "/api/tools/connections"
    tags = ["composio"]

    @get("/", summary="The workspace's Composio connections (tokens never answered)")
    async def list_connections(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[ConnectionRecord]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.EXTENSIONS_READ).workspace
        return await services(request).composio_connections().list(workspace.id, offset=offset, limit=limit)

    @post("/", status_code=201, summary="Connect an app: the connection and the URL the user authorises it at")
    async def initiate(self, request: Request[Any, Any, Any], data: JSONBody[ConnectRequest]) -> Initiated:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        return (
            await services(request)
            .composio_connections()
            .initiate(got.workspace.id, data.app, actor_id=got.principal.id, request_id=got.request_id)
        )

    @get("/{connection_id:str}", summary="One connection of the workspace")
    async def get_connection(self, request: Request[Any, Any, Any], connection_id: FromPath[str]) -> ConnectionRecord:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.EXTENSIONS_READ).workspace
        return await services(request).composio_connections().get(workspace.id, connection_id)

    @post("/{connection_id:str}/refresh", status_code=200, summary="Read the connection's status from Composio")
    async def refresh(self, request: Request[Any, Any, Any], connection_id: FromPath[str]) -> ConnectionRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        return (
            await services(request)
            .composio_connections()
            .refresh(got.workspace.id, connection_id, actor_id=got.principal.id, request_id=got.request_id)
        )

    @delete("/{connection_id:str}", status_code=200, summary="Revoke: deleted at Composio, its tools gone")
    async def revoke(self, request: Request[Any, Any, Any], connection_id: FromPath[str]) -> ConnectionRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        return (
            await services(request)
            .composio_connections()
            .revoke(got.workspace.id, connection_id, actor_id=got.principal.id, request_id=got.request_id)
        )


class TriggerSubscriptionsController(Controller):
    path = "/api/tools/triggers"
    tags = ["composio"]

    @get("/", summary="The workspace's Composio trigger subscriptions")
    async def list_subscriptions(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[SubscriptionRecord]:
        _, ctx = await request_context(request)
        workspace = scoped(ctx, Permission.EXTENSIONS_READ).workspace
        return await services(request).composio_triggers().list(workspace.id, offset=offset, limit=limit)

    @post("/", status_code=201, summary="Subscribe to a trigger on one of the workspace's active connections")
    async def subscribe(self, request: Request[Any, Any, Any], data: JSONBody[SubscribeRequest]) -> SubscriptionRecord:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        return (
            await services(request)
            .composio_triggers()
            .subscribe(
                got.workspace.id,
                data.connection_id,
                data.trigger,
                data.config,
                actor_id=got.principal.id,
                request_id=got.request_id,
            )
        )

    @delete("/{subscription_id:str}", status_code=204, summary="Delete a subscription (at Composio too)")
    async def unsubscribe(self, request: Request[Any, Any, Any], subscription_id: FromPath[str]) -> None:
        _, ctx = await request_context(request)
        got = scoped(ctx, Permission.EXTENSIONS_MANAGE)
        await (
            services(request)
            .composio_triggers()
            .unsubscribe(got.workspace.id, subscription_id, actor_id=got.principal.id, request_id=got.request_id)
        )
