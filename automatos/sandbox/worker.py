"""The sandbox worker: one isolated process that runs untrusted snippets, one at a time.

The pool (:mod:`automatos.sandbox.pool`) starts it as ``python -I <this file>`` — by path, so that
neither the ``automatos`` package nor anything it imports (settings, database drivers, SDKs) is
loaded here — with an empty environment and an empty working directory. It imports only the
standard library, RestrictedPython and its sibling modules. It never holds a secret, a database
connection or a socket of its own; everything a snippet may reach outside is a *capability*
proxied to the parent.

Loading: the worker's other modules sit next to this file and are loaded *by path* by
:func:`sibling`, in the order of :data:`SIBLINGS` (each after those it uses), each once, registered in
``sys.modules`` as ``automatos_sandbox_<name>`` (:data:`PRIVATE_PREFIX`) before it runs — so a sibling
imports another as ``from automatos_sandbox_policy import …`` (``automatos.sandbox.<name>`` only under
``TYPE_CHECKING``, for mypy) and every piece of state (the code cache, the snippets' classes, the
views, the plugin run in progress) exists once. ``python -I`` puts no directory of this file on
``sys.path``; those names are in no allow-list, so sandbox code importing one gets a ``policy``
error like any other module (``tests/sandbox/test_worker_siblings.py``). A copy of the worker
elsewhere needs every module of :data:`SIBLINGS` beside it.

Protocol, over the process's stdin/stdout (the snippet's prints are captured, never written there):
frames of a 4-byte big-endian length and UTF-8 JSON.

- worker → parent ``{"op": "ready", "pid", "uid", "gid", "confinement": {layer: state}}`` once, at start
  (after dropping privileges), or ``{"op": "refused", "message"}`` when ``--confinement=require`` cannot hold;
- parent → worker ``{"op": "ping"}``; worker → parent ``{"op": "pong"}`` (a liveness probe);
- parent → worker ``{"op": "run", "id", "code", "inputs", "limits", "capabilities": {name: [methods]}}``;
  a plugin run adds ``"plugin"`` (a ``PluginJob`` as JSON) and ``"workspace"`` (see 6.);
- worker → parent ``{"op": "started", "id"}`` at once, before anything of the snippet runs;
- worker → parent ``{"op": "call", "id", "call", "cap", "method", "args", "kwargs"}`` when the snippet
  calls a capability; parent → worker ``{"op": "reply", "call", "ok", "value" | "error"}``;
- worker → parent ``{"op": "result", "id", "ok", "result", "stdout", "error", "logs", "usage", "recycle"}``.

Layers, in order (the policy is documented in ``docs/sandbox.md``, section "Policy"; each rule
names the advisory or technique it answers, and ``tests/sandbox/test_escapes.py`` tries each one).
Each sibling's docstring holds the rules of its layer:

1. Compilation (``policy.py``): ``compile_restricted`` with :class:`SandboxPolicy`'s additions —
   augmented assignment rewritten through the guards, ``super().__init__``, the value protocol
   methods a class may define; code objects cached by sha256.
2. The globals and the guards (``guards.py``): guarded attribute access, writes only to containers
   and the snippet's own objects (recognised by identity), plain classes only, ``type(x)`` with one
   argument, replaced ``functools`` helpers, printing into a bounded :class:`Output`.
3. Imports and builtins (``views.py``): the allow-list, each module handed over as a *view*, withheld
   and replaced names; the builtins (refused ones are ``policy`` errors naming them) and the globals
   sandbox code runs in.
4. Limits (here, :func:`run_snippet`): CPU time (a profiling timer raising inside the snippet — only
   while a snippet frame is on the stack, so the worker's own bookkeeping is never interrupted —
   re-armed every 50 ms until the snippet stops, and ``RLIMIT_CPU`` as a backstop that kills the
   process when a bare ``except:`` keeps swallowing it or C code never returns), memory
   (``RLIMIT_AS`` above the worker's own footprint), recursion depth, printed output and result
   size. *Everything* that may run the snippet's code happens under these limits: compiling,
   running, encoding the result (a ``dict`` subclass's ``items()`` runs there), describing its
   exception (``str(exc)`` may call its ``__str__``/``__repr__``), and clearing its globals and
   collecting its garbage (a suspended generator's ``finally`` runs then; a ``MemoryError``/
   ``RecursionError`` there is a limit hit). The result is handed on as the JSON it encoded to, never
   re-encoded from the snippet's objects; ``print``/``log`` text is converted to exact ``str`` under
   the limits. A capability call and its reply are exchanged with the CPU timer held off
   (``channel.py``), so the channel never falls out of step. At start (``lockdown.py``), before any
   job: no file may be written (``RLIMIT_FSIZE`` 0), no process forked (``RLIMIT_NPROC`` 0), a worker
   started as root drops to uid/gid 65534 when it can, ``socket`` refuses to be used even by library
   code, and the second wall (``confine.py``; ``--confinement=auto|require|off``, the pool's
   ``SANDBOX_CONFINEMENT``): a network namespace, no new privileges, landlock and a seccomp filter,
   as far as the kernel allows; the ``ready`` frame reports what holds. The pool adds wall time, and
   kills and replaces a worker that overruns or dies.

5. Hygiene between runs: the ``decimal`` context and the ``random`` module's generator are reset
   before and after each run (a snippet's ``setcontext``/``seed`` never reaches the next one), the
   ``re`` cache is purged (it may hold the snippet's ``str`` subclasses), the garbage collector runs
   under the limits, and a worker whose snippet left something behind, or hit the CPU or memory
   limit, is recycled. ``printed`` is the text printed so far, never the collector. Output, logs,
   messages and result never carry NaN/Infinity or lone surrogates to the parent (its JSON decoder
   would refuse the frame and take the worker for dead): text is made valid, and such a result is a
   ``result`` error.

6. Plugin runs (``plugin_host.py``; a job with ``"plugin"``): the bundle's modules compiled by the
   same policy as ``<plugin:name>``, executed afresh for every run in globals of their own, imported
   through the same hook (the bundle first, then the allow-list) and handed over as read-only
   views; ``register(ctx)`` or one handler call, with trusted ctx objects. Every limit, error kind
   and rule above applies unchanged; errors name the module.
"""

