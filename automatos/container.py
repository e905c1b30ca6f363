"""The application's composition root: every service is a provider here, built once per process.

:class:`~automatos.kernel.container.KernelContainer` holds the kernel's own pieces (settings,
registry, hook facade, engine, the :class:`~automatos.kernel.core.Kernel`); :class:`Container`
adds the services of the feature packages on top. It lives above every package (it may import any
of them; none imports it except ``api/``, ``cli/`` and tests), so the kernel still imports no
feature package.

The API reaches it through the one ``InitPlugin`` (``app.state["container"]``,
:func:`automatos.api.dependencies.services`); the CLI builds one per command. Controllers fetch
ready services from it, they never build one per request. Tests and embedders override a provider
instead of patching modules::

    container = Container()
    container.settings.override(providers.Object(load_settings({}, data_dir=tmp)))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import providers

import automatos.agents as agents_package
import automatos.marketplace as marketplace_package
import automatos.recipes as recipes_package
import automatos.recipes.models
import automatos.routing as routing_package
import automatos.tools as tools_package
import automatos.tools.composio.models
import automatos.tools.mcp.models  # noqa: F401 - their tables on Base.metadata (the tools' migrations)
from automatos.agents.personas import Personas
from automatos.agents.platform_settings import SEEDED_DECLARED
from automatos.agents.service import AgentService
from automatos.agents.skills import Skills
from automatos.api.middleware import RequestPipeline
from automatos.api.readiness import ReadinessCache
from automatos.api.stats import RouteStats
from automatos.chat.openai_compat import OpenAICompatService
from automatos.chat.prompts import PromptRegistry
from automatos.chat.service import ChatService
from automatos.kernel.container import KernelContainer, build_registry
from automatos.kernel.db.base import Base
from automatos.kernel.parts import MigrationSource, Parts
from automatos.llm.catalog import ModelCatalog
from automatos.llm.providers import ProviderResolver
from automatos.llm.settings import LLMSettings
from automatos.marketplace.categories import PluginCategories
from automatos.marketplace.runtime.service import PluginsService
from automatos.marketplace.service import MarketplaceService
from automatos.marketplace.settings import MarketplaceSettings
from automatos.recipes.build import recipe_runner, recipe_service
from automatos.recipes.engine import RecipeEngine
from automatos.recipes.runner import Progress
from automatos.recipes.settings import RecipeSettings
from automatos.routing.calibration import CalibrationService
from automatos.routing.corrections import CorrectionsService
from automatos.routing.rules import RulesService
from automatos.routing.service import RouterService
from automatos.routing.settings import RoutingSettings
from automatos.routing.stats import StatsService
from automatos.sandbox.service import SandboxService
from automatos.sandbox.settings import SANDBOX_DECLARED, SandboxSettings
from automatos.tools.composio.catalogue import ComposioCatalogue
from automatos.tools.composio.client import ComposioClient, ComposioSettings
from automatos.tools.composio.connections import ComposioConnections
from automatos.tools.composio.provider import ComposioTools
from automatos.tools.composio.triggers import ComposioTriggers
from automatos.tools.credential_types import CredentialTypes
from automatos.tools.mcp.servers import McpServers
from automatos.tools.mcp.settings import McpSettings
from automatos.tools.permissions import ToolPermissions
from automatos.tools.registry import ToolRegistry
from automatos.tools.service import ToolService
from automatos.workspaces.service import WorkspaceService

__all__ = ["Container", "build_registry", "start_tools", "stop_tools"]


AGENTS_MIGRATIONS = MigrationSource(
    name="automatos.agents",
    versions=Path(agents_package.__file__).parent / "migrations",
    metadata=Base.metadata,  # with the models of agents, chat, llm, tools and marketplace, imported above
)
"""The feature packages' tables: the agents schema's revision (0004: agents, personas, skills, the model
catalogue, prompts, chat, usage, reference catalogs, platform settings), in the agents package."""

MARKETPLACE_MIGRATIONS = MigrationSource(
    name="automatos.marketplace",
    versions=Path(marketplace_package.__file__).parent / "migrations",
    metadata=Base.metadata,  # automatos.marketplace.models, imported with the marketplace service
)
"""The marketplace's tables (0005: plugins, their versions, their scan findings; 0006: the runtime's
workspace plugins, agents' plugins, cached declarations), in its package."""

