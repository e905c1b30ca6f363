"""The sandbox worker: one isolated process that runs untrusted snippets, one at a time.

The pool (:mod:`automatos.sandbox.pool`) starts it as ``python -I <this file>`` — by path, so that
neither the ``automatos`` package nor anything it imports (settings, database drivers, SDKs) is
loaded here — with an empty environment and an empty working directory. It imports only the
standard library and RestrictedPython. It never holds a secret, a database connection or a socket
of its own; everything a snippet may reach outside is a *capability* proxied to the parent.

Protocol, over the process's stdin/stdout (the snippet's prints are captured, never written there):
frames of a 4-byte big-endian length and UTF-8 JSON.

- worker → parent ``{"op": "ready", "pid"}`` once, at start;
- parent → worker ``{"op": "run", "id", "code", "inputs", "limits", "capabilities": {name: [methods]}}``;
- worker → parent ``{"op": "call", "id", "call", "cap", "method", "args", "kwargs"}`` when the snippet
  calls a capability; parent → worker ``{"op": "reply", "call", "ok", "value" | "error"}``;
- worker → parent ``{"op": "result", "id", "ok", "result", "stdout", "error", "logs", "usage", "recycle"}``.

Layers, in order (the policy is documented in ``docs/sandbox.md``):

1. ``compile_restricted`` refuses names and attributes starting with ``_``, frame/code/generator
   internals, ``exec``/``eval`` statements…; code objects are cached by sha256 of the source.
2. The globals: a minimal builtins set (no ``open``, ``eval``, ``exec``, ``compile``, ``globals``,
   ``vars``, ``dir``, ``type`` with three arguments, ``__import__`` other than the guarded one);
   guarded attribute access (no ``_`` names, no frame/code/generator/traceback internals, no
   ``str.format``/``format_map``, no module objects ever returned), guarded item access, writes only
   to containers and to instances of classes the snippet defined, guarded iteration and unpacking.
3. Imports from an allow-list only, each handed over as a *view*: a fresh object holding the
   module's public functions, classes and constants — never a module object, so nothing reachable
   from it (a module attribute, a loader, a spec) leads back to the interpreter.
4. Limits: CPU time (a profiling timer raising inside the snippet, re-armed until the snippet
   stops, and ``RLIMIT_CPU`` as a backstop that kills the process), memory (``RLIMIT_AS`` above the
   worker's own footprint), recursion depth, printed output and result size; no file may be
   written (``RLIMIT_FSIZE`` 0), no process forked (``RLIMIT_NPROC`` 0 where it applies), and
   ``socket`` refuses to be used even by library code. The pool adds wall time, and kills and
   replaces a worker that overruns or dies.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import struct
import sys
import time
import traceback
import types
import weakref
from collections import OrderedDict
from typing import Any

from RestrictedPython import compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

__all__ = ["ALLOWED_MODULES", "run_snippet"]

ALLOWED_MODULES: dict[str, frozenset[str]] = {
    # module -> public names withheld from its view (and why)
    "json": frozenset(),
    "math": frozenset(),
    "re": frozenset(),
    "datetime": frozenset(),
    "decimal": frozenset(),
    "statistics": frozenset(),
    "itertools": frozenset(),
    "functools": frozenset(),
    "collections": frozenset(),
    "random": frozenset(),
    "string": frozenset({"Formatter"}),  # Formatter().format("{0.__class__}") walks attributes
    "textwrap": frozenset(),
    "uuid": frozenset({"getnode", "uuid1"}),  # may read the MAC address through a subprocess
    "hashlib": frozenset(),
}

SNIPPET = "<snippet>"
MAX_CACHE = 256
RECURSION_DEPTH = 200
"""Frames a snippet may nest (its own calls and the guards' together)."""
_DENIED_PREFIXES = ("gi_", "ag_", "cr_", "tb_", "co_", "f_")
_STRING_FORMAT = frozenset({"format", "format_map"})
_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, tuple, frozenset, type(None))


class PolicyViolation(Exception):
    """A construct the policy forbids, met at run time (a computed attribute name, an import…)."""


class LimitExceeded(BaseException):
    """A limit was hit; a BaseException so that ``except Exception`` in the snippet cannot swallow it."""

    def __init__(self, limit: str, value: Any) -> None:
        super().__init__(f"{limit} limit of {value} exceeded")
        self.limit = limit
        self.value = value


