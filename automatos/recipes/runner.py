"""The in-process runner (the embedded default): runs advance in this process's event loop.

:class:`LocalRunner` is what ``POST /api/recipes/{id}/runs`` hands a run to when no queue worker
serves recipes: each run is advanced by :meth:`RecipeEngine.advance
<automatos.recipes.engine.RecipeEngine.advance>` one step at a time — the same code path a queue
worker takes — until it finishes, waits for an approval or is cancelled; a retry's backoff is
waited with the injected ``sleep``. At most ``concurrency`` steps run at once in the process, and
at most ``per_workspace`` of them for one workspace, so one tenant's runs cannot take every slot.
One run is advanced by one task at a time; a run submitted while it is being advanced is advanced
again after (a resumed approval, a retry).

At start, and every ``sweep_seconds`` after, it takes up the runs left ``queued`` and the
``running`` ones whose worker stopped heartbeating for ``stale_seconds`` (another process that
died, or this one before a restart); their checkpoints say where to go on, and a finished step is
not run again. A run another live process holds is left to it (:meth:`RecipeEngine.held
<automatos.recipes.engine.RecipeEngine.held>`), so several API processes on one database
share the runs without running a step twice at once. :class:`Progress` wakes live readers of a run's
events (the SSE stream) in this process; readers on other processes poll the event log.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from automatos.kernel.tasks import cancel_and_wait
from automatos.recipes.engine import Advanced, RecipeEngine
from automatos.recipes.models import RecipeRun
from automatos.recipes.queue import due_runs
from automatos.recipes.service import RecipeService

__all__ = ["LocalRunner", "Progress"]

log = logging.getLogger("automatos.recipes")

CHAIN = 8
"""Steps of one run advanced in a row in one slot (:meth:`LocalRunner._chain`): a step then costs
one transaction, not two; other runs get the slot back at least every ``CHAIN`` steps."""


class Progress:
    """Wakes the readers of a run's events when the run changed in this process."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def changed(self, run_id: str) -> None:
        event = self._events.pop(run_id, None)
        if event is not None:
            event.set()

    async def wait(self, run_id: str, seconds: float) -> None:
        """Until the run changes here, or ``seconds`` (another process may have changed it)."""
        event = self._events.setdefault(run_id, asyncio.Event())
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass


class LocalRunner:
    """See the module docstring."""

    def __init__(
        self,
        engine: RecipeEngine,
        service: RecipeService,
        progress: Progress,
        *,
        concurrency: int = 8,
        per_workspace: int = 4,
        sweep_seconds: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.service = service
        self.progress = progress
        self.sleep = sleep
        self.per_workspace = per_workspace
        self.sweep_seconds = sweep_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._tenant: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_workspace))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._started = False
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.service.submit = self.submit
        resumed = await self.sweep()
        if resumed:
            log.info("resumed %d recipe runs a stopped process left", resumed)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="recipes-sweeper")

    async def sweep(self) -> int:
        """Submit the runs left ``queued``, and the ``running`` ones whose worker stopped saying so
        (heartbeat older than the engine's ``stale_seconds``) that no task here advances: how many."""
        left = await due_runs(self.engine)
        taken = [run_id for run_id in left if run_id not in self._tasks]
        for run_id in taken:
            await self.submit(run_id)
        return len(taken)

    async def _sweep_forever(self) -> None:
        while True:
            await self.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # the database down: the next sweep tries again
                log.warning("the recipes sweep failed (%s); trying again", type(exc).__name__)

    async def stop(self) -> None:
        self._started = False
        self.service.submit = None
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
            self._sweeper = None
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            await cancel_and_wait(task)

    async def submit(self, run_id: str) -> None:
        self.progress.changed(run_id)
        if run_id in self._tasks:
            self._again.add(run_id)
            return
        task = asyncio.create_task(self._drive(run_id), name=f"recipe-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def idle(self) -> None:
        """Until no run is being advanced here (tests, a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _drive(self, run_id: str) -> None:
        workspace: str | None = None
        while True:
            try:
                if workspace is None:  # a run never changes workspace: read once per drive
                    workspace = await self._workspace_of(run_id)
                async with self._slots, self._tenant[workspace]:
                    advanced = await self._chain(run_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database down: the run stays where its checkpoints say
                log.warning(
                    "run %s: advancing failed (%s); a sweep takes it up once it is queued, due, or its "
                    "heartbeat is RECIPES_STALE_SECONDS old",
                    run_id,
                    type(exc).__name__,
                    exc_info=not isinstance(exc, OSError | DBAPIError),
                )
                return
            finally:
                self.progress.changed(run_id)
            if not advanced.again:
                if run_id in self._again:
                    self._again.discard(run_id)
                    continue
                return
            self._again.discard(run_id)
            if advanced.delay > 0:
                await self.sleep(advanced.delay)

    async def _chain(self, run_id: str) -> Advanced:
        """Up to :data:`CHAIN` steps of the run in one slot: each step's closing transaction picks
        the next (:meth:`RecipeEngine.advance` with ``chain``), which runs at once — it is held by
        this process from then, so it must not wait for a slot. The last of the chain is closed
        without a pick, and the slot goes to the next run waiting for one."""
        advanced = await self.engine.advance(run_id, chain=CHAIN > 1)
        for done in range(2, CHAIN + 1):
            if advanced.picked is None:
                break
            self.progress.changed(run_id)
            advanced = await self.engine.advance(run_id, picked=advanced.picked, chain=done < CHAIN)
        return advanced

    async def _workspace_of(self, run_id: str) -> str:
        async with self.engine.kernel.store.sessionmaker() as session:
            got = await session.scalar(select(RecipeRun.workspace_id).where(RecipeRun.id == run_id))
        return str(got or "")
