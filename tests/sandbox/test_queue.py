"""Queue mode against a real Valkey: a :class:`QueueSandbox` and an in-test :func:`serve` share a queue.

Both reach the server through the built-in ``redis`` queue backend (:class:`RedisQueueServer`), as
``automatos worker`` and the API do through ``register_queue_backends``. Every test uses its own
queue name, so workers of one test never take another's jobs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from saq import Status
from saq.queue.redis import RedisQueue

from automatos.extensions.cache.memory import MemoryKV
from automatos.extensions.cache.redis import RedisQueueServer
from automatos.jobs.backend import queue_backend
from automatos.jobs.queue import saq_queue
from automatos.kernel.backends import KVBackend
from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import Settings, load_settings
from automatos.sandbox import Limits, build_sandbox, sandbox_from_settings
from automatos.sandbox.queue import QueueSandbox, serve
from automatos.sandbox.settings import SandboxSettings
from tests.helpers import make_container
from tests.sandbox.waiting import BOUND, GATED, Gates, GateSpec, until_async

pytestmark = [
    pytest.mark.redis,
    # SAQ 0.26 calls SETEX, which the redis 8 client deprecates (it still works)
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


def queue_name(settings: Settings) -> str:
    return settings.group(SandboxSettings).sandbox_queue_name


def server(settings: Settings) -> RedisQueueServer:
    assert settings.redis_url
    return RedisQueueServer(settings.redis_url)


def _settings(redis_url: str, *, pool_size: int = 2, queue: str | None = None) -> Settings:
    return load_settings(
        {},
        redis_url=redis_url,
        sandbox_mode="queue",
        sandbox_queue_name=queue or f"test-sandbox-{uuid.uuid4().hex[:10]}",
        sandbox_pool_size=pool_size,
    )


class Echo:
    """A capability that can cross machines: ``spec()`` describes it, the worker rebuilds it."""

    name = "echo"
    methods = frozenset({"shout"})

    def __init__(self, prefix: str, *, side: str = "caller") -> None:
        self.prefix = prefix
        self.side = side
        self.calls: list[list[Any]] = []

    def spec(self) -> dict[str, Any]:
        return {"name": "echo", "prefix": self.prefix}

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.calls.append(args)
        return f"{self.prefix}{args[0]}".upper() + f" (from the {self.side})"


class Rebuilder:
    """The ``rebuild`` a test worker uses: records what it was given and what it made."""

    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []
        self.kvs: list[KVBackend | None] = []
        self.made: list[Echo] = []

    def __call__(self, spec: dict[str, Any], *, kv: KVBackend | None) -> Echo:
        self.specs.append(spec)
        self.kvs.append(kv)
        if spec.get("name") != "echo":
            raise ValueError(f"unknown capability {spec.get('name')!r}")
        made = Echo(spec["prefix"], side="worker")
        self.made.append(made)
        return made


@asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[asyncio.Task[None]]:
    """``serve(settings)`` in a task, ready to take jobs; stopped (and awaited) on exit."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, server(settings), stop_event=stop, ready=ready, **options))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiting], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # raise what stopped it
    assert ready.is_set(), "the worker did not become ready"
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def caller(settings: Settings, **options: Any) -> AsyncIterator[QueueSandbox]:
    sandbox = QueueSandbox(server(settings), queue_name(settings), **options)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@asynccontextmanager
async def inspect(settings: Settings) -> AsyncIterator[RedisQueue]:
    queue = saq_queue(server(settings), queue_name(settings), socket_timeout=10)
    await queue.connect()
    try:
        yield queue
    finally:
        await queue.redis.aclose()


async def test_sandbox_from_settings_picks_the_queue(redis_url: str) -> None:
    settings = _settings(redis_url)
    sandbox = sandbox_from_settings(settings, server(settings))
    assert isinstance(sandbox, QueueSandbox) and sandbox.queue_name == queue_name(settings)
    with pytest.raises(ValueError, match="queue's backend"):
        sandbox_from_settings(settings)


