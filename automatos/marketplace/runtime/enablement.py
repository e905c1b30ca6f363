"""The one writer of ``workspace_plugins`` and ``agent_plugins``: enable, disable, upgrade,
configure, quarantine, restore, and agents' ordered plugins.

Every write runs in one transaction that takes the workspace's lock first
(:func:`~automatos.kernel.store.lock_workspace`), writes, bumps ``workspaces.extensions_version``
and adds its audit entry (``plugin.enabled``, ``plugin.disabled``, ``plugin.upgraded``,
``plugin.configured``, ``plugin.quarantined``, ``plugin.restored``, ``agent.plugins_set``); after
the commit :func:`publish_versions` rebuilds this node's view at once and publishes
``extensions`` on the kernel bus, so every node's view follows within a second — exactly like
:meth:`Kernel.set_extension <automatos.kernel.core.Kernel.set_extension>`.

Rules (answers name the field):

- only an approved version of an active plugin whose stored sha256 is the approved one (404/409
  naming ``slug`` or ``version``); the newest approved by default; 409 naming ``slug`` when already
  enabled;
- ``config`` keys must be environment names the version's manifest declares (422 naming
  ``config.<KEY>``), values strings of at most 4 KB; stored encrypted and never answered;
- before the row is written the version's declarations must exist (``register`` runs in the
  sandbox when none are cached; a sandbox that cannot run answers 503 and nothing is written). A
  failed ``register`` still enables the plugin, ``quarantined`` in this workspace with the reason;
- an upgrade loads the new version's declarations first and refuses (409 naming ``version``) when
  its ``register`` fails, so the old version keeps running;
- a quarantined plugin comes back with :meth:`Enablement.restore` (its declarations ensured again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError, echo
from automatos.kernel.store import KernelStore, lock_workspace
from automatos.kernel.view_versions import bump, publish_versions
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.runtime.declarations import Declarations, VersionRef
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["MAX_CONFIG_VALUE_BYTES", "Enablement", "bump_plugin_workspaces", "publish_versions"]

MAX_CONFIG_VALUE_BYTES = 4096

Changed = Callable[[str, str], Awaitable[None]]
"""``changed(workspace_id, plugin_id)``: what the runtime drops after a write (failure counters)."""


async def bump_plugin_workspaces(
    session: AsyncSession, *, plugin_id: str | None = None, version_id: str | None = None
) -> list[tuple[str, int]]:
    """Bump every workspace that enabled the plugin (or that version of it): ``[(workspace_id, version)]``.

    For the platform's decisions (:mod:`automatos.marketplace.admin`: deactivate, activate, a
    withdrawn approval), in their transaction; publish the result with :func:`publish_versions`.
    """
    query = select(WorkspacePlugin.workspace_id)
    if plugin_id is not None:
        query = query.where(WorkspacePlugin.plugin_id == plugin_id)
    if version_id is not None:
        query = query.where(WorkspacePlugin.version_id == version_id)
    workspaces = sorted(set((await session.scalars(query)).all()))
    return [(ws, await bump(session, ws)) for ws in workspaces]


def check_config(config: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, str]:
    """``config`` if every key is a declared environment name and every value a string ≤ 4 KB (422)."""
    permissions = manifest.get("permissions") or {}
    declared = [str(v) for v in (permissions.get("env") or [])] if isinstance(permissions, Mapping) else []
    for key, value in config.items():
        field = f"config.{key[:100]}"
        if key not in declared:
            names = ", ".join(declared) or "none"
            raise ValidationError(
                f"{field}: the plugin does not declare the environment name {key[:100]!r} (it declares: {names})",
                field=field,
            )
        if not isinstance(value, str):
            raise ValidationError(f"{field}: expected a string", field=field)
        if len(value.encode("utf-8", "surrogatepass")) > MAX_CONFIG_VALUE_BYTES:
            raise ValidationError(f"{field}: longer than {MAX_CONFIG_VALUE_BYTES} bytes", field=field)
    return dict(config)


class Enablement:
    """Writes of the runtime's tables; see the module docstring."""

    def __init__(self, kernel: Kernel, declarations: Declarations, changed: Changed | None = None) -> None:
        self.kernel = kernel
        self.declarations = declarations
        self.changed = changed

    # --- reading what a write decides on ----------------------------------------------------------

    @staticmethod
    async def plugin(session: AsyncSession, slug: str) -> MarketplacePlugin:
        """The platform's active plugin ``slug``: 404 when unknown, 409 when deactivated."""
        plugin = await session.scalar(select(MarketplacePlugin).where(MarketplacePlugin.slug == slug[:100]))
        if plugin is None:
            raise NotFoundError(f"plugin {echo(slug)} does not exist", field="slug")
        if plugin.status != "active":
            raise ConflictError(
                f"plugin {slug!r} is deactivated on this platform: it cannot be enabled",
                field="slug",
                extra={"current_status": plugin.status},
            )
        return plugin

    @staticmethod
    async def approved(session: AsyncSession, plugin: MarketplacePlugin, version: str | None) -> PluginVersion:
        """The approved ``version`` of ``plugin`` (default: the newest approved); 404/409 naming ``version``."""
        query = select(PluginVersion).where(PluginVersion.plugin_id == plugin.id)
        if version is not None:
            row = await session.scalar(query.where(PluginVersion.version == version))
            if row is None:
                raise NotFoundError(f"plugin {plugin.slug!r} has no version {echo(version)}", field="version")
        else:
            row = await session.scalar(
                query.where(PluginVersion.status == "approved")
                .order_by(PluginVersion.approved_at.desc(), PluginVersion.created_at.desc())
                .limit(1)
            )
            if row is None:
                raise ConflictError(f"plugin {plugin.slug!r} has no approved version", field="slug")
        if row.status != "approved":
            raise ConflictError(
                f"{plugin.slug}@{row.version} is {row.status}, not approved: only approved versions are enabled",
                field="version",
                extra={"current_status": row.status},
            )
        if row.approved_sha256 != row.sha256:
            raise ConflictError(
                f"{plugin.slug}@{row.version}: its bundle is not the approved one (sha256 differs)", field="version"
            )
        return row

    @staticmethod
    async def enabled_row(
        session: AsyncSession, workspace_id: str, slug: str
    ) -> tuple[WorkspacePlugin, MarketplacePlugin, PluginVersion]:
        """The workspace's row of plugin ``slug`` with its plugin and version; 404 naming ``slug``."""
        found = (
            await session.execute(
                select(WorkspacePlugin, MarketplacePlugin, PluginVersion)
                .join(MarketplacePlugin, MarketplacePlugin.id == WorkspacePlugin.plugin_id)
                .join(PluginVersion, PluginVersion.id == WorkspacePlugin.version_id)
                .where(WorkspacePlugin.workspace_id == workspace_id, MarketplacePlugin.slug == slug[:100])
            )
        ).first()
        if found is None:
            raise NotFoundError(f"plugin {echo(slug)} is not enabled in this workspace", field="slug")
        return found[0], found[1], found[2]

    # --- writes ------------------------------------------------------------------------------------

    def _audit(
        self,
        session: AsyncSession,
        workspace_id: str,
        actor_id: str | None,
        action: str,
        target: str,
        data: dict[str, Any],
        request_id: str | None,
    ) -> None:
        KernelStore._audit(session, workspace_id, actor_id, action, "plugin", target, data, request_id)

    async def _after(self, workspace_id: str, version: int, plugin_id: str) -> None:
        await publish_versions(self.kernel, [(workspace_id, version)])
        if self.changed is not None:
            await self.changed(workspace_id, plugin_id)

    async def enable(
        self,
        workspace_id: str,
        slug: str,
        *,
        version: str | None,
        config: Mapping[str, Any] | None,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> str:
        """Enable ``slug`` in the workspace; returns the plugin's id."""
        async with self.kernel.store.sessionmaker() as session:
            plugin = await self.plugin(session, slug)
            row = await self.approved(session, plugin, version)
            ref = VersionRef.of(row, plugin.slug)
            if await self._enabled_id(session, workspace_id, plugin.id) is not None:
                raise ConflictError(f"plugin {slug!r} is already enabled in this workspace", field="slug")
        values = check_config(config or {}, ref.manifest)
        _, error = await self.declarations.ensure(ref, workspace_id=workspace_id)
        stored = self.kernel.store.secret_box.encrypt_config(values)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            if await self._enabled_id(session, workspace_id, plugin.id) is not None:
                raise ConflictError(f"plugin {slug!r} is already enabled in this workspace", field="slug")
            status = "active" if error is None else "quarantined"
            session.add(
                WorkspacePlugin(
                    workspace_id=workspace_id,
                    plugin_id=plugin.id,
                    version_id=ref.id,
                    config=stored,
                    status=status,
                    status_reason=error,
                    enabled_by=actor_id,
                )
            )
            bumped = await bump(session, workspace_id)
            details = {"slug": slug, "version": ref.version, "status": status, "config_keys": sorted(values)}
            if error is not None:
                details["reason"] = error
            self._audit(session, workspace_id, actor_id, "plugin.enabled", plugin.id, details, request_id)
        await self._after(workspace_id, bumped, plugin.id)
        return plugin.id

    @staticmethod
    async def _enabled_id(session: AsyncSession, workspace_id: str, plugin_id: str) -> str | None:
        found: str | None = await session.scalar(
            select(WorkspacePlugin.id).where(
                WorkspacePlugin.workspace_id == workspace_id, WorkspacePlugin.plugin_id == plugin_id
            )
        )
        return found

    async def disable(
        self, workspace_id: str, slug: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        """Disable ``slug`` here: its row and its agent assignments in this workspace go."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row, plugin, version = await self.enabled_row(session, workspace_id, slug)
            await session.execute(
                delete(AgentPlugin).where(AgentPlugin.workspace_id == workspace_id, AgentPlugin.plugin_id == plugin.id)
            )
            await session.delete(row)
            bumped = await bump(session, workspace_id)
            details = {"slug": plugin.slug, "version": version.version}
            self._audit(session, workspace_id, actor_id, "plugin.disabled", plugin.id, details, request_id)
        await self._after(workspace_id, bumped, plugin.id)

    async def upgrade(
        self,
        workspace_id: str,
        slug: str,
        *,
        version: str | None,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> tuple[VersionRef, VersionRef]:
        """Switch ``slug`` to ``version`` (default: the newest approved); returns (old, new)."""
        async with self.kernel.store.sessionmaker() as session:
            _, plugin, old_row = await self.enabled_row(session, workspace_id, slug)
            new_row = await self.approved(session, await self.plugin(session, slug), version)
            old, new = VersionRef.of(old_row, plugin.slug), VersionRef.of(new_row, plugin.slug)
        if new.id == old.id:
            raise ConflictError(f"plugin {slug!r} already runs version {new.version} here", field="version")
        _, error = await self.declarations.ensure(new, workspace_id=workspace_id)  # the new one loads first
        if error is not None:
            raise ConflictError(
                f"{slug}@{new.version} cannot replace {old.version}: {error}", field="version", extra={"reason": error}
            )
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row, _, _ = await self.enabled_row(session, workspace_id, slug)
            if row.version_id != old.id:
                raise ConflictError(f"plugin {slug!r} changed version meanwhile; try again", field="version")
            row.version_id, row.status, row.status_reason = new.id, "active", None
            bumped = await bump(session, workspace_id)
            details = {"slug": slug, "from": old.version, "to": new.version}
            self._audit(session, workspace_id, actor_id, "plugin.upgraded", plugin.id, details, request_id)
        await self._after(workspace_id, bumped, plugin.id)
        return old, new

    async def configure(
        self,
        workspace_id: str,
        slug: str,
        config: Mapping[str, Any],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> None:
        """Replace the plugin's configuration in this workspace."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row, plugin, version = await self.enabled_row(session, workspace_id, slug)
            values = check_config(config, version.manifest or {})
            row.config = self.kernel.store.secret_box.encrypt_config(values)
            bumped = await bump(session, workspace_id)
            details = {"slug": plugin.slug, "config_keys": sorted(values)}
            self._audit(session, workspace_id, actor_id, "plugin.configured", plugin.id, details, request_id)
        await self._after(workspace_id, bumped, plugin.id)

    async def quarantine(self, workspace_id: str, plugin_id: str, reason: str) -> bool:
        """Quarantine the plugin in this workspace (the runtime's decision, no actor); False when
        it is not enabled here or already quarantined."""
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await session.scalar(
                select(WorkspacePlugin).where(
                    WorkspacePlugin.workspace_id == workspace_id, WorkspacePlugin.plugin_id == plugin_id
                )
            )
            if row is None or row.status == "quarantined":
                return False
            row.status, row.status_reason = "quarantined", reason[:2000]
            bumped = await bump(session, workspace_id)
            self._audit(session, workspace_id, None, "plugin.quarantined", plugin_id, {"reason": reason[:2000]}, None)
        await self._after(workspace_id, bumped, plugin_id)
        return True

    async def restore(
        self, workspace_id: str, slug: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        """Make a quarantined plugin active again (``register`` runs again when it had failed)."""
        async with self.kernel.store.sessionmaker() as session:
            row, plugin, version_row = await self.enabled_row(session, workspace_id, slug)
            if row.status != "quarantined":
                raise ConflictError(
                    f"plugin {slug!r} is not quarantined here", field="status", extra={"current_status": row.status}
                )
            if plugin.status != "active":
                raise ConflictError(f"plugin {slug!r} is deactivated on this platform", field="slug")
            ref = VersionRef.of(version_row, plugin.slug)
        _, error = await self.declarations.ensure(ref, workspace_id=workspace_id)
        if error is not None:
            raise ConflictError(f"plugin {slug!r} stays quarantined: {error}", field="slug", extra={"reason": error})
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row, _, _ = await self.enabled_row(session, workspace_id, slug)
            was = row.status_reason
            row.status, row.status_reason = "active", None
            bumped = await bump(session, workspace_id)
            details = {"slug": slug, "was": was}
            self._audit(session, workspace_id, actor_id, "plugin.restored", plugin.id, details, request_id)
        await self._after(workspace_id, bumped, plugin.id)

    async def set_agent_plugins(
        self,
        workspace_id: str,
        agent_id: str,
        slugs: Sequence[str],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> list[str]:
        """The agent's plugins become ``slugs``, in that order (each enabled here, no duplicates: 422)."""
        for i, slug in enumerate(slugs):
            if slug in slugs[:i]:
                raise ValidationError(f"plugins[{i}]: {slug!r} is listed twice", field=f"plugins[{i}]")
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            enabled = dict(
                (
                    await session.execute(
                        select(MarketplacePlugin.slug, MarketplacePlugin.id)
                        .join(WorkspacePlugin, WorkspacePlugin.plugin_id == MarketplacePlugin.id)
                        .where(WorkspacePlugin.workspace_id == workspace_id, MarketplacePlugin.slug.in_(list(slugs)))
                    )
                ).all()
            )
            for i, slug in enumerate(slugs):
                if slug not in enabled:
                    raise ValidationError(
                        f"plugins[{i}]: plugin {echo(slug)} is not enabled in this workspace", field=f"plugins[{i}]"
                    )
            await session.execute(
                delete(AgentPlugin).where(AgentPlugin.workspace_id == workspace_id, AgentPlugin.agent_id == agent_id)
            )
            for position, slug in enumerate(slugs):
                session.add(
                    AgentPlugin(
                        workspace_id=workspace_id, agent_id=agent_id, plugin_id=enabled[slug], position=position
                    )
                )
            bumped = await bump(session, workspace_id)
            details = {"agent_id": agent_id, "plugins": list(slugs)}
            KernelStore._audit(
                session, workspace_id, actor_id, "agent.plugins_set", "agent", agent_id, details, request_id
            )
        await publish_versions(self.kernel, [(workspace_id, bumped)])
        return list(slugs)
