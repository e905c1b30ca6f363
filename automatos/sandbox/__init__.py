"""The sandbox: the one place where code Automatos did not ship runs.

Defence in depth (``docs/sandbox.md`` has the whole policy):

- **Policy** (:mod:`automatos.sandbox.worker`): RestrictedPython compilation, a minimal builtins set,
  guarded attribute/item/write/iteration access, imports from an allow-list handed over as views.
- **Isolation** (:mod:`automatos.sandbox.pool`): separate worker processes started clean (no
  secrets, no connections, no inherited modules), per-run CPU, wall, memory, output and result
  limits, killed and replaced when they overrun or die.
- **Capabilities**: a snippet reaches the outside only through objects the caller grants, which run
  in the supervisor, never in the worker.

:class:`Sandbox` is what callers use: ``await sandbox.run(code, inputs, limits, capabilities)``.
:func:`build_sandbox` picks the local pool (``SANDBOX_MODE=local``, the default) or the shared job
queue (:mod:`automatos.jobs`) served by ``automatos worker`` processes (``SANDBOX_MODE=queue``,
:mod:`automatos.sandbox.queue`).

Around a run (the parts the API and the marketplace runtime share):
:mod:`automatos.sandbox.limits` (what a caller may ask, bounded by the platform's maximums),
:mod:`automatos.sandbox.grants` (capabilities checked against the workspace's policy) and
:mod:`automatos.sandbox.service` (the process's started sandbox, a run logged and audited).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from automatos.sandbox.pool import WorkerPool
from automatos.sandbox.types import (
    Capability,
    CapabilityRefused,
    Limits,
    PluginJob,
    SandboxError,
    SandboxResult,
    Usage,
)

if TYPE_CHECKING:
    from automatos.kernel.backends import QueueBackend
    from automatos.kernel.hooks import Hooks
    from automatos.kernel.settings import Settings

__all__ = [
    "Capability",
    "CapabilityRefused",
    "Limits",
    "LocalSandbox",
    "PluginJob",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "Usage",
    "WorkerPool",
    "build_sandbox",
    "sandbox_from_settings",
]


class Sandbox(Protocol):
    """Runs snippets; local (a pool of worker processes here) or remote (a job queue).

    ``workspace`` names whose run it is: one workspace holds at most its share of the workers
    (``SANDBOX_WORKSPACE_MAX_SHARE``); its further runs wait in line. A run that could not get a
    worker in time is a ``worker`` error with ``stage="queue"`` (nothing ran; the API answers 503).
    ``plugin``: run a marketplace plugin's code (a :class:`PluginJob`) instead of ``code``.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def run(
        self,
        code: str,
        inputs: Mapping[str, Any] | None = None,
        limits: Limits | None = None,
        capabilities: Sequence[Capability] = (),
        *,
        workspace: str | None = None,
        plugin: PluginJob | None = None,
    ) -> SandboxResult: ...

    def status(self) -> dict[str, Any]:
        """What ``/health/ready`` shows platform admins (mode, pool size, live workers, root or not)."""
        ...


def sandbox_from_settings(settings: Settings, queue_backend: QueueBackend | None = None) -> Sandbox:
    """The sandbox ``SANDBOX_MODE`` asks for (not started yet); queue mode submits to ``queue_backend``."""
    from automatos.sandbox.settings import SandboxSettings

    own = settings.group(SandboxSettings)
    if own.sandbox_mode == "queue":
        from automatos.sandbox.queue import QueueSandbox

        if queue_backend is None:
            raise ValueError("SANDBOX_MODE=queue needs the job queue's backend (see build_sandbox)")
        return QueueSandbox.from_settings(settings, queue_backend)
    return LocalSandbox(
        WorkerPool(
            own.sandbox_pool_size,
            workspace_share=own.sandbox_workspace_max_share,
            confinement=own.sandbox_confinement,
        )
    )


async def build_sandbox(settings: Settings, hooks: Hooks) -> Sandbox:
    """The sandbox ``SANDBOX_MODE`` asks for (not started yet), its queue backend found through ``hooks``."""
    from automatos.sandbox.settings import SandboxSettings

    backend = None
    if settings.group(SandboxSettings).sandbox_mode == "queue":
        from automatos.jobs.backend import queue_backend

        backend = await queue_backend(hooks, settings)
    return sandbox_from_settings(settings, backend)


class LocalSandbox:
    """A :class:`WorkerPool` in this process."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    async def start(self) -> None:
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()

    async def run(
        self,
        code: str,
        inputs: Mapping[str, Any] | None = None,
        limits: Limits | None = None,
        capabilities: Sequence[Capability] = (),
        *,
        workspace: str | None = None,
        plugin: PluginJob | None = None,
    ) -> SandboxResult:
        return await self.pool.run(code, inputs, limits, capabilities, workspace=workspace, plugin=plugin)

    def status(self) -> dict[str, Any]:
        return self.pool.status()
