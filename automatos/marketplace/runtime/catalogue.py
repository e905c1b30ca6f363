"""Reading the runtime's rows: the platform's catalogue, a workspace's plugins, an agent's plugins.

- The catalogue (``GET /api/marketplace/plugins``, any workspace member): plugins that are active
  and have an approved version, each with its approved versions (newest first), the permissions
  its latest approved manifest declares, its category and description. ``category`` filters on the
  manifest's category; ``q`` searches the name, slug and description (case-insensitive).
- A workspace's plugins (its admins): slug, version, status and reason, the configuration keys set
  (never a value), how many tools the cached declarations give.

Every query on ``workspace_plugins``/``agent_plugins`` names the workspace. Nothing here writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from automatos.kernel.errors import NotFoundError, echo
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin
from automatos.marketplace.runtime.records import CatalogueEntry, CatalogueVersion, WorkspacePluginRecord

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = ["Catalogue"]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Catalogue:
    """The runtime's reads; see the module docstring."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def _query(self) -> Any:
        return (
            select(MarketplacePlugin, PluginVersion)
            .join(PluginVersion, PluginVersion.id == MarketplacePlugin.latest_version_id)
            .where(MarketplacePlugin.status == "active", PluginVersion.status == "approved")
        )

    async def plugins(
        self, *, category: str | None = None, q: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[CatalogueEntry], int]:
        query = self._query()
        if category is not None:
            query = query.where(PluginVersion.manifest["category"].as_string() == category)
        if q:
            pattern = _like(q)
            query = query.where(
                or_(
                    func.lower(MarketplacePlugin.name).like(pattern, escape="\\"),
                    func.lower(MarketplacePlugin.slug).like(pattern, escape="\\"),
                    func.lower(PluginVersion.manifest["description"].as_string()).like(pattern, escape="\\"),
                )
            )
        query = query.order_by(MarketplacePlugin.slug)
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
            pairs = (await session.execute(query.offset(offset).limit(limit))).all()
            versions = await self._versions(session, [plugin.id for plugin, _ in pairs])
        return [_entry(plugin, latest, versions.get(plugin.id, [])) for plugin, latest in pairs], total

    async def plugin(self, slug: str) -> CatalogueEntry:
        async with self.kernel.store.sessionmaker() as session:
            found = (await session.execute(self._query().where(MarketplacePlugin.slug == slug[:100]))).first()
            if found is None:
                raise NotFoundError(f"no approved, active plugin {echo(slug)} in the catalogue", field="slug")
            plugin, latest = found
            versions = await self._versions(session, [plugin.id])
        return _entry(plugin, latest, versions.get(plugin.id, []))

    @staticmethod
    async def _versions(session: Any, plugin_ids: list[str]) -> dict[str, list[CatalogueVersion]]:
        out: dict[str, list[CatalogueVersion]] = {}
        if not plugin_ids:
            return out
        rows = await session.scalars(
            select(PluginVersion)
            .where(PluginVersion.plugin_id.in_(plugin_ids), PluginVersion.status == "approved")
            .order_by(PluginVersion.approved_at.desc(), PluginVersion.created_at.desc())
        )
        for row in rows:
            out.setdefault(row.plugin_id, []).append(
                CatalogueVersion(
                    version=row.version,
                    sha256=row.sha256,
                    approved_at=row.approved_at,
                    granted_permissions=dict(row.granted_permissions or {}),
                )
            )
        return out

    # --- a workspace's own -------------------------------------------------------------------------

    async def workspace_plugins(
        self, workspace_id: str, *, slug: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[WorkspacePluginRecord], int]:
        query = (
            select(WorkspacePlugin, MarketplacePlugin, PluginVersion)
            .join(MarketplacePlugin, MarketplacePlugin.id == WorkspacePlugin.plugin_id)
            .join(PluginVersion, PluginVersion.id == WorkspacePlugin.version_id)
            .where(WorkspacePlugin.workspace_id == workspace_id)
        )
        if slug is not None:
            query = query.where(MarketplacePlugin.slug == slug[:100])
        query = query.order_by(MarketplacePlugin.slug)
        async with self.kernel.store.sessionmaker() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
            rows = (await session.execute(query.offset(offset).limit(limit))).all()
        return [self._record(row, plugin, version) for row, plugin, version in rows], total

    async def workspace_plugin(self, workspace_id: str, slug: str) -> WorkspacePluginRecord:
        items, _ = await self.workspace_plugins(workspace_id, slug=slug, limit=1)
        if not items:
            raise NotFoundError(f"plugin {echo(slug)} is not enabled in this workspace", field="slug")
        return items[0]

    def _record(self, row: WorkspacePlugin, plugin: MarketplacePlugin, version: PluginVersion) -> WorkspacePluginRecord:
        try:
            keys = sorted(self.kernel.store.secret_box.decrypt_config(row.config or {}))
        except Exception:  # a configuration no key opens: it is there, its keys are unknown
            keys = []
        declarations = version.declarations or {}
        return WorkspacePluginRecord(
            slug=plugin.slug,
            name=plugin.name,
            version=version.version,
            status=row.status,  # type: ignore[arg-type]  # the CHECK constraint's values
            status_reason=row.status_reason,
            plugin_status=plugin.status,
            config_keys=keys,
            tools=len(declarations.get("tools") or []),
            enabled_by=row.enabled_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def agent_plugins(self, workspace_id: str, agent_id: str) -> list[str]:
        async with self.kernel.store.sessionmaker() as session:
            slugs = await session.scalars(
                select(MarketplacePlugin.slug)
                .join(AgentPlugin, AgentPlugin.plugin_id == MarketplacePlugin.id)
                .where(AgentPlugin.workspace_id == workspace_id, AgentPlugin.agent_id == agent_id)
                .order_by(AgentPlugin.position)
            )
            return list(slugs)


def _entry(plugin: MarketplacePlugin, latest: PluginVersion, versions: list[CatalogueVersion]) -> CatalogueEntry:
    manifest = latest.manifest or {}
    permissions = manifest.get("permissions") or {}
    return CatalogueEntry(
        slug=plugin.slug,
        name=plugin.name,
        description=str(manifest.get("description") or ""),
        category=manifest.get("category"),
        author=manifest.get("author"),
        latest_version=latest.version,
        permissions=dict(permissions) if isinstance(permissions, dict) else {},
        versions=versions,
    )
