"""The supervisor: a warm pool of sandbox worker processes, and one run end to end.

Each worker (:mod:`automatos.sandbox.worker`) is a fresh interpreter started by path with ``-I``,
an environment holding nothing but ``PATH`` and ``LANG``, an empty working directory, and no file
descriptor but its pipes: it inherits no secret, no connection and no module of this process
(:mod:`automatos.sandbox.process` starts it and frames the messages).

A run takes an idle worker (waiting for one when all are busy), sends it the job, answers its
capability calls (the capabilities live here, in the supervisor: the worker only holds proxies),
and waits for the result under the run's wall-clock limit. A worker that overruns the wall clock
is killed; one that dies (the ``RLIMIT_CPU`` backstop, a crash) is reported with the reason; one
that hit the CPU or memory limit is retired. In every case a fresh worker replaces it in the
background, so the pool stays at its size, and the caller gets a result naming what happened —
never an exception for something the snippet did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import msgspec

from automatos.sandbox.process import MAX_FRAME, WorkerProcess
from automatos.sandbox.types import Capability, CapabilityRefused, Limits, PluginJob, SandboxError, SandboxResult

__all__ = ["IDLE_WAIT", "WorkerPool", "WorkspaceShares", "workspace_limit"]

log = logging.getLogger("automatos.sandbox")

IDLE_WAIT = 60.0
"""How long a run waits for a free worker (and for its workspace's share) before it is answered
``worker`` with ``stage="queue"`` (it never started)."""


def workspace_limit(size: int, share: float) -> int:
    """Workers one workspace may hold at once out of ``size``: its ``share`` of them, at least one."""
    return max(1, math.floor(size * share + 1e-9))


class WorkspaceShares:
    """Per-workspace places: at most ``limit`` runs of one workspace hold a worker at once.

    The others wait in line (first come, first served within the workspace); a workspace's entry
    lives only while it has runs holding or waiting, so the map never outgrows the runs in flight.
    """

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("a workspace's share is at least one worker")
        self.limit = limit
        """``None``: no cap."""
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, workspace: str | None) -> AsyncIterator[None]:
        """Hold one of ``workspace``'s places for the block, waiting in line for it."""
        if workspace is None or self.limit is None:
            yield
            return
        entry = self._gates.get(workspace)
        if entry is None:
            entry = self._gates[workspace] = (asyncio.Semaphore(self.limit), [0])
        gate, users = entry
        users[0] += 1
        try:
            async with gate:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._gates.pop(workspace, None)

    def holding(self, workspace: str) -> int:
        """Runs of ``workspace`` holding or waiting for a place now."""
        entry = self._gates.get(workspace)
        return entry[1][0] if entry is not None else 0


class _NeverStarted(Exception):
    """The worker died before acknowledging the run: nothing of the snippet ran."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status


def _death(status: int | None, limits: Limits) -> SandboxError:
    if status == -signal.SIGXCPU:
        return SandboxError(
            kind="limit",
            message=f"cpu_seconds limit of {limits.cpu_seconds} exceeded",
            limit="cpu_seconds",
            value=limits.cpu_seconds,
        )
    if status == -signal.SIGXFSZ:
        return SandboxError(kind="policy", message="writing files is not allowed")
    what = f"signal {signal.Signals(-status).name}" if status is not None and status < 0 else f"status {status}"
    return SandboxError(kind="worker", message=f"the sandbox worker died ({what}); it has been replaced")


class WorkerPool:
    """``size`` warm workers; :meth:`run` is safe to call from many tasks at once.

    A supervisor watches every worker's process: one that dies while idle (an operator's kill, the
    OOM killer) is replaced at once, without waiting for a run to pick it. ``workspace_share`` is
    the fraction of the workers one workspace's runs may hold at once (at least one): the rest of
    its runs wait in line for their share, so another workspace's run still finds a worker.
    """

    def __init__(
        self,
        size: int = 2,
        *,
        python: str | None = None,
        workspace_share: float = 1.0,
        idle_wait: float = IDLE_WAIT,
        confinement: str = "auto",
    ) -> None:
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        if not 0 < workspace_share <= 1:
            raise ValueError("workspace_share must be a fraction in (0, 1]")
        if idle_wait <= 0:
            raise ValueError("idle_wait must be positive")
        if confinement not in ("auto", "require", "off"):
            raise ValueError("confinement must be auto, require or off")
        self.confinement = confinement
        """``SANDBOX_CONFINEMENT``: the second wall each worker applies (docs/sandbox.md, "Second wall")."""
        self.worker_confinement: dict[str, str] = {}
        """What of it holds in the last started worker, layer by layer (see :meth:`status`)."""
        self._warned_confinement = False
        self.size = size
        self.python = python or sys.executable
        self.workspace_limit = workspace_limit(size, workspace_share)
        """Workers one workspace may hold at once."""
        self.idle_wait = idle_wait
        self._idle: asyncio.Queue[WorkerProcess] = asyncio.Queue()
        self._all: set[WorkerProcess] = set()
        self._spawning: set[asyncio.Task[None]] = set()
        self._watchers: dict[WorkerProcess, asyncio.Task[None]] = {}
        self.shares = WorkspaceShares(self.workspace_limit if self.workspace_limit < size else None)
        self._closed = False
        self._warned_root = False
        self.worker_uid: int | None = None
        """The effective uid the last started worker runs as (``0``: root, see :meth:`status`)."""
        self.replaced = 0
        """Workers replaced since start (killed, died or retired)."""
        self.retried = 0
        """Runs handed to a worker that died before starting them, and handed to another."""
        self.busy = 0
        """Workers holding a run now (handed a job, result not in yet)."""

    async def start(self) -> None:
        await asyncio.gather(*(self._add() for _ in range(self.size)))

    async def stop(self) -> None:
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        await asyncio.gather(*self._spawning, return_exceptions=True)
        watchers = list(self._watchers.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        self._watchers.clear()
        await asyncio.gather(*(w.stop() for w in list(self._all)), return_exceptions=True)
        self._all.clear()

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def running_as_root(self) -> bool:
        """Workers stay root when the interpreter's files are not readable by everyone (docs/sandbox.md)."""
        return self.worker_uid == 0

    def status(self) -> dict[str, Any]:
        """What ``/health/ready`` shows platform admins: size, live workers, root or not, what confinement holds."""
        return {
            "mode": "local",
            "pool_size": self.size,
            "live_workers": len(self.pids),
            "busy_workers": self.busy,
            "replaced": self.replaced,
            "retried": self.retried,
            "workspace_limit": self.workspace_limit,
            "running_as_root": self.running_as_root,
            "uid": self.worker_uid,
            "confinement": {"mode": self.confinement, **self.worker_confinement},
        }

    async def _add(self) -> None:
        worker = await WorkerProcess.spawn(self.python, confinement=self.confinement)
        if self._closed:
            await worker.stop()
            return
        self.worker_uid = worker.uid
        self.worker_confinement = worker.confinement
        absent = {k: v for k, v in worker.confinement.items() if not v.startswith("on")}
        if self.confinement == "auto" and absent and not self._warned_confinement:
            self._warned_confinement = True
            log.warning(
                "sandbox workers run without part of the OS confinement (SANDBOX_CONFINEMENT=auto): %s; "
                "see docs/sandbox.md, section 'Second wall', for what still holds",
                "; ".join(f"{layer} {state}" for layer, state in absent.items()),
            )
        if worker.uid == 0 and not self._warned_root:
            self._warned_root = True
            log.warning(
                "SANDBOX WORKERS RUN AS ROOT: they could not drop to uid %d because the interpreter %s or a "
                "directory it loads modules from is not readable by every user; RLIMIT_NPROC does not apply "
                "and root-only files are readable by snippets that escape the policy. Install Python where "
                "any user can read it, or run the API as an unprivileged user (docs/sandbox.md)",
                65534,
                self.python,
            )
        self._all.add(worker)
        self._watchers[worker] = asyncio.ensure_future(self._watch(worker))
        self._idle.put_nowait(worker)

    async def _watch(self, worker: WorkerProcess) -> None:
        """The supervisor of one worker: when its process ends, it leaves the pool and is replaced."""
        await worker.proc.wait()
        self._watchers.pop(worker, None)
        if not worker.retired:
            self._retire(worker)

    async def _respawn(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                await self._add()
                return
            except Exception:
                log.exception("could not start a sandbox worker; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _retire(self, worker: WorkerProcess) -> None:
        """Kill ``worker`` and start its replacement; idempotent (the supervisor and a run may both see it)."""
        worker.kill()
        if worker.retired:
            return
        worker.retired = True
        self._all.discard(worker)
        if not self._closed:
            self.replaced += 1
            task = asyncio.ensure_future(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    @property
    def pids(self) -> list[int]:
        return sorted(w.pid for w in self._all if w.alive)

    async def _take(self, probe: bool) -> WorkerProcess:
        """An idle, live worker (probed with a ping when ``probe``); dead ones met on the way are retired."""
        while True:
            worker = await self._idle.get()
            if worker.retired:
                continue  # the supervisor already replaced it
            if not worker.alive:  # died while idle, not reaped yet: never given a job
                self._retire(worker)
                continue
            if probe:
                try:
                    answered = await worker.answers()
                except BaseException:  # cancelled mid-probe: its pong would be read as the next answer
                    self._retire(worker)
                    raise
                if not answered:
                    self._retire(worker)
                    continue
            return worker

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
        """Run ``code`` in a worker; the result says what happened (this raises only if closed).

        ``plugin``: run that plugin job instead of ``code`` (``docs/sandbox.md``, "Plugin runs"); its
        handler's ``ctx.workspace_id`` is ``workspace``.

        ``workspace`` names whose run it is, for the per-workspace share of the workers. A worker
        that dies before acknowledging the job never ran any of it: the run goes to another worker,
        once (a job that kills every worker it reaches is not passed on forever). A run that
        started is never run again.
        """
        if self._closed:
            raise RuntimeError("the sandbox pool is stopped")
        limits = limits or Limits()
        granted = {cap.name: cap for cap in capabilities}
        job_id = uuid.uuid4().hex
        job = {
            "op": "run",
            "id": job_id,
            "code": code,
            "inputs": dict(inputs or {}),
            "limits": msgspec.to_builtins(limits),
            "capabilities": {name: sorted(cap.methods) for name, cap in granted.items()},
        }
        if plugin is not None:
            job["plugin"] = plugin
            job["workspace"] = workspace
        try:
            data = msgspec.json.encode(job)
        except TypeError as exc:
            raise ValueError(f"inputs must be JSON values: {exc}") from None
        begun = time.perf_counter()
        async with contextlib.AsyncExitStack() as holding:
            try:
                async with asyncio.timeout(self.idle_wait):
                    await holding.enter_async_context(self.shares.hold(workspace))
            except TimeoutError:
                message = (
                    f"this workspace already has {self.workspace_limit} sandbox run(s) in flight, its share of "
                    f"the workers, and none finished within {self.idle_wait:g} s; try again later"
                )
                return self._finish(self._unstarted(message), begun)
            status: int | None = None
            for attempt in range(2):
                try:
                    async with asyncio.timeout(self.idle_wait):
                        worker = await self._take(probe=attempt > 0)
                except TimeoutError:
                    message = f"no sandbox worker was free within {self.idle_wait:g} s; try again later"
                    return self._finish(self._unstarted(message), begun)
                try:
                    await worker.send_encoded(data)
                except (ConnectionError, OSError):  # it died just now; the job never reached it
                    self._retire(worker)
                    status = None
                    continue
                except BaseException:  # cancelled mid-send: the worker holds half a frame
                    self._retire(worker)
                    raise
                # the wall clock runs from the hand-over: time spent waiting for a free worker is not the run's
                self.busy += 1
                try:
                    return await self._attend(worker, job_id, granted, limits, begun, time.perf_counter())
                except _NeverStarted as never:
                    status = never.status
                    if attempt == 0:
                        self.retried += 1
                        log.info("a sandbox worker died before starting a run (status %s); trying another", status)
                finally:
                    self.busy -= 1
            what = _death(status, limits).message if status is not None else "the sandbox worker could not take it"
            message = f"the run could not be started: two sandbox workers died before starting it ({what})"
            return self._finish(SandboxResult(ok=False, error=SandboxError(kind="worker", message=message)), begun)
        raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow

    @staticmethod
    def _unstarted(message: str) -> SandboxResult:
        """A run that never reached a worker (``stage="queue"``: the API answers 503, nothing ran)."""
        return SandboxResult(ok=False, error=SandboxError(kind="worker", message=message, stage="queue"))

    async def _attend(
        self,
        worker: WorkerProcess,
        job_id: str,
        granted: Mapping[str, Capability],
        limits: Limits,
        begun: float,
        handed: float,
    ) -> SandboxResult:
        """Serve the worker's capability calls and wait for its result, under the wall-clock limit.

        Raises :class:`_NeverStarted` (the worker retired) when it died before acknowledging the job.
        """
        keep = False
        try:
            try:
                async with asyncio.timeout(limits.wall_seconds - (time.perf_counter() - handed)):
                    started = await worker.receive()
                    if started is None and not worker.oversize:
                        raise _NeverStarted(await worker.died_of())
                    answer = None
                    if started is not None and started.get("op") == "started" and started.get("id") == job_id:
                        answer = await self._converse(worker, job_id, granted)
            except TimeoutError:
                return self._finish(
                    SandboxResult(
                        ok=False,
                        error=SandboxError(
                            kind="limit",
                            message=f"wall_seconds limit of {limits.wall_seconds} exceeded",
                            limit="wall_seconds",
                            value=limits.wall_seconds,
                        ),
                    ),
                    begun,
                )
            except (ConnectionError, OSError):
                answer = None
            if answer is None and worker.oversize:
                error = SandboxError(
                    kind="limit",
                    message=f"the run's output (stdout, logs and result) exceeded {MAX_FRAME} bytes",
                    limit="output_bytes",
                    value=MAX_FRAME,
                )
                return self._finish(SandboxResult(ok=False, error=error), begun)
            if answer is None:
                return self._finish(SandboxResult(ok=False, error=_death(await worker.died_of(), limits)), begun)
            worker.runs += 1
            keep = not answer.get("recycle")
            result = msgspec.convert(
                {k: v for k, v in answer.items() if k in ("ok", "result", "stdout", "error", "logs", "usage")},
                SandboxResult,
            )
            return self._finish(result, begun)
        finally:
            if keep and worker.alive and not worker.retired:
                self._idle.put_nowait(worker)
            else:
                self._retire(worker)

    @staticmethod
    def _finish(result: SandboxResult, begun: float) -> SandboxResult:
        result.usage.total_ms = round((time.perf_counter() - begun) * 1000, 3)
        return result

    async def _converse(
        self, worker: WorkerProcess, job_id: str, granted: Mapping[str, Capability]
    ) -> dict[str, Any] | None:
        while True:
            message = await worker.receive()
            if message is None or message.get("id") != job_id:
                return None
            op = message.get("op")
            if op == "result":
                return message
            if op != "call":
                return None
            reply: dict[str, Any] = {"op": "reply", "call": message.get("call")}
            cap = granted.get(str(message.get("cap")))
            method = str(message.get("method"))
            if cap is None or method not in cap.methods:
                reply.update(ok=False, error=f"capability {message.get('cap')}.{method} is not granted")
            else:
                try:
                    value = await cap.call(method, list(message.get("args") or []), dict(message.get("kwargs") or {}))
                    msgspec.json.encode(value)
                    reply.update(ok=True, value=value)
                except (CapabilityRefused, TypeError, ValueError) as exc:  # written for the snippet
                    reply.update(ok=False, error=f"{cap.name}.{method}: {exc}")
                except Exception as exc:  # the capability's own failure (a backend down): no details out
                    log.warning("sandbox capability %s.%s failed: %s", cap.name, method, type(exc).__name__)
                    reply.update(ok=False, error=f"{cap.name}.{method} failed ({type(exc).__name__})")
            await worker.send(reply)
