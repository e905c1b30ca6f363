"""The engine: :meth:`RecipeEngine.advance` moves one run by one step, durably.

One call, whatever runs it (the in-process runner on the embedded default, a queue worker):

0. A run a worker holds (``recipe_runs.worker``, its heartbeat younger than ``stale_seconds``) is
   left alone — by other workers and by a duplicate job on the same one: a step never runs twice at
   once. While a step
   runs, its worker writes ``heartbeat_at`` every ``heartbeat_seconds``; a worker that stops lets
   the heartbeat go stale, and the sweeper of another takes the run over from its checkpoints.

1. In one transaction with the run locked: read the run, its pinned version and its checkpoints;
   pick the first step without a ``succeeded`` or ``skipped`` checkpoint. A finished, waiting or
   backing-off run is left alone. No step left → ``succeeded``.
2. A step whose condition (``if``) does not hold → ``skipped``. An approval step → the run
   ``waiting`` (``POST …/approve`` or ``…/reject`` moves it on).
3. Otherwise a ``running`` checkpoint for ``(run, step, attempt)`` is written with its idempotency
   key ``<run>:<step>:<attempt>`` and committed **before** the step runs. A step found ``running``
   (its worker stopped) is run again under the same attempt and key: a tool that deduplicates on
   the key does not act twice; a step that finished is never run again.
4. The step runs outside any transaction (an agent: one chat turn, with its tools; a tool: the
   registry, checked and audited), bounded by its ``timeout_seconds``. Its template is rendered
   first: a template error fails the step with the reason. Its full log — the rendered input or
   arguments, the output, the error, the times, the worker — goes to the blob store; the checkpoint
   keeps its key (a store that fails loses the log, never the step).
5. In one transaction: the tool call's audit row (``tool.invoke``: the call and its checkpoint are
   recorded together), the checkpoint ``succeeded`` with the output, or ``failed`` with the error;
   on failure either a retry (``not_before`` = now + ``backoff_seconds * 2 ** (attempt - 1)``) or the run
   ``failed`` with the step's reason. Events are appended to the run's log in the same
   transactions (``step.started``, ``step.finished``, ``step.failed``, ``step.skipped``,
   ``run.waiting``, ``run.succeeded``, ``run.failed``). With ``chain`` (the in-process runner),
   the same transaction also picks the next step (1-3), so a step costs one transaction, not two;
   the caller runs it at once (:attr:`Advanced.picked`). A queue worker does not chain: each job is
   one step, and the next may run on another worker.

:class:`Advanced` tells the caller whether to advance again and after how long. The clock is
injected (``clock``); nothing here sleeps. The transactions' writes are collected and sent by
:class:`~automatos.recipes.ledger.Ledger` (Core statements; on SQLite with the ``COMMIT``).

Why one module of about 580 lines: steps 0-5 are one algorithm over one locked run, and each step's
rules (who holds the run, which attempt, what a retry is) are read together; the parts that stand
alone are elsewhere — the writes (``ledger.py``), templates (``templates.py``), definitions
(``definition.py``), who calls ``advance`` (``runner.py``, ``queue.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select, update

from automatos.kernel.db.base import utcnow
from automatos.kernel.db.sqlite_cursor import deferred
from automatos.kernel.errors import AutomatosError
from automatos.kernel.store import AuditRow
from automatos.kernel.tasks import cancel_and_wait
from automatos.kernel.types import ChatMessage, StreamEvent
from automatos.recipes.definition import Definition, Step
from automatos.recipes.ledger import Ledger
from automatos.recipes.models import FINISHED, RecipeRun, RecipeRunEvent, RecipeStepRun, RecipeVersion
from automatos.recipes.templates import TemplateError, condition, render

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.chat.service import ChatService
    from automatos.kernel.core import Kernel
    from automatos.tools.service import ToolService

__all__ = ["Advanced", "Picked", "RecipeEngine", "append_event", "lock_run"]

log = logging.getLogger("automatos.recipes")

MAX_ERROR = 2000
TOKEN_CHARS = 400
"""An agent step's text is appended to the run's events (``step.tokens``) once this much came…"""
TOKEN_SECONDS = 0.25
"""…or this long after the last append (by the engine's clock), and when the turn ends."""


@dataclass(frozen=True)
class Picked:
    """A step checkpointed ``running`` and held by this worker (``recipe_runs.worker``), to be run
    now: the run (detached from its session), the step, its attempt and its templates' context."""

    run: RecipeRun
    step: Step
    attempt: int
    context: dict[str, Any]


@dataclass(frozen=True)
class Advanced:
    """What :meth:`RecipeEngine.advance` did: ``again`` after ``delay`` seconds, or not (finished,
    waiting, cancelled, or not found). ``picked``: the next step, already checkpointed and held in
    the same transaction that closed this one (``chain=True``): the caller must run it at once,
    ``advance(run_id, picked=…)``, or the run waits ``stale_seconds`` for a sweep."""

    again: bool
    delay: float = 0.0
    status: str = ""
    picked: Picked | None = None


async def lock_run(session: AsyncSession, workspace_id: str | None, run_id: str) -> RecipeRun | None:
    """The run, locked for the rest of the transaction (first in it: SQLite's write lock at once)."""
    connection = await session.connection()
    query = select(RecipeRun).where(RecipeRun.id == run_id)
    if workspace_id is not None:
        query = query.where(RecipeRun.workspace_id == workspace_id)
    if connection.dialect.name == "sqlite":
        async with deferred(connection):  # sent with the read below: one trip
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        query = query.with_for_update()
    row: RecipeRun | None = await session.scalar(query)
    return row


async def append_event(session: AsyncSession, run: RecipeRun, kind: str, data: dict[str, Any]) -> int:
    """Append to the run's log (the run is locked by the caller): its ``seq`` (``recipe_runs.events``
    counts them, so no read of the log is needed)."""
    seq = (run.events or 0) + 1
    run.events = seq
    session.add(RecipeRunEvent(run_id=run.id, seq=seq, workspace_id=run.workspace_id, kind=kind, data=data))
    return seq


class RecipeEngine:
    """See the module docstring."""

    def __init__(
        self,
        kernel: Kernel,
        chat: ChatService,
        tools: ToolService,
        *,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        heartbeat_seconds: float = 5.0,
        stale_seconds: float = 30.0,
    ) -> None:
        self.kernel = kernel
        self.chat = chat
        self.tools = tools
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """Who advances runs here: written on the run while it does (``recipe_runs.worker``)."""
        self.clock = clock
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_seconds = stale_seconds
        """A run another worker holds is left alone until its heartbeat is this old."""
        self._definitions: dict[tuple[str, int], Definition] = {}
        self.changed: Callable[[str], None] = lambda _run_id: None
        """Told a run's id when a step's text was appended mid-step (the local runner wakes its
        live readers with it; at a step's end the runner itself does)."""

    async def advance(self, run_id: str, *, chain: bool = False, picked: Picked | None = None) -> Advanced:
        """One step of the run (see the module docstring). ``chain``: when the step succeeds, pick the
        next in the transaction that closes it (one transaction a step instead of two; the in-process
        runner, which runs it at once). ``picked``: run that step, picked by the previous call."""
        if picked is None:
            got = await self._pick(run_id)
            if isinstance(got, Advanced):
                return got
            picked = got
        run, step, attempt = picked.run, picked.step, picked.attempt
        output: Any = None
        error: str | None = None
        audits: list[AuditRow] = []
        beating = asyncio.create_task(self._heartbeat(run.workspace_id, run.id), name=f"recipe-heartbeat-{run.id}")
        trace: dict[str, Any] = {"run": run.id, "step": step.id, "kind": step.kind, "attempt": attempt}
        trace["started_at"] = self.clock().isoformat()
        try:
            async with asyncio.timeout(step.timeout_seconds):
                output = await self._run_step(run, step, attempt, picked.context, trace, audits)
        except TimeoutError:
            error = f"the step did not finish within {step.timeout_seconds:g} s"
        except TemplateError as exc:
            error = f"template: {exc}"
        except StepFailed as exc:
            error = str(exc)
        except AutomatosError as exc:
            error = f"{type(exc).__name__}: {exc.detail}"
        except Exception as exc:  # the step's own failure, never the worker's
            log.exception("run %s: step %s failed", run.id, step.id)
            error = f"the step failed ({type(exc).__name__})"
        except asyncio.CancelledError:  # this worker stops: hand the run back at once, not after stale_seconds
            await asyncio.shield(self._release(run.workspace_id, run.id, step.id))
            raise
        finally:
            await cancel_and_wait(beating)
        # the log goes to the blob store while the step is closed in the database (both off the loop)
        key = f"recipes/{run.workspace_id}/{run.id}/{step.id}-{attempt}.json"
        storing = asyncio.create_task(self._write_log(key, trace, output, error), name=f"recipe-log-{run.id}")
        try:
            advanced = await self._finish(picked, output, error, key, audits, chain=chain)
        finally:
            stored = await storing
        if not stored:
            await self._forget_log(run.workspace_id, run.id, step.id, attempt)
        return advanced

    async def _write_log(self, key: str, trace: dict[str, Any], output: Any, error: str | None) -> bool:
        """The step's full log in the blob store (``recipes/<workspace>/<run>/<step>-<attempt>.json``);
        ``False`` when the store cannot take it (logged: the checkpoint is what counts)."""
        body = {
            **trace,
            "finished_at": self.clock().isoformat(),
            "worker": self.worker,
            "output": output,
            "error": error,
        }
        try:
            await self.kernel.backends.blob.put(key, msgspec.json.encode(body), content_type="application/json")
        except Exception as exc:
            log.warning("run %s: the step's log was not stored (%s)", trace["run"], type(exc).__name__)
            return False
        return True

    async def _forget_log(self, workspace_id: str, run_id: str, step: str, attempt: int) -> None:
        """The log was not stored: its key leaves the checkpoint (written with it, in hope)."""
        try:
            async with self.kernel.store.sessionmaker.begin() as session:
                await session.execute(
                    update(RecipeStepRun)
                    .where(
                        RecipeStepRun.workspace_id == workspace_id,
                        RecipeStepRun.run_id == run_id,
                        RecipeStepRun.step == step,
                        RecipeStepRun.attempt == attempt,
                    )
                    .values(log_key=None)
                )
        except Exception as exc:  # the database down too: the run's record names a log that is not there
            log.warning("run %s: the missing log's key was not cleared (%s)", run_id, type(exc).__name__)

    async def _release(self, workspace_id: str, run_id: str, step: str) -> None:
        """The run is no longer held here: another worker may take it (its step runs again, same key)."""
        try:
            async with self.kernel.store.sessionmaker.begin() as session:
                run = await lock_run(session, workspace_id, run_id)
                if run is not None and run.worker == self.worker and run.status == "running":
                    run.worker, run.heartbeat_at = None, None
                    await append_event(session, run, "step.handed_back", {"step": step, "worker": self.worker})
        except Exception as exc:  # the database down: the heartbeat goes stale, the sweep takes it over
            log.warning("run %s: not handed back (%s)", run_id, type(exc).__name__)

    async def _scratchpad(self, run: RecipeRun) -> dict[str, Any]:
        """The run's notes for its templates; none when the KV backend cannot answer (logged)."""
        from automatos.recipes.service import read_scratchpad

        try:
            return await read_scratchpad(self.kernel, run.workspace_id, run.id)
        except Exception as exc:
            log.warning("run %s: the scratchpad could not be read (%s)", run.id, type(exc).__name__)
            return {}

    async def _heartbeat(self, workspace_id: str, run_id: str) -> None:
        """While a step runs: say every ``heartbeat_seconds`` that this worker still holds the run."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with self.kernel.store.sessionmaker.begin() as session:
                    await session.execute(
                        update(RecipeRun)
                        .where(
                            RecipeRun.workspace_id == workspace_id,
                            RecipeRun.id == run_id,
                            RecipeRun.worker == self.worker,
                        )
                        .values(heartbeat_at=self.clock())
                    )
            except Exception as exc:  # the database down: the step goes on; a long outage lets another take over
                log.warning("run %s: heartbeat not written (%s)", run_id, type(exc).__name__)

    def held(self, run: RecipeRun, now: datetime) -> bool:
        """Whether a worker — another, or a task of this one (a duplicate job) — holds the run and
        said so within ``stale_seconds``: then its step is running, and must not be run again."""
        return (
            run.status == "running"
            and run.worker is not None
            and run.heartbeat_at is not None
            and (now - run.heartbeat_at).total_seconds() < self.stale_seconds
        )

    # --- 1-3: pick the step, checkpoint it --------------------------------------------------------

    async def _definition(self, session: AsyncSession, run: RecipeRun) -> Definition:
        """The run's pinned version's definition: versions are immutable, so each is read once."""
        key = (run.recipe_id, run.version)
        cached = self._definitions.get(key)
        if cached is None:
            version = await session.get(RecipeVersion, key)
            assert version is not None  # versions are never deleted while their recipe lives
            cached = msgspec.convert(version.definition, Definition)
            if len(self._definitions) >= 4096:
                self._definitions.clear()
            self._definitions[key] = cached
        return cached

    async def _pick(self, run_id: str) -> Picked | Advanced:
        now = self.clock()
        async with self.kernel.store.sessionmaker.begin() as session:
            run = await lock_run(session, None, run_id)
            if run is None or run.status in FINISHED or run.status == "waiting":
                return Advanced(again=False, status=run.status if run is not None else "")
            if self.held(run, now):
                return Advanced(again=False, status=run.status)  # its sweeper takes it back if that one stops
            if run.not_before is not None and run.not_before > now:
                return Advanced(again=True, delay=(run.not_before - now).total_seconds(), status=run.status)
            definition = await self._definition(session, run)
            checkpoints = await self._checkpoints(session, run)
            Ledger.take(session)
            ledger = Ledger(run)
            chosen = await self._choose(ledger, definition, checkpoints, now)
            await ledger.write(session)
            return chosen

    @staticmethod
    async def _checkpoints(session: AsyncSession, run: RecipeRun) -> list[RecipeStepRun]:
        """The run's checkpoints, oldest attempt first (the run is locked)."""
        query = (
            select(RecipeStepRun)
            .where(RecipeStepRun.run_id == run.id, RecipeStepRun.workspace_id == run.workspace_id)
            .order_by(RecipeStepRun.attempt)
        )
        return list((await session.scalars(query)).all())

    async def _choose(
        self, ledger: Ledger, definition: Definition, checkpoints: list[RecipeStepRun], now: datetime
    ) -> Picked | Advanced:
        """Steps 1-3 with the run locked and its checkpoints read: the first step not done is
        skipped, waited for, or checkpointed ``running`` and held (then :class:`Picked`); the
        writes go to ``ledger``."""
        run = ledger.run
        latest: dict[str, RecipeStepRun] = {c.step: c for c in checkpoints}
        outputs = {c.step: {"output": c.output} for c in checkpoints if c.status == "succeeded"}
        context: dict[str, Any] = {"inputs": run.inputs or {}, "steps": outputs, "scratchpad": {}}
        if any("scratchpad" in (s.input or "") + json_text(s.arguments) + (s.if_ or "") for s in definition.steps):
            context["scratchpad"] = await self._scratchpad(run)
        for step in definition.steps:
            last = latest.get(step.id)
            if last is not None and last.status in ("succeeded", "skipped"):
                continue
            run.step = step.id
            run.status = "running"
            run.worker = None  # held only while a step runs (below)
            run.heartbeat_at = now
            run.not_before = None
            if step.if_ is not None and not condition(step.if_, context):
                attempt = last.attempt if last is not None else 1
                self._checkpoint(ledger, step, attempt, "skipped", last)
                ledger.event("step.skipped", {"step": step.id, "if": step.if_})
                return Advanced(again=True, status="running")
            if step.approval is not None:
                if last is None or last.status != "waiting":
                    self._checkpoint(ledger, step, 1, "waiting", last)
                run.status = "waiting"
                ledger.event("run.waiting", {"step": step.id, "approval": step.approval})
                return Advanced(again=False, status="waiting")
            run.worker = self.worker  # this worker holds the run while the step runs
            if last is not None and last.status == "running":
                attempt = last.attempt  # its worker stopped: the same attempt, the same key
            else:
                attempt = last.attempt + 1 if last is not None else 1
                self._checkpoint(ledger, step, attempt, "running", None)
            ledger.event("step.started", {"step": step.id, "attempt": attempt})
            return Picked(run, step, attempt, context)
        run.status = "succeeded"
        run.step = None
        run.finished_at = now
        run.worker = None
        ledger.event("run.succeeded", {})
        return Advanced(again=False, status="succeeded")

    def _checkpoint(self, ledger: Ledger, step: Step, attempt: int, status: str, last: RecipeStepRun | None) -> None:
        run = ledger.run
        if last is not None and last.attempt == attempt:
            last.status = status
            last.finished_at = None if status in ("running", "waiting") else self.clock()
            ledger.change(last)
            return
        ledger.add(
            RecipeStepRun(
                run_id=run.id,
                step=step.id,
                attempt=attempt,
                workspace_id=run.workspace_id,
                status=status,
                idempotency_key=f"{run.id}:{step.id}:{attempt}",
                started_at=self.clock(),
                finished_at=None if status in ("running", "waiting") else self.clock(),
            )
        )

    # --- 4: run it --------------------------------------------------------------------------------

    async def _run_step(
        self,
        run: RecipeRun,
        step: Step,
        attempt: int,
        context: dict[str, Any],
        trace: dict[str, Any],
        audits: list[AuditRow],
    ) -> Any:
        workspace = await self.kernel.directory.workspace(run.workspace_id)
        if workspace is None:
            raise StepFailed("the workspace is gone")
        key = f"{run.id}:{step.id}:{attempt}"
        if step.agent is not None:
            message = render(step.input or "", context)
            text = message if isinstance(message, str) else msgspec.json.encode(message).decode()
            trace["input"] = text
            turn = await self.chat.start_stateless(
                workspace,
                step.agent,
                [ChatMessage(role="user", content=text)],
                overrides={},
                request_id=key,
                agent_field="agent",
                use_tools=True,
                actor_id=run.created_by,
            )
            tokens = TokenLog(self, run, step.id, attempt)
            async with contextlib.aclosing(turn.events()) as events:
                async for item in events:
                    if isinstance(item, StreamEvent) and item.delta:
                        await tokens.add(item.delta)
            await tokens.flush()
            done = turn.result
            if done is None:
                raise StepFailed("the agent's turn ended without a result")
            return {"text": done.text, "model": done.model, "provider": done.provider, "tokens": done.total_tokens}
        assert step.tool is not None
        arguments = render(step.arguments or {}, context)
        trace["arguments"] = arguments
        if not isinstance(arguments, dict):
            raise StepFailed("the arguments did not render to an object")
        result = await self.tools.run_for_recipe(
            workspace,
            step.tool,
            arguments,
            actor_id=run.created_by,
            idempotency_key=key,
            request_id=key,
            audit_into=audits,
        )
        if not result.ok:
            error = result.error or {}
            field = f" ({error['field']})" if error.get("field") else ""
            raise StepFailed(f"tool {step.tool}: {error.get('kind', 'error')}{field}: {error.get('message', '')}")
        return result.result

    # --- 5: record how it ended -------------------------------------------------------------------

    async def _finish(
        self,
        picked: Picked,
        output: Any,
        error: str | None,
        log_key: str | None,
        audits: list[AuditRow],
        *,
        chain: bool = False,
    ) -> Advanced:
        """Step 5 in one transaction: the tool call's audit row, the checkpoint, the events, a retry
        or the run's end; with ``chain``, the next step picked too (:meth:`_choose`)."""
        now = self.clock()
        async with self.kernel.store.sessionmaker.begin() as session:
            run = await lock_run(session, picked.run.workspace_id, picked.run.id)
            if run is None:
                return Advanced(again=False)
            checkpoints = await self._checkpoints(session, run)
            definition = await self._definition(session, run) if chain else None
            Ledger.take(session)
            ledger = Ledger(run)
            ledger.audit(audits)  # the call and its checkpoint are recorded together, or run again
            advanced = await self._close(ledger, picked, checkpoints, definition, output, error, log_key, now)
            await ledger.write(session)
            return advanced

    async def _close(
        self,
        ledger: Ledger,
        picked: Picked,
        checkpoints: list[RecipeStepRun],
        definition: Definition | None,
        output: Any,
        error: str | None,
        log_key: str | None,
        now: datetime,
    ) -> Advanced:
        """:meth:`_finish`'s decisions, into ``ledger``; ``definition`` given: chain (pick the next)."""
        run, step, attempt = ledger.run, picked.step, picked.attempt
        checkpoint = next((c for c in checkpoints if c.step == step.id and c.attempt == attempt), None)
        if checkpoint is None or checkpoint.status != "running":
            return Advanced(again=run.status not in FINISHED and run.status != "waiting", status=run.status)
        checkpoint.finished_at = now
        checkpoint.log_key = log_key
        ledger.change(checkpoint)
        if error is None:
            checkpoint.status = "succeeded"
            checkpoint.output = output
            ledger.event("step.finished", {"step": step.id, "attempt": attempt})
            run.worker, run.heartbeat_at = None, now  # between steps nobody holds it: any worker goes on
            if run.status in FINISHED:  # cancelled while the step ran: its output is kept
                return Advanced(again=False, status=run.status)
            if definition is None:
                return Advanced(again=True, status=run.status)
            chosen = await self._choose(ledger, definition, checkpoints, now)
            if isinstance(chosen, Picked):
                return Advanced(again=True, status="running", picked=chosen)
            return chosen
        checkpoint.status = "failed"
        checkpoint.error = error[:MAX_ERROR]
        ledger.event("step.failed", {"step": step.id, "attempt": attempt, "error": error[:MAX_ERROR]})
        if run.status in FINISHED:
            return Advanced(again=False, status=run.status)
        if attempt <= step.retries:
            delay = step.backoff_seconds * (2 ** (attempt - 1))
            run.not_before = now + timedelta(seconds=delay)
            run.worker = None
            return Advanced(again=True, delay=delay, status=run.status)
        run.status = "failed"
        run.error = f"step {step.id}: {error}"[:MAX_ERROR]
        run.finished_at = now
        run.worker = None
        ledger.event("run.failed", {"step": step.id, "error": run.error})
        return Advanced(again=False, status="failed")


class TokenLog:
    """An agent step's text as it streams, appended to the run's durable event log in pieces
    (``step.tokens`` ``{"step", "attempt", "text"}``: :data:`TOKEN_CHARS` or :data:`TOKEN_SECONDS`),
    so a reader on any node — or one that reconnects with ``Last-Event-ID`` — sees the answer grow.
    Best effort: a piece the database does not take is dropped (logged); the step's output, in its
    checkpoint, is what counts."""

    def __init__(self, engine: RecipeEngine, run: RecipeRun, step: str, attempt: int) -> None:
        self.engine, self.run, self.step, self.attempt = engine, run, step, attempt
        self.parts: list[str] = []
        self.size = 0
        self.last = engine.clock()

    async def add(self, delta: str) -> None:
        self.parts.append(delta)
        self.size += len(delta)
        if self.size >= TOKEN_CHARS or (self.engine.clock() - self.last).total_seconds() >= TOKEN_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        if not self.parts:
            return
        text, self.parts, self.size, self.last = "".join(self.parts), [], 0, self.engine.clock()
        data = {"step": self.step, "attempt": self.attempt, "text": text}
        try:
            async with self.engine.kernel.store.sessionmaker.begin() as session:
                run = await lock_run(session, self.run.workspace_id, self.run.id)
                if run is None or run.status in FINISHED:
                    return
                await append_event(session, run, "step.tokens", data)
        except Exception as exc:  # the database down: the pieces are lost, the step goes on
            log.warning("run %s: a piece of step %s's text not logged (%s)", self.run.id, self.step, type(exc).__name__)
            return
        self.engine.changed(self.run.id)


def json_text(value: Any) -> str:
    return "" if value is None else msgspec.json.encode(value).decode()


class StepFailed(Exception):
    """A step that ended in failure for a reason it states (a tool error, a gone workspace)."""
