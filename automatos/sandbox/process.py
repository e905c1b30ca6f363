"""One sandbox worker process, seen from the supervisor: start it clean, frame messages, probe, stop.

Each worker (:mod:`automatos.sandbox.worker`) is a fresh interpreter started by path with ``-I``,
an environment holding nothing but ``PATH`` and ``LANG``, an empty working directory it cannot
write to, no file descriptor but its pipes, a session of its own (a signal to our process group
does not reach it), and the OS confinement ``SANDBOX_CONFINEMENT`` asks for (``--confinement=``, see
:mod:`automatos.sandbox.confine`). Messages both ways are JSON objects behind a 4-byte big-endian length
(:data:`FRAME`), at most :data:`MAX_FRAME` bytes; a larger one marks the worker ``oversize``
and reads as end of file. :class:`~automatos.sandbox.pool.WorkerPool` keeps the warm ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "FRAME",
    "MAX_FRAME",
    "PROBE_TIMEOUT",
    "START_TIMEOUT",
    "WORKER_PATH",
    "WorkerProcess",
    "WorkerRefused",
    "clean_env",
]

WORKER_PATH = str(Path(__file__).with_name("worker.py"))
START_TIMEOUT = 30.0
"""How long a new worker may take to say it is ready."""
PROBE_TIMEOUT = 10.0
"""How long a worker may take to answer a liveness probe (only a run being retried probes)."""
FRAME = struct.Struct(">I")
"""The length prefix of every message."""
MAX_FRAME = 64 * 1024 * 1024


class WorkerRefused(RuntimeError):
    """The worker would not start: ``SANDBOX_CONFINEMENT=require`` and a layer of the second wall is missing."""


def clean_env() -> dict[str, str]:
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


class WorkerProcess:
    """One sandbox worker process: started clean, spoken to in length-prefixed JSON frames."""

    def __init__(self, proc: asyncio.subprocess.Process, home: str) -> None:
        self.proc = proc
        self.home = home
        self.pid = proc.pid
        self.runs = 0
        self.uid: int | None = None
        """The worker's effective uid once started (0: it could not drop root's privileges)."""
        self.retired = False
        """Taken out of the pool (killed, died or recycled); its replacement is on its way."""
        self.oversize = False
        """It sent a frame over :data:`MAX_FRAME` (a run's output too large to carry)."""
        self.confinement: dict[str, str] = {}
        """What of the second wall holds in it, layer by layer (``on``, ``off``, ``unavailable: …``)."""

    @classmethod
    async def spawn(cls, python: str, *, confinement: str = "auto", extra_args: Sequence[str] = ()) -> WorkerProcess:
        """Start a worker and wait for its ``ready`` frame.

        ``confinement`` is ``SANDBOX_CONFINEMENT`` (``auto``, ``require``, ``off``): the worker's
        second wall (:mod:`automatos.sandbox.confine`); a worker that cannot hold it under ``require``
        refuses to start (:class:`WorkerRefused`). ``extra_args`` are for tests only (the test-only
        ``--unsafe-raw-exec-for-tests`` of the worker): the pool never passes any.
        """
        home = tempfile.mkdtemp(prefix="automatos-sandbox-")
        proc: asyncio.subprocess.Process | None = None
        try:
            os.chmod(home, 0o500)  # empty, and nothing can be created in it
            proc = await asyncio.create_subprocess_exec(
                python,
                "-I",
                WORKER_PATH,
                f"--confinement={confinement}",
                *extra_args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=clean_env(),
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
            if ready is not None and ready.get("op") == "refused":
                raise WorkerRefused(f"sandbox worker refused to start: {ready.get('message')}")
            if ready is None or ready.get("op") != "ready":
                raise RuntimeError(f"sandbox worker did not start (exit status {proc.returncode})")
            uid = ready.get("uid")
            worker.uid = uid if isinstance(uid, int) else None
            confined = ready.get("confinement")
            worker.confinement = {str(k): str(v) for k, v in confined.items()} if isinstance(confined, dict) else {}
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
        self.proc.stdin.write(FRAME.pack(len(data)) + data)
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        try:
            head = await self.proc.stdout.readexactly(4)
            (size,) = FRAME.unpack(head)
            if size > MAX_FRAME:
                self.oversize = True
                return None
            message = msgspec.json.decode(await self.proc.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, msgspec.DecodeError):
            return None
        return message if isinstance(message, dict) else None

    async def answers(self) -> bool:
        """A liveness probe: whether the worker answers a ping (a dying one reaches end of file instead)."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self.send({"op": "ping"})
                reply = await self.receive()
        except (TimeoutError, ConnectionError, OSError):
            return False
        return reply is not None and reply.get("op") == "pong"

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
