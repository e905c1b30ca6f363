"""Recipe steps on ``automatos worker`` processes, through the shared job queue (``RECIPES_RUNNER=queue``).

The same engine as the in-process runner (:mod:`automatos.recipes.runner`); only who calls
:meth:`RecipeEngine.advance <automatos.recipes.engine.RecipeEngine.advance>` changes:

- **API processes** (:class:`QueueRunner`): a run started, retried or approved is a
  ``recipes.advance`` job on ``RECIPES_QUEUE_NAME`` (SAQ on Redis); the API does not wait for it.
  A queue that cannot be reached leaves the run ``queued`` — the workers' sweep finds it.
- **Workers** (:func:`serve`, ``automatos worker --queue recipes``): each job advances its run by
  one step and enqueues the next advance; a retry's backoff is waited by the sweep, which enqueues
  the run once it is over (within ``RECIPES_SWEEP_SECONDS``). Duplicate jobs
  for one run are harmless: a run another live worker holds is left alone. Every
  ``RECIPES_SWEEP_SECONDS`` a worker enqueues the runs left ``queued`` and the ``running`` ones
  whose worker went silent for ``RECIPES_STALE_SECONDS`` — SAQ alone would leave a killed worker's
  job active and never retry it. On SIGTERM a step in flight gets the grace period to finish; past
  it, the step is cancelled and its run handed back at once (the step runs again elsewhere under the
  same idempotency key).

Workers need the database (checkpoints, agents, tools) as well as ``REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from automatos.recipes.models import RecipeRun

if TYPE_CHECKING:
    from automatos.jobs.queue import JobQueue
    from automatos.jobs.worker import JobFunction, JobRun
    from automatos.kernel.backends import QueueBackend
    from automatos.kernel.hooks import Hooks
    from automatos.kernel.settings import Settings
    from automatos.recipes.engine import RecipeEngine
    from automatos.recipes.service import RecipeService
    from automatos.recipes.settings import RecipeSettings

__all__ = ["FUNCTION", "QueueRunner", "due_runs", "recipe_function", "serve"]

log = logging.getLogger("automatos.recipes")

FUNCTION = "recipes.advance"
LIFETIME = 7 * 24 * 3600.0
"""A queued advance may start within a week (a run's state is in the database; a late job is harmless)."""
BACKSTOP = 3700.0
"""One advance at the longest: a step's own timeout (at most 3600 s) plus its bookkeeping."""


async def due_runs(engine: RecipeEngine) -> list[str]:
    """Runs to advance: those left ``queued``, the ``running`` ones whose worker went silent, and
    those whose retry's backoff is over."""
    stale = engine.clock() - timedelta(seconds=engine.stale_seconds)
    async with engine.kernel.store.sessionmaker() as session:
        found = await session.execute(
            select(RecipeRun.id).where(
                or_(
                    RecipeRun.status == "queued",
                    and_(
                        RecipeRun.status == "running",
                        or_(RecipeRun.heartbeat_at.is_(None), RecipeRun.heartbeat_at < stale),
                    ),
                    and_(  # a retry whose backoff is over
                        RecipeRun.status == "running",
                        RecipeRun.worker.is_(None),
                        RecipeRun.not_before.is_not(None),
                        RecipeRun.not_before <= engine.clock(),
                    ),
                )
            )
        )
        return list(found.scalars().all())


class QueueRunner:
    """The API side: runs become ``recipes.advance`` jobs (see the module docstring)."""

    def __init__(self, service: RecipeService, hooks: Hooks, settings: Settings, queue_name: str) -> None:
        self.service = service
        self.hooks = hooks
        self.settings = settings
        self.queue_name = queue_name
        self.queue: JobQueue | None = None

    async def start(self) -> None:
        from automatos.jobs.backend import queue_backend
        from automatos.jobs.queue import JobQueue

        self.queue = JobQueue(await queue_backend(self.hooks, self.settings), self.queue_name)
        self.service.submit = self.submit

    async def stop(self) -> None:
        self.service.submit = None
        if self.queue is not None:
            await self.queue.stop()
            self.queue = None

    async def submit(self, run_id: str) -> None:
        if self.queue is None:
            return
        try:
            await self.queue.enqueue(FUNCTION, {"run_id": run_id}, lifetime=LIFETIME)
        except Exception as exc:  # Redis down: the run stays queued; a worker's sweep takes it up
            log.warning("run %s: not enqueued (%s); a worker's sweep will take it up", run_id, type(exc).__name__)

    async def idle(self) -> None:
        """Nothing runs here (the workers advance runs)."""


def recipe_function(engine: RecipeEngine, queue: JobQueue) -> JobFunction:
    """``recipes.advance``: one step of the run, then the next advance enqueued."""
    from automatos.jobs.worker import JobFunction

    async def run(job: JobRun, kwargs: Mapping[str, Any]) -> Any:
        run_id = str(kwargs["run_id"])
        advanced = await job.guard(engine.advance(run_id), backstop=BACKSTOP)
        if advanced.again and advanced.delay <= 0:
            try:
                await queue.enqueue(FUNCTION, {"run_id": run_id}, lifetime=LIFETIME)
            except Exception as exc:
                # Redis down between two steps: the step is checkpointed and nobody holds the run, so
                # nothing is lost — a worker's sweep takes it up once its heartbeat is
                # RECIPES_STALE_SECONDS old. An outage, not a bug of the worker (JobWorker would log
                # the exception as one, with its traceback).
                log.warning(
                    "run %s: the next step not enqueued (%s); a worker's sweep will take it up",
                    run_id,
                    type(exc).__name__,
                )
        # a retry's backoff: the sweep enqueues the run once it is over (jobs are not scheduled for later)
        return {"run_id": run_id, "status": advanced.status, "again": advanced.again}

    def failure(message: str) -> Any:
        return {"status": "not-run", "message": message}

    return JobFunction(FUNCTION, run, failure)


async def serve(
    engine: RecipeEngine,
    backend: QueueBackend,
    settings: RecipeSettings,
    *,
    stop_event: asyncio.Event,
    grace_seconds: float,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve ``recipes.advance`` jobs (and sweep) until ``stop_event`` is set."""
    from automatos.jobs.queue import JobQueue
    from automatos.jobs.worker import JobWorker

    queue = JobQueue(backend, settings.recipes_queue_name)

    async def sweep_forever() -> None:
        while True:
            try:
                for run_id in await due_runs(engine):
                    await queue.enqueue(FUNCTION, {"run_id": run_id}, lifetime=LIFETIME)
            except Exception as exc:  # the database or the queue down: the next sweep tries again
                log.warning("the recipes sweep failed (%s); trying again", type(exc).__name__)
            await asyncio.sleep(settings.recipes_sweep_seconds)

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        await queue.start()
        sweeper = asyncio.create_task(sweep_forever(), name="recipes-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await queue.stop()

    worker = JobWorker(
        backend,
        settings.recipes_queue_name,
        [recipe_function(engine, queue)],
        concurrency=settings.recipes_concurrency,
        label="recipes",
        grace_seconds=grace_seconds,
        setup=running,
        metadata=lambda: {"recipes": True, "worker": engine.worker},
    )
    await worker.serve(stop_event, ready)
