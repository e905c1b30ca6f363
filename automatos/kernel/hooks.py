"""The typed async facade over ``pm.hook``: nothing outside ``kernel/`` touches pluggy directly.

Why the facade runs the implementations itself instead of calling ``pm.hook.x(...)``:
- pluggy is synchronous; implementations here may be ``async def``. The facade awaits each result
  in call order and, where a hook wants one answer, stops at the first non-``None``.
- Containment is per implementation. Inside pluggy one raising implementation aborts the whole call;
  here it is logged with its extension's name, counted, and returned as a :class:`PluginError`
  while the others still run.
- Per-extension arguments: each implementation gets its own ``config`` (its configuration in the
  workspace) and its own ``register`` callback (which stamps what it registers with its name).

- Time limits: an awaited implementation that does not answer within its hook's limit
  (:data:`DEFAULT_HOOK_TIMEOUT`, or the hook's entry in :data:`HOOK_TIMEOUTS`; the container may
  pass others to :class:`Hooks`) is cancelled and contained exactly like one that raises
  (:class:`HookTimeout`): a hung extension cannot hang a request. Plain functions cost nothing
  here; a coroutine is stepped once by the facade, and only one that really waits is awaited
  under a timer (the limit counts from that first wait; code that blocks without awaiting cannot
  be interrupted by anything in the event loop).
- Timing: each hook call (not each implementation) made while serving a request is added to that
  route's hook times (:data:`automatos.kernel.metrics.HOOK_TIMES`, shown by
  ``GET /api/health/endpoints``): one ``perf_counter`` pair per call.

A :class:`HookView` is a frozen call plan: for every hook, the implementations of the extensions
visible in one scope, in pluggy's call order (taken from ``subset_hook_caller``, the way pytest scopes
conftest plugins). Building one costs microseconds per hook; calling through it costs a tight loop.

Size (~520 lines): the call loop, the views it runs over and the typed collectors are one job — the
only place pluggy is touched — and the loop is the hot path ``bench/hooks.py`` measures.
"""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import CoroutineType, MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import pluggy

