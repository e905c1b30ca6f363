"""The pool's supervisor: deaths noticed by the process, prompt replacement, unstarted runs handed on
once, never a started one; one workspace never holds more than its share; root is reported.

No test here sleeps for correctness: each waits on a condition with a generous bound, or on an
event the snippet itself triggers (a capability call), so CPU contention changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from automatos.sandbox import Limits, LocalSandbox, WorkerPool
from automatos.sandbox import process as process_module
from automatos.sandbox.worker import SIBLINGS
from tests.sandbox.waiting import BOUND, GATED, Gate, until


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(2) as started:
        yield started


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


async def test_workers_killed_while_idle_are_replaced_without_any_run(pool: WorkerPool) -> None:
    killed = pool.pids
    assert len(killed) == 2
    _kill_all(killed)
    await until(lambda: len(pool.pids) == 2 and not set(pool.pids) & set(killed), "the pool back to two fresh workers")
    assert pool.replaced == 2 and pool.status()["live_workers"] == 2


async def test_runs_right_after_every_idle_worker_is_killed_all_succeed(pool: WorkerPool) -> None:
    for round_ in range(8):
        _kill_all(pool.pids)  # no pause: the runs start while the killed processes are still exiting
        results = await asyncio.gather(*(pool.run("result = inputs['n'] * 2", {"n": n}) for n in range(3)))
        assert [r.result for r in results] == [0, 2, 4], (round_, [r.error for r in results])
    await until(lambda: len(pool.pids) == 2, "the pool back to full size")


async def test_a_run_handed_to_a_worker_that_dies_before_starting_it_goes_to_a_fresh_one(pool: WorkerPool) -> None:
    frozen = pool.pids
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)  # alive (state T) but unable to acknowledge the job it is handed
    try:
        run = asyncio.ensure_future(pool.run("result = 'ran once'"))
        await until(lambda: pool.busy == 1, "the run handed to a stopped worker")
    finally:
        _kill_all(frozen)
    result = await run
    assert result.ok and result.result == "ran once", result.error
    assert pool.retried == 1


async def test_a_run_that_started_is_reported_never_run_again(pool: WorkerPool) -> None:
    gate = Gate(on_enter=lambda: _kill_all(pool.pids))  # the worker running it dies mid-run
    gate.open.set()  # the call returns at once; the worker is gone by then
    result = await pool.run(GATED, capabilities=[gate], limits=Limits(cpu_seconds=10, wall_seconds=BOUND))
    assert not result.ok and result.error is not None
    assert result.error.kind == "worker" and "SIGKILL" in result.error.message
    assert gate.entered == 1 and pool.retried == 0  # started once, never handed on
    assert (await pool.run("result = 3")).result == 3


async def test_one_workspace_never_holds_more_than_its_share() -> None:
    async with WorkerPool(2, workspace_share=0.5) as shared:
        sandbox = LocalSandbox(shared)
        gates = [Gate() for _ in range(3)]
        long = Limits(wall_seconds=BOUND)
        flood = [
            asyncio.ensure_future(sandbox.run(GATED, capabilities=[gate], workspace="flooder", limits=long))
            for gate in gates
        ]
        await gates[0].entered_event.wait()
        other = await sandbox.run("result = 'served'", workspace="quiet")
        assert other.ok and other.result == "served"  # a worker was still free for another workspace
        assert [g.entered for g in gates] == [1, 0, 0]  # the flooder holds one worker: its share
        for gate in gates:
            gate.open.set()
        results = await asyncio.gather(*flood)
        assert [r.result for r in results] == ["through"] * 3  # the rest waited in line, then ran
        assert shared.shares.holding("flooder") == 0


async def test_a_run_past_its_workspaces_wait_is_unstarted_and_says_so() -> None:
    async with WorkerPool(2, workspace_share=0.5, idle_wait=0.2) as shared:
        gate = Gate()
        long = Limits(wall_seconds=BOUND)
        holding = asyncio.ensure_future(shared.run(GATED, capabilities=[gate], workspace="w", limits=long))
        await gate.entered_event.wait()
        refused = await shared.run("result = 1", workspace="w")
        assert not refused.ok and refused.error is not None
        assert (refused.error.kind, refused.error.stage) == ("worker", "queue")
        assert "share" in refused.error.message
        gate.open.set()
        assert (await holding).ok


def test_shares_are_validated() -> None:
    with pytest.raises(ValueError, match="workspace_share"):
        WorkerPool(2, workspace_share=0)
    assert WorkerPool(4, workspace_share=0.5).workspace_limit == 2
    assert WorkerPool(2, workspace_share=0.1).workspace_limit == 1  # always at least one worker
    assert WorkerPool(2, workspace_share=1).shares.limit is None


def _euid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    raise AssertionError("no Uid line")


async def test_a_worker_left_as_root_is_logged_once_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() == 0:  # a worker whose own file only root can read cannot drop to nobody
        private = tmp_path / "private"
        private.mkdir(mode=0o700)
        shutil.copy(process_module.WORKER_PATH, private / "worker.py")
        for name in SIBLINGS:  # every module the worker loads by path, next to it
            shutil.copy(Path(process_module.WORKER_PATH).with_name(f"{name}.py"), private / f"{name}.py")
        monkeypatch.setattr(process_module, "WORKER_PATH", str(private / "worker.py"))
    caplog.set_level(logging.WARNING, logger="automatos.sandbox")
    async with WorkerPool(1) as one:
        (pid,) = one.pids
        root = _euid_of(pid) == 0
        assert root == (os.geteuid() == 0)
        status = one.status()
        assert status["running_as_root"] is root and status["uid"] == _euid_of(pid)
        assert status["pool_size"] == 1 and status["live_workers"] == 1
        os.kill(pid, signal.SIGKILL)
        await until(lambda: len(one.pids) == 1 and one.pids != [pid], "the worker replaced")
    warnings = [r for r in caplog.records if "RUN AS ROOT" in r.getMessage()]
    assert len(warnings) == (1 if root else 0)  # once per pool, not once per worker
    assert all(r.levelno == logging.WARNING for r in warnings)
