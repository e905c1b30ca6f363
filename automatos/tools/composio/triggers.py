"""Composio triggers: a workspace's subscriptions, and the webhook whose events the router routes.

- :meth:`ComposioTriggers.subscribe` (``POST /api/tools/triggers``): a trigger of the cached
  catalogue, on one of the workspace's **active** connections of the trigger's app, created at
  Composio (a trigger instance pinned to that connected account) → a row of
  ``composio_trigger_subscriptions`` with Composio's trigger id. :meth:`unsubscribe` deletes it
  at Composio (already gone there is fine) and here. Tenant data: every query names the workspace.
- :meth:`ComposioTriggers.webhook` (``POST /api/composio/webhook``, no credentials: the signature is
  the credential): verified with the SDK's ``triggers.verify_webhook`` against
  ``COMPOSIO_WEBHOOK_SECRET`` (HMAC-SHA256 of ``<webhook-id>.<webhook-timestamp>.<body>``, at most
  5 minutes old) — a bad or missing signature is 401, no secret configured 409. The event's
  subscription is found **by Composio's trigger id**, never by anything else the payload says; its
  workspace, app and trigger are the row's. The event is routed by the router's trigger tier:
  ``route(workspace, text, source="trigger:<app>/<trigger>")`` where ``<trigger>`` is the trigger
  slug lower-cased without its toolkit prefix (``GITHUB_COMMIT_EVENT`` → ``github/commit_event``),
  the text the trigger's name and its payload as JSON (cut to what the router reads). An event no
  enabled subscription knows is answered ``routed: false`` (200: Composio need not retry it).

The tools package does not import the router (docs/architecture.md): the composition root hands
:class:`ComposioTriggers` the router's ``route``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select

from automatos.kernel.db.base import new_id
from automatos.kernel.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
    echo,
)
from automatos.kernel.http import Page
from automatos.kernel.store import KernelStore
from automatos.tools.composio.client import ComposioClient, describe_error
from automatos.tools.composio.connections import ComposioFailed
from automatos.tools.composio.models import ComposioTrigger, ComposioTriggerSubscription, EntityConnection

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["ComposioTriggers", "SubscriptionRecord", "WebhookOutcome", "trigger_source"]

log = logging.getLogger("automatos.tools.composio")

StartRecipes = Callable[..., Awaitable[list[str]]]
"""``start_for_trigger(workspace, source, payload) -> run ids``."""
Route = Callable[..., Awaitable[Any]]
"""``RouterService.route``: ``(workspace, text, *, source=…, channel=…, field=…, truncate=…)``."""

TEXT_MAX_CHARS = 8000
"""The event text handed to the router at most (it reads the beginning of longer ones)."""


class SubscriptionRecord(msgspec.Struct, kw_only=True):
    id: str
    connection_id: str
    trigger: str
    trigger_id: str | None
    """Composio's trigger instance id."""
    config: dict[str, Any]
    enabled: bool
    created_by: str | None
    created_at: datetime


class WebhookOutcome(msgspec.Struct, kw_only=True):
    routed: bool
    source: str | None = None
    agent_id: str | None = None
    agent_slug: str | None = None
    route_type: str | None = None
    tier: str | None = None
    reason: str = ""
    runs: list[str] = []
    """The recipe runs the event started (recipes listing it in their ``triggers``)."""


def trigger_source(app: str, trigger: str) -> str:
    """``trigger:<app>/<trigger>`` (see the module docstring)."""
    name = trigger[len(app) + 1 :] if trigger.upper().startswith(app.upper() + "_") else trigger
    return f"trigger:{app.lower()}/{name.lower()}"


