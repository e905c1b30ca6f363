"""The running kernel: what the container assembles and every handler reaches through.

:class:`Kernel` owns the process-wide pieces (registry, hook facade, database engine, backends,
bus, workspace views, settings overrides) and their lifecycle: :meth:`Kernel.start` migrates (when
``AUTOMATOS_AUTO_MIGRATE``), builds the configured backends through the ``register_*_backends``
hooks, subscribes to the kernel bus, runs the start steps others registered and calls the
``startup`` hook; :meth:`Kernel.stop` reverses it and closes every pool. Operations that change
shared state across nodes (enabling an extension, overriding a setting) live here too, because
each is "write, bump, publish".

Workspaces and memberships are not the kernel's to write: their owner (the workspaces package's
service, see :mod:`automatos.kernel.workspace_owner`) is handed in by the composition root, and
attaches itself through two generic hook points, :meth:`Kernel.subscribe` (a bus channel) and
:meth:`Kernel.on_start` (a step of every start). ``kernel.directory`` is that owner's cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from automatos.kernel.backends import (
    Backend,
    BackendContext,
    BlobBackend,
    KVBackend,
    PubSubBackend,
    VectorBackend,
)
from automatos.kernel.bus import Handler, KernelBus
from automatos.kernel.db.base import utcnow
from automatos.kernel.errors import ConflictError, NotFoundError, SettingsError
from automatos.kernel.hooks import Hooks, HookView
from automatos.kernel.metrics import KernelMetrics
from automatos.kernel.overrides import SettingsOverrides
from automatos.kernel.parts import Parts, collect_parts
from automatos.kernel.secrets import SecretBox
from automatos.kernel.settings_registry import SettingsRegistry
from automatos.kernel.store import KernelStore
from automatos.kernel.tasks import cancel_and_wait
from automatos.kernel.types import AuthMethod, Event, ExtensionState, Workspace
from automatos.kernel.views import WorkspaceViews
from automatos.kernel.workspace_owner import WorkspaceDirectory, WorkspaceOwner

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from automatos.kernel.registry import Registry
    from automatos.kernel.settings import Settings

__all__ = ["Backends", "Kernel"]

log = logging.getLogger("automatos.kernel")

JOURNAL_KEEP = timedelta(hours=1)
JOURNAL_PRUNE_INTERVAL = 60.0
_FAMILY_ENV = {"blob": "BLOB_BACKEND", "kv": "KV_BACKEND", "pubsub": "PUBSUB_BACKEND", "vector": "VECTOR_BACKEND"}


@dataclass
class Backends:
    blob: BlobBackend
    kv: KVBackend
    pubsub: PubSubBackend
    vectors: VectorBackend

    def named(self) -> dict[str, Any]:
        return {"blob": self.blob, "kv": self.kv, "pubsub": self.pubsub, "vector": self.vectors}


class Kernel:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        hooks: Hooks,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        secret_box: SecretBox | None = None,
        metrics: KernelMetrics | None = None,
        workspaces: WorkspaceOwner | None = None,
        parts: Parts | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.hooks = hooks
        self.engine = engine
        self.secret_box = secret_box if secret_box is not None else SecretBox.from_settings(settings)
        self.metrics = metrics if metrics is not None else KernelMetrics()
        """What ``/metrics`` reports of this kernel: requests per route, LLM usage (kernel/metrics.py)."""
        """Encrypts workspace extension configuration at rest (``AUTOMATOS_SECRET_KEY``)."""
        self.store = KernelStore(sessionmaker, secret_box=self.secret_box)
        self.views = WorkspaceViews(
            registry,
            self.store.extension_state,
            versions=self.store.extension_versions,
            enabled_by_default=settings.extensions_enabled_by_default,
        )
        self.parts = parts if parts is not None else collect_parts(hooks)
        """Settings structs, declared settings and migrations of the packages and extensions."""
        self.overrides = SettingsOverrides(settings, self.store, self.parts.settings)
        self.settings_registry = SettingsRegistry(
            sessionmaker,
            self.overrides,
            self.parts.declared,
            set_runtime=lambda key, raw, actor: self.set_setting(key, raw, actor_id=actor),
        )
        """The one settings registry: run-time overrides and declared platform/workspace settings."""
        self._backends: Backends | None = None
        self._bus: KernelBus | None = None
        self.auth_methods: list[AuthMethod] = []
        self.auth_sources: dict[str, str] = {}
        """Auth method name -> the extension that registered it."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._opened: list[Backend] = []
        self._recheck: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._subscriptions: list[tuple[str, Handler]] = []
        self._start_steps: list[Callable[[], Awaitable[None]]] = []
        self.started = False
        self._workspace_owner = workspaces
        self.directory: WorkspaceDirectory = _NoDirectory()
        """Who belongs where (cached): the workspace owner's directory, read on every request."""
        if workspaces is not None:
            workspaces.attach(self)
            self.directory = workspaces.directory

    # -- accessors -------------------------------------------------------------------------------

    @property
    def backends(self) -> Backends:
        if self._backends is None:
            raise RuntimeError("the kernel is not started: backends are built by Kernel.start()")
        return self._backends

    @property
    def bus(self) -> KernelBus:
        if self._bus is None:
            raise RuntimeError("the kernel is not started: the bus is created by Kernel.start()")
        return self._bus

    @property
    def workspace_owner(self) -> WorkspaceOwner:
        """The one owner of workspace and membership writes (what extensions provision through)."""
        if self._workspace_owner is None:
            raise RuntimeError(_NO_OWNER)
        return self._workspace_owner

    @property
    def current_settings(self) -> Settings:
        """Settings with the ``system_settings`` overrides applied (cached; no I/O)."""
        return self.overrides.current

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring the kernel up; on any failure release what was opened, then re-raise."""
        if self.started:
            return
        try:
            await self._start()
        except BaseException:
            await self._release()
            raise
        self.started = True

    async def _start(self) -> None:
        if self.settings.auto_migrate:
            from automatos.kernel.db.migrate import upgrade

            await upgrade(self.settings.resolved_database_url, sources=self.parts.migrations)
        self._backends = await self._build_backends()
        self._bus = KernelBus(self._backends.pubsub, journal=self.store)
        self._bus.on("extensions", self._on_extensions_message)
        self._bus.on("settings", self._on_settings_message)
        for channel, handler in self._subscriptions:
            self._bus.on(channel, handler)
        await self._bus.start(now=utcnow())
        self.overrides.listeners.append(self._apply_settings)
        await self.overrides.refresh()
        methods = await self.hooks.auth_methods(self)
        self.auth_methods = list(methods.items.values())
        self.auth_sources = methods.sources
        for step in self._start_steps:
            await step()
        result = await self.hooks.startup(self)
        for error in result.errors:
            log.error("startup hook of %s failed: %s", error.plugin, error.error)
        self._recheck = asyncio.create_task(self._recheck_loop(), name="automatos-recheck")
        self._poller = asyncio.create_task(self._poll_loop(), name="automatos-bus-poll")

    async def stop(self) -> None:
        """Graceful shutdown: the ``shutdown`` hook, background tasks, bus, backends, then the pool."""
        if not self.started:
            return
        self.started = False
        await self.hooks.shutdown(self)
        await self._release()

    async def _release(self) -> None:
        for loop in (self._recheck, self._poller):
            if loop is not None:
                await cancel_and_wait(loop)
        self._recheck = self._poller = None
        for task in list(self._tasks):
            task.cancel()
        if self._bus is not None:
            await self._bus.stop()
        for backend in self._opened:
            try:
                await backend.close()
            except Exception as exc:
                log.warning("closing the %s backend failed: %s", backend.name or type(backend).__name__, exc)
        self._opened.clear()
        await self.engine.dispose()

    def _apply_settings(self, settings: Settings) -> None:
        """Run-time overrides reach the hooks (their ``settings`` argument) and the log level."""
        self.hooks.settings = settings
        logging.getLogger("automatos").setLevel(settings.log_level)

    async def _build_backends(self) -> Backends:
        ctx = BackendContext(settings=self.settings, engine=self.engine)
        built: dict[str, Any] = {}
        for family, env in _FAMILY_ENV.items():
            wanted = self.settings.pick(family)
            factories = await self.hooks.backend_factories(family)
            pair = factories.items.get(wanted)
            if pair is None:
                available = ", ".join(sorted(factories.items)) or "none"
                missing = [  # a built-in whose SDK is not installed says which extra to install
                    f"; {info.name} {info.reason}"
                    for info in self.registry.extensions.values()
                    if info.reason and "extra: pip install" in info.reason
                ]
                raise SettingsError(
                    f"{env}={wanted!r}: no loaded extension registers a {family} backend of that name "
                    f"(available: {available}{''.join(missing)})"
                )
            built[family] = backend = pair[1](ctx)
            self._opened.append(backend)
            await backend.open()
        return Backends(blob=built["blob"], kv=built["kv"], pubsub=built["pubsub"], vectors=built["vector"])

    async def _recheck_loop(self) -> None:
        """Fallback for lost invalidations: compare versions with the database now and then."""
        while self.started:  # not ``True``: a cancel that comes back as an error still ends it
            await asyncio.sleep(self.settings.recheck_seconds)
            try:
                await self.views.recheck()
                await self.overrides.refresh_if_stale()
            except Exception as exc:
                log.warning("re-checking cached views failed: %s", exc)

    async def _poll_loop(self) -> None:
        """Catch up on bus messages from the journal; prune it now and then."""
        pruned_at = 0.0
        while self.started:
            await asyncio.sleep(self.settings.bus_poll_seconds)
            try:
                await self.bus.poll(utcnow())
                if time.monotonic() - pruned_at > JOURNAL_PRUNE_INTERVAL:
                    pruned_at = time.monotonic()
                    await self.store.prune_events(utcnow() - JOURNAL_KEEP)
            except Exception as exc:
                log.warning("reading the bus journal failed: %s", exc)

    async def _on_extensions_message(self, message: dict[str, Any]) -> None:
        workspace_id = message.get("workspace_id")
        if isinstance(workspace_id, str):
            self.views.invalidate(workspace_id, message.get("version"))

    async def _on_settings_message(self, message: dict[str, Any]) -> None:
        await self.overrides.refresh()

    # -- hook points for the packages above -----------------------------------------------------

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Hand ``channel``'s bus messages to ``handler`` from the next start on (at once if running).

        For a cache that lives above the kernel (the workspace directory): its owner publishes
        ``channel`` after a write, and every node's handler drops what it holds.
        """
        self._subscriptions.append((channel, handler))
        if self._bus is not None:
            self._bus.on(channel, handler)

    def on_start(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` at every start: after the bus, the settings and the auth methods are up,
        before the ``startup`` hook (the default workspace exists when extensions start)."""
        self._start_steps.append(step)

    # -- request-path helpers --------------------------------------------------------------------

    async def view_for(self, workspace: Workspace) -> HookView:
        """The workspace's hook view: cached dict lookup, built on first use."""
        return self.views.cached(workspace.id) or await self.views.get(workspace.id)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, kept referenced until done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def emit(self, event: Event) -> None:
        """Tell enabled extensions about ``event`` without making the caller wait for them."""
        workspace = await self.store.get_workspace(event.workspace_id) if event.workspace_id else None
        view = await self.view_for(workspace) if workspace is not None else self.hooks.global_view()
        self.spawn(self.hooks.on_event(view, event, workspace))

    # -- shared-state changes --------------------------------------------------------------------

    async def set_extension(
        self,
        workspace: Workspace,
        name: str,
        *,
        enabled: bool,
        config: dict[str, Any] | None = None,
        actor_id: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Enable or disable ``name`` in ``workspace``; every node's view follows within a second."""
        info = self.registry.extensions.get(name)
        if info is None:
            raise NotFoundError(f"no extension named {name!r} is installed", field="name")
        if info.state is not ExtensionState.LOADED:
            raise ConflictError(f"extension {name!r} is {info.state.value}: {info.reason}", field="name")
        if info.essential and not enabled:
            raise ConflictError(f"extension {name!r} is essential and cannot be disabled", field="enabled")
        version = await self.store.set_extension(
            workspace.id, name, enabled=enabled, config=config, actor_id=actor_id, request_id=request_id
        )
        task = self.views.invalidate(workspace.id, version)
        if task is not None:
            await task  # this node answers with the new state at once
        await self.bus.publish("extensions", workspace_id=workspace.id, version=version)
        await self.emit(
            Event(
                name="extension.enabled" if enabled else "extension.disabled",
                workspace_id=workspace.id,
                data={"extension": name},
            )
        )
        return version

    async def set_setting(self, env_name: str, raw: str | None, *, actor_id: str | None = None) -> None:
        """Override (or with ``None`` clear) a run-time setting on every node."""
        await self.overrides.set(env_name, raw, actor_id=actor_id)
        await self.bus.publish("settings", key=env_name)
        await self.emit(Event(name="settings.changed", data={"key": env_name}))


_NO_OWNER = (
    "no owner of workspace writes is attached to this kernel: build it from automatos.container.Container"
    " (KernelContainer alone has none)"
)


class _NoDirectory:
    """``kernel.directory`` of a kernel built without a workspace owner: says so when asked."""

    async def workspace(self, ref: str) -> Workspace | None:
        raise RuntimeError(_NO_OWNER)

    async def role(self, workspace_id: str, user_id: str) -> str | None:
        raise RuntimeError(_NO_OWNER)
