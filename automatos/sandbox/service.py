"""The sandbox of this process as a service: started with the app, shared by everything that runs code.

:class:`SandboxService` is a provider of the composition root (``automatos/container.py``); the
API's lifespan starts and stops it, ``POST /api/sandbox/run`` and ``/health/ready`` reach it
through the container, and the marketplace runtime will run plugin code through the same
:meth:`SandboxService.run`. It owns the sandbox's lifecycle and the rules around one run:

- **Start**: the sandbox ``SANDBOX_MODE`` asks for (:func:`automatos.sandbox.build_sandbox`), or none
  when ``FEATURE_SANDBOX`` is off. A sandbox that cannot start does not take the API down: the
  failure is logged and :meth:`SandboxService.running` raises :class:`SandboxUnavailableError` (503)
  until a restart.
- **A run**: limits resolved against the platform's maximums (:mod:`automatos.sandbox.limits`),
  capabilities granted against the workspace's policy (:mod:`automatos.sandbox.grants`), the run,
  then one log line and one audit entry (``sandbox.run``) with the code's sha256 and size — never
  the code or the inputs.
- **A plugin run** (:meth:`SandboxService.run_plugin`, for the marketplace runtime): limits resolved
  and held within the platform's maximums, the capabilities its caller built, one log line (plugin,
  action, outcome) and no audit entry — the tools service audits the invocation.

What it reads comes in through the constructor, as protocols the composition root satisfies: the
platform settings that bound a run (:class:`~automatos.sandbox.limits.PlatformLimits`) and the
workspace records whose settings hold the ``http`` policy (:class:`WorkspaceSettingsSource`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from automatos.kernel.errors import AutomatosError
from automatos.sandbox.grants import CapabilityGrants, grant_capabilities, grants_summary
from automatos.sandbox.limits import MAXIMUMS, PlatformLimits, RunLimits, resolve_limits
from automatos.sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.sandbox import Sandbox
    from automatos.sandbox.types import Capability, Limits, PluginJob, SandboxResult

__all__ = ["SandboxService", "SandboxUnavailableError", "WorkspaceSettingsSource"]

log = logging.getLogger("automatos.sandbox.api")


class SandboxUnavailableError(AutomatosError):
    status_code = 503
    title = "Sandbox unavailable"
    type_slug = "sandbox-unavailable"


class _WithSettings(Protocol):
    @property
    def settings(self) -> Mapping[str, Any]: ...


class WorkspaceSettingsSource(Protocol):
    """Reads a workspace's record (its ``settings`` mapping holds the ``http`` policy)."""

    async def get(self, workspace_id: str) -> _WithSettings: ...


