"""The recipes' settings: how many steps run at once, and how a stopped runner's runs are found.

Read from the environment like every settings struct and handed to the kernel by the composition
root (``automatos/container.py``), so the README's settings table lists them. Read with
``kernel.current_settings.group(RecipeSettings)``.
"""

from __future__ import annotations

from typing import ClassVar

from automatos.kernel.settings import FieldDoc, SettingsGroup, setting

__all__ = ["RecipeSettings"]


class RecipeSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "recipes package"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("RECIPES_RUNNER", "recipes_runner", "local|queue", valid=lambda v: v in ("local", "queue")),
        setting("RECIPES_QUEUE_NAME", "recipes_queue_name", "string", valid=lambda v: 0 < len(v) <= 100),
        setting("RECIPES_CONCURRENCY", "recipes_concurrency", "integer 1-1000", valid=lambda v: 1 <= v <= 1000),
        setting("RECIPES_PER_WORKSPACE", "recipes_per_workspace", "integer 1-1000", valid=lambda v: 1 <= v <= 1000),
        setting(
            "RECIPES_HEARTBEAT_SECONDS", "recipes_heartbeat_seconds", "number 0.1-300", valid=lambda v: 0.1 <= v <= 300
        ),
        setting("RECIPES_STALE_SECONDS", "recipes_stale_seconds", "number 1-3600", valid=lambda v: 1 <= v <= 3600),
        setting("RECIPES_SWEEP_SECONDS", "recipes_sweep_seconds", "number 0.1-3600", valid=lambda v: 0.1 <= v <= 3600),
    )

    recipes_runner: str = "local"
    """Who advances runs: ``local`` (the API process itself, the embedded default) or ``queue``
    (``automatos worker --queue recipes`` processes, through the job queue on ``REDIS_URL``)."""
    recipes_queue_name: str = "automatos-recipes"
    """The job queue recipe steps travel on (``RECIPES_RUNNER=queue``)."""
    recipes_concurrency: int = 8
    """Recipe steps one process runs at once."""
    recipes_per_workspace: int = 4
    """Of those, the most one workspace's runs may take (no tenant takes every slot)."""
    recipes_heartbeat_seconds: float = 5.0
    """How often a process advancing a run says so (``recipe_runs.heartbeat_at``)."""
    recipes_stale_seconds: float = 30.0
    """A run whose process has not said so for this long is taken over by another process, from its
    last checkpoint (the step in flight runs again under the same idempotency key)."""
    recipes_sweep_seconds: float = 10.0
    """How often a process looks for such runs."""
