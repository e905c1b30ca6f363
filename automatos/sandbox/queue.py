"""Queue mode: sandbox runs as jobs on the shared job queue (:mod:`automatos.jobs`), served by ``automatos worker``.

This module is the sandbox's layer on top of the job queue; the queue's mechanics — deadlines,
withdrawal, notifications, never running a job twice, hand-backs, graceful stops, clock skew —
live in :mod:`automatos.jobs` and are described there. What is the sandbox's own:

1. The caller (:class:`QueueSandbox`, in an API process or the CLI) holds its workspace's share of
   the workers (its further runs wait in line here, before anything is enqueued), then submits one
   job ``sandbox.run`` carrying the code, the inputs, the limits as builtins and each capability
   as its JSON ``spec()`` — a capability object itself cannot cross machines. A plugin run also
   carries its :class:`~automatos.sandbox.types.PluginJob` as builtins (and the workspace's id),
   checked again on the worker.
2. An ``automatos worker`` (:func:`serve`) rebuilds the capabilities from their specs
   (:func:`automatos.sandbox.capabilities.capability_from_spec`, with the queue server's key-value
   store), runs the job in its local :class:`~automatos.sandbox.pool.WorkerPool` — the same clean,
   isolated processes as local mode, which receive nothing from the worker process — and returns
   the :class:`~automatos.sandbox.pool.SandboxResult` as builtins.
3. The caller turns the job's outcome into a :class:`SandboxResult`, ``usage.total_ms`` being its
   own round trip. Whatever went wrong on the way (no worker, a stopped worker, an unreachable
   queue) is a ``worker`` error in the result; ``stage="queue"`` when nothing ran.

Deadlines: the caller waits ``limits.wall_seconds`` plus :data:`MARGIN` (queue wait and its share's
wait included); a worker gives up on its own pool :data:`BACKSTOP` seconds beyond the wall limit
(never reached unless the pool is wedged), reporting the run rather than retrying it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.jobs.queue import POLL_INTERVAL, JobOutcome, JobQueue
from automatos.jobs.worker import GRACE, JobFunction, JobRun, JobWorker
from automatos.sandbox.pool import WorkerPool, WorkspaceShares, workspace_limit
from automatos.sandbox.settings import SandboxSettings
from automatos.sandbox.types import Capability, Limits, PluginJob, SandboxError, SandboxResult

if TYPE_CHECKING:
    from automatos.kernel.backends import KVBackend, QueueBackend
    from automatos.kernel.settings import Settings

__all__ = ["BACKSTOP", "FUNCTION", "MARGIN", "QueueSandbox", "Rebuild", "sandbox_function", "serve"]

FUNCTION = "sandbox.run"
"""The job queue's function name of a sandbox run."""
MARGIN = 5.0
"""Seconds a caller waits beyond ``wall_seconds`` (queue wait, transport, a worker's pool start-up)."""
BACKSTOP = 10.0
"""Seconds beyond a run's wall limit after which a worker gives up on its own pool (never reached
unless the pool is wedged): the run is reported, not retried."""

