"""The typed async facade over ``pm.hook``: nothing outside ``kernel/`` touches pluggy directly.

Why the facade runs the implementations itself instead of calling ``pm.hook.x(...)``:
- pluggy is synchronous; implementations here may be ``async def``. The facade awaits each result
  in call order and, where a hook wants one answer, stops at the first non-``None``.
- Containment is per implementation. Inside pluggy one raising implementation aborts the whole call;
  here it is logged with its extension's name, counted, and returned as a :class:`PluginError`
  while the others still run.
- Per-extension arguments: each implementation gets its own ``config`` (its configuration in the
  workspace) and its own ``register`` callback (which stamps what it registers with its name).

A :class:`HookView` is a frozen call plan: for every hook, the implementations of the extensions
visible in one scope, in pluggy's call order (taken from ``subset_hook_caller``, the way pytest scopes
conftest plugins). Building one costs microseconds per hook; calling through it costs a tight loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from automatos.kernel.metrics import HOOK_CALLS
from automatos.kernel.types import (
    AuthMethod,
    EmbeddingProvider,
    Event,
    LLMProvider,
    RoutingTier,
    ToolProvider,
    Workspace,
)

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.registry import Registry
    from automatos.kernel.settings import Settings
    from automatos.kernel.types import BackendFactory

__all__ = ["CallResult", "Collected", "HookView", "Hooks", "Impl", "PluginError", "PluginErrors"]

log = logging.getLogger("automatos.hooks")
T = TypeVar("T")
EMPTY_CONFIG: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Impl:
    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    wants_config: bool


class HookView:
    """Call plans for the extensions visible in one scope (a workspace, or the whole process)."""

    __slots__ = ("configs", "failures", "hidden", "plans", "problems", "version", "workspace_id")

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        hidden: Iterable[str] = (),
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        workspace_id: str | None = None,
        version: int = 0,
        problems: Mapping[str, str] | None = None,
    ) -> None:
        self.problems: Mapping[str, str] = MappingProxyType(dict(problems or {}))
        """Extensions kept out of this scope although enabled, and why (a stored configuration
        that does not fit the extension's schema): what the workspace's admins are shown."""
        self.failures: dict[str, str] = {}
        """Extension -> ``"<hook>: <error>"``, the last failure of its code through this view. A
        view is rebuilt when the workspace's extensions change, so fixed failures do not linger."""
        self.hidden = frozenset(hidden) | frozenset(self.problems)
        self.configs = {k: MappingProxyType(dict(v)) for k, v in (configs or {}).items()}
        self.workspace_id = workspace_id
        self.version = version
        remove = [p for p in (pm.get_plugin(n) for n in self.hidden) if p is not None]
        plans: dict[str, tuple[Impl, ...]] = {}
        for name in _hook_names(pm):
            caller = pm.subset_hook_caller(name, remove_plugins=remove)
            impls = caller.get_hookimpls()
            # pluggy calls the last of get_hookimpls() first.
            plans[name] = tuple(
                Impl(i.plugin_name, i.function, tuple(i.argnames), "config" in i.argnames) for i in reversed(impls)
            )
        self.plans = plans

    def plugins(self, hook: str) -> list[str]:
        return [i.plugin for i in self.plans.get(hook, ())]


def _hook_names(pm: pluggy.PluginManager) -> list[str]:
    return [n for n, c in vars(pm.hook).items() if isinstance(c, pluggy.HookCaller) and c.spec is not None]


@dataclass(frozen=True, slots=True)
class PluginError:
    plugin: str
    hook: str
    error: str


@dataclass
class CallResult:
    results: list[Any] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)


@dataclass
class Collected(Generic[T]):
    """What a ``register_*`` hook produced: items by name, who gave each, and what went wrong."""

    items: dict[str, T] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[PluginError] = field(default_factory=list)


@dataclass
class _ErrorStat:
    count: int = 0
    last_error: str = ""
    last_at: float = 0.0


