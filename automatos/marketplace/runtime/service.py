"""The marketplace runtime as one service (the container's ``plugins``): the catalogue, workspaces'
plugins, agents' plugins, and the per-process host of the proxies.

:class:`PluginsService` is a façade over:

- :class:`~automatos.marketplace.runtime.catalogue.Catalogue` — reads;
- :class:`~automatos.marketplace.runtime.enablement.Enablement` — the one writer of
  ``workspace_plugins`` and ``agent_plugins`` (each write audited, the workspace's version bumped
  and published);
- :class:`~automatos.marketplace.runtime.declarations.Declarations` — ``register`` once per version;
- :class:`~automatos.marketplace.runtime.host.PluginHost` — proxies joined to views, calls into
  the sandbox, content through the KV cache, failure counting, the pre-warm.

The API's lifespan calls :meth:`start` (after the sandbox) and :meth:`stop`. The sandbox is
reached through ``runner`` (``SandboxService.run_plugin``); ``FEATURE_MARKETPLACE=false`` closes the
catalogue and the enablement routes (503, :meth:`require_enabled`), and what is already enabled
keeps running: the platform's kill switch for one plugin is its deactivation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.marketplace.runtime.bundles import BundleCache
from automatos.marketplace.runtime.catalogue import Catalogue
from automatos.marketplace.runtime.declarations import Declarations, PluginRunner
from automatos.marketplace.runtime.enablement import Enablement
from automatos.marketplace.runtime.host import PluginHost
from automatos.marketplace.service import MarketplaceUnavailableError

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.marketplace.archive import ArchiveLimits
    from automatos.marketplace.runtime.records import CatalogueEntry, WorkspacePluginRecord
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = ["PluginsService"]


class PluginsService:
    """Catalogue, enablement, agents' plugins and the runtime host; see the module docstring."""

    def __init__(self, kernel: Kernel, runner: PluginRunner) -> None:
        self.kernel = kernel
        self._runner = runner
        self.bundles = BundleCache()
        self.catalogue = Catalogue(kernel)
        self.declarations = Declarations(kernel, self.runner, self.bundles, self.limits)
        self.enablement = Enablement(kernel, self.declarations, changed=self._changed)
        self.host = PluginHost(kernel, self.runner, self.enablement, self.limits, self.quarantine_after, self.bundles)

    # --- settings and collaborators ----------------------------------------------------------------

    def runner(self) -> PluginRunner:
        return self._runner

    def settings(self) -> MarketplaceSettings:
        from automatos.marketplace.settings import MarketplaceSettings

        try:
            return self.kernel.settings.group(MarketplaceSettings)
        except Exception:  # not among the container's parts (an embedder's own container)
            return msgspec.convert({}, MarketplaceSettings)

    def limits(self) -> ArchiveLimits:
        return self.settings().archive_limits()

    def quarantine_after(self) -> int:
        return int(self.settings().plugins_quarantine_after)

    def require_enabled(self) -> None:
        """:class:`MarketplaceUnavailableError` (503) while ``FEATURE_MARKETPLACE`` is off."""
        if not self.kernel.current_settings.feature_marketplace:
            raise MarketplaceUnavailableError(
                "the marketplace is disabled on this platform (FEATURE_MARKETPLACE=false); plugins cannot be "
                "browsed or enabled"
            )

    async def _changed(self, workspace_id: str, plugin_id: str) -> None:
        await self.host.reset(workspace_id, plugin_id)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()

    # --- the catalogue -----------------------------------------------------------------------------

    async def plugins(
        self, *, category: str | None = None, q: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[CatalogueEntry], int]:
        return await self.catalogue.plugins(category=category, q=q, offset=offset, limit=limit)

    async def plugin(self, slug: str) -> CatalogueEntry:
        return await self.catalogue.plugin(slug)

    # --- a workspace's plugins ---------------------------------------------------------------------

    async def workspace_plugins(
        self, workspace_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[WorkspacePluginRecord], int]:
        return await self.catalogue.workspace_plugins(workspace_id, offset=offset, limit=limit)

    async def workspace_plugin(self, workspace_id: str, slug: str) -> WorkspacePluginRecord:
        return await self.catalogue.workspace_plugin(workspace_id, slug)

    async def enable(
        self,
        workspace_id: str,
        slug: str,
        *,
        version: str | None = None,
        config: Mapping[str, Any] | None = None,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> WorkspacePluginRecord:
        await self.enablement.enable(
            workspace_id, slug, version=version, config=config, actor_id=actor_id, request_id=request_id
        )
        return await self.workspace_plugin(workspace_id, slug)

    async def disable(
        self, workspace_id: str, slug: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        await self.enablement.disable(workspace_id, slug, actor_id=actor_id, request_id=request_id)

    async def upgrade(
        self,
        workspace_id: str,
        slug: str,
        *,
        version: str | None = None,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> WorkspacePluginRecord:
        old, _new = await self.enablement.upgrade(
            workspace_id, slug, version=version, actor_id=actor_id, request_id=request_id
        )
        provides = old.manifest.get("provides") or {}
        declared = old.declarations or {}
        paths = [
            *(provides.get("skills") or []),
            *(provides.get("prompts") or []),
            *(declared.get("skills") or []),
            *(declared.get("prompts") or []),
        ]
        await self.host.contents.drop(old, [p for p in paths if isinstance(p, str)])
        return await self.workspace_plugin(workspace_id, slug)

    async def configure(
        self,
        workspace_id: str,
        slug: str,
        config: Mapping[str, Any],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> WorkspacePluginRecord:
        await self.enablement.configure(workspace_id, slug, config, actor_id=actor_id, request_id=request_id)
        return await self.workspace_plugin(workspace_id, slug)

    async def restore(
        self, workspace_id: str, slug: str, *, actor_id: str | None, request_id: str | None = None
    ) -> WorkspacePluginRecord:
        await self.enablement.restore(workspace_id, slug, actor_id=actor_id, request_id=request_id)
        return await self.workspace_plugin(workspace_id, slug)

    # --- agents' plugins ---------------------------------------------------------------------------

    async def agent_plugins(self, workspace_id: str, agent_id: str) -> list[str]:
        return await self.catalogue.agent_plugins(workspace_id, agent_id)

    async def set_agent_plugins(
        self,
        workspace_id: str,
        agent_id: str,
        slugs: Sequence[str],
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> list[str]:
        return await self.enablement.set_agent_plugins(
            workspace_id, agent_id, slugs, actor_id=actor_id, request_id=request_id
        )
