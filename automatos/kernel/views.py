"""Per-workspace hook views over the one PluginManager, cached and invalidated across nodes.

- The hot path is :meth:`WorkspaceViews.cached`: one dict lookup, no await, no I/O.
- A miss builds the view once (one query for the workspace's extension rows, then a
  :class:`HookView`); concurrent misses for the same workspace share one build.
- Extension configuration is encrypted at rest; the loader hands it over decrypted
  (:meth:`~automatos.kernel.store.KernelStore.extension_state`), so decryption costs once per
  build, never per request, and the view holds the configuration in memory only.
- Enabling or disabling an extension writes the row, bumps ``workspaces.extensions_version`` in the
  same transaction, and publishes ``{"kind": "extensions", "workspace_id", "version"}`` on the
  kernel bus. Every node that holds an older view rebuilds it **in the background** and swaps it in;
  requests keep the old view meanwhile, so no request waits for a rebuild.
- Redis pub/sub is at-most-once, so a node also re-checks the versions of the views it holds every
  ``recheck_seconds`` (one indexed query for all of them) and rebuilds any that fell behind.
- The cache is bounded (``max_views``); the least recently built view is evicted first.
- Providers that are not extensions join one workspace's view as *proxies*
  (:attr:`~automatos.kernel.hooks.HookView.proxies`): each loader added with :meth:`add_extras`
  (the marketplace runtime's: one proxy per plugin enabled in the workspace) is asked at build
  time, so they follow the same version, bus message and re-check as extensions.
- An enabled extension whose stored configuration does not fit the schema it declares
  (``extension_config_schema``) is kept out of the view, with the reason in ``view.problems``:
  calling it with a configuration it cannot use fails in ways that point elsewhere (a 502 from a
  provider, a provider that silently is not there). ``PUT …/extensions/{name}`` refuses such a
  configuration, so this catches rows written before the schema existed or by other means.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from automatos.kernel.hooks import HookView
from automatos.kernel.registry import Registry

__all__ = ["ExtensionRow", "ExtrasLoader", "StateLoader", "WorkspaceViews"]

log = logging.getLogger("automatos.workspace")


@dataclass(frozen=True)
class ExtensionRow:
    enabled: bool
    config: Mapping[str, Any]


StateLoader = Callable[[str], Awaitable[tuple[int, Mapping[str, ExtensionRow]]]]
"""``loader(workspace_id) -> (extensions_version, {extension name: row})``."""

ExtrasLoader = Callable[[str], Awaitable[Sequence[object]]]
"""``extras(workspace_id) -> proxies`` joined to that workspace's view (see :meth:`WorkspaceViews.add_extras`)."""

VersionLoader = Callable[[list[str]], Awaitable[Mapping[str, int]]]
"""``versions(workspace_ids) -> {workspace_id: extensions_version}``."""


