"""The serving side of the job queue: a worker that takes jobs and runs the functions features registered.

A feature registers a :class:`JobFunction` — a name (``sandbox.run``), the coroutine that runs one
job, and how to word a job that did not run in the function's own result shape — and serves it
with :meth:`JobWorker.serve` (``automatos worker`` does, for sandbox runs). The worker owns what
every job queue consumer needs, so a feature writes none of it:

- **Slots**: ``concurrency`` loops, each dequeuing (``BLMOVE`` queued → active, blocking at most
  :data:`DEQUEUE_TIMEOUT`) and running one job at a time. An unreachable queue is retried with
  backoff (logged), never a crash loop.
- **Refusals before the start**: a job whose caller aborted it (its abort key is set), or that
  expired long ago (its ``expires`` plus :data:`CLOCK_SKEW`, for clocks that differ between
  machines), is answered as not run — its caller went away.
- **Runs in flight**: the function runs its work through :meth:`JobRun.guard`, which cancels it
  when its caller aborts (checked every :data:`ABORT_CHECK_INTERVAL`), when the worker stops, or
  past the function's backstop.
- **Never twice**: the SAQ task raises only :class:`HandBack` — for a job taken while stopping,
  nothing of it run — so SAQ queues it again for another worker; every other failure (the
  function's own bugs included) becomes a result, so SAQ never retries a job that may have started.
- **Stopping**: it takes no new job, lets jobs in flight finish for ``grace_seconds`` (below
  Docker's 10 s kill timeout by default), then aborts the rest — each caller gets the function's
  "stopped during the run" result — and exits ``setup``. Cancelling :meth:`JobWorker.serve` aborts
  them at once. It installs no signal handler: the caller decides what stops it.
- **Advertising**: its entry in SAQ's worker list (``queue.info()``), with the ``metadata`` given.

What of SAQ is used: ``Worker``'s constructor with ``process``, ``abort``, ``worker_info`` and
``stop`` — never ``Worker.start``, which installs signal handlers and runs SAQ's sweep (see
:meth:`JobWorker._upkeep`); the job's ``abort_id`` is read directly on the server (a withdrawn job
is recognised by its abort key: its record's status may have been overwritten by the dequeue),
which is why SAQ is bounded to one minor version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import RedisError
from saq import Job, Worker

from automatos.jobs.queue import close_saq_queue, saq_queue
from automatos.kernel.tasks import cancel_and_wait

if TYPE_CHECKING:
    from saq.queue.redis import RedisQueue

    from automatos.kernel.backends import QueueBackend

__all__ = [
    "ABORT_CHECK_INTERVAL",
    "CLOCK_SKEW",
    "DEQUEUE_TIMEOUT",
    "GRACE",
    "HandBack",
    "JobFunction",
    "JobRun",
    "JobStopped",
    "JobWorker",
]

log = logging.getLogger("automatos.jobs")
T = TypeVar("T")

DEQUEUE_TIMEOUT = 1.0
"""How long an idle slot blocks on the queue: bounds how long a stopping worker may still take a job."""
ABORT_CHECK_INTERVAL = 0.5
"""How often a worker looks for jobs in flight that their caller aborted (and then cancels them)."""
WORKER_INFO_INTERVAL = 10.0
"""How often a worker writes its entry in SAQ's worker list (it expires 5 s after the next was due)."""
GRACE = 8.0
"""Seconds jobs in flight may take to finish when a worker stops (below Docker's 10 s kill timeout)."""
CLOCK_SKEW = 60.0
"""Clock difference tolerated between callers and workers when a worker checks a job's expiry."""


class HandBack(Exception):
    """Raised by the SAQ task for a job taken while stopping: SAQ queues it again, unstarted."""


class JobStopped(Exception):
    """Raised by :meth:`JobRun.guard` when the worker aborted the run (it is stopping, its grace passed)."""