from __future__ import annotations

import decimal
import gc
import json
import os
import random
import re
import resource
import signal
import sys
import time
import types
from typing import TYPE_CHECKING, Any, cast

__all__ = ["SIBLINGS", "run_snippet", "sibling"]

SIBLINGS = ("policy", "guards", "views", "channel", "plugin_host", "confine", "lockdown")
"""The modules next to this file the worker loads by path, in dependency order (a copy of the worker needs them all)."""
PRIVATE_PREFIX = "automatos_sandbox_"
"""Their names in ``sys.modules`` (``automatos_sandbox_policy``…): never a name of the allow-list."""


def sibling(name: str) -> types.ModuleType:
    """The sibling module ``name`` (``<this directory>/<name>.py``), loaded once per process by path.

    Registered in ``sys.modules`` under :data:`PRIVATE_PREFIX` + ``name`` before it runs, so that a
    sibling's ``from automatos_sandbox_policy import …`` finds the one module object (its state — the
    code cache, the snippets' classes, the views — exists once); a module of that name loaded from
    another directory is refused rather than mixed in.
    """
    import importlib.util

    key = PRIVATE_PREFIX + name
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = sys.modules.get(key)
    if module is not None:
        if getattr(module, "__file__", None) != path:
            raise ImportError(f"{key} is loaded from {getattr(module, '__file__', None)}, not {path}")
        return module
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[key]
        raise
    return module


for _sibling in SIBLINGS:
    sibling(_sibling)

if TYPE_CHECKING:
    from automatos.sandbox.channel import (
        Capability,
        CapabilityError,
        ChannelBroken,
        Logger,
        _Channel,
        _encode,
        _Method,
        _not_json,
    )
    from automatos.sandbox.guards import (
        MAX_MESSAGE,
        LimitExceeded,
        Output,
        PolicyViolation,
        _message,
    )
    from automatos.sandbox.lockdown import _UNRAISABLE, _lock_down
    from automatos.sandbox.plugin_host import _place, _PluginRun
    from automatos.sandbox.policy import CompileFailure, _compile, _sandbox_file
    from automatos.sandbox.views import _REFUSED_NAMES, _base_globals, set_bundle