# --- guards ----------------------------------------------------------------------------------------

_SANDBOX_CLASSES: weakref.WeakSet[type] = weakref.WeakSet()


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise PolicyViolation("attribute names must be strings")
    if name.startswith("_"):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed (it starts with '_')")
    if name in INSPECT_ATTRIBUTES or name.startswith(_DENIED_PREFIXES):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed (interpreter internals)")
    return name


_MISSING = object()


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    name = _check_name(name)
    if name in _STRING_FORMAT and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
        raise PolicyViolation(f"str.{name} is not allowed (it can reach attributes); use f-strings")
    if name == "mro" and isinstance(obj, type):
        raise PolicyViolation("access to attribute 'mro' is not allowed")
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    try:
        value = getattr(obj, name)
    except AttributeError:
        if default is _MISSING:
            raise
        return default
    if isinstance(value, types.ModuleType):
        raise PolicyViolation(f"attribute {name!r} is a module, which is not reachable")
    if isinstance(value, types.FrameType | types.CodeType | types.TracebackType):
        raise PolicyViolation(f"attribute {name!r} leads to interpreter internals")
    return value


def guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except (AttributeError, PolicyViolation):
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    return obj[key]


def guarded_iter(obj: Any) -> Any:
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    return iter(obj)


_WRITABLE = (dict, list, set, bytearray, OrderedDict)


def guarded_write(obj: Any) -> Any:
    """What the snippet may assign attributes or items on: containers and its own objects."""
    if isinstance(obj, _WRITABLE) or type(obj) in _SANDBOX_CLASSES:
        return obj
    if isinstance(obj, type) and obj in _SANDBOX_CLASSES:
        return obj
    raise PolicyViolation(f"objects of type {type(obj).__name__} cannot be modified here")


def guarded_setattr(obj: Any, name: Any, value: Any) -> None:
    setattr(guarded_write(obj), _check_name(name), value)


def guarded_delattr(obj: Any, name: Any) -> None:
    delattr(guarded_write(obj), _check_name(name))


def make_class(name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
    """``__metaclass__`` of every class statement: plain classes only, and remembered as the snippet's."""
    if kwargs:
        raise PolicyViolation("class keywords (metaclass=…) are not allowed")
    for base in bases:
        if not isinstance(base, type) or issubclass(base, type) or base is LimitExceeded:
            raise PolicyViolation(f"cannot derive a class from {base!r}")
    cls = type(name, bases, namespace)
    _SANDBOX_CLASSES.add(cls)
    return cls


def safe_type(*args: Any) -> type:
    if len(args) != 1:
        raise PolicyViolation("type() takes exactly one argument here (making classes with it is not allowed)")
    return type(args[0])


_INPLACE = {
    "+=": lambda a, b: a + b,
    "-=": lambda a, b: a - b,
    "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": lambda a, b: a % b,
    "**=": lambda a, b: a**b,
    "<<=": lambda a, b: a << b,
    ">>=": lambda a, b: a >> b,
    "|=": lambda a, b: a | b,
    "^=": lambda a, b: a ^ b,
    "&=": lambda a, b: a & b,
    "@=": lambda a, b: a @ b,
}


def inplacevar(op: str, a: Any, b: Any) -> Any:
    try:
        return _INPLACE[op](a, b)
    except KeyError:
        raise PolicyViolation(f"operator {op} is not allowed") from None


def apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class ModuleView:
    """A module's public functions, classes and constants — not the module."""

    __slots__ = ("_members", "_name")

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", members)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._members[attr]
        except KeyError:
            raise AttributeError(f"module {self._name!r} has no attribute {attr!r} here") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation(f"module {self._name!r} cannot be modified")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (sandbox view)>"


_VIEWS: dict[str, ModuleView] = {}


def _view(name: str) -> ModuleView:
    view = _VIEWS.get(name)
    if view is None:
        module = __import__(name)
        withheld = ALLOWED_MODULES[name]
        members = {}
        for attr in dir(module):
            if attr.startswith("_") or attr in withheld:
                continue
            value = getattr(module, attr)
            if isinstance(value, types.ModuleType):
                continue
            if callable(value) or isinstance(value, _CONSTANT_TYPES):
                members[attr] = value
        view = _VIEWS[name] = ModuleView(name, members)
    return view


def guarded_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> ModuleView:
    if level != 0:
        raise PolicyViolation("relative imports are not allowed")
    if not isinstance(name, str) or name not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise PolicyViolation(f"import of {name!r} is not allowed (allowed: {allowed})")
    view = _view(name)
    for item in fromlist or ():
        if not isinstance(item, str) or item.startswith("_") or item not in view._members:
            raise PolicyViolation(f"cannot import {item!r} from {name!r}")
    return view


# --- output ----------------------------------------------------------------------------------------


class Output:
    """What the snippet prints, up to ``limit`` bytes; more is a limit hit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.exceeded = False

    def write(self, text: str) -> None:
        size = len(text.encode("utf-8", "replace"))
        if self.size + size > self.limit:
            room = self.limit - self.size
            if room > 0:
                self.parts.append(text.encode("utf-8", "replace")[:room].decode("utf-8", "ignore"))
            self.size = self.limit
            self.exceeded = True
            raise LimitExceeded("output_bytes", self.limit)
        self.parts.append(text)
        self.size += size

    def text(self) -> str:
        return "".join(self.parts)


class _Printer:
    """RestrictedPython's ``_print_`` protocol: ``_print_(_getattr_)`` then ``._call_print(...)``."""

    def __init__(self, output: Output) -> None:
        self.output = output

    def __call__(self, _getattr: Any = None) -> _Printer:
        return self

    def _call_print(
        self, *objects: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: bool = False
    ) -> None:
        if file is not None:
            raise PolicyViolation("print(file=…) is not allowed")
        self.output.write(str(sep).join(str(o) for o in objects) + str(end))


# --- capabilities ----------------------------------------------------------------------------------


class _Channel:
    def __init__(self, read: Any, write: Any) -> None:
        self._read = read
        self._write = write

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), default=_not_json).encode()
        self._write.write(struct.pack(">I", len(data)) + data)
        self._write.flush()

    def receive(self) -> dict[str, Any] | None:
        head = self._read.read(4)
        if len(head) < 4:
            return None
        (size,) = struct.unpack(">I", head)
        message: dict[str, Any] = json.loads(self._read.read(size))
        return message


