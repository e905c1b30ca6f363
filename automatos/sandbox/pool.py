"""The supervisor: a warm pool of sandbox worker processes, and one run end to end.

Each worker (:mod:`automatos.sandbox.worker`) is a fresh interpreter started by path with ``-I``,
an environment holding nothing but ``PATH`` and ``LANG``, an empty working directory, and no file
descriptor but its pipes: it inherits no secret, no connection and no module of this process.

A run takes an idle worker (waiting for one when all are busy), sends it the job, answers its
capability calls (the capabilities live here, in the supervisor: the worker only holds proxies),
and waits for the result under the run's wall-clock limit. A worker that overruns the wall clock
is killed; one that dies (the ``RLIMIT_CPU`` backstop, a crash) is reported with the reason; one
that hit the CPU or memory limit is retired. In every case a fresh worker replaces it in the
background, so the pool stays at its size, and the caller gets a result naming what happened —
never an exception for something the snippet did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec

__all__ = [
    "WORKER_PATH",
    "Capability",
    "CapabilityRefused",
    "Limits",
    "SandboxError",
    "SandboxResult",
    "Usage",
    "WorkerPool",
]

log = logging.getLogger("automatos.sandbox")

WORKER_PATH = str(Path(__file__).with_name("worker.py"))
START_TIMEOUT = 30.0
IDLE_WAIT = 60.0
"""How long a run waits for a free worker before it is answered ``worker`` (all busy)."""
_FRAME = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class Limits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Per-run limits; every field is bounded so that a request cannot ask for the machine."""

    cpu_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    wall_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    memory_mb: Annotated[int, msgspec.Meta(ge=16, le=8192)] = 256
    output_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] = 65_536
    result_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 * 1024 * 1024)] = 1_048_576


class SandboxError(msgspec.Struct, kw_only=True):
    """Why a run did not succeed.

    ``kind``: ``syntax`` (with ``line``/``column``), ``policy`` (the construct refused), ``runtime``
    (the snippet raised; ``message`` is ``Type: text``), ``limit`` (``limit`` and ``value`` name it),
    ``capability`` (a capability refused or failed a call), ``result`` (the result is not JSON) or
    ``worker`` (the worker process failed for a reason not the snippet's, e.g. it could not start).
    """

    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    limit: str | None = None
    value: float | None = None
    stage: str | None = None
    """``compile`` when the code was refused before anything ran (syntax, compile-time policy)."""


class Usage(msgspec.Struct, kw_only=True):
    cpu_ms: float = 0.0
    wall_ms: float = 0.0
    """Inside the worker, compile and run."""
    total_ms: float = 0.0
    """Round trip seen by the caller, waiting for a free worker included."""


class SandboxResult(msgspec.Struct, kw_only=True):
    ok: bool
    result: Any = None
    """The JSON value the snippet left in its global ``result`` (``None`` if unset or on failure)."""
    stdout: str = ""
    error: SandboxError | None = None
    logs: list[dict[str, str]] = []
    usage: Usage = msgspec.field(default_factory=Usage)


class CapabilityRefused(Exception):
    """Raised by a capability to refuse a call; its message reaches the snippet (say what, never a secret).

    Any other exception a capability raises reaches the snippet only as its type name (a backend's
    error text may carry addresses or credentials)."""


@runtime_checkable
class Capability(Protocol):
    """An object a run is granted: the snippet sees a proxy named ``name`` with ``methods``.

    ``call`` runs here, in the supervisor, with JSON arguments; its JSON return value goes back to
    the snippet. A :class:`CapabilityRefused` (or ``TypeError``/``ValueError`` about the arguments)
    becomes a ``CapabilityError`` there carrying its message (so say what was refused, never a
    secret); any other exception carries only its type name.
    """

    name: str
    methods: frozenset[str]

    async def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any: ...