def _record(row: ComposioTriggerSubscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=row.id,
        connection_id=row.connection_id,
        trigger=row.trigger_slug,
        trigger_id=row.external_id,
        config=dict(row.config or {}),
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class ComposioTriggers:
    """Subscriptions and the webhook (see the module docstring)."""

    def __init__(
        self,
        kernel: Kernel,
        client: ComposioClient,
        route: Route | None = None,
        start_recipes: StartRecipes | None = None,
    ) -> None:
        self.kernel = kernel
        self.client = client
        self.route = route
        self.start_recipes = start_recipes
        """``RecipeService.start_for_trigger``: the recipes an event starts (this package does not import them)."""

    # --- subscriptions -------------------------------------------------------------------------------

    async def list(self, workspace_id: str, *, offset: int = 0, limit: int = 100) -> Page[SubscriptionRecord]:
        where = ComposioTriggerSubscription.workspace_id == workspace_id
        async with self.kernel.store.sessionmaker() as session:
            total = int(
                await session.scalar(select(func.count()).select_from(ComposioTriggerSubscription).where(where)) or 0
            )
            rows = await session.scalars(
                select(ComposioTriggerSubscription)
                .where(where)
                .order_by(ComposioTriggerSubscription.created_at, ComposioTriggerSubscription.id)
                .offset(offset)
                .limit(limit)
            )
            return Page(items=[_record(r) for r in rows], total=total, offset=offset, limit=limit)

    async def subscribe(
        self,
        workspace_id: str,
        connection_id: str,
        trigger: str,
        config: dict[str, Any],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> SubscriptionRecord:
        sdk = await self.client.sdk()  # 409 without Composio
        async with self.kernel.store.sessionmaker() as session:
            connection = await session.scalar(
                select(EntityConnection).where(
                    EntityConnection.workspace_id == workspace_id, EntityConnection.id == connection_id
                )
            )
            if connection is None:
                raise ValidationError(f"connection {echo(connection_id)} does not exist", field="connection_id")
            if connection.status != "active" or connection.external_id is None:
                raise ValidationError(
                    f"connection {connection_id} is {connection.status}, not active", field="connection_id"
                )
            cached = await session.get(ComposioTrigger, trigger)
        if cached is None:
            raise ValidationError(f"trigger {echo(trigger)} is not in the Composio catalogue", field="trigger")
        if cached.app_slug != connection.app_slug:
            raise ValidationError(
                f"trigger {trigger} is {cached.app_slug}'s; the connection is {connection.app_slug}'s", field="trigger"
            )
        try:
            created = await self.client.call(
                sdk.triggers.create, trigger, connected_account_id=connection.external_id, trigger_config=config
            )
        except Exception as exc:
            raise ComposioFailed(
                f"subscribing to {trigger} failed: {describe_error(exc)[1]}", field="trigger"
            ) from None
        async with self.kernel.store.sessionmaker.begin() as session:
            row = ComposioTriggerSubscription(
                id=new_id(),
                workspace_id=workspace_id,
                connection_id=connection_id,
                trigger_slug=trigger,
                external_id=str(created.trigger_id),
                config=config,
                enabled=True,
                created_by=actor_id,
            )
            session.add(row)
            data = {"trigger": trigger, "connection_id": connection_id}
            KernelStore._audit(
                session,
                workspace_id,
                actor_id,
                "composio.trigger.subscribed",
                "composio_trigger",
                row.id,
                data,
                request_id,
            )
            await session.flush()
            return _record(row)

    async def unsubscribe(
        self, workspace_id: str, subscription_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        async with self.kernel.store.sessionmaker() as session:
            row = await self._row(session, workspace_id, subscription_id)
            external_id, trigger = row.external_id, row.trigger_slug
        if external_id is not None:
            sdk = await self.client.sdk()
            from composio_client import NotFoundError as ComposioNotFound

            try:
                await self.client.call(sdk.triggers.delete, external_id)
            except ComposioNotFound:
                pass
            except Exception as exc:
                raise ComposioFailed(
                    f"deleting the subscription at Composio failed: {describe_error(exc)[1]}"
                ) from None
        async with self.kernel.store.sessionmaker.begin() as session:
            row = await self._row(session, workspace_id, subscription_id)
            await session.delete(row)
            KernelStore._audit(
                session,
                workspace_id,
                actor_id,
                "composio.trigger.unsubscribed",
                "composio_trigger",
                subscription_id,
                {"trigger": trigger},
                request_id,
            )

    async def _row(self, session: Any, workspace_id: str, subscription_id: str) -> ComposioTriggerSubscription:
        row = await session.scalar(
            select(ComposioTriggerSubscription).where(
                ComposioTriggerSubscription.workspace_id == workspace_id,
                ComposioTriggerSubscription.id == subscription_id,
            )
        )
        if row is None:
            raise NotFoundError(f"subscription {echo(subscription_id)} does not exist", field="id")
        return row

    # --- the webhook ---------------------------------------------------------------------------------

    async def webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        secret = self.client.settings.composio_webhook_secret
        if not secret:
            raise ConflictError(  # the platform's configuration, not an outage (409, not 503)
                "Composio webhooks are not configured (COMPOSIO_WEBHOOK_SECRET is not set)",
                extra={"reason": "composio_webhook_not_configured"},
            )
        sdk = await self.client.sdk()
        from composio.exceptions import WebhookPayloadError, WebhookSignatureVerificationError

        try:
            verified = await self.client.call(
                sdk.triggers.verify_webhook,
                id=headers.get("webhook-id", ""),
                payload=body.decode("utf-8"),
                secret=secret.reveal(),
                signature=headers.get("webhook-signature", ""),
                timestamp=headers.get("webhook-timestamp", ""),
            )
        except (WebhookSignatureVerificationError, UnicodeDecodeError):
            raise AuthenticationError("the webhook's signature is not valid") from None
        except WebhookPayloadError:
            if not headers.get("webhook-timestamp", "").isdigit():  # refused before the signature was checked
                raise AuthenticationError("the webhook's signature is not valid") from None
            raise ValidationError("the webhook's payload is not a Composio event", field="body") from None
        except Exception as exc:  # e.g. a stale or malformed timestamp
            log.info("a Composio webhook was refused: %s", type(exc).__name__)
            raise AuthenticationError("the webhook's signature is not valid") from None
        event = verified["payload"]
        trigger_id = str(event.get("id") or "")
        async with self.kernel.store.sessionmaker() as session:
            found = (
                await session.execute(
                    select(ComposioTriggerSubscription, EntityConnection.app_slug)
                    .join(EntityConnection, EntityConnection.id == ComposioTriggerSubscription.connection_id)
                    .where(
                        ComposioTriggerSubscription.external_id == trigger_id,
                        ComposioTriggerSubscription.enabled.is_(True),
                        EntityConnection.workspace_id == ComposioTriggerSubscription.workspace_id,
                    )
                )
            ).first()
        if not trigger_id or found is None:
            return WebhookOutcome(routed=False, reason="no enabled subscription has this trigger id")
        subscription, app = found
        source = trigger_source(app, subscription.trigger_slug)
        workspace = await self.kernel.directory.workspace(subscription.workspace_id)
        if workspace is None or self.route is None:
            return WebhookOutcome(routed=False, source=source, reason="the workspace is not active")
        payload = json.dumps(event.get("payload") or {}, sort_keys=True, default=str)
        text = f"Composio trigger {source[len('trigger:') :]}: {payload}"[:TEXT_MAX_CHARS]
        result = await self.route(workspace, text, source=source, channel="composio", field="payload", truncate=True)
        runs: list[str] = []
        if self.start_recipes is not None:
            raw = event.get("payload")
            runs = await self.start_recipes(workspace, source, raw if isinstance(raw, dict) else {})
        return WebhookOutcome(
            runs=runs,
            routed=True,
            source=source,
            agent_id=result.agent_id,
            agent_slug=result.agent_slug,
            route_type=result.route_type,
            tier=result.tier,
            reason=result.reason,
        )