else:
    from automatos_sandbox_channel import (
        Capability,
        CapabilityError,
        ChannelBroken,
        Logger,
        _Channel,
        _encode,
        _Method,
        _not_json,
    )
    from automatos_sandbox_guards import (
        MAX_MESSAGE,
        LimitExceeded,
        Output,
        PolicyViolation,
        _message,
    )
    from automatos_sandbox_lockdown import _UNRAISABLE, _lock_down
    from automatos_sandbox_plugin_host import _place, _PluginRun
    from automatos_sandbox_policy import CompileFailure, _compile, _sandbox_file
    from automatos_sandbox_views import _REFUSED_NAMES, _base_globals, set_bundle


RECURSION_DEPTH = 200
"""Frames a snippet may nest (its own calls and the guards' together)."""


class ResultError(Exception):
    """The snippet's ``result`` is not a JSON value."""


# --- running ---------------------------------------------------------------------------------------


def _error_line(exc: BaseException) -> int | None:
    """The last line of the snippet the traceback passes through (no source file is read)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if _sandbox_file(tb.tb_frame.f_code.co_filename):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _in_snippet(frame: types.FrameType | None) -> bool:
    while frame is not None:
        if _sandbox_file(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def _vsz() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _clean_text(text: str) -> str:
    """Valid UTF-8 text (lone surrogates replaced): the parent's decoder refuses anything else."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


class _CpuTimer:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False

    def _fire(self, signum: int, frame: Any) -> None:
        self.fired = True
        if _in_snippet(frame):  # the worker's own bookkeeping is never interrupted
            raise LimitExceeded("cpu_seconds", self.seconds)

    def __enter__(self) -> _CpuTimer:
        signal.signal(signal.SIGPROF, self._fire)
        # first at the limit, then every 50 ms: a snippet that catches it is interrupted again
        signal.setitimer(signal.ITIMER_PROF, self.seconds, 0.05)
        used = resource.getrusage(resource.RUSAGE_SELF)
        backstop = int(used.ru_utime + used.ru_stime + self.seconds + 2)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (backstop, hard))
        return self

    def __exit__(self, *exc: Any) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_IGN)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _limit_error(limit: str, value: Any, line: int | None = None) -> dict[str, Any]:
    return {"kind": "limit", "message": f"{limit} limit of {value} exceeded", "limit": limit, "value": value,
            "line": line}  # fmt: skip


def _describe(exc: BaseException, memory_mb: int) -> dict[str, Any]:
    """The error entry for an exception met while compiling or running the snippet."""
    line = _error_line(exc)
    if isinstance(exc, CompileFailure):
        message = exc.message if len(exc.message) <= MAX_MESSAGE else exc.message[:MAX_MESSAGE] + "…"
        return {"kind": exc.kind, "message": message, "line": exc.line, "column": exc.column, "stage": "compile"}
    if isinstance(exc, ChannelBroken):
        return {"kind": "capability", "message": str(exc), "line": line}
    if isinstance(exc, LimitExceeded):
        return _limit_error(exc.limit, exc.value, line)
    if isinstance(exc, MemoryError):
        return _limit_error("memory_mb", memory_mb, line)
    if isinstance(exc, RecursionError):
        return _limit_error("recursion_depth", RECURSION_DEPTH, line)
    if isinstance(exc, PolicyViolation):
        return {"kind": "policy", "message": _message(exc).removeprefix("PolicyViolation: "), "line": line}
    if isinstance(exc, CapabilityError):
        return {"kind": "capability", "message": _message(exc).removeprefix("CapabilityError: "), "line": line}
    if isinstance(exc, ResultError):
        return {"kind": "result", "message": _message(exc).removeprefix("ResultError: ")}
    if type(exc) is NameError and type(exc.name) is str and exc.name in _REFUSED_NAMES:
        return {"kind": "policy", "message": f"{exc.name} is not available in the sandbox: {_REFUSED_NAMES[exc.name]}",
                "line": line}  # fmt: skip
    if isinstance(exc, SystemExit):
        code = exc.code if exc.code is None or isinstance(exc.code, int | str) else type(exc.code).__name__
        return {"kind": "runtime", "message": f"SystemExit: {code}", "line": line}
    return {"kind": "runtime", "message": _message(exc), "line": line}


def _reset_shared_state() -> None:
    """Module state a snippet may change through its views, back to a fresh start for each run."""
    decimal.setcontext(decimal.Context())
    random.seed()


