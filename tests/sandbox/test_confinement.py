"""The second wall: a confined worker running plain Python (policy off) still cannot reach out.

The worker's test-only ``--unsafe-raw-exec-for-tests`` flag runs each job's code with plain
``exec`` after the *full* lock-down, so what is proved here is the OS confinement alone
(:mod:`automatos.sandbox.confine`): no file written or created, no socket, no process, no
``ptrace``, no read of the supervisor's environment or of files outside the interpreter's. Each
assertion names the error the layer gives (``EPERM`` from seccomp, ``EACCES`` from landlock); a
layer the kernel lacks is skipped with the reason, and a kernel without landlock is simulated for
``auto`` (reported) and ``require`` (refused) by starting the worker under a seccomp filter that
answers ``landlock_create_ruleset`` with ``ENOSYS``.
"""

from __future__ import annotations

import errno
import logging
import os
import platform
import signal
import stat
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.sandbox import WorkerPool, confine
from automatos.sandbox.process import WorkerProcess, WorkerRefused

RAW = "--unsafe-raw-exec-for-tests"
CANARY = "AUTOMATOS_CONFINEMENT_CANARY"
SECRET = "canary-" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parents[2]

PRELUDE = textwrap.dedent(
    """
    import ctypes, errno, os
    libc = ctypes.CDLL(None, use_errno=True)

    def attempt(fn):
        try:
            value = fn()
        except OSError as exc:
            return [type(exc).__name__, exc.errno]
        return ["ok", repr(value)]

    def raw(number, *args):
        # a raw syscall through libc: the policy-free way around every Python-level refusal
        ctypes.set_errno(0)
        value = libc.syscall(number, *args)
        return [value, ctypes.get_errno()]
    """
)
SYS_SOCKET = {"x86_64": 41, "aarch64": 198}.get(platform.machine())
SYS_EXECVE = {"x86_64": 59, "aarch64": 221}.get(platform.machine())


def _expected_denial(report: dict[str, str]) -> list[Any]:
    """What a filesystem write gets: seccomp answers first (EPERM), landlock otherwise (EACCES)."""
    if report["seccomp"] == "on":
        return ["PermissionError", errno.EPERM]
    if report["landlock"].startswith("on"):
        return ["PermissionError", errno.EACCES]
    pytest.skip(f"neither seccomp ({report['seccomp']}) nor landlock ({report['landlock']}) on this kernel")


def _need(report: dict[str, str], layer: str) -> None:
    if not report[layer].startswith("on"):
        pytest.skip(f"{layer} is {report[layer]}")


