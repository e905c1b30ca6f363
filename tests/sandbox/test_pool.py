"""The supervisor: workers start clean, overruns and deaths are contained, results never mix up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.sandbox import Limits, WorkerPool
from tests.sandbox.waiting import GATED, Gate, until

SMALL = Limits(cpu_seconds=0.5, wall_seconds=300, memory_mb=64, output_bytes=10_000)
"""The wall limit is far above what any machine needs to spend 0.5 s of CPU: CPU hits never race it."""


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(2) as started:
        yield started


def _inspect(pid: int) -> tuple[set[str], Path, list[str], int]:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    return names, cwd, [p.name for p in cwd.iterdir()], len(os.listdir(f"/proc/{pid}/fd"))


async def test_workers_start_clean(pool: WorkerPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMATOS_SECRET_KEY", "s" * 40)  # a secret in the parent's environment…
    async with WorkerPool(1) as fresh:
        (pid,) = fresh.pids
        names, cwd, entries, fds = _inspect(pid)
        assert names <= {"PATH", "LANG", "LC_ALL"}  # …never reaches a worker
        assert cwd.name.startswith("automatos-sandbox-") and entries == []
        assert fds <= 6  # stdin/stdout/stderr (devnull) and the two protocol pipes
        assert (await fresh.run("result = 1")).ok
    assert not await asyncio.to_thread(cwd.exists)  # removed with the worker


async def test_wall_clock_overrun_kills_and_replaces(pool: WorkerPool) -> None:
    before = set(pool.pids)
    result = await pool.run("while True:\n    pass", limits=Limits(cpu_seconds=60, wall_seconds=0.5))
    assert not result.ok and result.error is not None
    assert (result.error.kind, result.error.limit, result.error.value) == ("limit", "wall_seconds", 0.5)
    await until(lambda: len(pool.pids) == 2 and set(pool.pids) != before, "the killed worker replaced")
    assert pool.replaced == 1
    assert (await pool.run("result = 'still here'")).result == "still here"


async def test_a_worker_killed_while_idle_is_replaced_and_the_run_goes_elsewhere(pool: WorkerPool) -> None:
    for pid in pool.pids:
        os.kill(pid, signal.SIGKILL)
    result = await pool.run("result = 41 + 1")  # at once: the processes may not have exited yet
    assert result.ok and result.result == 42


class _Started:
    """A capability the snippet calls once it is running: the test kills the workers then, not after a sleep."""

    name = "started"
    methods = frozenset({"now"})

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.event.set()
        return None


async def test_a_worker_dying_mid_run_is_reported(pool: WorkerPool) -> None:
    started = _Started()

    async def kill_once_running() -> None:
        await started.event.wait()
        for pid in pool.pids:
            os.kill(pid, signal.SIGKILL)

    killer = asyncio.ensure_future(kill_once_running())
    code = "started.now()\nx = 0\nwhile True:\n    x += 1"
    # the wall limit is far beyond any machine's pace: the kill, not the clock, ends the run
    result = await pool.run(code, limits=Limits(cpu_seconds=120, wall_seconds=300), capabilities=[started])
    await killer
    assert not result.ok and result.error is not None
    assert result.error.kind == "worker" and "SIGKILL" in result.error.message and "replaced" in result.error.message
    assert (await pool.run("result = 3")).result == 3


async def test_cpu_and_memory_hits_retire_the_worker(pool: WorkerPool) -> None:
    cpu = await pool.run("while True:\n    pass", limits=SMALL)
    assert cpu.error is not None and (cpu.error.limit, cpu.error.value) == ("cpu_seconds", 0.5)
    memory = await pool.run("x = 'a' * (200 * 1024 * 1024)", limits=SMALL)
    assert memory.error is not None and (memory.error.limit, memory.error.value) == ("memory_mb", 64)
    assert pool.replaced == 2
    assert (await pool.run("result = [1] * 10")).result == [1] * 10


async def test_concurrent_runs_never_mix_up(pool: WorkerPool) -> None:
    code = "total = 0\nfor i in range(inputs['n']):\n    total += i\nresult = [inputs['n'], total]"
    results = await asyncio.gather(*(pool.run(code, {"n": n}) for n in range(200)))
    assert [r.result for r in results] == [[n, n * (n - 1) // 2] for n in range(200)]
    assert pool.replaced == 0


async def test_stopped_pool_refuses(tmp_path: Path) -> None:
    stopped = WorkerPool(1)
    await stopped.start()
    await stopped.stop()
    assert stopped.pids == []
    with pytest.raises(RuntimeError, match="stopped"):
        await stopped.run("result = 1")


async def test_waiting_for_a_free_worker_is_not_the_runs_wall_time() -> None:
    async with WorkerPool(1) as one:
        gate = Gate()
        busy = asyncio.ensure_future(one.run(GATED, capabilities=[gate], limits=Limits(wall_seconds=300)))
        await gate.entered_event.wait()  # the only worker is taken
        quick = asyncio.ensure_future(one.run("result = 'quick'", limits=Limits(wall_seconds=2)))
        # the quick run waits at least this long for the worker: more than its whole wall limit (a
        # minimum, created on purpose; a slower machine only makes the wait longer)
        await asyncio.sleep(2.5)
        assert not quick.done()
        gate.open.set()
        assert (await busy).ok
        result = await quick
        assert result.ok and result.result == "quick", result.error  # the wait was not counted as its wall time
        assert result.usage.total_ms >= 2500 and one.replaced == 0


async def test_a_run_cancelled_while_its_job_is_sent_costs_no_worker(pool: WorkerPool) -> None:
    big = {"blob": "x" * 20_000_000}
    task = asyncio.ensure_future(pool.run("result = len(inputs['blob'])", big))
    await asyncio.sleep(0)
    await asyncio.sleep(0.001)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    results = await asyncio.gather(*(pool.run("result = 7") for _ in range(4)))
    assert [r.result for r in results] == [7] * 4


async def test_logs_count_against_the_output_budget(pool: WorkerPool) -> None:
    flood = await pool.run("for i in range(1000):\n    log.info('x' * 1000)", limits=SMALL)
    assert flood.error is not None and (flood.error.limit, flood.error.value) == ("output_bytes", 10_000)
    fine = await pool.run("log.info('hello')\nresult = 1", limits=SMALL)
    assert fine.ok and fine.logs == [{"level": "info", "message": "hello"}]


def test_a_reply_that_cannot_be_read_breaks_the_channel_for_good() -> None:
    from automatos.sandbox.worker import sibling

    w = sibling("channel")  # the worker's own module object (loaded by path, as in a worker)

    class Reader:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int) -> bytes:
            self.calls += 1
            if self.calls == 1:
                return (60_000).to_bytes(4, "big")
            raise MemoryError  # the body's allocation fails: the stream is now mid-frame

    class Writer:
        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            pass

    channel = w._Channel(Reader(), Writer())
    method = w._Method(channel, "job", "kv", "get", {"calls": 0})
    with pytest.raises(w.ChannelBroken):
        method("key")
    assert channel.broken  # main() then ends this worker after sending the result (the pool replaces it)


async def test_compile_failures_are_marked_and_runtime_lookalikes_are_not(pool: WorkerPool) -> None:
    syntax = await pool.run("x = (1,")
    assert syntax.error is not None and (syntax.error.kind, syntax.error.stage) == ("syntax", "compile")
    policy = await pool.run("x = y.__class__")
    assert policy.error is not None and (policy.error.kind, policy.error.stage) == ("policy", "compile")
    faked = await pool.run("raise ValueError('Line 1: looks like a compile error')")
    assert faked.error is not None and faked.error.stage is None
