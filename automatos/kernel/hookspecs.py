"""Every hook of Automatos, typed, one docstring each, grouped by family.

Conventions (Datasette's, pytest's):
- An implementation may accept any subset of a spec's arguments, by name; adding an argument to a
  spec never breaks an existing extension.
- Collector hooks are named ``register_*`` and receive a ``register`` callback. The kernel's
  callback validates each item, de-duplicates names and remembers which extension gave it.
- Implementations may be plain functions or ``async def``; the facade
  (:mod:`automatos.kernel.hooks`) awaits each result in call order. No spec is ``firstresult``:
  the facade stops at the first non-``None`` where a hook says so.
- Workspace-scoped hooks (marked *per workspace*) are only called for extensions enabled in the
  workspace; they receive ``workspace`` and ``config``, the extension's own configuration for that
  workspace. Extensions keep no per-workspace state of their own.
- A raising implementation never breaks an unrelated request: it is logged with the extension's
  name, counted, and reported as a per-extension error.

Each hook has a section in ``docs/hooks.md``; ``tests/kernel/test_hook_docs.py`` keeps both in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.scanning import TargetRule
    from automatos.kernel.settings import Settings
    from automatos.kernel.types import (
        AuthMethod,
        BackendFactory,
        EmbeddingProvider,
        Event,
        LLMProvider,
        RoutingTier,
        ScanRule,
        ToolProvider,
        Workspace,
    )

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "automatos"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Auth methods -------------------------------------------------------------------------------


@hookspec
def register_auth_methods(register: Callable[[AuthMethod], None], settings: Settings, kernel: Kernel) -> None:
    """Register ways to authenticate a request.

    Called once at startup, after the backends and the bus are up. ``register(method)`` takes an
    object with ``name``, ``priority`` (lower runs first) and ``authenticate(headers)``, which returns
    a :class:`Principal`, ``None`` when the headers are not for this method, or raises
    ``AuthenticationError`` when they are but are wrong. ``kernel`` gives a method what it needs to
    verify credentials (``kernel.store.sessionmaker``, ``kernel.bus`` for cross-node revocation,
    ``kernel.backends.kv``); keep per-process caches on the method object, never per-workspace state.
    """


# --- Storage backends ---------------------------------------------------------------------------


@hookspec
def register_blob_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register object-storage backends by name (``local``, ``s3``…).

    ``register(name, factory)``; ``factory(ctx: BackendContext)`` returns a ``BlobBackend``. The
    kernel builds the one named by ``BLOB_BACKEND`` (or the default) once, at startup.
    """


@hookspec
def register_kv_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register cache/key-value backends by name (``memory``, ``redis``…).

    ``factory(ctx)`` returns a ``KVBackend`` with TTLs and atomic counters.
    """


@hookspec
def register_pubsub_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register publish/subscribe backends by name (``memory``, ``redis``…).

    ``factory(ctx)`` returns a ``PubSubBackend``; the kernel uses it to invalidate caches on every node.
    """


@hookspec
def register_vector_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register vector indexes by name (``exact``, ``pgvector``…).

    ``factory(ctx)`` returns a ``VectorBackend``; ``ctx.engine`` is the kernel's database engine.
    """


@hookspec
def register_queue_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Register job-queue servers by name (``redis``…): where ``automatos.jobs`` keeps its jobs.

    ``factory(ctx)`` returns a ``QueueBackend``. Not built at kernel start: the job queue builds the
    one it needs (``redis`` when ``REDIS_URL`` is set) when a process first submits or serves jobs.
    """


# --- Models -------------------------------------------------------------------------------------


@hookspec
def register_llm_providers(
    register: Callable[[LLMProvider], None], settings: Settings, workspace: Workspace, config: Mapping[str, Any]
) -> None:
    """Register language-model providers (*per workspace*).

    ``register(provider)`` takes an object with ``name``, ``complete()`` and ``stream()``. ``config``
    is this extension's configuration in the workspace (for example a workspace's own API key).
    """


@hookspec
def register_embedding_providers(
    register: Callable[[EmbeddingProvider], None],
    settings: Settings,
    workspace: Workspace,
    config: Mapping[str, Any],
) -> None:
    """Register embedding providers (*per workspace*): objects with ``name``, ``dimensions``, ``embed()``."""


# --- Routing ------------------------------------------------------------------------------------


@hookspec
def register_routing_tiers(
    register: Callable[[RoutingTier], None], settings: Settings, workspace: Workspace, config: Mapping[str, Any]
) -> None:
    """Register tiers of the agent router (*per workspace*).

    A tier has ``name``, ``order`` and ``async route(request, context)``. Tiers run by ascending
    ``order`` (a workspace may reorder or switch them off in its routing configuration); the first
    that returns a :class:`~automatos.kernel.types.RouteDecision` wins, a
    :class:`~automatos.kernel.types.RouteShortlist` narrows the choice for the tiers after it, and
    ``None`` passes. ``context`` (:class:`~automatos.kernel.types.RoutingContext`) gives the
    workspace's agents, rules, embedder, LLM, routing configuration and clock. A tier that raises or
    overruns its time limit is skipped and recorded; the cascade goes on.
    """