def _clean_env() -> dict[str, str]:
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process, home: str) -> None:
        self.proc = proc
        self.home = home
        self.pid = proc.pid
        self.runs = 0
        self.oversize = False
        """It sent a frame over :data:`MAX_FRAME` (a run's output too large to carry)."""

    @classmethod
    async def spawn(cls, python: str) -> _Worker:
        home = tempfile.mkdtemp(prefix="automatos-sandbox-")
        proc: asyncio.subprocess.Process | None = None
        try:
            os.chmod(home, 0o500)  # empty, and nothing can be created in it
            proc = await asyncio.create_subprocess_exec(
                python,
                "-I",
                WORKER_PATH,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=_clean_env(),
                cwd=home,
                close_fds=True,
                start_new_session=True,  # a signal to our process group does not reach it
                limit=MAX_FRAME,
            )
            worker = cls(proc, home)
            try:
                async with asyncio.timeout(START_TIMEOUT):
                    ready = await worker.receive()
            except TimeoutError:
                ready = None
            if ready is None or ready.get("op") != "ready":
                raise RuntimeError(f"sandbox worker did not start (exit status {proc.returncode})")
            return worker
        except BaseException:  # failed, timed out or cancelled (a pool stopping): leave nothing behind
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            shutil.rmtree(home, ignore_errors=True)
            raise

    async def send(self, message: Mapping[str, Any]) -> None:
        await self.send_encoded(msgspec.json.encode(message))

    async def send_encoded(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_FRAME.pack(len(data)) + data)
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        try:
            head = await self.proc.stdout.readexactly(4)
            (size,) = _FRAME.unpack(head)
            if size > MAX_FRAME:
                self.oversize = True
                return None
            message = msgspec.json.decode(await self.proc.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, msgspec.DecodeError):
            return None
        return message if isinstance(message, dict) else None

    @property
    def alive(self) -> bool:
        """Running; a killed process is noticed here at once, before asyncio reaps it."""
        if self.proc.returncode is not None:
            return False
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except FileNotFoundError:
            return False
        except OSError:  # no /proc here: trust asyncio's view
            return True

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        shutil.rmtree(self.home, ignore_errors=True)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.send({"op": "stop"})
            try:
                async with asyncio.timeout(2):
                    await self.proc.wait()
            except TimeoutError:
                self.kill()
                await self.proc.wait()
        self.kill()

    async def died_of(self) -> int | None:
        """The exit status once the process is gone (negative: the signal that ended it)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                return await self.proc.wait()
        self.kill()
        return await self.proc.wait()


def _death(status: int | None, limits: Limits) -> SandboxError:
    if status == -signal.SIGXCPU:
        return SandboxError(
            kind="limit",
            message=f"cpu_seconds limit of {limits.cpu_seconds} exceeded",
            limit="cpu_seconds",
            value=limits.cpu_seconds,
        )
    if status == -signal.SIGXFSZ:
        return SandboxError(kind="policy", message="writing files is not allowed")
    what = f"signal {signal.Signals(-status).name}" if status is not None and status < 0 else f"status {status}"
    return SandboxError(kind="worker", message=f"the sandbox worker died ({what}); it has been replaced")


class WorkerPool:
    """``size`` warm workers; :meth:`run` is safe to call from many tasks at once."""

    def __init__(self, size: int = 2, *, python: str | None = None) -> None:
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        self.size = size
        self.python = python or sys.executable
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._spawning: set[asyncio.Task[None]] = set()
        self._closed = False
        self.replaced = 0
        """Workers replaced since start (killed, died or retired)."""

    async def start(self) -> None:
        await asyncio.gather(*(self._add() for _ in range(self.size)))

    async def stop(self) -> None:
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        await asyncio.gather(*self._spawning, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in list(self._all)), return_exceptions=True)
        self._all.clear()

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _add(self) -> None:
        worker = await _Worker.spawn(self.python)
        if self._closed:
            await worker.stop()
            return
        self._all.add(worker)
        self._idle.put_nowait(worker)

    async def _respawn(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                await self._add()
                return
            except Exception:
                log.exception("could not start a sandbox worker; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        self.replaced += 1
        if not self._closed:
            task = asyncio.ensure_future(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    @property
    def pids(self) -> list[int]:
        return sorted(w.pid for w in self._all if w.alive)

    async def run(
        self,
        code: str,
        inputs: Mapping[str, Any] | None = None,
        limits: Limits | None = None,
        capabilities: Sequence[Capability] = (),
    ) -> SandboxResult:
        """Run ``code`` in a worker; the result says what happened (this raises only if closed)."""
        if self._closed:
            raise RuntimeError("the sandbox pool is stopped")
        limits = limits or Limits()
        granted = {cap.name: cap for cap in capabilities}
        job_id = uuid.uuid4().hex
        job = {
            "op": "run",
            "id": job_id,
            "code": code,
            "inputs": dict(inputs or {}),
            "limits": msgspec.to_builtins(limits),
            "capabilities": {name: sorted(cap.methods) for name, cap in granted.items()},
        }
        try:
            data = msgspec.json.encode(job)
        except TypeError as exc:
            raise ValueError(f"inputs must be JSON values: {exc}") from None
        begun = time.perf_counter()
        for _ in range(self.size + 2):
            try:
                async with asyncio.timeout(IDLE_WAIT):
                    worker = await self._idle.get()
            except TimeoutError:
                message = f"no sandbox worker was free within {IDLE_WAIT:g} s"
                return self._finish(SandboxResult(ok=False, error=SandboxError(kind="worker", message=message)), begun)
            if not worker.alive:  # died while idle (an operator, the OOM killer): never given a job
                self._retire(worker)
                continue
            try:
                await worker.send_encoded(data)
            except (ConnectionError, OSError):  # it died just now; the job never reached it
                self._retire(worker)
                continue
            except BaseException:  # cancelled mid-send: the worker holds half a frame
                self._retire(worker)
                raise
            # the wall clock runs from the hand-over: time spent waiting for a free worker is not the run's
            return await self._attend(worker, job_id, granted, limits, begun, time.perf_counter())
        return self._finish(
            SandboxResult(ok=False, error=SandboxError(kind="worker", message="no sandbox worker could take the run")),
            begun,
        )

    async def _attend(
        self,
        worker: _Worker,
        job_id: str,
        granted: Mapping[str, Capability],
        limits: Limits,
        begun: float,
        handed: float,
    ) -> SandboxResult:
        """Serve the worker's capability calls and wait for its result, under the wall-clock limit."""
        keep = False
        try:
            try:
                async with asyncio.timeout(limits.wall_seconds - (time.perf_counter() - handed)):
                    answer = await self._converse(worker, job_id, granted)
            except TimeoutError:
                return self._finish(
                    SandboxResult(
                        ok=False,
                        error=SandboxError(
                            kind="limit",
                            message=f"wall_seconds limit of {limits.wall_seconds} exceeded",
                            limit="wall_seconds",
                            value=limits.wall_seconds,
                        ),
                    ),
                    begun,
                )
            except (ConnectionError, OSError):
                answer = None
            if answer is None and worker.oversize:
                error = SandboxError(
                    kind="limit",
                    message=f"the run's output (stdout, logs and result) exceeded {MAX_FRAME} bytes",
                    limit="output_bytes",
                    value=MAX_FRAME,
                )
                return self._finish(SandboxResult(ok=False, error=error), begun)
            if answer is None:
                return self._finish(SandboxResult(ok=False, error=_death(await worker.died_of(), limits)), begun)
            worker.runs += 1
            keep = not answer.get("recycle")
            result = msgspec.convert(
                {k: v for k, v in answer.items() if k in ("ok", "result", "stdout", "error", "logs", "usage")},
                SandboxResult,
            )
            return self._finish(result, begun)
        finally:
            if keep and worker.alive:
                self._idle.put_nowait(worker)
            else:
                self._retire(worker)

    @staticmethod
    def _finish(result: SandboxResult, begun: float) -> SandboxResult:
        result.usage.total_ms = round((time.perf_counter() - begun) * 1000, 3)
        return result

    async def _converse(self, worker: _Worker, job_id: str, granted: Mapping[str, Capability]) -> dict[str, Any] | None:
        while True:
            message = await worker.receive()
            if message is None or message.get("id") != job_id:
                return None
            op = message.get("op")
            if op == "result":
                return message
            if op != "call":
                return None
            reply: dict[str, Any] = {"op": "reply", "call": message.get("call")}
            cap = granted.get(str(message.get("cap")))
            method = str(message.get("method"))
            if cap is None or method not in cap.methods:
                reply.update(ok=False, error=f"capability {message.get('cap')}.{method} is not granted")
            else:
                try:
                    value = await cap.call(method, list(message.get("args") or []), dict(message.get("kwargs") or {}))
                    msgspec.json.encode(value)
                    reply.update(ok=True, value=value)
                except (CapabilityRefused, TypeError, ValueError) as exc:  # written for the snippet
                    reply.update(ok=False, error=f"{cap.name}.{method}: {exc}")
                except Exception as exc:  # the capability's own failure (a backend down): no details out
                    log.warning("sandbox capability %s.%s failed: %s", cap.name, method, type(exc).__name__)
                    reply.update(ok=False, error=f"{cap.name}.{method} failed ({type(exc).__name__})")
            await worker.send(reply)