class PluginErrors:
    """Per-extension failure counters, shown by ``GET /api/extensions``."""

    def __init__(self) -> None:
        self._stats: dict[tuple[str, str], _ErrorStat] = {}

    def record(self, plugin: str, hook: str, message: str) -> None:
        stat = self._stats.setdefault((plugin, hook), _ErrorStat())
        stat.count += 1
        stat.last_error = message
        stat.last_at = time.time()

    def for_plugin(self, plugin: str) -> list[dict[str, Any]]:
        return [
            {"hook": hook, "count": s.count, "last_error": s.last_error, "last_at": s.last_at}
            for (p, hook), s in self._stats.items()
            if p == plugin
        ]

    def total(self, plugin: str) -> int:
        return sum(s.count for (p, _), s in self._stats.items() if p == plugin)


class Hooks:
    """One typed async method per hook; the generic :meth:`call` underneath."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.errors = PluginErrors()
        self._global: HookView | None = None

    # -- views -----------------------------------------------------------------------------------

    def global_view(self) -> HookView:
        """Every loaded extension; used for process-wide hooks."""
        if self._global is None:
            self._global = HookView(self.registry.pm)
        return self._global

    def reset(self) -> None:
        """Forget the global plan after extensions are (un)registered."""
        self._global = None

    # -- the loop --------------------------------------------------------------------------------

    async def call(
        self,
        view: HookView,
        hook: str,
        kwargs: Mapping[str, Any],
        *,
        first: bool = False,
        per_plugin: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> CallResult:
        """Run ``hook`` for every implementation in ``view``; contain failures; await awaitables."""
        out = CallResult()
        results = out.results
        configs = view.configs
        for impl in view.plans.get(hook, ()):
            HOOK_CALLS[impl.plugin, hook] += 1  # /metrics: calls per extension (kernel/metrics.py)
            args = kwargs
            if impl.wants_config or per_plugin is not None:
                args = dict(kwargs)
                if impl.wants_config:
                    args["config"] = configs.get(impl.plugin, EMPTY_CONFIG)
                if per_plugin is not None:
                    args.update(per_plugin(impl.plugin))
            try:
                value = impl.function(*[args[a] for a in impl.argnames])
                if hasattr(value, "__await__"):
                    value = await value
            except Exception as exc:
                self._contain(impl.plugin, hook, exc, out)
                if view.workspace_id is not None:
                    view.failures[impl.plugin] = f"{hook}: {out.errors[-1].error}"
                continue
            if value is not None:
                results.append(value)
                if first:
                    break
        return out

    def record_failure(self, plugin: str, hook: str, exc: Exception) -> PluginError:
        """Log and count a failure of ``plugin``'s code (a hook, or an object it registered)."""
        message = f"{type(exc).__name__}: {exc}"
        log.error("extension %s failed in %s: %s", plugin, hook, message, exc_info=exc)
        self.errors.record(plugin, hook, message)
        return PluginError(plugin, hook, message)

    def _contain(self, plugin: str, hook: str, exc: Exception, out: CallResult) -> None:
        out.errors.append(self.record_failure(plugin, hook, exc))

    async def first(self, view: HookView, hook: str, kwargs: Mapping[str, Any]) -> Any:
        """The first non-``None`` result in call order, or ``None``."""
        result = await self.call(view, hook, kwargs, first=True)
        return result.results[0] if result.results else None

    async def collect(
        self,
        view: HookView,
        hook: str,
        kwargs: Mapping[str, Any],
        *,
        check: Callable[[Any], str | None],
        key: Callable[[Any], str],
    ) -> Collected[Any]:
        """Run a ``register_*`` hook: validate each item, de-duplicate by ``key``, stamp its source.

        The first registration of a name in call order wins; a later duplicate is an error of the
        extension that tried it, not a crash.
        """
        collected: Collected[Any] = Collected()

        def per_plugin(plugin: str) -> Mapping[str, Any]:
            def register(*item: Any) -> None:
                value = item if len(item) > 1 else item[0]
                problem = check(value)
                if problem:
                    raise TypeError(f"{hook}: {problem}")
                name = key(value)
                if name in collected.items:
                    message = f"{name!r} already registered by {collected.sources[name]}"
                    collected.errors.append(PluginError(plugin, hook, message))
                    self.errors.record(plugin, hook, message)
                    log.warning("extension %s: %s %s", plugin, hook, message)
                    return
                collected.items[name] = value
                collected.sources[name] = plugin

            return {"register": register}

        result = await self.call(view, hook, kwargs, per_plugin=per_plugin)
        collected.errors.extend(result.errors)
        return collected

    # -- typed hooks -----------------------------------------------------------------------------

    async def auth_methods(self, kernel: Kernel) -> Collected[AuthMethod]:
        """Auth methods by name (``items`` in priority order, lower first) and who registered each."""
        got = await self.collect(
            self.global_view(),
            "register_auth_methods",
            {"settings": self.settings, "kernel": kernel},
            check=_protocol(AuthMethod),
            key=lambda m: m.name,
        )
        got.items = dict(sorted(got.items.items(), key=lambda kv: kv[1].priority))
        return got

    async def backend_factories(self, family: str) -> Collected[tuple[str, BackendFactory]]:
        """``family`` is ``blob``, ``kv``, ``pubsub``, ``vector`` or ``queue``."""
        return await self.collect(
            self.global_view(),
            f"register_{family}_backends",
            {},
            check=_named_factory,
            key=lambda pair: pair[0],
        )

    async def _workspace_collect(self, view: HookView, hook: str, workspace: Workspace, kind: type) -> Collected[Any]:
        return await self.collect(
            view,
            hook,
            {"settings": self.settings, "workspace": workspace},
            check=_protocol(kind),
            key=lambda item: item.name,
        )

    async def llm_providers(self, view: HookView, workspace: Workspace) -> Collected[LLMProvider]:
        return await self._workspace_collect(view, "register_llm_providers", workspace, LLMProvider)

    async def embedding_providers(self, view: HookView, workspace: Workspace) -> Collected[EmbeddingProvider]:
        return await self._workspace_collect(view, "register_embedding_providers", workspace, EmbeddingProvider)

    async def routing_tiers(self, view: HookView, workspace: Workspace) -> list[RoutingTier]:
        got = await self._workspace_collect(view, "register_routing_tiers", workspace, RoutingTier)
        return sorted(got.items.values(), key=lambda t: t.order)

    async def tool_providers(self, view: HookView, workspace: Workspace) -> Collected[ToolProvider]:
        return await self._workspace_collect(view, "register_tool_providers", workspace, ToolProvider)

    def routes(self) -> list[Any]:
        """Route handlers from ``register_routes``. Synchronous because Litestar builds the app
        synchronously, so implementations of this one hook must be plain functions."""
        handlers: list[Any] = []
        for impl in self.global_view().plans.get("register_routes", ()):
            args = {"register": handlers.append, "settings": self.settings}
            try:
                value = impl.function(*[args[a] for a in impl.argnames])
                if hasattr(value, "__await__"):
                    value.close()
                    raise TypeError("register_routes must be a plain function, not async")
            except Exception as exc:
                self._contain(impl.plugin, "register_routes", exc, CallResult())
        return handlers

    async def startup(self, kernel: Kernel) -> CallResult:
        return await self.call(self.global_view(), "startup", {"kernel": kernel})

    async def shutdown(self, kernel: Kernel) -> CallResult:
        return await self.call(self.global_view(), "shutdown", {"kernel": kernel})

    async def on_event(self, view: HookView, event: Event, workspace: Workspace | None) -> CallResult:
        return await self.call(view, "on_event", {"event": event, "workspace": workspace})


def _protocol(kind: type) -> Callable[[Any], str | None]:
    def check(item: Any) -> str | None:
        if isinstance(item, kind):
            return None
        return f"{item!r} is not a {kind.__name__} (see docs/hooks.md)"

    return check


def _named_factory(item: Any) -> str | None:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and callable(item[1]):
        return None
    return "register(name, factory) expects a name and a callable factory"