def _clean_up(glb: dict[str, Any], spaces: list[dict[str, Any]] | None = None) -> bool:
    """Drop the snippet's objects under the limits (finalizers run now); True if some survived.

    ``spaces``: a plugin run's module globals (a finalizer may import one more: it is cleared too).
    """
    for _ in range(3):
        glb.clear()
        for space in list(spaces or ()):
            space.clear()
        _reset_shared_state()
        re.purge()
        gc.collect()
        if not glb and not any(spaces or ()):
            return False
    glb.clear()
    for space in list(spaces or ()):
        space.clear()
    return True


def _execute(job: dict[str, Any], glb: dict[str, Any], result_bytes: int, plugin: _PluginRun | None = None) -> str:
    """Compile and run the snippet in ``glb`` (or the plugin run's action); the result as JSON text."""
    code = _compile(str(job.get("code", ""))) if plugin is None else None
    depth = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + RECURSION_DEPTH)
    try:
        if code is not None:
            exec(code, glb)
            value = glb.get("result")
        else:
            value = cast(_PluginRun, plugin).execute()
        try:
            encoded = json.dumps(value, default=_not_json, allow_nan=False, ensure_ascii=False)
            size = len(encoded.encode("utf-8"))
        except (TypeError, ValueError) as exc:  # not JSON, NaN/Infinity, a cycle, a lone surrogate
            raise ResultError(f"result must be JSON: {_message(exc)}") from None
    finally:
        sys.setrecursionlimit(depth)
    if size > result_bytes:
        raise LimitExceeded("result_bytes", result_bytes)
    return encoded


def run_snippet(job: dict[str, Any], channel: _Channel) -> dict[str, Any]:
    """Run one job — a snippet, or a plugin's (``job["plugin"]``); always returns the result message (never raises)."""
    limits = job.get("limits") or {}
    cpu_seconds = float(limits.get("cpu_seconds", 5.0))
    memory_mb = int(limits.get("memory_mb", 256))
    output = Output(int(limits.get("output_bytes", 65_536)))
    result_bytes = int(limits.get("result_bytes", 1_048_576))
    started, cpu_started = time.perf_counter(), time.process_time()
    logger = Logger(output)
    answer: dict[str, Any] = {"op": "result", "id": job.get("id"), "ok": False, "result": None, "error": None}

    state = {"calls": 0}
    capabilities: dict[str, Any] = {"log": logger}
    for name, methods in (job.get("capabilities") or {}).items():
        capabilities[name] = Capability(
            name, {m: _Method(channel, str(job.get("id")), name, m, state) for m in methods}
        )
    plugin = job.get("plugin")
    run = _PluginRun(plugin, job.get("workspace"), output, logger, capabilities) if isinstance(plugin, dict) else None
    glb: dict[str, Any] = {}
    if run is None:
        glb = _base_globals(output)
        glb.update(capabilities)
        glb["__name__"] = "snippet"
        glb["inputs"] = job.get("inputs") if job.get("inputs") is not None else {}
        glb["result"] = None
    _reset_shared_state()
    _UNRAISABLE.clear()
    depth = sys.getrecursionlimit()
    baseline = _vsz()
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    error: dict[str, Any] | None = None
    encoded: str | None = None
    leftovers = False
    timer = _CpuTimer(cpu_seconds)
    set_bundle(run)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (baseline + memory_mb * 1024 * 1024, as_hard))
        with timer:
            try:
                encoded = _execute(job, glb, result_bytes, run)
            except BaseException as exc:
                try:
                    error = _describe(exc, memory_mb)
                    if run is not None:
                        _place(error, exc)
                except (LimitExceeded, MemoryError, RecursionError) as failure:  # describing it hit a limit
                    error = _describe(failure, memory_mb)
            finally:
                leftovers = _clean_up(glb, run.spaces if run is not None else None)
    except BaseException as exc:  # the worker's own bookkeeping failed (memory): report, and recycle
        error = error or {"kind": "worker", "message": f"the sandbox worker failed: {type(exc).__name__}"}
        leftovers = True
    finally:
        set_bundle(None)
        resource.setrlimit(resource.RLIMIT_AS, (as_hard, as_hard))
        sys.setrecursionlimit(depth)
    if error is None and MemoryError in _UNRAISABLE:  # the snippet's finalizer ran out of memory
        error = _limit_error("memory_mb", memory_mb)
    if error is None and RecursionError in _UNRAISABLE:
        error = _limit_error("recursion_depth", RECURSION_DEPTH)
    if timer.fired and (error is None or error.get("kind") != "limit"):
        # the snippet caught the CPU limit and went on: it is still a limit hit
        error = _limit_error("cpu_seconds", cpu_seconds)
    if output.exceeded and (error is None or error.get("kind") != "limit"):
        error = _limit_error("output_bytes", output.limit)
    if error is not None:
        error["message"] = _clean_text(str(error.get("message", "")))
    answer.update(
        ok=error is None,
        error=error,
        result=json.loads(encoded) if error is None and encoded is not None else None,
        stdout=_clean_text(output.text()),
        logs=[{k: _clean_text(v) for k, v in line.items()} for line in logger._lines],
        usage={
            "cpu_ms": round((time.process_time() - cpu_started) * 1000, 3),
            "wall_ms": round((time.perf_counter() - started) * 1000, 3),
        },
        recycle=leftovers or (error is not None and error.get("limit") in ("cpu_seconds", "memory_mb")),
    )
    return answer