from automatos.kernel.metrics import HOOK_CALLS, HOOK_TIMES, add_hook_time
from automatos.kernel.types import (
    AuthMethod,
    ContentProvider,
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

__all__ = [
    "DEFAULT_HOOK_TIMEOUT",
    "HOOK_TIMEOUTS",
    "CallResult",
    "Collected",
    "HookTimeout",
    "HookView",
    "Hooks",
    "Impl",
    "PluginError",
    "PluginErrors",
    "resume",
]

log = logging.getLogger("automatos.hooks")
T = TypeVar("T")
EMPTY_CONFIG: Mapping[str, Any] = MappingProxyType({})
_now = time.perf_counter

DEFAULT_HOOK_TIMEOUT: Final = 5.0
"""Seconds an awaited implementation may wait before it is cut off, unless its hook has its own
limit: far above a healthy extension's answer (a cache or database round trip), short enough that a
hung one costs a request a few seconds, not its whole deadline."""
HOOK_TIMEOUTS: Final[Mapping[str, float | None]] = MappingProxyType({"startup": 30.0, "shutdown": 30.0})
"""Hooks with their own limit (``None``: none). ``startup``/``shutdown`` run once per process and
may open or drain connections; they get longer, but a hung one still cannot stall start-up or a
graceful shutdown for ever."""


class HookTimeout(TimeoutError):
    """An awaited implementation did not answer within its hook's time limit (contained like an error)."""

    def __init__(self, hook: str, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s (the {hook} hook's time limit)")
        self.hook = hook
        self.seconds = seconds


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """The rest of ``await coro`` once the facade has stepped ``coro`` and it yielded ``pending``.

    PEP 380's expansion of ``yield from``: what the event loop sends or throws in (a cancellation,
    the time limit's included) goes on to ``coro``; its return value is the result. The router's
    cascade steps its tiers the same way (:mod:`automatos.routing.context`).
    """
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                pending = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as done:
                return done.value


@dataclass(frozen=True, slots=True)
class Impl:
    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    wants_config: bool


class HookView:
    """Call plans for the extensions visible in one scope (a workspace, or the whole process)."""

    __slots__ = ("configs", "failures", "hidden", "plans", "problems", "proxies", "version", "workspace_id")

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        hidden: Iterable[str] = (),
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        workspace_id: str | None = None,
        version: int = 0,
        problems: Mapping[str, str] | None = None,
        proxies: Sequence[object] = (),
    ) -> None:
        self.proxies: tuple[object, ...] = tuple(proxies)
        """Providers joined to this scope only (a workspace's marketplace plugins): kernel-side
        proxies whose code runs elsewhere (the sandbox). :meth:`Hooks.tool_providers` and
        :meth:`Hooks.content_providers` add the ones of their kind after the extensions'."""
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

    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        *,
        timeouts: Mapping[str, float | None] | None = None,
        default_timeout: float | None = DEFAULT_HOOK_TIMEOUT,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.errors = PluginErrors()
        self.timeouts: dict[str, float | None] = {**HOOK_TIMEOUTS, **(timeouts or {})}
        """Hook name -> seconds an awaited implementation may wait (``None``: no limit)."""
        self.default_timeout = default_timeout
        """The limit of every hook not in :attr:`timeouts`."""
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
        """Run ``hook`` for every implementation in ``view``; contain failures; await awaitables
        (each within the hook's time limit, see :meth:`timeout`)."""
        out = CallResult()
        results = out.results
        configs = view.configs
        times = HOOK_TIMES.get()  # the current route's hook times, when serving a request
        started = _now() if times is not None else 0.0
        try:
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
                        if type(value) is CoroutineType:
                            # one step here: a coroutine that answers without waiting needs no timer
                            try:
                                pending = value.send(None)
                            except StopIteration as done:
                                value = done.value
                            else:
                                value = await self._bounded(hook, resume(value, pending))
                        else:
                            value = await self._bounded(hook, value)
                except Exception as exc:
                    self._contain(impl.plugin, hook, exc, out)
                    if view.workspace_id is not None:
                        view.failures[impl.plugin] = f"{hook}: {out.errors[-1].error}"
                    continue
                if value is not None:
                    results.append(value)
                    if first:
                        break
        finally:
            if times is not None:
                add_hook_time(times, hook, _now() - started)
        return out

    def timeout(self, hook: str) -> float | None:
        """Seconds an awaited implementation of ``hook`` may wait (``None``: no limit)."""
        return self.timeouts.get(hook, self.default_timeout)

    async def _bounded(self, hook: str, awaitable: Awaitable[Any]) -> Any:
        """Await one implementation's answer within ``hook``'s limit; :class:`HookTimeout` past it."""
        seconds = self.timeout(hook)
        limit = asyncio.timeout(seconds)
        try:
            async with limit:
                return await awaitable
        except TimeoutError:
            if seconds is not None and limit.expired():
                raise HookTimeout(hook, seconds) from None
            raise  # the implementation's own TimeoutError

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
        result = await self.call(view, hook, kwargs, per_plugin=self._registrar(collected, hook, check, key))
        collected.errors.extend(result.errors)
        return collected

    def _registrar(
        self,
        collected: Collected[Any],
        hook: str,
        check: Callable[[Any], str | None],
        key: Callable[[Any], str],
        *,
        allow_same: bool = False,
    ) -> Callable[[str], Mapping[str, Any]]:
        """Each extension's ``register`` for a collector: validates, de-duplicates, stamps the source.
        With ``allow_same``, the very object registered again is kept once, silently."""

        def per_plugin(plugin: str) -> Mapping[str, Any]:
            def register(*item: Any) -> None:
                value = item if len(item) > 1 else item[0]
                problem = check(value)
                if problem:
                    raise TypeError(f"{hook}: {problem}")
                name = key(value)
                if name in collected.items:
                    if allow_same and collected.items[name] is value:
                        return
                    message = f"{name!r} already registered by {collected.sources[name]}"
                    collected.errors.append(PluginError(plugin, hook, message))
                    self.errors.record(plugin, hook, message)
                    log.warning("extension %s: %s %s", plugin, hook, message)
                    return
                collected.items[name] = value
                collected.sources[name] = plugin

            return {"register": register}

        return per_plugin

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
        """The extensions' tool providers, then the view's proxies that are tool providers."""
        collected: Collected[ToolProvider] = await self._workspace_collect(
            view, "register_tool_providers", workspace, ToolProvider
        )
        _join_proxies(collected, view, ToolProvider)
        return collected

    def content_providers(self, view: HookView) -> Collected[ContentProvider]:
        """The view's proxies that give agents content (skills, prompts), by name."""
        collected: Collected[ContentProvider] = Collected()
        _join_proxies(collected, view, ContentProvider)
        return collected

    def routes(self) -> list[Any]:
        """Route handlers from ``register_routes``. Synchronous because Litestar builds the app
        synchronously, so implementations of this one hook must be plain functions."""
        handlers: list[Any] = []
        self._call_plain("register_routes", lambda plugin: {"register": handlers.append, "settings": self.settings})
        return handlers

    def settings_declarations(self) -> Collected[Any]:
        """What ``register_settings`` declares: settings structs (by qualified name) and declared
        platform/workspace settings (by key). Synchronous: the kernel needs them when it is built."""
        from automatos.kernel.settings import SettingsGroup
        from automatos.kernel.settings_registry import Declared

        def check(item: Any) -> str | None:
            if isinstance(item, Declared) or (isinstance(item, type) and issubclass(item, SettingsGroup)):
                return None
            return f"{item!r} is neither a SettingsGroup subclass nor a Declared setting (see docs/hooks.md)"

        def key(item: Any) -> str:
            return item.key if isinstance(item, Declared) else f"{item.__module__}.{item.__qualname__}"

        return self._collect_plain("register_settings", check, key)

    def migration_sources(self) -> Collected[Any]:
        """What ``register_migrations`` contributes (:class:`~automatos.kernel.parts.MigrationSource`
        by name). Synchronous: ``automatos db upgrade`` runs without an event loop of its own."""
        from automatos.kernel.parts import MigrationSource

        def check(item: Any) -> str | None:
            return None if isinstance(item, MigrationSource) else f"{item!r} is not a MigrationSource"

        return self._collect_plain("register_migrations", check, lambda item: item.name)

    def _collect_plain(
        self, hook: str, check: Callable[[Any], str | None], key: Callable[[Any], str]
    ) -> Collected[Any]:
        """:meth:`collect` for a hook of plain functions, called once when the kernel is built.
        The very object registered twice (by two modules of one package) is kept once, silently."""
        collected: Collected[Any] = Collected()
        per_plugin = self._registrar(collected, hook, check, key, allow_same=True)
        collected.errors.extend(self._call_plain(hook, per_plugin).errors)
        return collected

    def _call_plain(self, hook: str, args_of: Callable[[str], Mapping[str, Any]]) -> CallResult:
        """Call the plain-function implementations of ``hook`` (every loaded extension), containing
        failures; an ``async def`` implementation is refused (contained as an error)."""
        out = CallResult()
        for impl in self.global_view().plans.get(hook, ()):
            args = args_of(impl.plugin)
            try:
                value = impl.function(*[args[a] for a in impl.argnames])
                if hasattr(value, "__await__"):
                    value.close()
                    raise TypeError(f"{hook} must be a plain function, not async")
            except Exception as exc:
                self._contain(impl.plugin, hook, exc, out)
        return out

    async def startup(self, kernel: Kernel) -> CallResult:
        return await self.call(self.global_view(), "startup", {"kernel": kernel})

    async def shutdown(self, kernel: Kernel) -> CallResult:
        return await self.call(self.global_view(), "shutdown", {"kernel": kernel})

    async def on_event(self, view: HookView, event: Event, workspace: Workspace | None) -> CallResult:
        return await self.call(view, "on_event", {"event": event, "workspace": workspace})


def _join_proxies(collected: Collected[Any], view: HookView, kind: type) -> None:
    """Add the view's proxies of ``kind`` to ``collected`` (a name already taken keeps its first owner)."""
    for proxy in view.proxies:
        if isinstance(proxy, kind):
            name = proxy.name  # type: ignore[attr-defined]
            if name in collected.items:
                log.warning("workspace %s: proxy %s hides behind an extension's provider", view.workspace_id, name)
                continue
            collected.items[name] = proxy
            collected.sources[name] = name


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