@pytest.fixture(scope="module")
async def worker() -> AsyncIterator[WorkerProcess]:
    """One confined raw-exec worker, started with a canary secret in this process's environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CANARY, SECRET)
        started = await WorkerProcess.spawn(sys.executable, extra_args=(RAW,))
    try:
        yield started
    finally:
        await started.stop()


async def _exec(worker: WorkerProcess, code: str) -> Any:
    job_id = uuid.uuid4().hex
    await worker.send({"op": "run", "id": job_id, "code": PRELUDE + code, "inputs": {}, "limits": {},
                       "capabilities": {}})  # fmt: skip
    assert await worker.receive() == {"op": "started", "id": job_id}
    answer = await worker.receive()
    assert answer is not None and answer["ok"], answer
    return answer["result"]


def _plant(path: Path, text: str, mode: int, folder_mode: int) -> Path:
    """A file the test owns, outside every path the worker may read (``tmp_path``)."""
    path.write_text(text)
    path.chmod(mode)
    path.parent.chmod(folder_mode)
    return path


def _read(path: str) -> str:
    with open(path) as file:
        return file.read()


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _has_seccomp() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return False
    return True


async def test_every_layer_the_kernel_offers_holds(worker: WorkerProcess) -> None:
    report = worker.confinement
    assert list(report) == list(confine.LAYERS)
    offered = {
        "no_new_privs": True,
        "netns": os.geteuid() == 0,
        "landlock": confine.landlock_abi() > 0,
        "seccomp": _has_seccomp(),
    }
    for layer, available in offered.items():
        assert report[layer].startswith("on" if available else "unavailable: "), (layer, report[layer])
    if offered["landlock"]:
        assert report["landlock"] == f"on (abi {confine.landlock_abi()})"
    status = _read(f"/proc/{worker.pid}/status")
    assert "NoNewPrivs:\t1" in status
    if offered["seccomp"]:
        assert "Seccomp:\t2" in status  # filter mode


async def test_no_file_can_be_created_or_written(worker: WorkerProcess, tmp_path: Path) -> None:
    denied = _expected_denial(worker.confinement)
    name = "confined-" + uuid.uuid4().hex
    existing = _plant(tmp_path / "writable-by-anyone", "before", 0o666, 0o777)
    targets = {"tmp": f"/tmp/{name}", "cwd": name, "shm": f"/dev/shm/{name}", "existing": str(existing)}
    code = f"targets = {targets!r}\n" + textwrap.dedent(
        """
        result = {key: attempt(lambda p=path: open(p, "w").write("x")) for key, path in targets.items()}
        result["append"] = attempt(lambda: open(targets["existing"], "a"))
        result["os.open"] = attempt(lambda: os.open(targets["tmp"], os.O_CREAT | os.O_WRONLY, 0o600))
        result["mkdir"] = attempt(lambda: os.mkdir(targets["tmp"] + ".d"))
        result["unlink"] = attempt(lambda: os.unlink(targets["existing"]))
        result["chmod"] = attempt(lambda: os.chmod(targets["existing"], 0o777))
        result["truncate"] = attempt(lambda: os.truncate(targets["existing"], 0))
        """
    )
    result = await _exec(worker, code)
    assert result == dict.fromkeys([*targets, "append", "os.open", "mkdir", "unlink", "chmod", "truncate"], denied)
    for path in (f"/tmp/{name}", f"/dev/shm/{name}", f"/tmp/{name}.d"):
        assert not _exists(path)
    assert _read(str(existing)) == "before" and stat.S_IMODE(os.stat(existing).st_mode) == 0o666


async def test_no_socket_can_be_opened(worker: WorkerProcess) -> None:
    report = worker.confinement
    _need(report, "seccomp")
    code = textwrap.dedent(
        f"""
        import socket, _socket
        result = {{
            "socket.socket": attempt(lambda: socket.socket()),  # refused in Python by the worker itself
            "_socket.socket": attempt(lambda: _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)),
            "unix": attempt(lambda: _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)),
            "socketpair": attempt(lambda: _socket.socketpair()),
            "syscall": raw({SYS_SOCKET or -1}, 2, 1, 0),
        }}
        """
    )
    result = await _exec(worker, code)
    assert result["socket.socket"] == ["PermissionError", None]
    for key in ("_socket.socket", "unix", "socketpair"):
        assert result[key] == ["PermissionError", errno.EPERM], key
    if SYS_SOCKET is not None:
        assert result["syscall"] == [-1, errno.EPERM]


async def test_the_worker_has_a_network_namespace_of_its_own(worker: WorkerProcess) -> None:
    _need(worker.confinement, "netns")
    assert os.readlink(f"/proc/{worker.pid}/ns/net") != os.readlink("/proc/self/ns/net")


async def test_no_process_can_be_started(worker: WorkerProcess) -> None:
    _need(worker.confinement, "seccomp")
    marker = f"/tmp/confined-{uuid.uuid4().hex}"
    code = f"marker = {marker!r}\n" + textwrap.dedent(
        f"""
        import subprocess
        result = {{
            "fork": attempt(os.fork),
            "subprocess": attempt(lambda: subprocess.run(["/bin/touch", marker])),
            "posix_spawn": attempt(lambda: os.posix_spawn("/bin/touch", ["touch", marker], {{}})),
            "execv": attempt(lambda: os.execv("/bin/touch", ["touch", marker])),
            "system": os.system("touch " + marker),
            "execve": raw({SYS_EXECVE or -1}, b"/bin/touch", None, None),
        }}
        """
    )
    result = await _exec(worker, code)
    for key in ("fork", "subprocess", "posix_spawn", "execv"):
        assert result[key] == ["PermissionError", errno.EPERM], key
    assert result["system"] == 127 << 8  # libc's system(): the shell could not be started
    if SYS_EXECVE is not None:
        assert result["execve"] == [-1, errno.EPERM]
    assert not _exists(marker)


async def test_no_ptrace_and_no_signal_outside(worker: WorkerProcess) -> None:
    _need(worker.confinement, "seccomp")
    code = textwrap.dedent(
        """
        ptrace = libc.ptrace
        ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
        ctypes.set_errno(0)
        attached = ptrace(16, os.getppid(), None, None)  # PTRACE_ATTACH to the supervisor
        result = {
            "ptrace": [attached, ctypes.get_errno()],
            "kill": attempt(lambda: os.kill(os.getppid(), 0)),
            "self": attempt(lambda: os.kill(os.getpid(), 0)),
        }
        """
    )
    result = await _exec(worker, code)
    assert result == {"ptrace": [-1, errno.EPERM], "kill": ["PermissionError", errno.EPERM], "self": ["ok", "None"]}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the x32 syscall ABI exists on x86_64 only")
async def test_a_syscall_through_another_abi_ends_the_worker() -> None:
    """x32 numbers (``nr | 0x40000000``) would bypass a filter keyed on x86_64 numbers: they kill instead."""
    single = await WorkerProcess.spawn(sys.executable, extra_args=(RAW,))
    try:
        _need(single.confinement, "seccomp")
        job = {"op": "run", "id": "x32", "code": PRELUDE + "result = raw(0x40000000 | 41, 2, 1, 0)", "inputs": {}}
        await single.send(job)
        assert await single.receive() == {"op": "started", "id": "x32"}
        assert await single.receive() is None  # no result: the process was killed
        assert await single.died_of() == -signal.SIGSYS
    finally:
        await single.stop()


async def test_the_supervisors_environment_is_out_of_reach(worker: WorkerProcess) -> None:
    assert os.environ.get(CANARY) != SECRET  # the fixture's canary was removed again after the spawn…
    result = await _exec(
        worker, "result = [dict(os.environ), attempt(lambda: open(f'/proc/{os.getppid()}/environ').read())]"
    )
    environment, read = result
    assert set(environment) <= {"PATH", "LANG", "LC_ALL"} and SECRET not in str(environment)  # …never inherited
    _need(worker.confinement, "landlock")
    assert read == ["PermissionError", errno.EACCES]


async def test_files_outside_the_interpreters_are_unreadable(worker: WorkerProcess, tmp_path: Path) -> None:
    _need(worker.confinement, "landlock")
    secret = _plant(tmp_path / "other-tenant.txt", "nobody may read this", 0o644, 0o755)
    code = f"path = {str(secret)!r}\n" + textwrap.dedent(
        """
        result = {
            "file": attempt(lambda: open(path).read()),
            "dir": attempt(lambda: os.listdir(os.path.dirname(path))),
            "passwd": attempt(lambda: open("/etc/passwd").read()),
            "own statm": attempt(lambda: len(open("/proc/self/statm").read()) > 0),
        }
        """
    )
    result = await _exec(worker, code)
    assert result == {
        "file": ["PermissionError", errno.EACCES],
        "dir": ["PermissionError", errno.EACCES],
        "passwd": ["PermissionError", errno.EACCES],
        "own statm": ["ok", "True"],
    }


async def test_snippets_still_run_and_the_pool_reports_what_holds() -> None:
    async with WorkerPool(1) as pool:
        code = "import json, hashlib, datetime\nresult = [json.dumps({'a': 1}), hashlib.sha256(b'x').hexdigest()[:4]"
        result = await pool.run(code + ", datetime.datetime(2024, 1, 2).strftime('%Y')]")
        assert result.ok and result.result == ['{"a": 1}', "2d71", "2024"], result.error
        status = pool.status()["confinement"]
    assert status["mode"] == "auto" and set(status) == {"mode", *confine.LAYERS}
    assert status["no_new_privs"] == "on"
    async with WorkerPool(1, confinement="off") as off:
        assert off.status()["confinement"] == {"mode": "off", **dict.fromkeys(confine.LAYERS, "off")}
        assert (await off.run("result = 2")).result == 2


def _no_landlock_python(tmp_path: Path) -> str:
    """An interpreter whose kernel, as far as it can tell, has no landlock (a seccomp filter says ENOSYS)."""
    wrapper = tmp_path / "no_landlock.py"
    wrapper.write_text(
        textwrap.dedent(
            f"""
            import errno, os, sys
            import pyseccomp
            flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
            flt.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "landlock_create_ruleset")
            flt.load()
            os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
            """
        )
    )
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -I {wrapper} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


async def test_auto_reports_a_missing_layer_and_require_refuses_to_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if not _has_seccomp():
        pytest.skip("simulating a kernel without landlock needs seccomp")
    python = _no_landlock_python(tmp_path)
    with caplog.at_level(logging.WARNING, logger="automatos.sandbox"):
        async with WorkerPool(1, python=python) as auto:
            landlock = auto.status()["confinement"]["landlock"]
            assert (await auto.run("result = 3")).result == 3
    assert landlock.startswith("unavailable: the kernel has no landlock")
    assert any("without part of the OS confinement" in r.getMessage() and "landlock" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    strict = WorkerPool(1, python=python, confinement="require")
    try:
        with pytest.raises(WorkerRefused, match="SANDBOX_CONFINEMENT=require, but landlock is unavailable"):
            await strict.start()
    finally:
        await strict.stop()
    with pytest.raises(ValueError, match="confinement"):
        WorkerPool(1, confinement="sometimes")


def test_the_raw_exec_switch_is_unreachable_from_the_platform() -> None:
    """Only the worker knows the flag, only process.py can pass extra arguments, and only tests do."""
    holders, passers = set(), set()
    for folder in ("automatos", "bench", "examples", "scripts"):
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or path.suffix not in (".py", ".toml", ".sh", "") or "__pycache__" in path.parts:
                continue
            text = path.read_text(errors="replace")
            if RAW in text:
                holders.add(path.relative_to(ROOT).as_posix())
            if "extra_args" in text:
                passers.add(path.relative_to(ROOT).as_posix())
    assert holders <= {"automatos/sandbox/worker.py", "automatos/sandbox/process.py"}
    assert "automatos/sandbox/worker.py" in holders
    assert passers == {"automatos/sandbox/process.py"}
