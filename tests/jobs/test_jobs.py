"""The shared job queue on its own, against a real Valkey: a function that is not the sandbox's.

What recipe steps and marketplace scans will rely on: a feature registers a :class:`JobFunction`,
a :class:`JobWorker` serves it, a :class:`JobQueue` submits to it and gets a :class:`JobOutcome`.
The sandbox's own use (deadlines, withdrawal, stops under load) is covered in tests/sandbox.
Outcomes, not timing: the slow function waits on an event the test holds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from automatos.extensions.cache.redis import RedisQueueServer
from automatos.jobs.queue import JobQueue
from automatos.jobs.worker import JobFunction, JobRun, JobWorker

pytestmark = [
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


class Steps:
    """Two functions of a pretend feature: ``steps.double`` and ``steps.hold`` (parked until released)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.ran: list[Mapping[str, Any]] = []

    def functions(self) -> list[JobFunction]:
        return [
            JobFunction("steps.double", self.double, self.failure),
            JobFunction("steps.hold", self.hold, self.failure),
            JobFunction("steps.broken", self.broken, self.failure),
        ]

    @staticmethod
    def failure(message: str) -> dict[str, Any]:
        return {"done": False, "why": message}

    async def double(self, job: JobRun, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        self.ran.append(kwargs)
        return {"done": True, "value": kwargs["n"] * 2}

    async def hold(self, job: JobRun, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        async def parked() -> str:
            self.entered.set()
            await self.release.wait()
            return "released"

        return {"done": True, "value": await job.guard(parked(), backstop=300)}

    async def broken(self, job: JobRun, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        raise KeyError("a bug in the feature")


@asynccontextmanager
async def worker_and_queue(redis_url: str, steps: Steps, **options: Any) -> AsyncIterator[tuple[JobWorker, JobQueue]]:
    server = RedisQueueServer(redis_url)
    name = f"test-jobs-{uuid.uuid4().hex[:10]}"
    worker = JobWorker(server, name, steps.functions(), concurrency=1, label="steps", **options)
    stop, ready = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(worker.serve(stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    queue = JobQueue(server, name)
    await queue.start()
    try:
        yield worker, queue
    finally:
        await queue.stop()
        stop.set()
        await asyncio.wait_for(serving, 30)


async def test_a_feature_function_is_served_and_its_result_comes_back(redis_url: str) -> None:
    steps = Steps()
    async with worker_and_queue(redis_url, steps) as (_, queue):
        outcome = await queue.submit("steps.double", {"n": 21}, deadline=30)
        assert outcome.status == "complete" and outcome.result == {"done": True, "value": 42}
        # the worker's function got the job's arguments, without the queue's own ``expires``
        assert steps.ran == [{"n": 21}]
        # a bug in a function is its result, worded by the function's failure(); never a retry
        broken = await queue.submit("steps.broken", {}, deadline=30)
        assert broken.status == "complete"
        assert broken.result == {"done": False, "why": "the steps worker failed the run (KeyError)"}


async def test_stopping_aborts_a_run_in_flight_after_the_grace(redis_url: str) -> None:
    steps = Steps()
    server = RedisQueueServer(redis_url)
    name = f"test-jobs-{uuid.uuid4().hex[:10]}"
    worker = JobWorker(server, name, steps.functions(), concurrency=1, label="steps", grace_seconds=0)
    stop, ready = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(worker.serve(stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    async with JobQueue(server, name) as queue:
        held = asyncio.create_task(queue.submit("steps.hold", {}, deadline=300))
        await asyncio.wait_for(steps.entered.wait(), 30)
        stop.set()  # no grace: the run in flight is aborted and its caller told
        outcome = await asyncio.wait_for(held, 30)
    await asyncio.wait_for(serving, 30)
    assert outcome.status == "complete"
    assert outcome.result == {
        "done": False,
        "why": "the steps worker was stopped during the run (it is shutting down); the run was aborted",
    }


async def test_a_job_no_worker_serves_is_withdrawn_at_its_deadline(redis_url: str) -> None:
    async with JobQueue(RedisQueueServer(redis_url), f"test-jobs-{uuid.uuid4().hex[:10]}") as queue:
        outcome = await queue.submit("steps.double", {"n": 1}, deadline=0.2)
        assert outcome.status == "not_taken"
        saq = queue.saq
        assert saq is not None and await saq.count("queued") == 0
