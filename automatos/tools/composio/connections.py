"""A workspace's Composio connections (``entity_connections``): Composio's OAuth flow, tokens at rest.

Tenant data: every query names the workspace, whose id is also the Composio *user id* its
accounts are created for. The one writer of these rows; each write — in one transaction —
takes :func:`~automatos.kernel.store.lock_workspace`, bumps the workspace's view version (the
Composio tools of a workspace are its *active* connections' apps, :mod:`.provider`), audits, and
after the commit publishes the version, so the tools appear and disappear on every node.

- :meth:`ComposioConnections.initiate` (``POST /api/tools/connections {"app"}``): the app's auth
  config (the project's own, else a Composio-managed one is created), a Composio Connect link for
  this workspace → the row (``initiated``) and the ``redirect_url`` the user opens. 409 while the
  workspace has an active connection of that app.
- :meth:`refresh` (``POST …/{id}/refresh``) and :meth:`callback` (``GET /api/composio/callback``, where
  Composio sends the user back): the status **as Composio states it** (``ACTIVE`` → ``active``…),
  never as the caller says. Tokens the API returns are stored encrypted with the kernel's
  :class:`~automatos.kernel.secrets.SecretBox` (``tokens``) and never answered: a record says only
  ``has_tokens``. Composio itself refreshes OAuth tokens; a refresh re-reads them.
- :meth:`revoke` (``DELETE …/{id}``): deleted at Composio (already gone there is fine), the row
  ``revoked`` with its tokens dropped, its trigger subscriptions disabled, its tools gone.
- A Composio failure is a 502 problem (:class:`ComposioFailed`) naming what failed, never a 500.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select, update

from automatos.kernel.db.base import new_id, utcnow
from automatos.kernel.errors import AutomatosError, ConflictError, NotFoundError, ValidationError, echo
from automatos.kernel.http import Page
from automatos.kernel.store import KernelStore, lock_workspace
from automatos.kernel.view_versions import bump, publish_versions
from automatos.tools.composio.client import ComposioClient, describe_error
from automatos.tools.composio.models import ComposioApp, ComposioTriggerSubscription, EntityConnection

if TYPE_CHECKING:
    from composio import Composio
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel

__all__ = ["ComposioConnections", "ComposioFailed", "ConnectionRecord", "Initiated", "composio_status"]

STATUSES = {
    "ACTIVE": "active",
    "INITIATED": "initiated",
    "INITIALIZING": "initiated",
    "EXPIRED": "expired",
    "FAILED": "failed",
    "INACTIVE": "failed",
    "REVOKED": "revoked",
}
"""Composio's connected-account statuses → ours."""

TOKEN_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "oauth_token",
    "oauth_token_secret",
    "api_key",
    "generic_api_key",
    "bearer_token",
    "token",
    "password",
)
"""The credentials of a connection's state that are kept (encrypted); the rest is not stored."""


class ComposioFailed(AutomatosError):
    """Composio could not do what was asked (unreachable, or it answered an error): 502."""

    status_code = 502
    title = "Composio failed"
    type_slug = "composio-failed"


class ConnectionRecord(msgspec.Struct, kw_only=True):
    id: str
    app: str
    status: str
    """``initiated``, ``active``, ``expired``, ``failed`` or ``revoked``."""
    status_reason: str | None
    account_id: str | None
    """Composio's connected account id."""
    has_tokens: bool
    """Whether tokens are stored (encrypted); they are never answered."""
    expires_at: datetime | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None


class Initiated(msgspec.Struct, kw_only=True):
    connection: ConnectionRecord
    redirect_url: str | None
    """Where the user authorises the app (Composio's Connect link)."""


def composio_status(value: object) -> str:
    return STATUSES.get(str(value).upper(), "failed")


def _record(row: EntityConnection) -> ConnectionRecord:
    return ConnectionRecord(
        id=row.id,
        app=row.app_slug,
        status=row.status,
        status_reason=row.status_reason,
        account_id=row.external_id,
        has_tokens=bool(row.tokens),
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revoked_at=row.revoked_at,
    )


