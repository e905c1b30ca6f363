"""How the composition root builds the recipes' parts from the other services (one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from automatos.kernel.errors import NotFoundError
from automatos.recipes.queue import QueueRunner
from automatos.recipes.runner import LocalRunner
from automatos.recipes.service import RecipeService
from automatos.recipes.settings import RecipeSettings

if TYPE_CHECKING:
    from automatos.agents.service import AgentService
    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Workspace
    from automatos.recipes.engine import RecipeEngine
    from automatos.recipes.runner import Progress
    from automatos.tools.registry import ToolRegistry

__all__ = ["recipe_runner", "recipe_service"]


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


def recipe_runner(
    engine: RecipeEngine, service: RecipeService, progress: Progress, kernel: Kernel
) -> LocalRunner | QueueRunner:
    """This process's runner: the in-process one (``RECIPES_RUNNER=local``), or the job queue's."""
    settings = kernel.current_settings.group(RecipeSettings)
    engine.heartbeat_seconds = settings.recipes_heartbeat_seconds
    engine.stale_seconds = settings.recipes_stale_seconds
    if settings.recipes_runner == "queue":
        return QueueRunner(service, kernel.hooks, kernel.settings, settings.recipes_queue_name)
    engine.changed = progress.changed  # an agent step's text, as it streams, wakes this node's readers
    return LocalRunner(
        engine,
        service,
        progress,
        concurrency=settings.recipes_concurrency,
        per_workspace=settings.recipes_per_workspace,
        sweep_seconds=settings.recipes_sweep_seconds,
    )