class _QuietHandBacks(logging.Filter):
    """SAQ logs a task's exception with its traceback: a hand-back is routine, logged by us at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], HandBack))


logging.getLogger("saq").addFilter(_QuietHandBacks())


@dataclass(frozen=True, slots=True)
class JobFunction:
    """A function workers serve: ``run(job_run, kwargs)`` returns the job's result as JSON builtins.

    ``failure(message)`` is a result, in the same shape, saying the job did not run or did not
    finish (the worker's own refusals and crashes are worded with it). ``run`` may raise
    :class:`JobStopped` or ``TimeoutError`` from :meth:`JobRun.guard`; left uncaught, the worker
    words them too.
    """

    name: str
    run: Callable[[JobRun, Mapping[str, Any]], Awaitable[Any]]
    failure: Callable[[str], Any]


class JobRun:
    """What a function gets for one job: the SAQ job, and :meth:`guard` for its work in flight."""

    def __init__(self, worker: JobWorker, job: Job | None) -> None:
        self.worker = worker
        self.job = job

    async def guard(self, work: Awaitable[T], *, backstop: float) -> T:
        """``work``'s result, with the run cancelled when the worker aborts it or ``backstop`` seconds pass.

        Raises :class:`JobStopped` (the worker stopped during the run) or ``TimeoutError`` (the
        backstop passed, the work was cancelled); ``work``'s own exceptions pass through.
        """
        worker = self.worker
        task = asyncio.ensure_future(work)
        worker.inflight.add(task)
        aborted = asyncio.ensure_future(worker.abort.wait())
        try:
            await asyncio.wait([task, aborted], timeout=backstop, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            if not aborted.done():
                raise TimeoutError(f"the run did not finish within {backstop:g} s")
            raise JobStopped("the worker was stopped during the run")
        finally:
            aborted.cancel()
            if not task.done():  # aborted (shutdown, the caller gave up, the backstop): stop the work
                await cancel_and_wait(task)
            worker.inflight.discard(task)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class JobWorker:
    """One worker process's share of a queue: ``concurrency`` slots running the registered functions.

    ``label`` names the worker in messages (``the sandbox worker was shutting down…``). ``setup``
    is entered once the queue's server answers and before any job is taken, and exited after the
    last job stopped (a feature starts and stops what its jobs run on there: a process pool);
    ``metadata()`` is called after ``setup`` and shown in SAQ's worker list.
    """

    def __init__(
        self,
        backend: QueueBackend,
        queue_name: str,
        functions: Sequence[JobFunction],
        *,
        concurrency: int,
        label: str = "job",
        grace_seconds: float = GRACE,
        setup: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
        metadata: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.backend = backend
        self.queue_name = queue_name
        self.functions = {f.name: f for f in functions}
        self.concurrency = concurrency
        self.label = label
        self.grace_seconds = grace_seconds
        self.setup = setup
        self.metadata = metadata
        self.stopping = False
        self.abort = asyncio.Event()
        self.inflight: set[asyncio.Future[Any]] = set()
        self.taken = 0
        """Jobs handed to a function's task (to tell a processed job from a swallowed queue error)."""
        self.queue: RedisQueue | None = None
        self.upkeep: asyncio.Task[None] | None = None
        """Ours, not in SAQ's worker's task set: its stop() need not know about it."""

    async def serve(self, stop_event: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Take jobs until ``stop_event`` is set (or cancelled); ``ready`` is set once jobs are being taken."""
        # each slot holds a connection while it waits on the queue, and needs another to update its job
        self.queue = queue = saq_queue(
            self.backend, self.queue_name, socket_timeout=15, max_connections=2 * self.concurrency + 8
        )
        try:
            async with contextlib.AsyncExitStack() as resources:
                await self._serve(queue, resources, stop_event, ready)
        finally:
            await close_saq_queue(queue)
            log.info("%s worker stopped", self.label)

    async def _serve(
        self,
        queue: RedisQueue,
        resources: contextlib.AsyncExitStack,
        stop_event: asyncio.Event,
        ready: asyncio.Event | None,
    ) -> None:
        worker: Worker[Any] | None = None
        loops: list[asyncio.Task[None]] = []
        try:
            await queue.connect()
            await queue.redis.ping()  # fail fast when the server is unreachable
            if self.setup is not None:
                await resources.enter_async_context(self.setup())
            worker = Worker(
                queue,
                functions=[(name, self._task(name)) for name in self.functions],
                id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                concurrency=self.concurrency,
                dequeue_timeout=DEQUEUE_TIMEOUT,
                metadata=dict(self.metadata()) if self.metadata is not None else None,
            )
            loops = self._begin(worker)
            if ready is not None:
                ready.set()
            stopped = asyncio.ensure_future(stop_event.wait())
            try:
                await asyncio.wait([stopped, *loops], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
            await self._drain(loops)
            for task in loops:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise RuntimeError(f"a {self.label} worker slot failed") from task.exception()
        finally:
            await self._close(worker, loops)  # before setup's exit: no job runs on what it stops

    def _begin(self, worker: Worker[Any]) -> list[asyncio.Task[None]]:
        """Start the upkeep and the slots; the slots' tasks."""
        self.upkeep = asyncio.create_task(self._upkeep(worker), name=f"{self.label}-upkeep")
        loops = [
            asyncio.create_task(self._slot(worker), name=f"{self.label}-slot-{i}") for i in range(self.concurrency)
        ]
        log.info("%s worker serving queue %r with %d slot(s)", self.label, self.queue_name, self.concurrency)
        return loops

    async def _drain(self, loops: list[asyncio.Task[None]]) -> None:
        """Take no new job; let jobs in flight finish for the grace period, then abort them."""
        self.stopping = True
        running = set(self.inflight)
        if running:
            log.info("stopping: %d run(s) in flight get %s to finish", len(running), _seconds(self.grace_seconds))
            _, late = await asyncio.wait(running, timeout=self.grace_seconds)
            if late:
                log.warning("stopping: aborting %d run(s) still in flight", len(late))
        self.abort.set()
        # Each slot returns once its job is finished on the server, an idle one within DEQUEUE_TIMEOUT.
        await asyncio.wait(loops, timeout=DEQUEUE_TIMEOUT + 10)

    async def _close(self, worker: Worker[Any] | None, loops: list[asyncio.Task[None]]) -> None:
        self.stopping = True
        self.abort.set()
        pending = [t for t in loops if not t.done()]
        if pending:  # cancelled, or a slot stuck on the server: give finishing jobs a moment first
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait(pending, timeout=DEQUEUE_TIMEOUT + 2)
            await asyncio.gather(*(cancel_and_wait(task) for task in pending))
        if self.upkeep is not None:
            await cancel_and_wait(self.upkeep)
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.stop()  # shuts its thread pool down

    async def _upkeep(self, worker: Worker[Any]) -> None:
        """Cancel jobs their callers aborted; advertise this worker (``queue.info()`` lists it).

        SAQ's own upkeep is not used: its sweep takes a job that a worker has just moved to the
        active list, but not yet marked active, for a stuck one — and aborts it, and requeues it
        (a second run). Here a caller aborts its own job at its deadline (which also takes it off
        the active list should its worker have died), and jobs are never scheduled for later.
        """
        rounds = 0
        while True:
            try:
                await worker.abort(0)  # jobs in flight whose record says aborting/aborted
                if rounds % round(WORKER_INFO_INTERVAL / ABORT_CHECK_INTERVAL) == 0:
                    await worker.worker_info(ttl=int(WORKER_INFO_INTERVAL) + 5)
            except (RedisError, OSError) as exc:
                log.debug("%s worker upkeep failed (%s: %s)", self.label, type(exc).__name__, exc)
            rounds += 1
            await asyncio.sleep(ABORT_CHECK_INTERVAL)

    async def _slot(self, worker: Worker[Any]) -> None:
        """One unit of concurrency: dequeue a job, run it, repeat until stopping."""
        failures = 0
        while not self.stopping:
            taken = self.taken
            try:
                handled = await worker.process()  # SAQ logs and records job failures itself…
            except (RedisError, OSError):  # …but not when recording one fails (the queue went away)
                failures = await self._check_queue(failures)
                continue
            if handled and self.taken == taken:
                # Nothing reached a function: most likely the queue is unreachable (SAQ swallows that).
                failures = await self._check_queue(failures)
            else:
                failures = 0

    async def _check_queue(self, failures: int) -> int:
        assert self.queue is not None
        try:
            await self.queue.redis.ping()
            return 0
        except Exception as exc:
            failures += 1
            delay = min(0.1 * 2**failures, 5.0)
            log.warning(
                "the %s job queue is unreachable (%s: %s); retry in %.1f s", self.label, type(exc).__name__, exc, delay
            )
            await asyncio.sleep(delay)
            return failures

    def _task(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def task(ctx: Mapping[str, Any], **kwargs: Any) -> Any:
            return await self.handle(name, ctx, **kwargs)

        return task

    async def handle(self, name: str, ctx: Mapping[str, Any], *, expires: float | None = None, **kwargs: Any) -> Any:
        """The SAQ task of function ``name``: one job; its result as builtins.

        Raises only :class:`HandBack` (a job taken while stopping, nothing of it run): SAQ then
        queues it again for another worker. Anything else is a result, so SAQ never retries a job.
        """
        self.taken += 1
        function = self.functions[name]
        if self.stopping:
            log.info("stopping: a run taken meanwhile is handed back, unstarted, for another worker")
            raise HandBack(f"the {self.label} worker that took it was stopping")
        try:
            return await self._run(function, ctx.get("job"), kwargs, expires)
        except Exception as exc:  # a bug here must not become SAQ's retry of a job that may have started
            log.exception("%s failed in the %s worker itself", name, self.label)
            return function.failure(f"the {self.label} worker failed the run ({type(exc).__name__})")

    async def _run(
        self, function: JobFunction, job: Job | None, kwargs: Mapping[str, Any], expires: float | None
    ) -> Any:
        if self.stopping:
            return function.failure(f"the {self.label} worker was shutting down and did not start the run; try again")
        if expires is not None and time.time() > expires + CLOCK_SKEW:
            return function.failure("the run expired in the queue before a worker took it")
        if job is not None and self.queue is not None:
            with contextlib.suppress(RedisError, OSError):
                if await self.queue.redis.exists(job.abort_id):
                    return function.failure("the run was withdrawn before it started")
        try:
            return await function.run(JobRun(self, job), kwargs)
        except JobStopped:
            return function.failure(
                f"the {self.label} worker was stopped during the run (it is shutting down); the run was aborted"
            )
        except TimeoutError:
            return function.failure(f"the {self.label} worker did not finish the run in time; it was cancelled")
