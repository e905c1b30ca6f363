"""The submitting side of the job queue: enqueue a job with a deadline, wait for its outcome, withdraw it.

How a job travels:

1. The caller (:meth:`JobQueue.submit`, in an API process or the CLI) subscribes to the job's status
   channel first — so no notification can be missed — then enqueues one SAQ job naming a function
   a worker registered (``sandbox.run``…) with its keyword arguments as JSON, plus ``expires``: the
   wall-clock time past which no worker should start it.
2. A worker (:mod:`automatos.jobs.worker`) dequeues it, runs the function and stores what it
   returned as the job's result; SAQ publishes the status change.
3. The caller wakes on that notification (or on its poll, should the pub/sub connection have
   dropped), reads the job and returns a :class:`JobOutcome`.

Deadlines: the caller waits ``deadline`` seconds from ``begun``, queue wait included. When they
pass, the job is aborted — removed from the queue if no worker took it (``not_taken``), cancelled on
the worker otherwise (``overdue``) — so it never runs later for nobody. A caller that is cancelled,
or that loses the queue, withdraws its job the same way.

Each job is keyed by a fresh uuid, and a caller reads only its own job's record: concurrent jobs
cannot get each other's results. A job is never run twice behind the caller's back (it may have had
side effects): SAQ retries a job only when its function raises, and a worker's function raises only
to hand back, unstarted, a job it took while stopping (at most :data:`HAND_BACKS` times).

What of SAQ is used here: ``Queue`` (``enqueue``, ``job``, ``abort``, ``job_id``), ``Job`` and
``Status``. SAQ is used without its ``[redis]`` extra (which pins redis<8); its own pub/sub listener
is not used: callers wait through the queue backend's pub/sub, subscribed per job. The dependency is
bounded to one minor version (``saq>=0.26.4,<0.27``) because the worker recognises a withdrawn job
by its abort key (:mod:`automatos.jobs.worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from redis.exceptions import RedisError
from saq import Job, Status
from saq.queue.redis import RedisQueue

if TYPE_CHECKING:
    from automatos.kernel.backends import PubSubBackend, QueueBackend, Subscription

__all__ = [
    "HAND_BACKS",
    "POLL_INTERVAL",
    "RESULT_TTL",
    "TERMINAL_STATUSES",
    "JobOutcome",
    "JobQueue",
    "OutcomeStatus",
    "close_saq_queue",
    "saq_queue",
]

log = logging.getLogger("automatos.jobs")

# SAQ logs every enqueue and every job at INFO: one line per job on every node is noise here.
_saq_log = logging.getLogger("saq")
if _saq_log.level == logging.NOTSET:
    _saq_log.setLevel(logging.WARNING)

POLL_INTERVAL = 1.0
"""The caller re-reads its job this often when no notification came (a dropped pub/sub connection)."""
RESULT_TTL = 120
"""Seconds a finished job (and its result) stays on the queue's server; its caller reads it at once."""
HAND_BACKS = 2
"""How many times a job may be handed back unstarted by stopping workers before it fails."""

UNSTARTED = frozenset({Status.NEW, Status.QUEUED})
TERMINAL_STATUSES = frozenset({Status.COMPLETE, Status.FAILED, Status.ABORTED})
"""A job in one of these is finished (spelled out from the public ``Status``: SAQ does not export its own set)."""

OutcomeStatus = Literal["complete", "failed", "aborted", "not_taken", "overdue", "unreachable", "vanished", "duplicate"]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a submitted job ended, for the caller to word in its own terms.

    - ``complete``: ``result`` is what the worker's function returned (JSON builtins);
    - ``failed`` / ``aborted``: the function raised / the job was aborted on the worker (``reason``:
      the last line of the error SAQ recorded);
    - ``not_taken``: no worker took it before the deadline; it was withdrawn, nothing ran;
    - ``overdue``: a worker took it but did not finish before the deadline; it was aborted;
    - ``unreachable``: the queue's server could not be reached (``reason``: the error);
    - ``vanished``: its record disappeared before it finished (the server was flushed?);
    - ``duplicate``: the queue refused it as a duplicate key (never with the fresh keys used here).
    """

    status: OutcomeStatus
    result: Any = None
    reason: str = ""


def saq_queue(backend: QueueBackend, name: str, *, socket_timeout: float, max_connections: int = 64) -> RedisQueue:
    """The SAQ queue ``name`` on ``backend``'s server; jobs are encoded with msgspec (results can be megabytes).

    The client's bounded pool makes a burst of callers wait for a connection rather than fail.
    """
    return RedisQueue(
        backend.client(socket_timeout=socket_timeout, max_connections=max_connections),
        name=name,
        dump=msgspec.json.encode,
        load=msgspec.json.decode,
    )


async def close_saq_queue(queue: RedisQueue) -> None:
    """Release the queue's connections.

    Not ``queue.disconnect()``: it would open a connection only to unsubscribe SAQ's own pub/sub
    multiplexer, which is never used here.
    """
    with contextlib.suppress(Exception):
        await queue.redis.aclose()


class _Vanished(Exception):
    """The job's record is gone from the server before it finished."""


