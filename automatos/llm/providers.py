"""Which LLM and embedding providers a workspace can use: :class:`ProviderResolver`.

Providers are what the workspace's enabled extensions register (``register_llm_providers``,
``register_embedding_providers``), collected through its hook view. A workspace's collection is
reused until its view (extensions or their config changed) or the run-time settings object
changes; the cache is keyed by workspace id, so nothing crosses between workspaces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from automatos.kernel.hooks import Collected
from automatos.kernel.types import EmbeddingProvider, LLMProvider, Workspace

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.hooks import HookView

__all__ = ["ProviderResolver"]

_MAX_WORKSPACES = 10_000
"""Collections kept at the most; past it the cache starts again (it refills on demand)."""


class ProviderResolver:
    """The providers each workspace can use, collected once per view and settings."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._llm: dict[str, tuple[object, object, Collected[Any]]] = {}
        self._embedding: dict[str, tuple[object, object, Collected[Any]]] = {}

    async def llm_providers(self, workspace: Workspace) -> Collected[LLMProvider]:
        return await self._collected(self._llm, workspace, self.kernel.hooks.llm_providers)

    async def embedding_providers(self, workspace: Workspace) -> Collected[EmbeddingProvider]:
        return await self._collected(self._embedding, workspace, self.kernel.hooks.embedding_providers)

    async def names(self, workspace: Workspace) -> set[str]:
        """The names of the LLM providers the workspace can use (what an agent's settings may name)."""
        return set((await self.llm_providers(workspace)).items)

    async def _collected(
        self,
        cache: dict[str, tuple[object, object, Collected[Any]]],
        workspace: Workspace,
        collect: Callable[[HookView, Workspace], Awaitable[Collected[Any]]],
    ) -> Collected[Any]:
        view = await self.kernel.view_for(workspace)
        settings = self.kernel.current_settings
        hit = cache.get(workspace.id)
        if hit is not None and hit[0] is view and hit[1] is settings:
            return hit[2]
        got = await collect(view, workspace)
        if len(cache) > _MAX_WORKSPACES:
            cache.clear()
        cache[workspace.id] = (view, settings, got)
        return got