Rebuild = Callable[..., Capability]
"""``rebuild(spec, kv=backend_or_None) -> Capability``: what a worker turns a capability spec into."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _failure(kind: str, message: str, stage: str | None = None) -> SandboxResult:
    return SandboxResult(ok=False, error=SandboxError(kind=kind, message=message, stage=stage))


def _spec_of(cap: Capability) -> dict[str, Any]:
    spec_fn = getattr(cap, "spec", None)
    if not callable(spec_fn):
        raise TypeError(
            f"capability {cap.name!r} ({type(cap).__name__}) has no spec(): in queue mode a capability "
            "must describe itself as JSON so that the worker can rebuild it"
        )
    spec = spec_fn()
    if not isinstance(spec, dict):
        raise TypeError(f"capability {cap.name!r}: spec() must return a dict")
    try:
        msgspec.json.encode(spec)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"capability {cap.name!r}: spec() is not JSON ({exc})") from None
    return spec


class QueueSandbox:
    """The :class:`~automatos.sandbox.Sandbox` of queue mode: runs are jobs served by ``automatos worker``."""

    def __init__(
        self,
        backend: QueueBackend,
        queue_name: str = "automatos-sandbox",
        *,
        margin: float = MARGIN,
        poll_interval: float = POLL_INTERVAL,
        workspace_limit: int | None = None,
    ) -> None:
        """``workspace_limit``: runs one workspace may have in flight from this process (``None``: no cap)."""
        if margin < 0 or poll_interval <= 0:
            raise ValueError("margin must be >= 0 and poll_interval > 0")
        self.shares = WorkspaceShares(workspace_limit)
        self.queue_name = queue_name
        self.margin = margin
        self.jobs = JobQueue(backend, queue_name, poll_interval=poll_interval)
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, backend: QueueBackend) -> QueueSandbox:
        own = settings.group(SandboxSettings)
        share = own.sandbox_workspace_max_share
        limit = workspace_limit(own.sandbox_pool_size, share) if share < 1 else None
        return cls(backend, own.sandbox_queue_name, workspace_limit=limit)

    def status(self) -> dict[str, Any]:
        """What ``/health/ready`` shows platform admins; the workers' own state is on the worker nodes."""
        return {
            "mode": "queue",
            "queue": self.queue_name,
            "started": self.jobs.started,
            "workspace_limit": self.shares.limit,
        }

    async def start(self) -> None:
        """Prepare the clients (they connect on first use); idempotent."""
        if self._closed:
            raise RuntimeError("the sandbox is stopped")
        await self.jobs.start()

    async def stop(self) -> None:
        self._closed = True
        await self.jobs.stop()

    async def __aenter__(self) -> QueueSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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
        """Run ``code`` (or the ``plugin`` job, carried in the job) on a worker; the result says what happened.

        Raises only for the caller's own mistakes: ``TypeError`` for a capability without a JSON
        ``spec()``, ``RuntimeError`` once stopped. An unreachable queue, a missing or stopping
        worker and an overrun deadline are ``worker`` errors in the result. ``workspace``'s runs
        beyond its share wait in line here, before anything is enqueued (within the deadline).
        """
        limits = limits or Limits()
        shipped = [{"name": cap.name, "spec": _spec_of(cap)} for cap in capabilities]
        if not self.jobs.started:
            await self.start()
        begun = time.perf_counter()
        deadline = limits.wall_seconds + self.margin
        async with contextlib.AsyncExitStack() as holding:
            try:
                async with asyncio.timeout(deadline):
                    await holding.enter_async_context(self.shares.hold(workspace))
            except TimeoutError:
                message = (
                    f"this workspace already has {self.shares.limit} sandbox run(s) in flight from this node, "
                    f"its share, and none finished within {_seconds(deadline)}; try again later"
                )
                return self._finish(_failure("worker", message, stage="queue"), begun)
            job = {
                "code": code,
                "inputs": dict(inputs or {}),
                "limits": msgspec.to_builtins(limits),
                "capabilities": shipped,
            }
            if plugin is not None:
                job["plugin"] = msgspec.to_builtins(plugin)
                job["workspace"] = workspace
            outcome = await self.jobs.submit(FUNCTION, job, deadline=deadline, begun=begun)
            return self._finish(self._result(outcome, deadline), begun)
        raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow

    def _result(self, outcome: JobOutcome, deadline: float) -> SandboxResult:
        """The job's outcome in the sandbox's terms."""
        status = outcome.status
        if status == "complete":
            try:
                return msgspec.convert(outcome.result, SandboxResult)
            except msgspec.ValidationError as exc:
                return _failure("worker", f"the sandbox worker returned a malformed result ({exc})")
        if status == "not_taken":
            message = (
                f"no sandbox worker took the run within {_seconds(deadline)} "
                f"(is an 'automatos worker' serving queue {self.queue_name!r}?); the run was withdrawn"
            )
            return _failure("worker", message, stage="queue")  # it never started: nothing ran
        messages = {
            "failed": f"the sandbox worker failed the run ({outcome.reason})",
            "aborted": f"the run was aborted on the sandbox worker ({outcome.reason})",
            "overdue": f"the sandbox worker did not finish the run within {_seconds(deadline)}; the run was aborted",
            "unreachable": f"the sandbox job queue is unreachable ({outcome.reason})",
            "vanished": "the run's job vanished from the queue (was Redis flushed?)",
            "duplicate": "the run could not be enqueued (duplicate job key)",
        }
        return _failure("worker", messages[status])

    @staticmethod
    def _finish(result: SandboxResult, begun: float) -> SandboxResult:
        result.usage.total_ms = round((time.perf_counter() - begun) * 1000, 3)
        return result


# --- the worker's side ------------------------------------------------------------------------------


class _Renamed:
    """A rebuilt capability under the name the caller granted it (what the snippet refers to)."""

    def __init__(self, inner: Capability, name: str) -> None:
        self.inner = inner
        self.name = name
        self.methods = inner.methods

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return await self.inner.call(method, args, kwargs)


def _default_rebuild(spec: dict[str, Any], *, kv: KVBackend | None) -> Capability:
    from automatos.sandbox.capabilities import capability_from_spec

    capability: Capability = capability_from_spec(spec, kv=kv)
    return capability


