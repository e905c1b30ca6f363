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

from dependency_injector import providers

from automatos.agents.catalog import CatalogService
from automatos.agents.platform_settings import PlatformSettingsService
from automatos.agents.runtime import AgentsRuntime
from automatos.api.middleware import RequestPipeline
from automatos.api.readiness import ReadinessCache
from automatos.api.stats import RouteStats
from automatos.chat.service import ChatService
from automatos.kernel.container import KernelContainer, build_registry
from automatos.sandbox.service import SandboxService

__all__ = ["Container", "build_registry"]


class Container(KernelContainer):
    agents_runtime = providers.Singleton(AgentsRuntime, KernelContainer.kernel)
    catalog = providers.Singleton(CatalogService, KernelContainer.sessionmaker)
    chat = providers.Singleton(ChatService, agents_runtime)
    platform_settings = providers.Singleton(PlatformSettingsService, KernelContainer.sessionmaker)
    # the process's sandbox: started and stopped by the API's lifespan (api/plugin.py)
    sandbox = providers.Singleton(
        SandboxService,
        KernelContainer.kernel,
        platform=agents_runtime,  # the platform settings that bound a run (int_setting)
        workspaces=KernelContainer.kernel.provided.workspaces,  # the workspace's http policy (settings)
    )
    # the request path (api/): built once, fetched by the plugin when the app is built
    route_stats = providers.Singleton(RouteStats)
    pipeline = providers.Singleton(RequestPipeline, KernelContainer.kernel, route_stats)
    readiness = providers.Singleton(ReadinessCache, KernelContainer.kernel)