# --- Tools --------------------------------------------------------------------------------------


@hookspec
def register_tool_providers(
    register: Callable[[ToolProvider], None], settings: Settings, workspace: Workspace, config: Mapping[str, Any]
) -> None:
    """Register tool providers (*per workspace*): objects with ``name``, ``list_tools()``, ``execute()``."""


# --- Security scanning --------------------------------------------------------------------------


@hookspec
def register_scan_rules(register: Callable[[ScanRule | TargetRule], None]) -> None:
    """Register static checks run over third-party code before it is imported or approved.

    ``register(rule)`` takes an object with ``id``, ``severity`` and either
    ``check_target(target)`` (a :class:`~automatos.kernel.scanning.ScanTarget`: every file of a
    marketplace bundle or an installed distribution, its manifest and entry module) or the
    per-file ``check(source, path)``, returning findings. Rules come only from built-in
    extensions: they are collected before any third-party code loads.
    """


# --- HTTP routes --------------------------------------------------------------------------------


@hookspec
def register_routes(register: Callable[[Any], None], settings: Settings) -> None:
    """Add Litestar route handlers, controllers or routers to the app.

    Called once when the app is built. Routes added by an extension must check the request's
    workspace themselves (``RequestContext`` is available as a dependency).
    """


# --- Lifecycle ----------------------------------------------------------------------------------


@hookspec
def startup(kernel: Kernel) -> None:
    """Called once per process after backends are up, before the first request is served."""


@hookspec
def shutdown(kernel: Kernel) -> None:
    """Called once per process on graceful shutdown, before pools are closed."""


# --- Events -------------------------------------------------------------------------------------


@hookspec
def on_event(event: Event, workspace: Workspace | None, config: Mapping[str, Any]) -> None:
    """Something happened (*per workspace* when ``event.workspace_id`` is set, else to every extension).

    Names are dotted (``extension.enabled``, ``extension.disabled``, ``workspace.created``,
    ``settings.changed``). Return values are ignored; a slow implementation delays only the
    caller's background task.
    """


# --- Configuration ------------------------------------------------------------------------------


@hookspec
def extension_config_schema() -> type | None:
    """The type this extension's per-workspace configuration must convert to, or ``None``.

    Called once, right after the extension is loaded; a plain function (an ``async def`` one, one
    that raises or one that returns something ``msgspec.convert`` cannot convert to gets the
    extension quarantined). Usually a ``msgspec.Struct`` with ``forbid_unknown_fields=True`` and
    ``Annotated[..., msgspec.Meta(...)]`` bounds. ``PUT /api/workspaces/{id}/extensions/{name}``
    refuses a configuration that does not convert (422 naming ``config.<field>``), and a stored
    one that does not (written before the schema existed, or by hand) keeps the extension out of
    that workspace's view with the reason shown to the workspace's admins. Without a schema any
    JSON object is accepted. The per-workspace hooks still receive ``config`` as a read-only
    mapping of what was stored, already checked against the schema.
    """


@hookspec
def register_settings(register: Callable[[Any], None]) -> None:
    """Declare this extension's settings (the one settings registry; see ``docs/extensions.md``).

    ``register(XxxSettings)`` takes a subclass of :class:`~automatos.kernel.settings.SettingsGroup`:
    the extension's settings read from the environment (each field's variable, form and run-time
    flag in its ``FIELDS``). The kernel reads it when it is built (a malformed variable stops
    startup naming it), lists it in the README table and ``/api/settings``, and lets its run-time
    fields be overridden; the extension reads it with ``settings.group(XxxSettings)``.
    ``register(Declared(...))`` (:mod:`automatos.kernel.settings_registry`) declares a platform- or
    workspace-scoped setting stored in the database, with its type, bounds, default and description.
    Called once when the kernel is built; a plain function (not ``async``). Registering the same
    object twice (two modules of one package) is not an error.
    """


@hookspec
def register_migrations(register: Callable[[Any], None]) -> None:
    """Contribute this extension's tables: ``register(MigrationSource(name, versions, metadata))``.

    (:class:`~automatos.kernel.parts.MigrationSource`). ``versions`` is a directory of Alembic
    revision files that join the one revision graph (a new extension starts its own branch:
    ``branch_labels=("<name>",)``, ``depends_on`` the kernel revision it needs); ``metadata``
    (optional) is the ``MetaData`` of its models, for ``alembic revision --autogenerate``.
    ``automatos db upgrade`` and the kernel's start run them with the kernel's own
    (:mod:`automatos.kernel.db.migrate`). Called once when the kernel is built; a plain function
    (not ``async``).
    """