class _SandboxRuns:
    """The ``sandbox.run`` function of one worker: its local pool, the capabilities' rebuild and KV store."""

    def __init__(self, size: int, backend: QueueBackend, *, rebuild: Rebuild, kv: KVBackend | None) -> None:
        self.size = size
        self.backend = backend
        self.rebuild = rebuild
        self.kv = kv
        self.pool: WorkerPool | None = None
        self.confinement = "auto"
        """``SANDBOX_CONFINEMENT`` of the pool's workers."""

    def function(self) -> JobFunction:
        return JobFunction(FUNCTION, self.run, _worker_failure)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The pool (and, unless given, the queue server's KV store) for as long as the worker serves."""
        self.pool = pool = WorkerPool(self.size, confinement=self.confinement)
        owned: KVBackend | None = None
        try:
            await pool.start()
            if self.kv is None:
                self.kv = owned = self.backend.kv()  # connects on first use
            yield
        finally:
            await pool.stop()
            if owned is not None:
                with contextlib.suppress(Exception):
                    await owned.close()

    def metadata(self) -> dict[str, Any]:
        # queue.info() lists it: admins see which worker nodes run their sandboxes as root
        running_as_root = self.pool.running_as_root if self.pool is not None else False
        confinement = self.pool.status()["confinement"] if self.pool is not None else {}
        return {"pool_size": self.size, "pid": os.getpid(), "running_as_root": running_as_root,
                "confinement": confinement}  # fmt: skip

    async def run(self, job: JobRun, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = msgspec.to_builtins(await self._run(job, kwargs))
        return answer

    async def _run(self, job: JobRun, kwargs: Mapping[str, Any]) -> SandboxResult:
        code, inputs = kwargs.get("code"), kwargs.get("inputs")
        if not isinstance(code, str) or not isinstance(inputs, Mapping | None):
            return _failure("worker", "malformed job: code must be a string and inputs an object")
        try:
            parsed = msgspec.convert(dict(kwargs.get("limits") or {}), Limits)
        except msgspec.ValidationError as exc:
            return _failure("worker", f"malformed job: limits: {exc}")
        granted: list[Capability] = []
        for entry in kwargs.get("capabilities") or ():
            name = entry.get("name") if isinstance(entry, Mapping) else None
            spec = entry.get("spec") if isinstance(entry, Mapping) else None
            if not isinstance(name, str) or not isinstance(spec, dict):
                return _failure("worker", "malformed job: a capability entry needs a name and a spec")
            try:
                capability = self.rebuild(spec, kv=self.kv)
            except Exception as exc:
                return _failure("capability", f"capability {name!r} cannot be granted on this worker: {exc}")
            granted.append(capability if capability.name == name else _Renamed(capability, name))
        plugin: PluginJob | None = None
        workspace = kwargs.get("workspace")
        if kwargs.get("plugin") is not None:
            try:
                plugin = msgspec.convert(kwargs["plugin"], PluginJob)
            except msgspec.ValidationError as exc:
                return _failure("worker", f"malformed job: plugin: {exc}")
        if self.pool is None:
            raise RuntimeError("the sandbox worker's pool is not running")
        work = self.pool.run(
            code, inputs, parsed, granted, workspace=workspace if isinstance(workspace, str) else None, plugin=plugin
        )
        try:
            return await job.guard(work, backstop=parsed.wall_seconds + BACKSTOP)
        except TimeoutError:
            return _failure("worker", "the sandbox worker's pool did not finish the run in time; it was cancelled")
        except RuntimeError as exc:  # the pool was stopped under the run
            return _failure("worker", f"the sandbox worker could not run it: {exc}")


def _worker_failure(message: str) -> dict[str, Any]:
    answer: dict[str, Any] = msgspec.to_builtins(_failure("worker", message))
    return answer


def sandbox_function(
    settings: Settings, backend: QueueBackend, *, rebuild: Rebuild | None = None, kv: KVBackend | None = None
) -> tuple[JobFunction, _SandboxRuns]:
    """The ``sandbox.run`` job function a worker serves, and what it runs on (``running()``, ``metadata()``)."""
    own = settings.group(SandboxSettings)
    runs = _SandboxRuns(own.sandbox_pool_size, backend, rebuild=rebuild or _default_rebuild, kv=kv)
    runs.confinement = own.sandbox_confinement
    return runs.function(), runs


async def serve(
    settings: Settings,
    backend: QueueBackend,
    *,
    stop_event: asyncio.Event | None = None,
    rebuild: Rebuild | None = None,
    kv: KVBackend | None = None,
    grace_seconds: float = GRACE,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve sandbox runs from ``SANDBOX_QUEUE_NAME`` on ``backend`` until ``stop_event`` is set.

    Starts a local pool of ``SANDBOX_POOL_SIZE`` sandbox processes and as many job slots
    (:class:`automatos.jobs.worker.JobWorker`). ``rebuild(spec, kv=...)`` turns a capability spec
    back into a capability (default :func:`automatos.sandbox.capabilities.capability_from_spec`);
    ``kv`` is the key-value backend handed to it (default: the queue server's, closed at the end).
    ``ready`` is set once jobs are being taken. On stop, runs in flight get ``grace_seconds`` to
    finish, then are aborted (their callers get a ``worker`` error); cancelling aborts them at once.
    Installs no signal handler: the caller decides what stops it.
    """
    own = settings.group(SandboxSettings)
    function, runs = sandbox_function(settings, backend, rebuild=rebuild, kv=kv)
    worker = JobWorker(
        backend,
        own.sandbox_queue_name,
        [function],
        concurrency=own.sandbox_pool_size,
        label="sandbox",
        grace_seconds=grace_seconds,
        setup=runs.running,
        metadata=runs.metadata,
    )
    await worker.serve(stop_event or asyncio.Event(), ready)