async def test_the_queue_backend_comes_through_register_queue_backends(tmp_path: Any, redis_url: str) -> None:
    """What the API and ``automatos worker`` do: the ``redis`` queue backend found by name through the hooks."""
    settings = _settings(redis_url)
    hooks = make_container(tmp_path).hooks()
    backend = await queue_backend(hooks, settings)
    assert isinstance(backend, RedisQueueServer)
    sandbox = await build_sandbox(settings, hooks)
    assert isinstance(sandbox, QueueSandbox) and sandbox.jobs.backend.name == "redis"
    async with serving(settings, kv=MemoryKV()), sandbox:
        assert (await sandbox.run("result = 'through the hooks'")).result == "through the hooks"
    with pytest.raises(SettingsError, match="no loaded extension registers a queue backend named 'nope'"):
        await queue_backend(hooks, settings, "nope")


async def test_trivial_run_and_its_round_trip(redis_url: str) -> None:
    settings = _settings(redis_url)
    async with serving(settings, kv=MemoryKV()), caller(settings) as sandbox:
        result = await sandbox.run("print('hi', inputs['x'])\nresult = {'double': inputs['x'] * 2}", {"x": 21})
        assert result.ok, result.error
        assert result.result == {"double": 42} and result.stdout == "hi 21\n"
        assert result.usage.total_ms > 0 and result.usage.total_ms >= result.usage.wall_ms
        # one after another on the same worker (its speed is bench/sandbox.py's business, not a test's)
        assert [(await sandbox.run("result = inputs['i']", {"i": i})).result for i in range(20)] == list(range(20))


async def test_fifty_concurrent_runs_each_get_their_own_result(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=2)
    code = "print('run', inputs['n'])\nresult = {'n': inputs['n'], 'square': inputs['n'] ** 2, 'tag': inputs['tag']}"
    async with serving(settings, kv=MemoryKV()), caller(settings) as sandbox:
        tags = [uuid.uuid4().hex for _ in range(50)]
        results = await asyncio.gather(*(sandbox.run(code, {"n": n, "tag": tags[n]}) for n in range(50)))
    for n, result in enumerate(results):
        assert result.ok, (n, result.error)
        assert result.result == {"n": n, "square": n * n, "tag": tags[n]}
        assert result.stdout == f"run {n}\n"


