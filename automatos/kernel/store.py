"""The kernel's own queries: active workspaces by id or slug, extension state, settings rows, the
bus journal, audit.

Workspace and membership *writes* are not here: the workspaces package's service owns them
(:mod:`automatos.kernel.workspace_owner`); the kernel only reads the workspace a request or an
event names.

Every query on tenant data filters by ``workspace_id``. Writes that other nodes must notice bump a
version in the same transaction as the change (``workspaces.extensions_version``), so a node can
always tell whether its cached view is current.

Extension configuration is encrypted at rest (:mod:`automatos.kernel.secrets`): encrypted when a
row is written, decrypted when the rows are loaded to build a workspace's view (never per
request). A row no key can open is logged and its configuration treated as empty, so one bad row
(or a wrong ``AUTOMATOS_SECRET_KEY``) costs that extension its configuration, not every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automatos.kernel.db import models as m
from automatos.kernel.errors import NotFoundError, echo
from automatos.kernel.secrets import SecretBox, SecretKeyError
from automatos.kernel.types import Workspace
from automatos.kernel.view_versions import bump
from automatos.kernel.views import ExtensionRow

__all__ = ["KernelStore", "as_workspace", "lock_workspace"]

log = logging.getLogger("automatos.store")


def as_workspace(row: m.Workspace) -> Workspace:
    """The kernel's view of a workspace row."""
    return Workspace(
        id=row.id, slug=row.slug, name=row.name, status=row.status, extensions_version=row.extensions_version
    )


async def lock_workspace(session: AsyncSession, workspace_id: str) -> None:
    """Serialize read-then-write changes of one workspace for the rest of this transaction.

    For rules that count before they write (the workspaces package's last owner, the API-key
    extension's cap on keys): here, in the kernel, so an extension can take it too. Must run first in
    the transaction: on SQLite ``BEGIN IMMEDIATE`` opens it with the database's write lock (the
    driver has not begun one yet: it only does so before a write), so nothing read afterwards can
    be changed by another writer before this one commits. Elsewhere the workspace row is locked
    ``FOR UPDATE``, and reads at READ COMMITTED after the lock see what the previous holder committed.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await connection.execute(select(m.Workspace.id).where(m.Workspace.id == workspace_id).with_for_update())


class AuditRow(NamedTuple):
    """One audit entry to write later, in a transaction of the caller's (``KernelStore._audit(session,
    *row)``): a recipe step's tool call is audited in the transaction that checkpoints it."""

    workspace_id: str | None
    actor_id: str | None
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    request_id: str | None = None


class KernelStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, secret_box: SecretBox) -> None:
        self.sessionmaker = sessionmaker
        self.secret_box = secret_box

    # -- workspaces ------------------------------------------------------------------------------

    async def get_workspace(self, id_or_slug: str) -> Workspace | None:
        """An active workspace by id or slug; archived ones are not found."""
        async with self.sessionmaker() as session:
            row = await session.scalar(
                select(m.Workspace).where(
                    or_(m.Workspace.id == id_or_slug, m.Workspace.slug == id_or_slug),
                    m.Workspace.status == "active",
                )
            )
            return as_workspace(row) if row is not None else None

    # -- extension state -------------------------------------------------------------------------

    async def extension_state(self, workspace_id: str) -> tuple[int, Mapping[str, ExtensionRow]]:
        async with self.sessionmaker() as session:
            version = await session.scalar(select(m.Workspace.extensions_version).where(m.Workspace.id == workspace_id))
            if version is None:
                raise NotFoundError(f"workspace {echo(workspace_id)} does not exist", field="workspace_id")
            rows = (
                await session.scalars(
                    select(m.WorkspaceExtension).where(m.WorkspaceExtension.workspace_id == workspace_id)
                )
            ).all()
        return version, {
            r.name: ExtensionRow(enabled=r.enabled, config=self._open_config(workspace_id, r.name, r.config))
            for r in rows
        }

    def _open_config(self, workspace_id: str, name: str, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """The row's configuration in clear; empty (and an error logged) when no key can open it."""
        try:
            return self.secret_box.decrypt_config(stored or {})
        except SecretKeyError as exc:
            log.error(
                "workspace %s: the configuration of extension %s is treated as empty: %s", workspace_id, name, exc
            )
            return {}

    async def extension_versions(self, workspace_ids: list[str]) -> Mapping[str, int]:
        async with self.sessionmaker() as session:
            result = await session.execute(
                select(m.Workspace.id, m.Workspace.extensions_version).where(m.Workspace.id.in_(workspace_ids))
            )
            return {ws: version for ws, version in result.all()}

    async def set_extension(
        self,
        workspace_id: str,
        name: str,
        *,
        enabled: bool,
        config: dict[str, Any] | None,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> int:
        """Write the row (``config`` encrypted; ``None`` keeps the current one), bump the workspace's
        version, audit; returns the new version.

        A kept configuration is re-encrypted under the current key as well (a legacy plaintext one
        is encrypted, one under a retired key rotated); one no key can open is left as it is.
        """
        stored = self.secret_box.encrypt_config(config) if config is not None else None
        async with self.sessionmaker.begin() as session:
            row = await session.get(m.WorkspaceExtension, (workspace_id, name))
            if row is None:
                row = m.WorkspaceExtension(workspace_id=workspace_id, name=name, enabled=enabled, config=stored or {})
                session.add(row)
            else:
                row.enabled = enabled
                if stored is not None:
                    row.config = stored
                elif row.config:
                    try:
                        row.config = self.secret_box.reencrypt_config(row.config)
                    except SecretKeyError as exc:
                        log.error(
                            "workspace %s: extension %s: configuration kept as stored: %s", workspace_id, name, exc
                        )
            row.updated_by = actor_id
            version = await bump(session, workspace_id)
            action = "extension.enabled" if enabled else "extension.disabled"
            data = {"version": version, "config_changed": config is not None}
            self._audit(session, workspace_id, actor_id, action, "extension", name, data, request_id)
            return int(version)

    # -- settings --------------------------------------------------------------------------------

    async def setting_rows(self) -> tuple[dict[str, str], tuple[int, datetime | None]]:
        async with self.sessionmaker() as session:
            rows = (await session.scalars(select(m.SystemSetting))).all()
            values = {r.key: str(r.value) for r in rows}
            newest = max((r.updated_at for r in rows), default=None)
            return values, (len(rows), newest)

    async def settings_stamp(self) -> tuple[int, datetime | None]:
        """Changes when a row is added, removed or updated: (row count, newest ``updated_at``)."""
        async with self.sessionmaker() as session:
            count, newest = (
                await session.execute(
                    select(func.count(), func.max(m.SystemSetting.updated_at)).select_from(m.SystemSetting)
                )
            ).one()
            return int(count), newest

    async def set_setting(self, key: str, raw: str | None, *, actor_id: str | None) -> None:
        async with self.sessionmaker.begin() as session:
            row = await session.get(m.SystemSetting, key)
            if raw is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(m.SystemSetting(key=key, value=raw, updated_by=actor_id))
            else:
                row.value = raw
                row.updated_by = actor_id
            self._audit(session, None, actor_id, "setting.changed", "setting", key, {"cleared": raw is None})

    # -- the bus journal -------------------------------------------------------------------------

    async def append_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        async with self.sessionmaker.begin() as session:
            session.add(m.KernelEvent(id=event_id, kind=kind, payload=payload))

    async def events_since(self, since: datetime) -> list[tuple[str, dict[str, Any], datetime]]:
        async with self.sessionmaker() as session:
            rows = await session.scalars(
                select(m.KernelEvent).where(m.KernelEvent.created_at >= since).order_by(m.KernelEvent.created_at)
            )
            return [(r.id, dict(r.payload), r.created_at) for r in rows]

    async def prune_events(self, before: datetime) -> int:
        async with self.sessionmaker.begin() as session:
            result = await session.execute(delete(m.KernelEvent).where(m.KernelEvent.created_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- audit -----------------------------------------------------------------------------------

    async def audit(
        self,
        workspace_id: str | None,
        actor_id: str | None,
        action: str,
        target_type: str,
        target_id: str,
        data: dict[str, Any],
        *,
        request_id: str | None = None,
    ) -> None:
        """Write one audit entry in a transaction of its own."""
        async with self.sessionmaker.begin() as session:
            self._audit(session, workspace_id, actor_id, action, target_type, target_id, data, request_id)

    @staticmethod
    def _audit(
        session: AsyncSession,
        workspace_id: str | None,
        actor_id: str | None,
        action: str,
        target_type: str,
        target_id: str,
        data: dict[str, Any],
        request_id: str | None = None,
    ) -> None:
        session.add(
            m.AuditLogEntry(
                workspace_id=workspace_id,
                actor_id=actor_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                data=data,
                request_id=request_id,
            )
        )
