"""What one of the engine's transactions writes for a run, sent as a few Core statements.

The engine (:mod:`automatos.recipes.engine`) locks a run, reads it and its checkpoints, then
decides: a checkpoint closed or opened, events appended, the run's new state, the tool call's audit
rows. :class:`Ledger` collects those decisions and :meth:`Ledger.write` sends them as Core ``INSERT``
and ``UPDATE`` statements — without the ORM's unit of work, which was about a third of a step's cost
on the embedded default (``bench/recipes.py``, the per-step figure of issue 15). The rows read are
detached from the session first (:meth:`Ledger.take`), so nothing is written twice and the run
object can leave the transaction as it is (:class:`~automatos.recipes.engine.Picked`).

Every statement names the run's ``workspace_id``. The service's rarer writes (start, cancel,
approve) keep the ORM: :func:`~automatos.recipes.engine.append_event` is their way to the same log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, insert, inspect, update

from automatos.kernel.db.models import AuditLogEntry
from automatos.kernel.db.sqlite_cursor import deferred
from automatos.kernel.store import AuditRow
from automatos.recipes.models import RecipeRun, RecipeRunEvent, RecipeStepRun

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = ["Ledger"]

_RUNS: Table = RecipeRun.__table__  # type: ignore[assignment]
_STEPS: Table = RecipeStepRun.__table__  # type: ignore[assignment]
_EVENTS: Table = RecipeRunEvent.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditLogEntry.__table__  # type: ignore[assignment]

RUN_STATE = ("status", "step", "error", "events", "not_before", "worker", "heartbeat_at", "finished_at")
"""The run's columns the engine changes (``updated_at`` follows by itself)."""
STEP_STATE = ("status", "output", "error", "log_key", "finished_at")
"""A checkpoint's columns the engine changes once it exists (written when they changed)."""

_UPDATE_RUN = update(_RUNS).where(_RUNS.c.id == bindparam("w_id"), _RUNS.c.workspace_id == bindparam("w_workspace"))
_UPDATE_STEP = update(_STEPS).where(
    _STEPS.c.run_id == bindparam("w_run"),
    _STEPS.c.workspace_id == bindparam("w_workspace"),
    _STEPS.c.step == bindparam("w_step"),
    _STEPS.c.attempt == bindparam("w_attempt"),
)


class Ledger:
    """A locked run's writes in this transaction (see the module docstring)."""

    def __init__(self, run: RecipeRun) -> None:
        self.run = run
        self._before = {name: getattr(run, name) for name in RUN_STATE}
        self._events: list[dict[str, Any]] = []
        self._added: list[RecipeStepRun] = []
        self._changed: list[RecipeStepRun] = []
        self._audits: list[AuditRow] = []

    @staticmethod
    def take(session: AsyncSession) -> None:
        """Detach what was read: from here on, only :meth:`write` writes."""
        session.expunge_all()

    def event(self, kind: str, data: dict[str, Any]) -> int:
        """Append to the run's log; its ``seq`` (``recipe_runs.events`` counts them)."""
        run = self.run
        seq = (run.events or 0) + 1
        run.events = seq
        self._events.append(
            {"run_id": run.id, "seq": seq, "workspace_id": run.workspace_id, "kind": kind, "data": data}
        )
        return seq

    def add(self, checkpoint: RecipeStepRun) -> None:
        """A new checkpoint (``INSERT``: without an output, an error or a log yet; :meth:`change`
        it in a later transaction)."""
        self._added.append(checkpoint)

    def change(self, checkpoint: RecipeStepRun) -> None:
        """A checkpoint read in this transaction whose state changed (``UPDATE``)."""
        if checkpoint not in self._changed and checkpoint not in self._added:
            self._changed.append(checkpoint)

    def audit(self, rows: list[AuditRow]) -> None:
        """Audit rows written with the rest (a step's tool call: ``tool.invoke``)."""
        self._audits.extend(rows)

    async def write(self, session: AsyncSession) -> None:
        """Everything collected, in the session's transaction (the run is locked by it). On SQLite
        the statements wait and go with the ``COMMIT`` (:func:`deferred`): the caller commits
        next, and reads nothing back."""
        connection = await session.connection()
        async with deferred(connection):  # on SQLite, sent with the commit: one trip
            await self._send(connection)

    async def _send(self, connection: AsyncConnection) -> None:
        run = self.run
        if self._audits:
            await connection.execute(insert(_AUDIT), [row._asdict() for row in self._audits])
        if self._added:
            rows = [
                {
                    "run_id": c.run_id,
                    "step": c.step,
                    "attempt": c.attempt,
                    "workspace_id": c.workspace_id,
                    "status": c.status,
                    "idempotency_key": c.idempotency_key,
                    "started_at": c.started_at,
                    "finished_at": c.finished_at,
                }
                for c in self._added
            ]
            await connection.execute(insert(_STEPS), rows)
        for c in self._changed:
            attrs = inspect(c).attrs  # only what changed: an output never set stays SQL NULL, not JSON null
            values = {name: getattr(c, name) for name in STEP_STATE if attrs[name].history.has_changes()}
            if values:
                where = {"w_run": c.run_id, "w_workspace": c.workspace_id, "w_step": c.step, "w_attempt": c.attempt}
                await connection.execute(_UPDATE_STEP, {**where, **values})
        if self._events:
            await connection.execute(insert(_EVENTS), self._events)
        state = {name: getattr(run, name) for name in RUN_STATE}
        if state != self._before:
            await connection.execute(_UPDATE_RUN, {"w_id": run.id, "w_workspace": run.workspace_id, **state})
            self._before = state
        self._events, self._added, self._changed, self._audits = [], [], [], []