async def test_a_limit_hit_is_reported_and_the_worker_goes_on(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    async with serving(settings, kv=MemoryKV()), caller(settings) as sandbox:
        # CPU time never outruns wall time: each limit below is the one that must trip
        spin = await sandbox.run("while True:\n    pass", limits=Limits(cpu_seconds=0.5, wall_seconds=300))
        assert not spin.ok and spin.error is not None
        assert (spin.error.kind, spin.error.limit) == ("limit", "cpu_seconds")
        wall = await sandbox.run("while True:\n    pass", limits=Limits(cpu_seconds=300, wall_seconds=0.5))
        assert wall.error is not None and (wall.error.kind, wall.error.limit) == ("limit", "wall_seconds")
        after = await sandbox.run("result = 'still serving'")
        assert after.ok and after.result == "still serving"


async def test_no_worker_the_run_times_out_and_is_withdrawn(redis_url: str) -> None:
    settings = _settings(redis_url)
    rebuild = Rebuilder()
    async with caller(settings, margin=0.5) as sandbox:
        begun = time.perf_counter()
        result = await sandbox.run("result = 1", limits=Limits(wall_seconds=0.5), capabilities=[Echo("x")])
        took = time.perf_counter() - begun
    assert not result.ok and result.error is not None and result.error.kind == "worker"
    assert result.error.message.startswith("no sandbox worker took the run within 1 s"), result.error.message
    assert took >= 1.0  # it waited out its whole deadline (a lower bound: no machine is too fast for it)
    assert result.error.stage == "queue"  # nothing ran: the API answers 503
    async with inspect(settings) as queue:
        assert await queue.count("queued") == 0 and await queue.count("incomplete") == 0
        statuses = [job.status async for job in queue.iter_jobs()]
        assert statuses == [Status.ABORTED]
    # a worker that comes later does not run it for nobody: a run enqueued after it (the queue is
    # first in, first out) is served, and the withdrawn one's capability was never rebuilt
    async with serving(settings, rebuild=rebuild, kv=MemoryKV()), caller(settings) as again:
        assert (await again.run("result = 'later'")).result == "later"
    assert rebuild.specs == []


async def test_a_started_run_whose_caller_went_away_is_cancelled_on_the_worker(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    gates = Gates()
    async with serving(settings, kv=MemoryKV(), rebuild=gates.rebuild), caller(settings) as sandbox:
        long = Limits(wall_seconds=BOUND * 5)  # only the caller's going away can end it within the test
        run = asyncio.create_task(sandbox.run(GATED, limits=long, capabilities=[GateSpec("late")]))
        await gates["late"].entered_event.wait()  # it runs on the worker's only slot
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        # the worker cancelled it (the snippet's capability call with it) and took the next run
        async with asyncio.timeout(BOUND):
            await gates["late"].cancelled.wait()
        after = await sandbox.run("result = 'next'")
        assert after.ok and after.result == "next"
        assert gates["late"].entered == 1  # never run twice
        async with inspect(settings) as queue:
            assert await queue.count("active") == 0 and await queue.count("incomplete") == 0


async def _has(queue: RedisQueue, kind: str) -> bool:
    return bool(await queue.count(kind))  # type: ignore[arg-type]


async def test_a_cancelled_caller_withdraws_its_run(redis_url: str) -> None:
    settings = _settings(redis_url)
    async with caller(settings) as sandbox:
        task = asyncio.create_task(sandbox.run("result = 1"))
        async with inspect(settings) as queue:
            await until_async(lambda: _has(queue, "queued"), "the run enqueued")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await queue.count("queued") == 0 and await queue.count("incomplete") == 0


async def test_a_capability_is_rebuilt_from_its_spec_on_the_worker(redis_url: str) -> None:
    settings = _settings(redis_url)
    rebuild, kv = Rebuilder(), MemoryKV()
    granted = Echo("hello, ")
    code = "result = echo.shout('world')"
    async with serving(settings, rebuild=rebuild, kv=kv), caller(settings) as sandbox:
        result = await sandbox.run(code, capabilities=[granted])
        assert result.ok, result.error
        assert result.result == "HELLO, WORLD (from the worker)"
        assert rebuild.specs == [{"name": "echo", "prefix": "hello, "}] and rebuild.kvs == [kv]
        assert rebuild.made[0].calls == [["world"]] and granted.calls == []  # called there, not here
        # one instance per run; a method that is not granted stays refused
        refused = await sandbox.run("result = echo.whisper('x')", capabilities=[granted])
        assert not refused.ok and refused.error is not None
        assert len(rebuild.made) == 2 and rebuild.made[1].calls == []
        # a spec the worker cannot rebuild is a capability error, not a crash
        odd = Echo("x")
        odd.spec = lambda: {"name": "nope"}  # type: ignore[method-assign]
        bad = await sandbox.run("result = 1", capabilities=[odd])
        assert not bad.ok and bad.error is not None and bad.error.kind == "capability"
        assert "'echo' cannot be granted" in bad.error.message and "unknown capability 'nope'" in bad.error.message


async def test_a_capability_without_a_spec_is_refused_before_enqueueing(redis_url: str) -> None:
    class Local:
        name = "local"
        methods = frozenset({"f"})

        async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
            return None

    settings = _settings(redis_url)
    async with caller(settings) as sandbox:
        with pytest.raises(TypeError, match="has no spec"):
            await sandbox.run("result = 1", capabilities=[Local()])
        async with inspect(settings) as queue:
            assert await queue.count("incomplete") == 0


async def _gated_worker(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event, gates: Gates, *, grace_seconds: float
) -> asyncio.Task[None]:
    """A worker serving in a task whose capability calls the test's ``gates`` hold; once it takes jobs."""
    worker = asyncio.create_task(
        serve(
            settings,
            server(settings),
            stop_event=stop,
            ready=ready,
            kv=MemoryKV(),
            grace_seconds=grace_seconds,
            rebuild=gates.rebuild,
        )
    )
    await asyncio.wait_for(ready.wait(), BOUND)
    return worker


async def test_stopping_the_worker_mid_run_gives_the_caller_a_clear_error(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    async with caller(settings) as sandbox:
        stop, ready = asyncio.Event(), asyncio.Event()
        gates = Gates()
        worker = await _gated_worker(settings, stop, ready, gates, grace_seconds=0.3)
        long = Limits(wall_seconds=BOUND * 5)  # the gate never opens: only the stop ends it
        run = asyncio.create_task(sandbox.run(GATED, limits=long, capabilities=[GateSpec("held")]))
        await gates["held"].entered_event.wait()
        stop.set()
        result = await asyncio.wait_for(run, BOUND)
        await asyncio.wait_for(worker, BOUND)
    assert not result.ok and result.error is not None and result.error.kind == "worker"
    assert "stopped during the run" in result.error.message and "aborted" in result.error.message
    assert gates["held"].cancelled.is_set()


async def test_stopping_lets_a_short_run_in_flight_finish(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    gates = Gates()
    async with caller(settings) as sandbox:
        stop, ready = asyncio.Event(), asyncio.Event()
        worker = await _gated_worker(settings, stop, ready, gates, grace_seconds=BOUND)
        run = asyncio.create_task(sandbox.run(GATED, limits=Limits(wall_seconds=BOUND), capabilities=[GateSpec("s")]))
        await gates["s"].entered_event.wait()  # in flight when the stop comes
        stop.set()
        gates["s"].open.set()
        result = await asyncio.wait_for(run, BOUND)
        await asyncio.wait_for(worker, BOUND)
    assert result.ok, result.error
    assert result.result == "through"


async def test_a_run_arriving_while_a_worker_stops_is_served_by_the_next(redis_url: str) -> None:
    settings = _settings(redis_url, pool_size=1)
    async with caller(settings, margin=20) as sandbox:
        stop, ready = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(serve(settings, server(settings), stop_event=stop, ready=ready, kv=MemoryKV()))
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.1)  # its slot is now blocked on the queue
        stop.set()
        await asyncio.sleep(0.05)
        run = asyncio.create_task(sandbox.run("result = 7", limits=Limits(wall_seconds=5)))
        await asyncio.wait_for(first, 10)
        await asyncio.sleep(0.2)
        assert not run.done()  # taken back (or never taken): queued, not failed
        async with inspect(settings) as queue:
            assert await queue.count("queued") == 1
        async with serving(settings, kv=MemoryKV()):
            result = await asyncio.wait_for(run, 20)
    assert result.ok and result.result == 7, result.error


async def test_an_unreachable_queue_is_a_worker_error(unused_tcp_port: int) -> None:
    async with QueueSandbox(RedisQueueServer(f"redis://127.0.0.1:{unused_tcp_port}/0"), "nowhere") as sandbox:
        result = await sandbox.run("result = 1")
    assert not result.ok and result.error is not None and result.error.kind == "worker"
    assert "unreachable" in result.error.message


async def test_the_queue_needs_redis(tmp_path: Any) -> None:
    settings = load_settings({}, sandbox_pool_size=1)
    with pytest.raises(SettingsError, match="REDIS_URL"):
        await queue_backend(make_container(tmp_path).hooks(), settings)


async def test_a_caller_cancelled_while_enqueueing_leaves_no_job_behind(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled after Redis stored the job but before ``enqueue`` returned: the job is still withdrawn."""
    settings = _settings(redis_url)
    async with caller(settings) as sandbox:
        assert sandbox.jobs.saq is not None
        queue = sandbox.jobs.saq
        stored = asyncio.Event()
        real_enqueue = queue.enqueue

        async def enqueue_then_hang(job: Any, **kwargs: Any) -> Any:
            await real_enqueue(job, **kwargs)
            stored.set()
            await asyncio.Event().wait()  # the caller is cancelled here, the job already in Redis

        monkeypatch.setattr(queue, "enqueue", enqueue_then_hang)
        task = asyncio.create_task(sandbox.run("result = 1"))
        await stored.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with inspect(settings) as check:
            assert await check.count("queued") == 0 and await check.count("incomplete") == 0


async def test_only_a_job_taken_while_stopping_is_handed_back_everything_else_is_a_result(redis_url: str) -> None:
    """SAQ retries a job only when the task raises: ours raises only to hand back an unstarted job."""
    from automatos.jobs.worker import HandBack, JobWorker
    from automatos.sandbox.queue import FUNCTION, sandbox_function

    settings = _settings(redis_url, pool_size=1)
    function, _ = sandbox_function(settings, server(settings), rebuild=Rebuilder(), kv=MemoryKV())
    worker = JobWorker(server(settings), queue_name(settings), [function], concurrency=1, label="sandbox")
    worker.stopping = True
    with pytest.raises(HandBack):
        await worker.handle(FUNCTION, {}, code="result = 1")
    worker.stopping = False  # serving, but its pool is missing: a failure of the worker itself
    answer = await worker.handle(FUNCTION, {}, code="result = 1")
    assert answer["ok"] is False and answer["error"]["kind"] == "worker"
    assert "failed the run" in answer["error"]["message"]