class WorkspaceViews:
    def __init__(
        self,
        registry: Registry,
        loader: StateLoader,
        *,
        versions: VersionLoader | None = None,
        enabled_by_default: bool = True,
        max_views: int = 10_000,
    ) -> None:
        self.registry = registry
        self._loader = loader
        self._versions = versions
        self.enabled_by_default = enabled_by_default
        self.max_views = max_views
        self._views: dict[str, HookView] = {}
        self._building: dict[str, asyncio.Task[HookView]] = {}
        self._extras: list[ExtrasLoader] = []
        self.builds = 0
        """How many views were built (for tests and metrics)."""

    def add_extras(self, loader: ExtrasLoader) -> None:
        """Join the proxies ``loader(workspace_id)`` gives to every view built from now on.

        The loader runs at build time (in the background for a rebuild), never per request; what
        it reads must bump the workspace's ``extensions_version`` when it changes.
        """
        self._extras.append(loader)

    def cached(self, workspace_id: str) -> HookView | None:
        """The cached view, or ``None``: the request-path lookup."""
        return self._views.get(workspace_id)

    async def get(self, workspace_id: str) -> HookView:
        view = self._views.get(workspace_id)
        if view is not None:
            return view
        return await self._build_shared(workspace_id)

    def hidden_for(self, rows: Mapping[str, ExtensionRow]) -> set[str]:
        """Loaded extensions a workspace does not see: disabled ones, never essential ones."""
        hidden: set[str] = set()
        for name in self.registry.loaded():
            info = self.registry.extensions[name]
            if info.essential:
                continue
            row = rows.get(name)
            enabled = row.enabled if row is not None else (info.builtin or self.enabled_by_default)
            if not enabled:
                hidden.add(name)
        return hidden

    def config_problems(
        self, rows: Mapping[str, ExtensionRow], hidden: set[str], workspace_id: str | None = None
    ) -> dict[str, str]:
        """Visible extensions whose configuration (stored, or none) does not fit their schema."""
        problems: dict[str, str] = {}
        for name in self.registry.config_schemas:
            if name in hidden or name not in self.registry.extensions:
                continue
            row = rows.get(name)
            problem = self.registry.config_problem(name, row.config if row is not None else {})
            if problem is not None:
                problems[name] = f"the stored configuration does not fit: {problem}"
                log.warning("workspace %s: extension %s is left out: %s", workspace_id, name, problems[name])
        return problems

    async def build(self, workspace_id: str) -> HookView:
        """Build a fresh view from the database and swap it in."""
        version, rows = await self._loader(workspace_id)
        proxies: list[object] = []
        for extras in self._extras:
            proxies.extend(await extras(workspace_id))
        hidden = self.hidden_for(rows)
        view = HookView(
            self.registry.pm,
            hidden=hidden,
            configs={name: row.config for name, row in rows.items()},
            workspace_id=workspace_id,
            version=version,
            problems=self.config_problems(rows, hidden, workspace_id),
            proxies=proxies,
        )
        current = self._views.get(workspace_id)
        if current is None or current.version <= version:
            self._views.pop(workspace_id, None)
            self._views[workspace_id] = view
            while len(self._views) > self.max_views:
                self._views.pop(next(iter(self._views)))
        self.builds += 1
        return self._views[workspace_id]

    async def _build_shared(self, workspace_id: str) -> HookView:
        task = self._building.get(workspace_id) or self._start_build(workspace_id)
        return await asyncio.shield(task)

    def _start_build(self, workspace_id: str) -> asyncio.Task[HookView]:
        task = asyncio.ensure_future(self.build(workspace_id))
        self._building[workspace_id] = task

        def done(t: asyncio.Task[HookView]) -> None:
            if self._building.get(workspace_id) is t:
                del self._building[workspace_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("building the hook view of workspace %s failed: %s", workspace_id, t.exception())

        task.add_done_callback(done)
        return task

    def invalidate(self, workspace_id: str, version: int | None = None) -> asyncio.Task[HookView] | None:
        """Schedule a background rebuild if the cached view is older than ``version``."""
        current = self._views.get(workspace_id)
        if current is None:
            return None
        if version is not None and current.version >= version:
            return None
        return self._start_build(workspace_id)

    def invalidate_all(self) -> list[asyncio.Task[HookView]]:
        """Rebuild every cached view (after extensions are loaded or unloaded in this process)."""
        return [t for ws in list(self._views) if (t := self.invalidate(ws)) is not None]

    def forget(self, workspace_id: str) -> None:
        self._views.pop(workspace_id, None)

    async def recheck(self) -> int:
        """Compare cached versions with the database; rebuild the stale ones. Returns how many."""
        if self._versions is None or not self._views:
            return 0
        latest = await self._versions(list(self._views))
        stale = [ws for ws, v in latest.items() if ws in self._views and self._views[ws].version < v]
        for ws in stale:
            self.invalidate(ws, latest[ws])
        return len(stale)
