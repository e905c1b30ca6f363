"""Queue mode: sandbox runs as jobs on a Redis job queue (SAQ), served by ``automatos worker`` processes.

How a run travels (``SANDBOX_MODE=queue``):

1. The caller (:class:`QueueSandbox`, in an API process or the CLI) subscribes to the job's status
   channel first — so no notification can be missed — then enqueues one SAQ job ``sandbox.run``
   carrying the code, the inputs, the limits as builtins and each capability as its JSON
   ``spec()``; a capability object itself cannot cross machines.
2. An ``automatos worker`` (:func:`serve`) dequeues it (``BLMOVE`` queued → active), rebuilds the
   capabilities from their specs (:func:`automatos.sandbox.capabilities.capability_from_spec`, with
   the worker's own Redis key-value backend), runs the job in its local
   :class:`~automatos.sandbox.pool.WorkerPool` — the same clean, isolated processes as local mode,
   which receive nothing from the worker process — and stores the
   :class:`~automatos.sandbox.pool.SandboxResult` as builtins as the job's result; SAQ publishes
   the status change.
3. The caller wakes on that notification (or on its poll, should the pub/sub connection have
   dropped), reads the job and returns its result, ``usage.total_ms`` being its own round trip.

Deadlines: the caller waits ``limits.wall_seconds`` plus a margin (:data:`MARGIN`), queue wait
included. When it passes, the job is aborted — removed from the queue if no worker took it (the
result then says ``no sandbox worker took the run within …``), cancelled on the worker otherwise —
so it never runs later for nobody. A worker also refuses a job whose abort it can still see or
that expired long ago (its caller went away), and SAQ's job timeout is a backstop on the worker.

Each job is keyed by a fresh uuid, and a caller reads only its own job's record: concurrent runs
cannot get each other's results. A run that was cut short is reported, never run twice behind the
caller's back (a snippet may have had side effects): SAQ retries a job only when its task raises,
and the worker's task raises only to hand back, unstarted, a job it took while stopping
(:class:`_HandBack`); every other failure becomes a result, and jobs carry no SAQ timeout.

Stopping a worker (SIGTERM): it takes no new job (one taken in that instant goes back on the queue,
unstarted, for another worker), lets runs in flight finish for ``grace_seconds``, then aborts the
rest — each caller gets a ``worker`` error saying so — and stops its pool.

SAQ is used without its ``[redis]`` extra (which pins redis<8); what it calls works with the redis
8 client (``SETEX`` merely warns as deprecated). Its own pub/sub listener is not used: callers wait
through :class:`automatos.extensions.cache.redis.RedisPubSub`, subscribed per job.

What of SAQ is used: ``Queue`` (``connect``, ``enqueue``, ``job``, ``abort``, ``count``), ``Job``
(its fields, ``abort_id``), ``Status``, and ``Worker``'s constructor with ``process``, ``abort``,
``worker_info`` and ``stop`` — never ``Worker.start``, which installs signal handlers and runs SAQ's
sweep (see :meth:`_Server._upkeep`). One detail still leans on SAQ's Redis layout, so the dependency
is bounded to one minor version (``saq>=0.26.4,<0.27``): a withdrawn job is recognised by its abort
key (its record's status may have been overwritten by the dequeue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError
from saq import Job, Status, Worker
from saq.queue.redis import RedisQueue

from automatos.sandbox.pool import Capability, Limits, SandboxError, SandboxResult, WorkerPool, WorkspaceShares

if TYPE_CHECKING:
    from automatos.extensions.cache.memory import QueueSubscription
    from automatos.extensions.cache.redis import RedisPubSub
    from automatos.kernel.backends import KVBackend
    from automatos.kernel.settings import Settings

__all__ = ["FUNCTION", "MARGIN", "QueueSandbox", "Rebuild", "serve"]

log = logging.getLogger("automatos.sandbox.queue")

# SAQ logs every enqueue and every job at INFO: one line per run on every node is noise here.
_saq_log = logging.getLogger("saq")
if _saq_log.level == logging.NOTSET:
    _saq_log.setLevel(logging.WARNING)

FUNCTION = "sandbox.run"
"""The SAQ function name of a sandbox run."""
MARGIN = 5.0
"""Seconds a caller waits beyond ``wall_seconds`` (queue wait, transport, a worker's pool start-up)."""
POLL_INTERVAL = 1.0
"""The caller re-reads its job this often when no notification came (a dropped pub/sub connection)."""
RESULT_TTL = 120
"""Seconds a finished job (and its result) stays in Redis; its caller reads it at once."""
DEQUEUE_TIMEOUT = 1.0
"""How long an idle worker slot blocks on the queue: bounds how long a stopping worker may still take a job."""
ABORT_CHECK_INTERVAL = 0.5
"""How often a worker looks for runs in flight that their caller aborted (and then cancels them)."""
WORKER_INFO_INTERVAL = 10.0
"""How often a worker writes its entry in SAQ's worker list (it expires 5 s after the next was due)."""
GRACE = 8.0
"""Seconds runs in flight may take to finish when a worker stops (below Docker's 10 s kill timeout)."""
CLOCK_SKEW = 60.0
"""Clock difference tolerated between callers and workers when a worker checks a job's expiry."""
HAND_BACKS = 2
"""How many times a job may be handed back unstarted by stopping workers before it fails."""
BACKSTOP = 10.0
"""Seconds beyond a run's wall limit after which a worker gives up on its own pool (never reached
unless the pool is wedged): the run is reported, not retried."""

_UNSTARTED = frozenset({Status.NEW, Status.QUEUED})
TERMINAL_STATUSES = frozenset({Status.COMPLETE, Status.FAILED, Status.ABORTED})
"""A job in one of these is finished (spelled out from the public ``Status``: SAQ does not export its own set)."""

Rebuild = Callable[..., Capability]
"""``rebuild(spec, kv=backend_or_None) -> Capability``: what a worker turns a capability spec into."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _failure(kind: str, message: str, stage: str | None = None) -> SandboxResult:
    return SandboxResult(ok=False, error=SandboxError(kind=kind, message=message, stage=stage))


def _redis_client(url: str, *, socket_timeout: float, max_connections: int) -> Redis:
    """A client whose bounded pool makes a burst of callers wait for a connection rather than fail.

    Health checks make a silently dead connection fail (and reconnect) instead of hanging a run.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=socket_timeout,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


def _make_queue(url: str, name: str, *, socket_timeout: float, max_connections: int = 64) -> RedisQueue:
    """The SAQ queue ``name`` on ``url``; jobs are encoded with msgspec (results can be megabytes)."""
    return RedisQueue(
        _redis_client(url, socket_timeout=socket_timeout, max_connections=max_connections),
        name=name,
        dump=msgspec.json.encode,
        load=msgspec.json.decode,
    )


async def _close_queue(queue: RedisQueue) -> None:
    # Not ``queue.disconnect()``: it would open a connection only to unsubscribe SAQ's own
    # pub/sub multiplexer, which is never used here (callers wait through RedisPubSub).
    with contextlib.suppress(Exception):
        await queue.redis.aclose()


class _HandBack(Exception):
    """Raised by the worker's task for a job it took while stopping: SAQ queues it again, unstarted."""


class _QuietHandBacks(logging.Filter):
    """SAQ logs a task's exception with its traceback: a hand-back is routine, logged by us at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _HandBack))


_saq_log.addFilter(_QuietHandBacks())


class _Vanished(Exception):
    """The job's record is gone from Redis before it finished."""


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
        redis_url: str,
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
        self.redis_url = redis_url
        self.queue_name = queue_name
        self.margin = margin
        self.poll_interval = poll_interval
        self._queue: RedisQueue | None = None
        self._pubsub: RedisPubSub | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> QueueSandbox:
        if not settings.redis_url:
            raise ValueError("SANDBOX_MODE=queue needs REDIS_URL (the job queue lives in Redis)")
        share = settings.sandbox_workspace_max_share
        limit = max(1, math.floor(settings.sandbox_pool_size * share + 1e-9)) if share < 1 else None
        return cls(settings.redis_url, settings.sandbox_queue_name, workspace_limit=limit)

    def status(self) -> dict[str, Any]:
        """What ``/health/ready`` shows platform admins; the workers' own state is on the worker nodes."""
        return {
            "mode": "queue",
            "queue": self.queue_name,
            "started": self._queue is not None,
            "workspace_limit": self.shares.limit,
        }

    async def start(self) -> None:
        """Prepare the clients (they connect on first use); idempotent."""
        from automatos.extensions.cache.redis import RedisPubSub

        if self._closed:
            raise RuntimeError("the sandbox is stopped")
        if self._queue is None:
            self._queue = _make_queue(self.redis_url, self.queue_name, socket_timeout=10)
            self._pubsub = RedisPubSub.from_url(self.redis_url)
            await self._queue.connect()

    async def stop(self) -> None:
        self._closed = True
        queue, pubsub, self._queue, self._pubsub = self._queue, self._pubsub, None, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.close()
        if queue is not None:
            await _close_queue(queue)

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
    ) -> SandboxResult:
        """Run ``code`` on a worker; the result says what happened.

        Raises only for the caller's own mistakes: ``TypeError`` for a capability without a JSON
        ``spec()``, ``RuntimeError`` once stopped. An unreachable Redis, a missing or stopping
        worker and an overrun deadline are ``worker`` errors in the result. ``workspace``'s runs
        beyond its share wait in line here, before anything is enqueued (within the deadline).
        """
        limits = limits or Limits()
        shipped = [{"name": cap.name, "spec": _spec_of(cap)} for cap in capabilities]
        if self._queue is None:
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
            return await self._submit(code, inputs, limits, shipped, begun, deadline)
        raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow

    async def _submit(
        self,
        code: str,
        inputs: Mapping[str, Any] | None,
        limits: Limits,
        shipped: list[dict[str, Any]],
        begun: float,
        deadline: float,
    ) -> SandboxResult:
        """Enqueue the job and wait for it until ``deadline`` seconds after ``begun`` (its share's wait included)."""
        queue, pubsub = self._queue, self._pubsub
        if queue is None or pubsub is None:
            raise RuntimeError("the sandbox is stopped")
        key = uuid.uuid4().hex
        job = Job(
            function=FUNCTION,
            kwargs={
                "code": code,
                "inputs": dict(inputs or {}),
                "limits": msgspec.to_builtins(limits),
                "capabilities": shipped,
                "expires": time.time() + deadline - (time.perf_counter() - begun),
            },
            key=key,
            # no SAQ timeout: SAQ retries a job that timed out, and a run must never run twice; the
            # worker's own backstop (BACKSTOP beyond the wall limit) reports instead
            timeout=0,
            retries=HAND_BACKS + 1,  # SAQ retries only a job the worker handed back unstarted (see run_job)
            ttl=RESULT_TTL,
        )
        subscription: QueueSubscription | None = None
        enqueued = False
        try:
            subscription = await pubsub.subscribe(queue.job_id(key))
            # before the await: a caller cancelled while Redis already holds the job must still withdraw it
            enqueued = True
            if await queue.enqueue(job) is None:
                return self._finish(_failure("worker", "the run could not be enqueued (duplicate job key)"), begun)
            done = await self._wait(queue, subscription, key, begun + deadline)
            if done is None:
                return self._finish(await self._give_up(queue, key, deadline), begun)
            return self._finish(self._outcome(done), begun)
        except asyncio.CancelledError:
            if enqueued:  # the caller went away: the run must not happen later for nobody
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._abort(queue, key, "the caller went away"))
            raise
        except _Vanished:
            return self._finish(_failure("worker", "the run's job vanished from the queue (was Redis flushed?)"), begun)
        except (RedisError, OSError) as exc:
            if enqueued:
                with contextlib.suppress(Exception):
                    await self._abort(queue, key, "the caller lost the job queue")
            message = f"the sandbox job queue is unreachable ({type(exc).__name__}: {exc})"
            return self._finish(_failure("worker", message), begun)
        finally:
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.aclose()

    async def _wait(self, queue: RedisQueue, subscription: QueueSubscription, key: str, end: float) -> Job | None:
        """The finished job, or ``None`` when ``end`` (a ``perf_counter`` time) passed first."""
        while True:
            remaining = end - time.perf_counter()
            if remaining <= 0:
                return None
            message: bytes | None = None
            try:
                async with asyncio.timeout(min(remaining, self.poll_interval)):
                    message = await anext(subscription)
            except TimeoutError:
                pass
            except StopAsyncIteration:  # the pub/sub backend is closing: fall back to polling
                await asyncio.sleep(min(max(remaining, 0), self.poll_interval))
            if message in (b"active", b"queued", b"aborting"):
                continue  # not finished yet: no need to read the job
            current = await queue.job(key)
            if current is None:
                raise _Vanished
            if current.status in TERMINAL_STATUSES:
                return current

    async def _give_up(self, queue: RedisQueue, key: str, deadline: float) -> SandboxResult:
        current = await queue.job(key)
        if current is not None and current.status in TERMINAL_STATUSES:
            return self._outcome(current)  # finished just now
        status = current.status if current is not None else None
        if current is not None:
            await queue.abort(current, error="the caller's deadline passed")
        if status is None or status in _UNSTARTED:
            message = (
                f"no sandbox worker took the run within {_seconds(deadline)} "
                f"(is an 'automatos worker' serving queue {self.queue_name!r}?); the run was withdrawn"
            )
            return _failure("worker", message, stage="queue")  # it never started: nothing ran
        message = f"the sandbox worker did not finish the run within {_seconds(deadline)}; the run was aborted"
        return _failure("worker", message)

    async def _abort(self, queue: RedisQueue, key: str, why: str) -> None:
        current = await queue.job(key)
        if current is not None and current.status not in TERMINAL_STATUSES:
            await queue.abort(current, error=why)

    @staticmethod
    def _outcome(job: Job) -> SandboxResult:
        if job.status == Status.COMPLETE:
            try:
                return msgspec.convert(job.result, SandboxResult)
            except msgspec.ValidationError as exc:
                return _failure("worker", f"the sandbox worker returned a malformed result ({exc})")
        reason = (job.error or "").strip().splitlines()[-1:] or ["no reason given"]
        if job.status == Status.ABORTED:
            return _failure("worker", f"the run was aborted on the sandbox worker ({reason[0]})")
        return _failure("worker", f"the sandbox worker failed the run ({reason[0]})")

    @staticmethod
    def _finish(result: SandboxResult, begun: float) -> SandboxResult:
        result.usage.total_ms = round((time.perf_counter() - begun) * 1000, 3)
        return result


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