def _not_json(value: Any) -> Any:
    raise TypeError(f"a value of type {type(value).__name__} is not JSON")


class CapabilityError(Exception):
    """A capability refused or failed a call (the parent's message says why)."""


class _Method:
    __slots__ = ("_cap", "_channel", "_job", "_method", "_state")

    def __init__(self, channel: _Channel, job: str, cap: str, method: str, state: dict[str, int]) -> None:
        self._channel, self._job, self._cap, self._method, self._state = channel, job, cap, method, state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._state["calls"] += 1
        call = self._state["calls"]
        try:
            self._channel.send(
                {
                    "op": "call",
                    "id": self._job,
                    "call": call,
                    "cap": self._cap,
                    "method": self._method,
                    "args": list(args),
                    "kwargs": kwargs,
                }
            )
        except TypeError as exc:
            raise CapabilityError(f"{self._cap}.{self._method}: arguments must be JSON values ({exc})") from None
        reply = self._channel.receive()
        if reply is None:
            raise SystemExit(0)  # the parent went away
        if reply.get("op") != "reply" or reply.get("call") != call:
            raise CapabilityError("capability channel out of step")
        if not reply.get("ok"):
            raise CapabilityError(str(reply.get("error")))
        return reply.get("value")


class Capability:
    """A proxy whose allowed methods are calls to the parent; nothing else is reachable."""

    __slots__ = ("_methods", "_name")

    def __init__(self, name: str, methods: dict[str, _Method]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_methods", methods)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._methods[attr]
        except KeyError:
            raise AttributeError(f"capability {self._name!r} has no method {attr!r}") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation(f"capability {self._name!r} cannot be modified")

    def __repr__(self) -> str:
        return f"<capability {self._name!r}: {', '.join(sorted(self._methods))}>"


class Logger:
    """The ``log`` capability: lines collected into the result (capped), never written anywhere."""

    __slots__ = ("_lines",)
    _lines: list[dict[str, str]]

    def __init__(self) -> None:
        object.__setattr__(self, "_lines", [])

    def _add(self, level: str, message: Any) -> None:
        if len(self._lines) < 1000:
            self._lines.append({"level": level, "message": str(message)[:10_000]})

    def debug(self, message: Any) -> None:
        self._add("debug", message)

    def info(self, message: Any) -> None:
        self._add("info", message)

    def warning(self, message: Any) -> None:
        self._add("warning", message)

    def error(self, message: Any) -> None:
        self._add("error", message)


# --- running ---------------------------------------------------------------------------------------

_CODE_CACHE: OrderedDict[str, Any] = OrderedDict()

_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(
    {
        "__import__": guarded_import,
        "getattr": guarded_getattr,
        "hasattr": guarded_hasattr,
        "setattr": guarded_setattr,
        "delattr": guarded_delattr,
        "type": safe_type,
        "list": list,
        "dict": dict,
        "set": set,
        "frozenset": frozenset,
        "tuple": tuple,
        "enumerate": enumerate,
        "reversed": reversed,
        "sorted": sorted,
        "map": map,
        "filter": filter,
        "zip": zip,
        "min": min,
        "max": max,
        "sum": sum,
        "any": any,
        "all": all,
        "iter": guarded_iter,
        "next": next,
        "isinstance": isinstance,
        "issubclass": issubclass,
        "object": object,
        "property": property,
        "staticmethod": staticmethod,
        "classmethod": classmethod,
        "format": format,
        "bin": bin,
        "bytearray": bytearray,
        "StopAsyncIteration": StopAsyncIteration,
        "RecursionError": RecursionError,
    }
)
for _name in ("KeyboardInterrupt", "GeneratorExit", "BaseException"):
    _BUILTINS.pop(_name, None)  # nothing the snippet could use to catch the sandbox's own signals


class CompileFailure(Exception):
    def __init__(self, kind: str, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.kind, self.message, self.line, self.column = kind, message, line, column


def _compile(code: str) -> Any:
    digest = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
    cached = _CODE_CACHE.get(digest)
    if cached is not None:
        _CODE_CACHE.move_to_end(digest)
        return cached
    try:
        compile(code, SNIPPET, "exec", dont_inherit=True)  # plain syntax first: exact line and column
    except SyntaxError as exc:
        raise CompileFailure("syntax", f"{type(exc).__name__}: {exc.msg}", exc.lineno, exc.offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise CompileFailure("syntax", f"{type(exc).__name__}: {exc}", None, None) from None
    result = compile_restricted_exec(code, SNIPPET)
    if result.errors:
        first = result.errors[0]
        line = None
        if first.startswith("Line "):
            head = first[5:].split(":", 1)[0]
            line = int(head) if head.isdigit() else None
        raise CompileFailure("policy", "; ".join(result.errors), line, None)
    _CODE_CACHE[digest] = result.code
    if len(_CODE_CACHE) > MAX_CACHE:
        _CODE_CACHE.popitem(last=False)
    return result.code


def _error_line(exc: BaseException) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == SNIPPET:
            line = frame.lineno
    return line


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


class _CpuTimer:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False

    def _fire(self, signum: int, frame: Any) -> None:
        self.fired = True
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


def run_snippet(job: dict[str, Any], channel: _Channel) -> dict[str, Any]:
    """Run one job; always returns the result message (never raises)."""
    limits = job.get("limits") or {}
    cpu_seconds = float(limits.get("cpu_seconds", 5.0))
    memory_mb = int(limits.get("memory_mb", 256))
    output = Output(int(limits.get("output_bytes", 65_536)))
    result_bytes = int(limits.get("result_bytes", 1_048_576))
    started, cpu_started = time.perf_counter(), time.process_time()
    logger = Logger()
    answer: dict[str, Any] = {"op": "result", "id": job.get("id"), "ok": False, "result": None, "error": None}
    recycle = False

    def usage() -> dict[str, Any]:
        return {
            "cpu_ms": round((time.process_time() - cpu_started) * 1000, 3),
            "wall_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    try:
        code = _compile(str(job.get("code", "")))
    except CompileFailure as exc:
        answer["error"] = {"kind": exc.kind, "message": exc.message, "line": exc.line, "column": exc.column}
        answer.update(stdout="", logs=[], usage=usage(), recycle=False)
        return answer

    state = {"calls": 0}
    capabilities: dict[str, Any] = {"log": logger}
    for name, methods in (job.get("capabilities") or {}).items():
        capabilities[name] = Capability(
            name, {m: _Method(channel, str(job.get("id")), name, m, state) for m in methods}
        )
    printer = _Printer(output)
    glb: dict[str, Any] = {
        "__builtins__": _BUILTINS,
        "__name__": "snippet",
        "__metaclass__": make_class,
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": guarded_write,
        "_inplacevar_": inplacevar,
        "_print_": printer,
        "_apply_": apply,
        "inputs": job.get("inputs") if job.get("inputs") is not None else {},
        "result": None,
        **capabilities,
    }
    depth = sys.getrecursionlimit()
    baseline = _vsz()
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    error: dict[str, Any] | None = None
    timer = _CpuTimer(cpu_seconds)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (baseline + memory_mb * 1024 * 1024, as_hard))
        sys.setrecursionlimit(_depth() + RECURSION_DEPTH)
        with timer:
            exec(code, glb)
            value = glb.get("result")
            encoded = json.dumps(value, default=_not_json)
            if len(encoded) > result_bytes:
                raise LimitExceeded("result_bytes", result_bytes)
        answer["result"] = value
    except LimitExceeded as exc:
        error = {"kind": "limit", "message": str(exc), "limit": exc.limit, "value": exc.value, "line": _error_line(exc)}
        recycle = exc.limit == "cpu_seconds"
    except MemoryError as exc:
        error = {
            "kind": "limit",
            "message": f"memory_mb limit of {memory_mb} exceeded",
            "limit": "memory_mb",
            "value": memory_mb,
            "line": _error_line(exc),
        }
        recycle = True
    except RecursionError as exc:
        error = {
            "kind": "limit",
            "message": f"recursion_depth limit of {RECURSION_DEPTH} exceeded",
            "limit": "recursion_depth",
            "value": RECURSION_DEPTH,
            "line": _error_line(exc),
        }
    except PolicyViolation as exc:
        error = {"kind": "policy", "message": str(exc), "line": _error_line(exc)}
    except CapabilityError as exc:
        error = {"kind": "capability", "message": str(exc), "line": _error_line(exc)}
    except TypeError as exc:
        if "is not JSON" in str(exc) and exc.__traceback__ is not None and _error_line(exc) is None:
            error = {"kind": "result", "message": f"result must be JSON: {exc}"}
        else:
            error = {"kind": "runtime", "message": f"TypeError: {exc}", "line": _error_line(exc)}
    except SystemExit as exc:
        error = {"kind": "runtime", "message": f"SystemExit: {exc.code}", "line": _error_line(exc)}
    except BaseException as exc:  # anything the snippet raised
        error = {"kind": "runtime", "message": f"{type(exc).__name__}: {exc}", "line": _error_line(exc)}
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (as_hard, as_hard))
        sys.setrecursionlimit(depth)
    if timer.fired and (error is None or error.get("kind") != "limit"):
        # the snippet caught the CPU limit and went on: it is still a limit hit
        error = {"kind": "limit", "message": f"cpu_seconds limit of {cpu_seconds} exceeded", "limit": "cpu_seconds",
                 "value": cpu_seconds, "line": None}  # fmt: skip
        recycle = True
    if output.exceeded and (error is None or error.get("kind") != "limit"):
        error = {"kind": "limit", "message": f"output_bytes limit of {output.limit} exceeded",
                 "limit": "output_bytes", "value": output.limit, "line": None}  # fmt: skip
    answer.update(
        ok=error is None,
        error=error,
        result=answer["result"] if error is None else None,
        stdout=output.text(),
        logs=list(logger._lines),
        usage=usage(),
        recycle=recycle,
    )
    return answer


def _deny_sockets() -> None:
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("network access is not available in the sandbox")

    socket.socket = refuse  # type: ignore[assignment,misc]
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


def _lock_down() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file can be written
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # …and trying is an OSError, not a dead worker
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork (ignored for root)
    except (ValueError, OSError):
        pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _deny_sockets()
    for name in ALLOWED_MODULES:  # warm the views (and their imports) before any limit applies
        _view(name)


def main() -> None:
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray write to stdout can never corrupt the protocol
    channel = _Channel(protocol_in, protocol_out)
    _lock_down()
    channel.send({"op": "ready", "pid": os.getpid()})
    while True:
        job = channel.receive()
        if job is None or job.get("op") == "stop":
            return
        if job.get("op") != "run":
            continue
        answer = run_snippet(job, channel)
        try:
            channel.send(answer)
        except TypeError:
            answer.update(ok=False, result=None, error={"kind": "result", "message": "result must be JSON"})
            channel.send(answer)


if __name__ == "__main__":
    main()
