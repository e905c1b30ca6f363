"""The runtime's part in each API process: proxies for the views, calls into the sandbox, content,
failure counting and the pre-warm.

- :meth:`PluginHost.proxies` is the extras loader added to the kernel's views
  (:meth:`WorkspaceViews.add_extras <automatos.kernel.views.WorkspaceViews.add_extras>`) at start:
  one query (``workspace_plugins`` ⋈ ``plugin_versions`` ⋈ ``marketplace_plugins``, outer-joined to
  the workspace's ``agent_plugins``) gives one :class:`~automatos.marketplace.runtime.proxy.PluginProxy`
  per plugin that is active here, active on the platform, and runs an approved version whose
  declarations are cached. Quarantined and deactivated plugins are left out. Every change of those
  rows bumps the workspace's ``extensions_version``, so views follow on every node.
- A call (:meth:`PluginHost.call`): the version's modules (blob → zip → ``{module: source}``, cached
  by sha256), a ``call`` plugin job with the handler, the arguments and ``env`` (the workspace's
  values of the environment names that were declared and granted), run by the sandbox with
  capabilities from the **approval**: ``http`` only to the granted ``network`` hosts (any standard
  method; non-public addresses only with ``SANDBOX_HTTP_ALLOW_PRIVATE``), ``kv`` in the namespace
  ``plugin:<workspace>:<slug>``; ``log`` is the worker's own. Limits are the sandbox's defaults
  bounded by the platform's settings. The workspace's configuration values are secrets: a call's
  error message and log lines come back with them replaced by ``[redacted]`` (:func:`redact`; an
  error may quote one), so they reach no answer, quarantine reason, audit entry or log line.
- Failures: consecutive failed calls are counted per (workspace, plugin) — in this process, and in
  the KV backend (``plugin-failures:<workspace>:<plugin>``, shared by the nodes) when it answers.
  After ``PLUGINS_QUARANTINE_AFTER`` in a row the plugin is quarantined in that workspace with the
  last reason; a success resets the count. What is not the plugin's doing is not counted: a
  sandbox that cannot run (503), a worker that died under the call (``worker``: killed, replaced),
  and a call during which the platform's own KV store failed (Redis down: the plugin's ``ctx.kv``
  raised a capability error, whatever it made of it), and arguments the handler cannot take
  (:func:`caller_error`: the caller's mistake, not the plugin's). A quarantine that cannot be written (the
  database down) is logged and tried again at the next failure; the call's result is answered.
- Pre-warm: at start the views of workspaces with enabled plugins are built in the background (at
  most :data:`PREWARM_MAX`), so a large view is not first built on a request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from sqlalchemy import and_, select

from automatos.kernel.backends import KVBackend
from automatos.kernel.errors import AutomatosError
from automatos.kernel.tasks import cancel_and_wait
from automatos.kernel.types import ContentItem, ToolResult
from automatos.marketplace.models import MarketplacePlugin, PluginVersion
from automatos.marketplace.runtime.bundles import BundleCache
from automatos.marketplace.runtime.content import ContentCache
from automatos.marketplace.runtime.declarations import PluginRunner, VersionRef, plugin_job, sandbox_failure
from automatos.marketplace.runtime.models import AgentPlugin, WorkspacePlugin
from automatos.marketplace.runtime.proxy import PluginProxy

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.marketplace.archive import ArchiveLimits
    from automatos.marketplace.runtime.enablement import Enablement
    from automatos.sandbox.types import Capability, SandboxResult

__all__ = ["PREWARM_MAX", "PluginHost", "WatchedKV", "kv_namespace"]

log = logging.getLogger("automatos.marketplace.runtime")

PREWARM_MAX = 500
"""Most workspace views built at start."""
NOT_COUNTED = frozenset({"worker"})
"""Failures that are the sandbox's, not the plugin's."""
FAILURES_TTL = 24 * 3600.0

T = TypeVar("T")


def kv_namespace(workspace_id: str, slug: str) -> str:
    """The namespace of a plugin's ``kv`` capability in a workspace."""
    return f"plugin:{workspace_id}:{slug}"