ROUTING_MIGRATIONS = MigrationSource(
    name="automatos.routing",
    versions=Path(routing_package.__file__).parent / "migrations",
    metadata=Base.metadata,  # automatos.routing.models and .rules, imported with the router's services
)
"""The router's tables (0007: decisions and unrouted events, the per-workspace configuration; 0008: the
routing rules), in its package."""

TOOLS_MIGRATIONS = MigrationSource(
    name="automatos.tools",
    versions=Path(tools_package.__file__).parent / "migrations",
    metadata=Base.metadata,  # automatos.tools.models, .mcp.models and .composio.models, imported above
)
"""The tools' tables (0011: agents' apps and the workspace's tool switches; 0012: MCP servers; 0013:
Composio's cached catalogue, connections and trigger subscriptions), in its package."""

RECIPES_MIGRATIONS = MigrationSource(
    name="automatos.recipes",
    versions=Path(recipes_package.__file__).parent / "migrations",
    metadata=Base.metadata,  # automatos.recipes.models, imported above
)
"""The recipes' tables (0014: recipes, versions, runs, step checkpoints, the runs' event log)."""

PACKAGE_PARTS = Parts(
    settings=(
        LLMSettings,
        RoutingSettings,
        SandboxSettings,
        MarketplaceSettings,
        McpSettings,
        ComposioSettings,
        RecipeSettings,
    ),
    declared=(*SANDBOX_DECLARED, *SEEDED_DECLARED),
    migrations=(AGENTS_MIGRATIONS, MARKETPLACE_MIGRATIONS, ROUTING_MIGRATIONS, TOOLS_MIGRATIONS, RECIPES_MIGRATIONS),
)
"""What the feature packages hand the kernel: settings structs, declared settings, migrations."""