class SandboxService:
    """This process's sandbox: its lifecycle, and a run with its limits, grants, log line and audit entry."""

    def __init__(self, kernel: Kernel, platform: PlatformLimits, workspaces: WorkspaceSettingsSource) -> None:
        self.kernel = kernel
        self.platform = platform
        self.workspaces = workspaces
        self.sandbox: Sandbox | None = None
        """The started sandbox while the app runs; ``None`` when disabled, failed, or stopped."""

    # --- lifecycle (the API's lifespan) ------------------------------------------------------------

    async def start(self) -> Sandbox | None:
        """Start the sandbox ``SANDBOX_MODE`` asks for; ``None`` when ``FEATURE_SANDBOX`` is off or it failed."""
        from automatos.sandbox import build_sandbox

        settings = self.kernel.current_settings
        if not settings.feature_sandbox or self.sandbox is not None:
            return self.sandbox
        sandbox: Sandbox | None = None
        try:
            sandbox = await build_sandbox(settings, self.kernel.hooks)
            await sandbox.start()
        except Exception:
            log.exception("the sandbox could not start; POST /api/sandbox/run answers 503 until a restart")
            if sandbox is not None:
                try:
                    await sandbox.stop()
                except Exception:
                    log.exception("stopping the sandbox that failed to start failed too")
            return None
        self.sandbox = sandbox
        return sandbox

    async def stop(self) -> None:
        sandbox, self.sandbox = self.sandbox, None  # runs answer 503 from here on
        if sandbox is None:
            return
        try:
            await sandbox.stop()
        except Exception:
            log.exception("stopping the sandbox failed")

    def status(self) -> dict[str, Any] | None:
        """The sandbox's own report for ``/health/ready`` (``Sandbox.status()``); ``None`` when none runs here."""
        return None if self.sandbox is None else dict(self.sandbox.status())

    def running(self) -> Sandbox:
        """The started sandbox; :class:`SandboxUnavailableError` when disabled or not running."""
        if not self.kernel.current_settings.feature_sandbox:
            raise SandboxUnavailableError("the sandbox is disabled on this platform (FEATURE_SANDBOX=false)")
        if self.sandbox is None:
            raise SandboxUnavailableError(
                "the sandbox is not running on this node (disabled at start, or it failed to start); "
                "it starts with the server when FEATURE_SANDBOX is true"
            )
        return self.sandbox

    # --- one run -----------------------------------------------------------------------------------

    async def limits(self, asked: RunLimits | None) -> Limits:
        return await resolve_limits(self.platform, asked)

    async def capabilities(self, workspace_id: str, grants: CapabilityGrants, limits: Limits) -> list[Capability]:
        settings: Mapping[str, Any] = {}
        if grants.http is not None:  # the workspace's http policy is read only when http is asked for
            settings = (await self.workspaces.get(workspace_id)).settings
        return grant_capabilities(
            grants,
            workspace_id=workspace_id,
            workspace_settings=settings,
            limits=limits,
            kv=self.kernel.backends.kv,
            allow_private=self.kernel.current_settings.group(SandboxSettings).sandbox_http_allow_private,
        )

    async def run(
        self,
        code: str,
        inputs: Mapping[str, Any],
        *,
        workspace_id: str,
        actor_id: str | None,
        limits: RunLimits | None = None,
        grants: CapabilityGrants | None = None,
        request_id: str | None = None,
    ) -> SandboxResult:
        """Run ``code`` in ``workspace_id`` for ``actor_id``: resolved limits, granted capabilities, logged and audited.

        Raises :class:`SandboxUnavailableError` when no sandbox runs here or the sandbox itself
        failed (nothing the snippet did), and the limits' and grants' refusals; everything the
        snippet did is in the result.
        """
        sandbox = self.running()
        resolved = await self.limits(limits)
        capabilities = await self.capabilities(workspace_id, grants or CapabilityGrants(), resolved)
        source = code.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(source).hexdigest()
        try:
            result = await sandbox.run(code, inputs, resolved, capabilities, workspace=workspace_id)
        except Exception as exc:
            log.exception("sandbox run %s failed in the sandbox itself", digest)
            raise SandboxUnavailableError(
                f"the sandbox could not run the snippet ({type(exc).__name__}); try again"
            ) from None
        error = result.error
        outcome = {
            "ok": result.ok,
            "error": error.kind if error else None,
            "limit": error.limit if error else None,
            "cpu_ms": result.usage.cpu_ms,
            "total_ms": result.usage.total_ms,
        }
        granted = grants_summary(capabilities)
        log.info(
            "sandbox run sha256=%s bytes=%d ok=%s error=%s limit=%s cpu_ms=%s capabilities=%s",
            digest,
            len(source),
            result.ok,
            outcome["error"],
            outcome["limit"],
            result.usage.cpu_ms,
            ",".join(sorted(granted)) or "-",
        )
        await self.kernel.store.audit(
            workspace_id,
            actor_id,
            "sandbox.run",
            "sandbox",
            digest,
            {
                "sha256": digest,
                "code_bytes": len(source),
                "capabilities": granted,
                "limits": msgspec.to_builtins(resolved),
                **outcome,
            },
            request_id=request_id,
        )
        return result

    async def bounded(self, limits: RunLimits | Limits | None) -> Limits:
        """``limits`` within the platform's maximums: asked (:class:`RunLimits`) as for a snippet, or given
        (:class:`Limits`, the platform's own choice) and held to them."""
        from automatos.sandbox.types import Limits

        if not isinstance(limits, Limits):
            return await self.limits(limits)
        timeout, memory, output = [
            await self.platform.int_setting(*MAXIMUMS[key])
            for key in ("sandbox.timeout_seconds", "sandbox.memory_mb", "sandbox.max_output_bytes")
        ]
        return msgspec.structs.replace(
            limits,
            cpu_seconds=min(limits.cpu_seconds, float(timeout)),
            wall_seconds=min(limits.wall_seconds, float(timeout)),
            memory_mb=min(limits.memory_mb, memory),
            output_bytes=min(limits.output_bytes, output),
        )

    async def run_plugin(
        self,
        job: PluginJob,
        *,
        workspace_id: str,
        limits: RunLimits | Limits | None = None,
        capabilities: Sequence[Capability] = (),
    ) -> SandboxResult:
        """Run a plugin's ``register`` or one of its handlers for ``workspace_id`` (``docs/sandbox.md``, "Plugin runs").

        ``capabilities`` are the ones its caller built from the version's granted permissions. Logged
        (the plugin, the action, the outcome; never the arguments or the env values), not audited.
        Raises :class:`SandboxUnavailableError` when no sandbox runs here or the sandbox itself
        failed, and :class:`~automatos.kernel.errors.ValidationError` for limits asked above the
        platform's maximums; everything the plugin did is in the result — a job outside
        :class:`PluginJob`'s bounds too (``policy``, nothing ran).
        """
        from automatos.sandbox.types import PluginJob, SandboxError, SandboxResult

        sandbox = self.running()
        resolved = await self.bounded(limits)
        slug = job.plugin.get("slug", "-")
        try:  # a Struct built in code skips its bounds (module names, sizes): checked here, as queue mode does
            msgspec.convert(msgspec.to_builtins(job), PluginJob)
        except (msgspec.ValidationError, ValueError) as exc:
            log.info("plugin run slug=%s action=%s refused: %s", slug, job.action, exc)
            return SandboxResult(ok=False, error=SandboxError(kind="policy", message=f"plugin job: {exc}"))
        try:
            result = await sandbox.run("", None, resolved, list(capabilities), workspace=workspace_id, plugin=job)
        except Exception as exc:
            log.exception("plugin run %s %s failed in the sandbox itself", slug, job.action)
            raise SandboxUnavailableError(
                f"the sandbox could not run the plugin ({type(exc).__name__}); try again"
            ) from None
        error = result.error
        log.info(
            "plugin run slug=%s version=%s action=%s handler=%s ok=%s error=%s limit=%s cpu_ms=%s total_ms=%s",
            slug,
            job.plugin.get("version", "-"),
            job.action,
            job.handler or "-",
            result.ok,
            error.kind if error else None,
            error.limit if error else None,
            result.usage.cpu_ms,
            result.usage.total_ms,
        )
        return result