class WatchedKV(KVBackend):
    """The kernel's KV backend as one call's ``kv`` capability reaches it, noting its own failures.

    A capability error caused by the platform's store being down (``failures`` not empty) is not
    the plugin's failure: the call is not counted toward quarantine. Namespaced views share the
    record.
    """

    def __init__(self, inner: KVBackend, failures: list[str] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.failures: list[str] = [] if failures is None else failures

    async def _watch(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except Exception as exc:
            self.failures.append(type(exc).__name__)
            raise

    async def get(self, key: str) -> bytes | None:
        return await self._watch(self.inner.get(key))

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._watch(self.inner.set(key, value, ttl=ttl))

    async def delete(self, key: str) -> bool:
        return await self._watch(self.inner.delete(key))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        return await self._watch(self.inner.incr(key, amount, ttl=ttl))

    async def ttl(self, key: str) -> float | None:
        return await self._watch(self.inner.ttl(key))

    def with_namespace(self, namespace: str) -> KVBackend:
        return WatchedKV(self.inner.with_namespace(namespace), self.failures)


class PluginHost:
    """Proxies, calls, content, failures and the pre-warm of this process; see the module docstring."""

    def __init__(
        self,
        kernel: Kernel,
        runner: Callable[[], PluginRunner],
        enablement: Enablement,
        limits: Callable[[], ArchiveLimits],
        quarantine_after: Callable[[], int],
        bundles: BundleCache,
    ) -> None:
        self.kernel = kernel
        self.runner = runner
        self.enablement = enablement
        self.limits = limits
        self.quarantine_after = quarantine_after
        self.bundles = bundles
        self.contents = ContentCache(kernel, limits)
        self.failures: dict[tuple[str, str], int] = {}
        """Consecutive failed calls per (workspace, plugin) seen by this process."""
        self._attached = False
        self._prewarm: asyncio.Task[int] | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the proxies to every view from now on (views built before are rebuilt), pre-warm."""
        if not self._attached:
            self.kernel.views.add_extras(self.proxies)
            self._attached = True
            rebuilt = await asyncio.gather(*self.kernel.views.invalidate_all(), return_exceptions=True)
            for failure in [r for r in rebuilt if isinstance(r, BaseException)]:
                log.error("rebuilding a view with its plugins failed (%s); it is rebuilt on next use", failure)
        if self._prewarm is None or self._prewarm.done():
            self._prewarm = asyncio.create_task(self.prewarm(), name="automatos-plugins-prewarm")

    async def stop(self) -> None:
        task, self._prewarm = self._prewarm, None
        if task is not None:
            await cancel_and_wait(task)

    async def prewarm(self, limit: int = PREWARM_MAX) -> int:
        """Build the views of (at most ``limit``) workspaces with active plugins; returns how many."""
        try:
            async with self.kernel.store.sessionmaker() as session:
                workspaces = (
                    await session.scalars(
                        select(WorkspacePlugin.workspace_id)
                        .where(WorkspacePlugin.status == "active")
                        .distinct()
                        .order_by(WorkspacePlugin.workspace_id)
                        .limit(limit)
                    )
                ).all()
            for workspace_id in workspaces:
                if self.kernel.views.cached(workspace_id) is None:
                    await self.kernel.views.get(workspace_id)
            return len(workspaces)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pre-warming the views of workspaces with plugins failed; they are built on first use")
            return 0

    # --- the extras loader -------------------------------------------------------------------------

    async def proxies(self, workspace_id: str) -> list[PluginProxy]:
        """The workspace's plugin proxies (one query); see the module docstring."""
        query = (
            select(WorkspacePlugin, MarketplacePlugin.slug, PluginVersion, AgentPlugin.agent_id, AgentPlugin.position)
            .join(MarketplacePlugin, MarketplacePlugin.id == WorkspacePlugin.plugin_id)
            .join(PluginVersion, PluginVersion.id == WorkspacePlugin.version_id)
            .outerjoin(
                AgentPlugin,
                and_(
                    AgentPlugin.workspace_id == WorkspacePlugin.workspace_id,
                    AgentPlugin.plugin_id == WorkspacePlugin.plugin_id,
                ),
            )
            .where(
                WorkspacePlugin.workspace_id == workspace_id,
                WorkspacePlugin.status == "active",
                MarketplacePlugin.status == "active",
                PluginVersion.status == "approved",
                PluginVersion.approved_sha256 == PluginVersion.sha256,
            )
            .order_by(MarketplacePlugin.slug)
        )
        async with self.kernel.store.sessionmaker() as session:
            rows = (await session.execute(query)).all()
        grouped: dict[str, tuple[WorkspacePlugin, str, PluginVersion, dict[str, int]]] = {}
        for row, slug, version, agent_id, position in rows:
            entry = grouped.setdefault(row.plugin_id, (row, slug, version, {}))
            if agent_id is not None:
                entry[3][agent_id] = int(position)
        proxies: list[PluginProxy] = []
        for row, slug, version, assignments in grouped.values():
            if not isinstance(version.declarations, dict):
                log.warning("workspace %s: plugin %s has no declarations cached; left out", workspace_id, slug)
                continue
            ref = VersionRef.of(version, slug)
            proxies.append(
                PluginProxy(
                    self,
                    workspace_id=workspace_id,
                    plugin_id=row.plugin_id,
                    ref=ref,
                    declarations=version.declarations,
                    env=self._env(workspace_id, slug, row.config, ref),
                    assignments=assignments,
                )
            )
        return proxies

    def _env(self, workspace_id: str, slug: str, stored: Mapping[str, Any], ref: VersionRef) -> dict[str, str]:
        """The workspace's values of the environment names the version declared and was granted."""
        try:
            config = self.kernel.store.secret_box.decrypt_config(stored or {})
        except Exception as exc:
            log.error("workspace %s: plugin %s: its configuration cannot be read (%s)", workspace_id, slug, exc)
            return {}
        declared = set((ref.manifest.get("permissions") or {}).get("env") or [])
        granted = set(ref.granted_permissions.get("env") or [])
        return {k: str(v) for k, v in config.items() if k in declared and k in granted}

    # --- a call ------------------------------------------------------------------------------------

    def capabilities(self, proxy: PluginProxy, kv: KVBackend | None = None) -> list[Capability]:
        """What the approval granted, as capabilities of one run (``log`` is the worker's own);
        ``kv``: the backend of its ``kv`` capability (the kernel's by default)."""
        from automatos.sandbox.capabilities import HTTP_METHODS, HttpCapability, KVCapability
        from automatos.sandbox.grants import HTTP_MAX_RESPONSE_BYTES, HTTP_TIMEOUT
        from automatos.sandbox.settings import SandboxSettings

        capabilities: list[Capability] = [
            KVCapability(kv or self.kernel.backends.kv, kv_namespace(proxy.workspace_id, proxy.slug))
        ]
        hosts = [str(h) for h in proxy.ref.granted_permissions.get("network") or []]
        if hosts:
            capabilities.append(
                HttpCapability(
                    hosts,
                    sorted(HTTP_METHODS),
                    timeout=HTTP_TIMEOUT,
                    max_response_bytes=HTTP_MAX_RESPONSE_BYTES,
                    allow_private=self.kernel.current_settings.group(SandboxSettings).sandbox_http_allow_private,
                )
            )
        return capabilities

    async def call(self, proxy: PluginProxy, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run ``tool`` of the proxy's plugin in a sandbox worker; failures counted (see the module)."""
        found = proxy.handler(tool)
        if found is None:
            return ToolResult(
                ok=False, error={"kind": "unknown-tool", "message": f"plugin {proxy.slug} has no tool {tool[:100]!r}"}
            )
        _, handler = found
        try:
            runner = self.runner()
            blob = self.kernel.backends.blob
            modules = await self.bundles.modules(blob, proxy.ref.blob_key, proxy.ref.sha256, self.limits())
        except AutomatosError as exc:
            if exc.status_code == 503:
                return ToolResult(ok=False, error={"kind": "unavailable", "message": exc.detail})
            return await self._failed(proxy, ToolResult(ok=False, error={"kind": "bundle", "message": exc.detail}))
        job = plugin_job(proxy.ref, modules, action="call", handler=handler, arguments=arguments, env=proxy.env)
        kv = WatchedKV(self.kernel.backends.kv)
        try:
            result = await runner.run_plugin(
                job, workspace_id=proxy.workspace_id, limits=None, capabilities=self.capabilities(proxy, kv)
            )
        except AutomatosError as exc:
            if exc.status_code == 503:
                return ToolResult(ok=False, error={"kind": "unavailable", "message": exc.detail})
            raise
        converted = redacted(as_tool_result(result), proxy.env)
        if result.ok:
            await self._succeeded(proxy)
            return converted
        if result.error is not None and result.error.kind in NOT_COUNTED:
            return converted
        if kv.failures:  # the platform's KV store failed under the call: not the plugin's doing
            log.info("plugin %s: a failed call not counted: the KV backend failed (%s)", proxy.slug, kv.failures[0])
            return converted
        if caller_error(result, handler):  # the caller's arguments did not fit the handler: not the plugin's doing
            return converted
        return await self._failed(proxy, converted, redact(sandbox_failure(result), proxy.env))

    async def _failed(self, proxy: PluginProxy, result: ToolResult, reason: str | None = None) -> ToolResult:
        key = (proxy.workspace_id, proxy.plugin_id)
        count = self.failures.get(key, 0) + 1
        self.failures[key] = count
        try:  # shared by the nodes when the KV backend answers; this process's count otherwise
            count = self.failures[key] = await self.kernel.backends.kv.incr(_failures_key(*key), ttl=FAILURES_TTL)
        except Exception as exc:
            log.debug("plugin failure counter: the KV backend failed (%s); counting in this process", exc)
        limit = self.quarantine_after()
        if count >= limit:
            why = reason or str((result.error or {}).get("message", "failed"))
            text = f"{count} consecutive calls failed; the last: {why}"
            try:
                if await self.enablement.quarantine(proxy.workspace_id, proxy.plugin_id, text):
                    log.warning("workspace %s: plugin %s quarantined: %s", proxy.workspace_id, proxy.slug, text)
            except Exception as exc:  # the database down: the call's result is still answered
                log.error(
                    "workspace %s: plugin %s: quarantining failed (%s); tried again at its next failure",
                    proxy.workspace_id,
                    proxy.slug,
                    type(exc).__name__,
                )
                return result
            await self.reset(proxy.workspace_id, proxy.plugin_id)
        return result

    async def _succeeded(self, proxy: PluginProxy) -> None:
        if self.failures.get((proxy.workspace_id, proxy.plugin_id)):
            await self.reset(proxy.workspace_id, proxy.plugin_id)

    async def reset(self, workspace_id: str, plugin_id: str) -> None:
        """Forget the failures counted for the plugin in the workspace (after a success or a write)."""
        self.failures.pop((workspace_id, plugin_id), None)
        try:
            await self.kernel.backends.kv.delete(_failures_key(workspace_id, plugin_id))
        except Exception as exc:
            log.debug("plugin failure counter: the KV backend failed (%s)", exc)

    # --- content -----------------------------------------------------------------------------------

    async def content(self, proxy: PluginProxy) -> list[ContentItem]:
        """The proxy's skills and prompts, in order (an unreadable bundle gives none, logged)."""
        ordered = proxy.content_paths()
        if not ordered:
            return []
        try:
            texts = await self.contents.texts(proxy.ref, [path for _, path in ordered])
        except AutomatosError as exc:
            log.error("workspace %s: plugin %s: content unavailable: %s", proxy.workspace_id, proxy.slug, exc.detail)
            return []
        return [
            ContentItem(kind=kind, name=path, text=texts[path], source=proxy.name)
            for kind, path in ordered
            if path in texts
        ]


def _failures_key(workspace_id: str, plugin_id: str) -> str:
    return f"plugin-failures:{workspace_id}:{plugin_id}"


_BINDING = re.compile(
    r"TypeError: (?P<fn>[A-Za-z][A-Za-z0-9_]*)\(\) (got an unexpected keyword argument|got multiple values for "
    r"argument|missing \d+ required (positional|keyword-only) arguments?)"
)


def caller_error(result: SandboxResult, handler: str) -> bool:
    """Whether a call failed binding the caller's arguments to the handler (``fn(ctx, **arguments)``:
    an argument named ``ctx``, one it does not take, one missing) — which the tool's schema let
    through. Such a call is the caller's mistake: it is answered, but not counted toward quarantine,
    so a member cannot quarantine a plugin for the workspace by sending odd arguments."""
    error = result.error
    if error is None or error.kind != "runtime":
        return False
    found = _BINDING.match(error.message)
    return found is not None and found["fn"] == handler.rpartition(":")[2]


REDACTED = "[redacted]"
REDACT_MIN_CHARS = 4
"""Configuration values shorter than this are not searched for (they would blot out the message)."""


def redact(text: str, env: Mapping[str, str]) -> str:
    """``text`` without the workspace's configuration values: they are secrets, and an error may quote
    one (``int(ctx.env["TOKEN"])`` raising ``ValueError: invalid literal … 'the-token'``)."""
    for value in sorted(env.values(), key=len, reverse=True):
        if len(value) >= REDACT_MIN_CHARS:
            for form in {value, repr(value)[1:-1], json.dumps(value)[1:-1]}:
                text = text.replace(form, REDACTED)
    return text


def redacted(result: ToolResult, env: Mapping[str, str]) -> ToolResult:
    """The call's error message and log lines with :func:`redact` applied (the result is the
    plugin's answer, as it chose to give it, and is left alone)."""
    if not env or (result.error is None and not result.logs):
        return result
    error = (
        None if result.error is None else {**result.error, "message": redact(str(result.error.get("message", "")), env)}
    )
    logs = [{k: redact(v, env) for k, v in line.items()} for line in result.logs]
    return msgspec.structs.replace(result, error=error, logs=logs)


def as_tool_result(result: SandboxResult) -> ToolResult:
    """A sandbox result as a tool's (the error's empty fields dropped)."""
    error = None
    if result.error is not None:
        error = {k: v for k, v in msgspec.to_builtins(result.error).items() if v is not None}
    usage = {k: float(v) for k, v in msgspec.to_builtins(result.usage).items()}
    return ToolResult(ok=result.ok, result=result.result, error=error, logs=list(result.logs), usage=usage)