class JobQueue:
    """A client of one named queue: :meth:`submit` a job and get its :class:`JobOutcome`."""

    def __init__(self, backend: QueueBackend, name: str, *, poll_interval: float = POLL_INTERVAL) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        self.backend = backend
        self.name = name
        self.poll_interval = poll_interval
        self._queue: RedisQueue | None = None
        self._pubsub: PubSubBackend | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        return self._queue is not None

    @property
    def saq(self) -> RedisQueue | None:
        """The SAQ queue while started (tests and admin tools read counts from it)."""
        return self._queue

    async def start(self) -> None:
        """Prepare the clients (they connect on first use); idempotent."""
        if self._closed:
            raise RuntimeError("the job queue is stopped")
        if self._queue is None:
            self._queue = saq_queue(self.backend, self.name, socket_timeout=10)
            self._pubsub = self.backend.pubsub()
            await self._queue.connect()

    async def stop(self) -> None:
        self._closed = True
        queue, pubsub, self._queue, self._pubsub = self._queue, self._pubsub, None, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.close()
        if queue is not None:
            await close_saq_queue(queue)

    async def __aenter__(self) -> JobQueue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def enqueue(
        self, function: str, kwargs: Mapping[str, Any], *, lifetime: float, scheduled: float = 0.0
    ) -> bool:
        """Enqueue ``function(**kwargs)`` and return at once (work whose state lives elsewhere, such
        as a recipe run's checkpoints: nobody waits for its result). It may start until ``lifetime``
        seconds from now; ``scheduled`` (epoch seconds) delays it. False when the queue refused it.
        Raises what the queue's client raises (``RedisError``, ``OSError``) when it is unreachable.
        """
        if self._queue is None:
            await self.start()
        queue = self._queue
        if queue is None:
            raise RuntimeError("the job queue is stopped")
        job = Job(
            function=function,
            kwargs={**kwargs, "expires": time.time() + max(lifetime, scheduled - time.time() + lifetime)},
            key=uuid.uuid4().hex,
            timeout=0,  # as submit's: a job never runs twice
            retries=HAND_BACKS + 1,
            ttl=RESULT_TTL,
            scheduled=int(scheduled),  # SAQ moves scheduled jobs only in its own sweep: callers pass 0 here
        )
        return await queue.enqueue(job) is not None

    async def submit(
        self, function: str, kwargs: Mapping[str, Any], *, deadline: float, begun: float | None = None
    ) -> JobOutcome:
        """Enqueue ``function(**kwargs)`` and wait until ``deadline`` seconds after ``begun`` (a ``perf_counter`` time).

        ``kwargs`` must be JSON-encodable; the worker's function also receives ``expires`` (the
        wall-clock time past which it should not start). Raises ``RuntimeError`` once stopped;
        everything that goes wrong on the way is an outcome, and a cancelled caller withdraws its job.
        """
        if self._queue is None:
            await self.start()
        queue, pubsub = self._queue, self._pubsub
        if queue is None or pubsub is None:
            raise RuntimeError("the job queue is stopped")
        begun = time.perf_counter() if begun is None else begun
        key = uuid.uuid4().hex
        job = Job(
            function=function,
            kwargs={**kwargs, "expires": time.time() + deadline - (time.perf_counter() - begun)},
            key=key,
            # no SAQ timeout: SAQ retries a job that timed out, and a job must never run twice; the
            # worker's own backstop reports instead
            timeout=0,
            retries=HAND_BACKS + 1,  # SAQ retries only a job a worker handed back unstarted
            ttl=RESULT_TTL,
        )
        subscription: Subscription | None = None
        enqueued = False
        try:
            subscription = await pubsub.subscribe(queue.job_id(key))
            # before the await: a caller cancelled while the server already holds the job must still withdraw it
            enqueued = True
            if await queue.enqueue(job) is None:
                return JobOutcome("duplicate")
            done = await self._wait(queue, subscription, key, begun + deadline)
            if done is None:
                return await self._give_up(queue, key)
            return _outcome(done)
        except asyncio.CancelledError:
            if enqueued:  # the caller went away: the job must not run later for nobody
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._abort(queue, key, "the caller went away"))
            raise
        except _Vanished:
            return JobOutcome("vanished")
        except (RedisError, OSError) as exc:
            if enqueued:
                with contextlib.suppress(Exception):
                    await self._abort(queue, key, "the caller lost the job queue")
            return JobOutcome("unreachable", reason=f"{type(exc).__name__}: {exc}")
        finally:
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.aclose()

    async def _wait(self, queue: RedisQueue, subscription: Subscription, key: str, end: float) -> Job | None:
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

    async def _give_up(self, queue: RedisQueue, key: str) -> JobOutcome:
        current = await queue.job(key)
        if current is not None and current.status in TERMINAL_STATUSES:
            return _outcome(current)  # finished just now
        status = current.status if current is not None else None
        if current is not None:
            await queue.abort(current, error="the caller's deadline passed")
        if status is None or status in UNSTARTED:
            return JobOutcome("not_taken")  # it never started: nothing ran
        return JobOutcome("overdue")

    @staticmethod
    async def _abort(queue: RedisQueue, key: str, why: str) -> None:
        current = await queue.job(key)
        if current is not None and current.status not in TERMINAL_STATUSES:
            await queue.abort(current, error=why)


def _outcome(job: Job) -> JobOutcome:
    if job.status == Status.COMPLETE:
        return JobOutcome("complete", result=job.result)
    reason = (job.error or "").strip().splitlines()[-1:] or ["no reason given"]
    return JobOutcome("aborted" if job.status == Status.ABORTED else "failed", reason=reason[0])