RAW_EXEC_FLAG = "--unsafe-raw-exec-for-tests"
"""TEST ONLY: after the full lock-down, run each job's code with plain ``exec`` (no policy, no limits).

It proves the second wall alone (``tests/sandbox/test_confinement.py``). Only a command-line flag:
the pool never passes it, and no setting, job field, API or CLI option reaches it."""


def _raw_exec(job: dict[str, Any]) -> dict[str, Any]:
    """TEST ONLY (:data:`RAW_EXEC_FLAG`): the job's code under plain ``exec``; its ``result`` global back."""
    import builtins

    started = time.perf_counter()
    glb: dict[str, Any] = {"__builtins__": builtins}
    answer: dict[str, Any] = {"op": "result", "id": job.get("id"), "ok": True, "result": None, "error": None,
                              "stdout": "", "logs": [], "recycle": False}  # fmt: skip
    try:
        exec(str(job.get("code", "")), glb)
        answer["result"] = json.loads(json.dumps(glb.get("result"), default=repr))
    except BaseException as exc:
        answer.update(ok=False, error={"kind": "runtime", "message": _message(exc)})
    answer["usage"] = {"cpu_ms": 0.0, "wall_ms": round((time.perf_counter() - started) * 1000, 3)}
    return answer


def _arguments(argv: list[str]) -> tuple[str, bool]:
    """``--confinement=auto|require|off`` (the pool's ``SANDBOX_CONFINEMENT``) and the test-only flag."""
    mode, raw = "auto", False
    for arg in argv:
        if arg.startswith("--confinement="):
            mode = arg.partition("=")[2]
        elif arg == RAW_EXEC_FLAG:
            raw = True
        else:
            raise SystemExit(f"unknown argument {arg!r}")
    return mode, raw


def main() -> None:
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray write to stdout can never corrupt the protocol
    channel = _Channel(protocol_in, protocol_out)
    mode, raw = _arguments(sys.argv[1:])
    try:
        confinement = _lock_down(mode)
    except (RuntimeError, ValueError) as exc:  # SANDBOX_CONFINEMENT=require and a layer is missing
        channel.send({"op": "refused", "message": str(exc)})
        raise SystemExit(3) from None
    # the uid tells the pool whether dropping privileges worked (it warns when a worker stays root),
    # confinement which layers of the second wall hold (it warns when one is missing)
    channel.send({"op": "ready", "pid": os.getpid(), "uid": os.geteuid(), "gid": os.getegid(),
                  "confinement": confinement})  # fmt: skip
    while True:
        job = channel.receive()
        if job is None or job.get("op") == "stop":
            return
        if job.get("op") == "ping":
            channel.send({"op": "pong"})
            continue
        if job.get("op") != "run":
            continue
        # before anything of the snippet's runs: a worker that dies before this frame never started
        # the run, so the pool may hand it to another worker (never one that started)
        channel.send({"op": "started", "id": job.get("id")})
        answer = _raw_exec(job) if raw else run_snippet(job, channel)
        if channel.broken:
            answer["recycle"] = True
        try:
            data = _encode(answer)
        except (TypeError, ValueError):
            answer.update(ok=False, result=None, error={"kind": "result", "message": "result must be JSON"})
            data = _encode(answer)
        channel.send_bytes(data)
        if channel.broken:
            return  # mid-frame: this worker cannot read another job safely; the pool replaces it


if __name__ == "__main__":
    main()