class PlatformModel:
    """``() -> (LLM_PROVIDER, LLM_MODEL)`` as set now (run-time overrides included): the marketplace's
    LLM review asks the platform's default (the marketplace package does not import ``llm/``)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel

    def __call__(self) -> tuple[str, str]:
        own = self.kernel.current_settings.group(LLMSettings)
        return str(own.llm_provider), str(own.llm_model)


class Container(KernelContainer):
    # the one owner of workspace and membership writes: handed to the kernel, which attaches it (__new__)
    workspaces = providers.Singleton(WorkspaceService, KernelContainer.sessionmaker)
    # the one settings registry (kernel.settings_registry): run-time overrides, platform and workspace settings
    settings_registry = KernelContainer.kernel.provided.settings_registry
    # agents, personas, skills (agents/); the model catalogue and providers (llm/); reference catalogs
    personas = providers.Singleton(Personas, KernelContainer.sessionmaker)
    skills = providers.Singleton(Skills, KernelContainer.sessionmaker)
    # agent writes publish ``routing`` on the kernel's bus (the router drops its copy of the agents)
    agents = providers.Singleton(
        AgentService, KernelContainer.sessionmaker, personas, skills, kernel=KernelContainer.kernel
    )
    llm_catalog = providers.Singleton(ModelCatalog, KernelContainer.sessionmaker)
    llm_providers = providers.Singleton(ProviderResolver, KernelContainer.kernel)
    credential_types = providers.Singleton(CredentialTypes, KernelContainer.sessionmaker)
    plugin_categories = providers.Singleton(PluginCategories, KernelContainer.sessionmaker)
    # the marketplace (marketplace/): submissions, stored bundles, scans in a process of their own, review
    # the LLM review after a scan runs as the platform: its default provider and model (PlatformModel)
    marketplace = providers.Singleton(
        MarketplaceService,
        KernelContainer.kernel,
        plugin_categories,
        providers=llm_providers,
        platform_model=providers.Factory(PlatformModel, KernelContainer.kernel),
    )
    # tools (tools/): every tool of a workspace by name (extensions' and plugin proxies'), the tools API
    tool_registry = providers.Singleton(ToolRegistry, KernelContainer.kernel)
    tool_permissions = providers.Singleton(  # agents' apps, the workspace's switches, agents' intents
        ToolPermissions, KernelContainer.kernel, intents=agents.provided.tool_intents
    )
    tools = providers.Singleton(ToolService, KernelContainer.kernel, tool_registry)
    mcp_servers = providers.Singleton(McpServers, KernelContainer.kernel)  # a workspace's MCP servers: their tools
    # chat (chat/): prompts, sessions and turns, the OpenAI-compatible service
    prompts = providers.Singleton(PromptRegistry, KernelContainer.kernel, settings_registry)
    chat = providers.Singleton(
        ChatService,
        KernelContainer.kernel,
        agents=agents,
        settings=settings_registry,
        prompts=prompts,
        models=llm_catalog,
        providers=llm_providers,
        tools=tool_registry,  # the agent's assigned plugins' content in its system prompt
        tool_calls=tools,  # the agent's tool calls in a turn (chat/tool_loop.py)
    )
    # the router (routing/): the workspace's routing rules, the tier cascade, decisions, configuration
    routing_rules = providers.Singleton(RulesService, KernelContainer.kernel)
    router = providers.Singleton(RouterService, KernelContainer.kernel, agents, llm_providers, rules=routing_rules)
    routing_corrections = providers.Singleton(CorrectionsService, router)  # corrections, labelled examples
    routing_stats = providers.Singleton(StatsService, router)
    routing_calibration = providers.Singleton(CalibrationService, router, routing_corrections)  # route fit
    # Composio (tools/composio/): the SDK client (none without COMPOSIO_API_KEY), the cached catalogue and its
    # sync job, a workspace's connections, their tools in its view, trigger subscriptions routed by the router
    composio_client = providers.Singleton(ComposioClient, KernelContainer.kernel)
    composio_catalogue = providers.Singleton(ComposioCatalogue, KernelContainer.kernel, composio_client)
    composio_connections = providers.Singleton(ComposioConnections, KernelContainer.kernel, composio_client)
    composio_tools = providers.Singleton(ComposioTools, KernelContainer.kernel, composio_client)
    # recipes (recipes/): versioned definitions and runs, the engine, the in-process runner
    recipes = providers.Singleton(recipe_service, KernelContainer.kernel, agents, tool_registry)
    composio_triggers = providers.Singleton(  # events routed, and the recipes listing them started
        ComposioTriggers,
        KernelContainer.kernel,
        composio_client,
        route=router.provided.route,
        start_recipes=recipes.provided.start_for_trigger,
    )
    recipe_engine = providers.Singleton(RecipeEngine, KernelContainer.kernel, chat, tools)
    recipe_progress = providers.Singleton(Progress)
    recipe_runner = providers.Singleton(recipe_runner, recipe_engine, recipes, recipe_progress, KernelContainer.kernel)
    openai_compat = providers.Singleton(OpenAICompatService, KernelContainer.kernel, chat, llm_providers, llm_catalog)
    # the process's sandbox: started and stopped by the API's lifespan (api/plugin.py)
    sandbox = providers.Singleton(
        SandboxService,
        KernelContainer.kernel,
        platform=settings_registry,  # the platform settings that bound a run (int_setting)
        workspaces=workspaces,  # the workspace's http policy (settings)
    )
    # the marketplace runtime (marketplace/runtime/): plugins enabled per workspace, run in the sandbox
    plugins = providers.Singleton(PluginsService, KernelContainer.kernel, sandbox)
    # the request path (api/): built once, fetched by the plugin when the app is built
    route_stats = providers.Singleton(RouteStats)
    pipeline = providers.Singleton(RequestPipeline, KernelContainer.kernel, route_stats)
    readiness = providers.Singleton(ReadinessCache, KernelContainer.kernel)

    def __new__(cls, **overriding: Any) -> Container:
        """Hand the kernel this container's workspace service (``KernelContainer.workspace_owner``).

        The kernel must hold the very instance ``container.workspaces()`` gives; a provider redefined
        in a subclass reaches the inherited kernel provider only as a copy (a second instance), so
        the new container's slot is overridden instead.
        """
        container: Container = super().__new__(cls, **overriding)
        container.workspace_owner.override(container.workspaces)
        container.package_parts.override(providers.Object(PACKAGE_PARTS))  # the same way, for the parts
        return container


async def start_tools(container: Container) -> None:
    """Start what runs tools in this process: the sandbox, and every tool source joined to the
    workspaces' views — the views' extras first (agents' apps and switches, MCP servers, Composio),
    then the plugins, whose pre-warm builds views with all of them. An API process and a recipes
    worker (``automatos worker --queue recipes``) both call it: a recipe step calls the same tools."""
    await container.sandbox().start()  # none when FEATURE_SANDBOX is off (or it failed: runs answer 503)
    await container.tool_permissions().start()
    await container.mcp_servers().start()
    await container.composio_tools().start()
    await container.plugins().start()


async def stop_tools(container: Container) -> None:
    """The reverse of :func:`start_tools`."""
    await container.plugins().stop()
    await container.sandbox().stop()