def _auth_config_id(sdk: Composio, app: str) -> str:
    """The project's enabled auth config of ``app``, else a new Composio-managed one (in a thread)."""
    found = sdk.auth_configs.list(toolkit_slug=app)
    for item in found.items:
        if getattr(item, "status", "ENABLED") == "ENABLED":
            return str(item.id)
    created = sdk.auth_configs.create(toolkit=app, options={"type": "use_composio_managed_auth"})
    return str(created.id)


class ComposioConnections:
    """The workspace's connections (see the module docstring)."""

    def __init__(self, kernel: Kernel, client: ComposioClient) -> None:
        self.kernel = kernel
        self.client = client

    # --- reads ---------------------------------------------------------------------------------------

    async def list(self, workspace_id: str, *, offset: int = 0, limit: int = 100) -> Page[ConnectionRecord]:
        where = EntityConnection.workspace_id == workspace_id
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(EntityConnection).where(where)) or 0)
            rows = await session.scalars(
                select(EntityConnection)
                .where(where)
                .order_by(EntityConnection.created_at, EntityConnection.id)
                .offset(offset)
                .limit(limit)
            )
            return Page(items=[_record(r) for r in rows], total=total, offset=offset, limit=limit)

    async def get(self, workspace_id: str, connection_id: str) -> ConnectionRecord:
        async with self.kernel.store.sessionmaker() as session:
            return _record(await self._row(session, workspace_id, connection_id))

    async def _row(self, session: AsyncSession, workspace_id: str, connection_id: str) -> EntityConnection:
        row = await session.scalar(
            select(EntityConnection).where(
                EntityConnection.workspace_id == workspace_id, EntityConnection.id == connection_id
            )
        )
        if row is None:  # another workspace's connection does not exist here
            raise NotFoundError(f"connection {echo(connection_id)} does not exist", field="id")
        return row

    # --- the OAuth flow ------------------------------------------------------------------------------

    async def initiate(
        self, workspace_id: str, app: str, *, actor_id: str | None, request_id: str | None = None
    ) -> Initiated:
        sdk = await self.client.sdk()  # 503 without Composio
        async with self.kernel.store.sessionmaker() as session:
            if await session.get(ComposioApp, app) is None:
                raise ValidationError(f"app {echo(app)} is not in the Composio catalogue (sync it first)", field="app")
            active = await session.scalar(
                select(EntityConnection.id).where(
                    EntityConnection.workspace_id == workspace_id,
                    EntityConnection.app_slug == app,
                    EntityConnection.status == "active",
                )
            )
        if active is not None:
            raise ConflictError(
                f"this workspace is already connected to {app} ({active}); revoke it first", field="app"
            )
        connection_id = new_id()
        callback = self.client.settings.composio_callback_url
        try:
            config_id = await self.client.call(_auth_config_id, sdk, app)
            request = await self.client.call(
                sdk.connected_accounts.link,
                workspace_id,
                config_id,
                callback_url=f"{callback}?connection={connection_id}" if callback else None,
                allow_multiple=True,
            )
        except Exception as exc:
            raise ComposioFailed(f"connecting {app} failed: {describe_error(exc)[1]}", field="app") from None
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = EntityConnection(
                id=connection_id,
                workspace_id=workspace_id,
                app_slug=app,
                external_id=str(request.id),
                status="initiated",
                created_by=actor_id,
            )
            session.add(row)
            version = await bump(session, workspace_id)
            self._audit(
                session, workspace_id, actor_id, "composio.connection.initiated", row.id, {"app": app}, request_id
            )
            await session.flush()
            record = _record(row)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return Initiated(connection=record, redirect_url=getattr(request, "redirect_url", None))

    async def callback(self, connection_id: str) -> ConnectionRecord:
        """Composio sent the user back: the status as Composio states it (the id is ours, unguessable;
        nothing of the request is believed)."""
        async with self.kernel.store.sessionmaker() as session:
            workspace_id = await session.scalar(
                select(EntityConnection.workspace_id).where(EntityConnection.id == connection_id)
            )
        if workspace_id is None:
            raise NotFoundError(f"connection {echo(connection_id)} does not exist", field="connection")
        return await self.refresh(workspace_id, connection_id, actor_id=None)

    async def refresh(
        self, workspace_id: str, connection_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> ConnectionRecord:
        """Read the connection's status and tokens from Composio again."""
        current = await self.get(workspace_id, connection_id)
        if current.status == "revoked" or current.account_id is None:
            return current
        sdk = await self.client.sdk()
        from composio_client import NotFoundError as ComposioNotFound

        values: dict[str, Any]
        try:
            account = await self.client.call(sdk.connected_accounts.get, current.account_id)
        except ComposioNotFound:
            values = {"status": "failed", "status_reason": "Composio no longer has this account", "tokens": None}
        except Exception as exc:
            raise ComposioFailed(f"reading the connection from Composio failed: {describe_error(exc)[1]}") from None
        else:
            values = self._from_account(account)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._row(session, workspace_id, connection_id)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            version = await bump(session, workspace_id)
            data = {"app": row.app_slug, "status": row.status}
            self._audit(session, workspace_id, actor_id, "composio.connection.refreshed", row.id, data, request_id)
            await session.flush()
            record = _record(row)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return record

    def _from_account(self, account: Any) -> dict[str, Any]:
        dumped = account.model_dump() if hasattr(account, "model_dump") else {}
        state = dumped.get("state") or {}
        val = state.get("val") if isinstance(state, dict) else None
        val = val if isinstance(val, dict) else {}
        tokens = {key: val[key] for key in TOKEN_KEYS if isinstance(val.get(key), str) and val[key]}
        values: dict[str, Any] = {
            "status": composio_status(getattr(account, "status", "")),
            "status_reason": (str(getattr(account, "status_reason", "") or "")[:1000] or None),
        }
        if tokens:
            values["tokens"] = self.kernel.secret_box.encrypt(json.dumps(tokens).encode())
        expires_in = val.get("expires_in")
        if isinstance(expires_in, int | float | str) and str(expires_in).replace(".", "", 1).isdigit():
            values["expires_at"] = utcnow() + timedelta(seconds=float(expires_in))
        return values

    def tokens(self, stored: str | None) -> dict[str, str]:
        """The tokens a row stores (for the process' own use; never answered)."""
        if not stored:
            return {}
        return dict(json.loads(self.kernel.secret_box.decrypt(stored)))

    async def revoke(
        self, workspace_id: str, connection_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> ConnectionRecord:
        current = await self.get(workspace_id, connection_id)
        if current.status == "revoked":
            return current
        if current.account_id is not None:
            sdk = await self.client.sdk()
            from composio_client import NotFoundError as ComposioNotFound

            try:
                await self.client.call(sdk.connected_accounts.delete, current.account_id)
            except ComposioNotFound:
                pass  # already gone at Composio
            except Exception as exc:
                raise ComposioFailed(f"revoking the connection at Composio failed: {describe_error(exc)[1]}") from None
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._row(session, workspace_id, connection_id)
            now = utcnow()
            row.status, row.status_reason, row.tokens = "revoked", "revoked in Automatos", None
            row.revoked_at = row.updated_at = now
            await session.execute(
                update(ComposioTriggerSubscription)
                .where(
                    ComposioTriggerSubscription.workspace_id == workspace_id,
                    ComposioTriggerSubscription.connection_id == connection_id,
                )
                .values(enabled=False)
            )
            version = await bump(session, workspace_id)
            data = {"app": row.app_slug}
            self._audit(session, workspace_id, actor_id, "composio.connection.revoked", row.id, data, request_id)
            await session.flush()
            record = _record(row)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return record

    @staticmethod
    def _audit(
        session: AsyncSession,
        workspace_id: str,
        actor_id: str | None,
        action: str,
        target: str,
        data: dict[str, Any],
        request_id: str | None,
    ) -> None:
        KernelStore._audit(session, workspace_id, actor_id, action, "entity_connection", target, data, request_id)