class _Server:
    """One ``automatos worker``: a local pool and a SAQ worker whose slots feed it."""

    def __init__(
        self,
        settings: Settings,
        redis_url: str,
        *,
        rebuild: Rebuild,
        kv: KVBackend | None,
        grace_seconds: float,
    ) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.size = settings.sandbox_pool_size
        self.rebuild = rebuild
        self.kv = kv
        self.owns_kv = kv is None
        self.grace_seconds = grace_seconds
        self.stopping = False
        self.abort = asyncio.Event()
        self.inflight: set[asyncio.Task[SandboxResult]] = set()
        self.taken = 0
        """Jobs handed to :meth:`run_job` (to tell a processed job from a swallowed queue error)."""
        self.pool: WorkerPool | None = None
        self.queue: RedisQueue | None = None
        self.upkeep: asyncio.Task[None] | None = None
        """Ours, not in SAQ's worker's task set: its stop() need not know about it."""

    async def serve(self, stop_event: asyncio.Event, ready: asyncio.Event | None) -> None:
        self.pool = pool = WorkerPool(self.size)
        # each slot holds a connection while it waits on the queue, and needs another to update its job
        self.queue = queue = _make_queue(
            self.redis_url, self.settings.sandbox_queue_name, socket_timeout=15, max_connections=2 * self.size + 8
        )
        worker: Worker[Any] | None = None
        loops: list[asyncio.Task[None]] = []
        try:
            await queue.connect()
            await queue.redis.ping()  # fail fast when Redis is unreachable
            await pool.start()
            if self.kv is None:
                from automatos.extensions.cache.redis import RedisKV

                self.kv = RedisKV.from_url(self.redis_url)  # connects on first use
            worker = Worker(
                queue,
                functions=[(FUNCTION, self.run_job)],
                id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                concurrency=self.size,
                dequeue_timeout=DEQUEUE_TIMEOUT,
                # queue.info() lists it: admins see which worker nodes run their sandboxes as root
                metadata={"pool_size": self.size, "pid": os.getpid(), "running_as_root": pool.running_as_root},
            )
            self.upkeep = asyncio.create_task(self._upkeep(worker), name="sandbox-upkeep")
            loops = [asyncio.create_task(self._slot(worker), name=f"sandbox-slot-{i}") for i in range(self.size)]
            log.info(
                "sandbox worker serving queue %r with %d sandbox process(es)",
                self.settings.sandbox_queue_name,
                self.size,
            )
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
                    raise RuntimeError("a sandbox worker slot failed") from task.exception()
        finally:
            await self._close(worker, loops)

    async def _drain(self, loops: list[asyncio.Task[None]]) -> None:
        """Take no new job; let runs in flight finish for the grace period, then abort them."""
        self.stopping = True
        running = set(self.inflight)
        if running:
            log.info("stopping: %d run(s) in flight get %s to finish", len(running), _seconds(self.grace_seconds))
            _, late = await asyncio.wait(running, timeout=self.grace_seconds)
            if late:
                log.warning("stopping: aborting %d run(s) still in flight", len(late))
        self.abort.set()
        # Each slot returns once its job is finished in Redis, an idle one within DEQUEUE_TIMEOUT.
        await asyncio.wait(loops, timeout=DEQUEUE_TIMEOUT + 10)

    async def _close(self, worker: Worker[Any] | None, loops: list[asyncio.Task[None]]) -> None:
        self.stopping = True
        self.abort.set()
        pending = [t for t in loops if not t.done()]
        if pending:  # cancelled, or a slot stuck on Redis: give finishing jobs a moment first
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait(pending, timeout=DEQUEUE_TIMEOUT + 2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.upkeep is not None:
            self.upkeep.cancel()
            await asyncio.gather(self.upkeep, return_exceptions=True)
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.stop()  # shuts its thread pool down
        if self.pool is not None:
            await self.pool.stop()
        if self.owns_kv and self.kv is not None:
            with contextlib.suppress(Exception):
                await self.kv.close()
        if self.queue is not None:
            await _close_queue(self.queue)
        log.info("sandbox worker stopped")

    async def _upkeep(self, worker: Worker[Any]) -> None:
        """Cancel runs their callers aborted; advertise this worker (``queue.info()`` lists it).

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
                log.debug("sandbox worker upkeep failed (%s: %s)", type(exc).__name__, exc)
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
                # Nothing reached run_job: most likely the queue is unreachable (SAQ swallows that).
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
                "the sandbox job queue is unreachable (%s: %s); retry in %.1f s", type(exc).__name__, exc, delay
            )
            await asyncio.sleep(delay)
            return failures

    async def run_job(
        self,
        ctx: Mapping[str, Any],
        *,
        code: str,
        inputs: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        capabilities: Sequence[Mapping[str, Any]] = (),
        expires: float | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """The SAQ task: one run through the local pool; the result as builtins.

        Raises only :class:`_HandBack` (a job taken while stopping, nothing of it run): SAQ then
        queues it again for another worker. Anything else is a result, so SAQ never retries a run.
        """
        self.taken += 1
        job = ctx.get("job")
        if self.stopping:
            log.info("stopping: a run taken meanwhile is handed back, unstarted, for another worker")
            raise _HandBack("the sandbox worker that took it was stopping")
        try:
            result = await self._run(job, code, inputs, limits, capabilities, expires)
        except Exception as exc:  # a bug here must not become SAQ's retry of a run that may have started
            log.exception("sandbox run failed in the worker itself")
            result = _failure("worker", f"the sandbox worker failed the run ({type(exc).__name__})")
        answer: dict[str, Any] = msgspec.to_builtins(result)
        return answer

    async def _run(
        self,
        job: Job | None,
        code: str,
        inputs: Mapping[str, Any] | None,
        limits: Mapping[str, Any] | None,
        capabilities: Sequence[Mapping[str, Any]],
        expires: float | None,
    ) -> SandboxResult:
        if self.stopping:
            return _failure("worker", "the sandbox worker was shutting down and did not start the run; try again")
        if expires is not None and time.time() > expires + CLOCK_SKEW:
            return _failure("worker", "the run expired in the queue before a worker took it")
        if job is not None and self.queue is not None:
            with contextlib.suppress(RedisError, OSError):
                if await self.queue.redis.exists(job.abort_id):
                    return _failure("worker", "the run was withdrawn before it started")
        try:
            parsed = msgspec.convert(dict(limits or {}), Limits)
        except msgspec.ValidationError as exc:
            return _failure("worker", f"malformed job: limits: {exc}")
        granted: list[Capability] = []
        for entry in capabilities:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            spec = entry.get("spec") if isinstance(entry, Mapping) else None
            if not isinstance(name, str) or not isinstance(spec, dict):
                return _failure("worker", "malformed job: a capability entry needs a name and a spec")
            try:
                capability = self.rebuild(spec, kv=self.kv)
            except Exception as exc:
                return _failure("capability", f"capability {name!r} cannot be granted on this worker: {exc}")
            granted.append(capability if capability.name == name else _Renamed(capability, name))
        assert self.pool is not None
        task = asyncio.create_task(self.pool.run(code, inputs, parsed, granted))
        self.inflight.add(task)
        aborted = asyncio.ensure_future(self.abort.wait())
        try:
            backstop = parsed.wall_seconds + BACKSTOP
            await asyncio.wait([task, aborted], timeout=backstop, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            if not aborted.done():
                return _failure("worker", "the sandbox worker's pool did not finish the run in time; it was cancelled")
            return _failure(
                "worker", "the sandbox worker was stopped during the run (it is shutting down); the run was aborted"
            )
        except RuntimeError as exc:  # the pool was stopped under the run
            return _failure("worker", f"the sandbox worker could not run it: {exc}")
        finally:
            aborted.cancel()
            if not task.done():  # aborted (shutdown, the caller gave up, SAQ's timeout): kill the run
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.inflight.discard(task)


async def serve(
    settings: Settings,
    *,
    stop_event: asyncio.Event | None = None,
    rebuild: Rebuild | None = None,
    kv: KVBackend | None = None,
    grace_seconds: float = GRACE,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve sandbox runs from ``settings.sandbox_queue_name`` until ``stop_event`` is set (or cancelled).

    Starts a local pool of ``settings.sandbox_pool_size`` sandbox processes and as many SAQ job
    slots. ``rebuild(spec, kv=...)`` turns a capability spec back into a capability (default
    :func:`automatos.sandbox.capabilities.capability_from_spec`); ``kv`` is the key-value backend
    handed to it (default: a Redis one on ``REDIS_URL``, closed at the end). ``ready`` is set once
    jobs are being taken. On stop, runs in flight get ``grace_seconds`` to finish, then are
    aborted (their callers get a ``worker`` error); cancelling aborts them at once. Installs no
    signal handler: the caller decides what stops it.
    """
    if not settings.redis_url:
        raise ValueError("the sandbox worker needs REDIS_URL (the job queue lives in Redis)")
    server = _Server(
        settings,
        settings.redis_url,
        rebuild=rebuild or _default_rebuild,
        kv=kv,
        grace_seconds=grace_seconds,
    )
    await server.serve(stop_event or asyncio.Event(), ready)
