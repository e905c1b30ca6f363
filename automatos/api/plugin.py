"""``KernelPlugin``: the kernel's one way into Litestar.

It puts the kernel and the container in the app state, starts and stops it with the app's lifespan
(graceful shutdown closes every pool; start-up also applies the seed when it is new, see
:func:`automatos.agents.seed.ensure_seeded`), installs the request middleware around the container's
one request pipeline (fetched once here, so a request resolves no provider), provides the ``kernel``
and ``ctx`` dependencies, installs the problem+json exception handlers, and mounts the kernel's
controllers plus whatever extensions add through ``register_routes``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from automatos.agents.seed import ensure_seeded
from automatos.api.controllers.agents import AgentsController, PersonasController, SkillsController
from automatos.api.controllers.blobs import BlobsController
from automatos.api.controllers.catalog import (
    CredentialTypesController,
    ModelsController,
    PluginCategoriesController,
)
from automatos.api.controllers.chat import ChatController, UsageController
from automatos.api.controllers.composio import (
    ComposioCallbackController,
    ComposioCatalogueController,
    ConnectionsController,
    TriggerSubscriptionsController,
)
from automatos.api.controllers.extensions import ExtensionsController, WorkspaceExtensionsController
from automatos.api.controllers.health import HealthController
from automatos.api.controllers.marketplace import AdminPluginsController, SubmissionsController
from automatos.api.controllers.mcp_servers import McpServersController
from automatos.api.controllers.me import MeController
from automatos.api.controllers.metrics import MetricsController
from automatos.api.controllers.openai_compat import OpenAIController
from automatos.api.controllers.platform_settings import PlatformSettingsController
from automatos.api.controllers.plugins import AgentPluginsController, CatalogueController, WorkspacePluginsController
from automatos.api.controllers.prompts import PromptsController
from automatos.api.controllers.recipes import RecipeRunsController, RecipesController
from automatos.api.controllers.routing import RouteController, RoutingController
from automatos.api.controllers.routing_calibration import RoutingCalibrationController
from automatos.api.controllers.routing_feedback import RoutingFeedbackController
from automatos.api.controllers.routing_rules import RoutingRulesController
from automatos.api.controllers.sandbox import SandboxController
from automatos.api.controllers.settings import SettingsController
from automatos.api.controllers.stats import StatsController
from automatos.api.controllers.tools import AgentToolsController, ToolConfigController, ToolsController
from automatos.api.controllers.workspaces import AuditController, MembersController, WorkspacesController
from automatos.api.dependencies import provide_context, provide_kernel
from automatos.api.mcp_mount import mcp_route
from automatos.api.middleware import build_middleware
from automatos.api.problems import exception_handlers
from automatos.api.tracing import install_tracing
from automatos.kernel.core import Kernel
from automatos.tools.mcp.server import ToolServer

if TYPE_CHECKING:
    from automatos.container import Container

__all__ = ["KernelPlugin"]

KERNEL_CONTROLLERS: tuple[Any, ...] = (
    HealthController,
    BlobsController,
    ExtensionsController,
    WorkspaceExtensionsController,
    SettingsController,
    MeController,
    WorkspacesController,
    MembersController,
    AuditController,
    StatsController,
    MetricsController,
    AgentsController,
    PersonasController,
    SkillsController,
    ModelsController,
    CredentialTypesController,
    PluginCategoriesController,
    PlatformSettingsController,
    SandboxController,
    ToolsController,
    ToolConfigController,
    AgentToolsController,
    McpServersController,
    ComposioCatalogueController,
    ComposioCallbackController,
    ConnectionsController,
    TriggerSubscriptionsController,
    SubmissionsController,
    AdminPluginsController,
    CatalogueController,
    WorkspacePluginsController,
    AgentPluginsController,
    RoutingRulesController,
    RoutingFeedbackController,
    RoutingCalibrationController,
    RouteController,
    RoutingController,
    RecipeRunsController,
    RecipesController,
)

CHAT_CONTROLLERS: tuple[Any, ...] = (ChatController, UsageController, PromptsController, OpenAIController)


class KernelPlugin(InitPluginProtocol):
    """Takes the application's :class:`~automatos.container.Container` (the composition root)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.kernel: Kernel = container.kernel()
        self.mcp = ToolServer(container.tools)  # /mcp: the workspace's tools over MCP

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        from automatos.container import start_tools, stop_tools  # the composition root imports this module

        await self.kernel.start()
        try:
            await ensure_seeded(self.kernel.store.sessionmaker)  # a new seed only; else one SELECT
            await self.container.marketplace().start()  # queues again the scans a stopped process left
            await start_tools(self.container)  # the sandbox, and every tool source joined to the views
            await self.container.recipe_runner().start()  # runs a stopped process left resume here
            # What start-up built lives as long as the process: keep it out of the collector's full
            # passes, which otherwise paused requests for ~100 ms (bench/chat_stream.py).
            gc.freeze()
            async with self.mcp.run():  # /mcp's session manager (sessionless: no state between requests)
                yield
        finally:
            await self.container.composio_catalogue().stop()  # a sync in flight is marked failed
            await self.container.recipe_runner().stop()  # steps in flight resume from their checkpoints
            await self.container.router().stop()  # the decisions still pending are written
            await self.container.marketplace().stop()  # scans in flight stay queued for the next start
            await stop_tools(self.container)  # sandbox runs answer 503 from here on
            await self.container.pipeline().aclose()  # the limiter's Redis connections
            await self.kernel.stop()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.state["kernel"] = self.kernel
        app_config.state["container"] = self.container  # services(request): ready services, never built per request
        app_config.lifespan.append(self._lifespan)
        app_config.middleware.append(build_middleware(self.container.pipeline()))
        install_tracing(app_config, self.kernel.settings)  # OTEL_ENABLED: a span per request, first in line
        app_config.dependencies.setdefault("kernel", Provide(provide_kernel, sync_to_thread=False))
        app_config.dependencies.setdefault("ctx", Provide(provide_context))
        for exc_type, handler in exception_handlers.items():
            app_config.exception_handlers.setdefault(exc_type, handler)
        app_config.route_handlers.extend(KERNEL_CONTROLLERS)
        app_config.route_handlers.extend(CHAT_CONTROLLERS)
        app_config.route_handlers.append(mcp_route(self.mcp))
        app_config.route_handlers.extend(self.kernel.hooks.routes())
        return app_config
