"""How the composition root builds the recipes' parts from the other services (one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from automatos.kernel.errors import NotFoundError
from automatos.recipes.service import RecipeService

if TYPE_CHECKING:
    from automatos.agents.service import AgentService
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Workspace
    from automatos.tools.registry import ToolRegistry

__all__ = ["recipe_service"]


def recipe_service(kernel: Kernel, agents: AgentService, registry: ToolRegistry) -> RecipeService:
    """A :class:`RecipeService` whose definitions' agents and tools are the workspace's."""

    async def agent_exists(workspace: Workspace, ref: str) -> bool:
        try:
            return (await agents.get_agent(workspace.id, ref)).status != "archived"
        except NotFoundError:
            return False

    async def tool_exists(workspace: Workspace, name: str) -> bool:
        try:
            await registry.find(workspace, name)
        except NotFoundError:
            return False
        return True

    return RecipeService(kernel, agent_exists=agent_exists, tool_exists=tool_exists)
