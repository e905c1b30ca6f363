"""Sandbox benchmarks: warm-pool round trip, the guards' cost on a loop-heavy snippet, concurrency, start-up.

1. Round trip of ``await pool.run("result = 1 + 1")`` on a warm ``WorkerPool(2)``, sequential runs:
   p50/p95/p99, split into the time inside the worker (``usage.wall_ms``) and the rest (IPC + the
   supervisor). Side by side, interleaved: the floor of the same framing over asyncio pipes to a
   bare child interpreter that decodes the job and answers a result-shaped JSON message (no sandbox).
   Goal: median < 5 ms.
2. A loop-heavy snippet (10^6 inner iterations: arithmetic, list appends, dict item writes,
   attribute reads on an instance of a class the snippet defines, a method call, a comprehension,
   ``for`` over a list) run (a) as plain Python ``exec`` with normal builtins, (b) through the
   worker's own ``run_snippet`` in this process (RestrictedPython code, the worker's guards, its
   limits; no IPC), (c) through the pool (``usage.wall_ms`` and the round trip). For reference, in
   the same rounds: RestrictedPython's stock ``safer_getattr`` in place of the worker's
   ``_getattr_``; the transformation's floor (every guard a no-check builtin or one-liner); and two
   what-if prototypes kept in this file (not the worker's code): (1) the same policy with cheaper
   guards; (2) those guards plus literal attribute reads and ``name += x`` compiled as plain Python.
   Rounds interleaved, order reversed each round. Goal: (b) and (c) <= 2.5x (a). Then the extra
   cost of each guard on its own (one construct per loop, plain vs guarded), and a cProfile of (b)
   when the goal is missed.
3. 200 concurrent ``pool.run`` calls (``asyncio.gather``), distinct inputs, each result checked
   against its input, pools of 2 and 4 workers, interleaved rounds: wall time, throughput, latency
   percentiles, workers replaced (goal: 0, and 200/200 correct).
4. Start-up: one worker spawned to ready (``WorkerPool(1).start()``), a pool of 2, the first run on a
   cold worker; replacement of a worker killed for overrunning the wall clock, and of an idle worker
   killed from outside (what the next caller gets).

Run: .venv/bin/python bench/sandbox.py [--runs 2000] [--iterations 1000000] [--rounds 5] [--concurrent 200]
     [--profile]   (~1.5 min)
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import cProfile
import gc
import io
import operator
import os
import pstats
import signal
import sys
import time
import types
import weakref
from collections.abc import Callable
from typing import Any

import msgspec
from common import fmt, header, median, percentile, table, verdict
from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.Guards import safer_getattr

from automatos.sandbox import Limits, WorkerPool
from automatos.sandbox import worker as _worker
from automatos.sandbox.process import FRAME as _FRAME

# the worker and the sibling modules it loads by path (policy, guards, views…), as one namespace
W = types.SimpleNamespace(
    **{k: v for m in [*map(_worker.sibling, _worker.SIBLINGS), _worker] for k, v in vars(m).items()}
)

GOAL_RT_MS = 5.0
GOAL_RATIO = 2.5
TRIVIAL = "result = 1 + 1"
HEAVY_LIMITS = Limits(cpu_seconds=120, wall_seconds=300, memory_mb=1024)

LOOP = """\
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self):
        return abs(self.x) + abs(self.y)


n = inputs["n"]
points = [Point(i, i % 7) for i in range(1000)]
total = 0
counts = {}
for rep in range(n // 1000):
    out = []
    for p in points:
        v = p.x * 3 + p.y
        total += v % 11
        out.append(v)
        counts[p.y] = v
    squares = [q * q for q in out if q % 2]
    total += len(squares) + points[rep % 1000].norm1()
result = {"total": total, "keys": len(counts), "last": len(squares)}
"""

CONCURRENT = """\
n = inputs["n"]
acc = 0
for i in range(200):
    acc += (i * n) % 7
result = {"n": n, "double": n * 2, "acc": acc}
"""


# --------------------------------------------------------------------------------------------------
# globals as the worker builds them, and the variants compared with them
# --------------------------------------------------------------------------------------------------


def worker_globals(inputs: dict[str, Any], **override: Any) -> dict[str, Any]:
    """The globals ``run_snippet`` gives a snippet (no capabilities, output discarded), with overrides."""
    glb: dict[str, Any] = {
        "__builtins__": W._BUILTINS,
        "__name__": "snippet",
        "__metaclass__": W.make_class,
        "_getattr_": W.guarded_getattr,
        "_getitem_": W.guarded_getitem,
        "_getiter_": W.guarded_iter,
        "_iter_unpack_sequence_": W.iter_unpack_sequence,
        "_unpack_sequence_": W.guarded_unpack_sequence,
        "_write_": W.guarded_write,
        "_inplacevar_": W.inplacevar,
        "_print_": W._Printer(W.Output(65_536)),
        "_apply_": W.apply,
        "inputs": inputs,
        "result": None,
    }
    glb.update(override)
    return glb


def plain_globals(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"__builtins__": __builtins__, "__name__": "snippet", "inputs": inputs, "result": None}


def _identity(obj: Any) -> Any:
    return obj


_FLOOR_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add, "-=": operator.sub, "*=": operator.mul, "/=": operator.truediv,
    "//=": operator.floordiv, "%=": operator.mod, "**=": operator.pow, "<<=": operator.lshift,
    ">>=": operator.rshift, "|=": operator.or_, "^=": operator.xor, "&=": operator.and_, "@=": operator.matmul,
}  # fmt: skip


def _floor_inplace(op: str, a: Any, b: Any) -> Any:
    return _FLOOR_OPS[op](a, b)


FLOOR = {
    "_getattr_": getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": _identity,
    "_inplacevar_": _floor_inplace,
}
"""The cost of RestrictedPython's transformation alone: every hook a builtin or a one-line function."""

# --- what-if 1: the same policy, cheaper guards (a prototype; the worker is not changed) ----------

_DENIED_VALUES = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
_SENSITIVE = W._STRING_FORMAT | {"mro"}
_CHECKED: set[str] = set()
"""Names that passed ``_check_name`` and need no per-object check (not format/format_map/mro)."""


def fast_getattr(obj: Any, name: Any, default: Any = W._MISSING) -> Any:
    # ``type(name) is str``: a str subclass could hash and compare equal to a checked name
    if type(name) is str and name in _CHECKED:
        if isinstance(obj, types.ModuleType):
            raise W.PolicyViolation("module objects are not reachable")
        try:
            value = getattr(obj, name)
        except AttributeError:
            if default is W._MISSING:
                raise
            return default
        if isinstance(value, _DENIED_VALUES):  # one isinstance on a tuple, not two (one on a union)
            raise W.PolicyViolation(f"attribute {name!r} is not reachable")
        return value
    value = W.guarded_getattr(obj, name, default)  # the full check; raises if refused
    if type(name) is str and name not in _SENSITIVE and len(_CHECKED) < 4096:
        _CHECKED.add(name)
    return value


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "@=": operator.imatmul,
}  # fmt: skip
"""In-place operators, as plain Python: ``lst += [x]`` extends ``lst`` (the worker's ``a + b`` copies it
every time, quadratic in a loop). Mutating a list, dict, set or bytearray is allowed anyway; other
objects' in-place operators are their own methods, callable by the snippet already."""


def fast_inplacevar(op: str, a: Any, b: Any) -> Any:
    try:
        fn = _INPLACE_OPS[op]  # C functions instead of lambdas: no extra Python frame per `+=`
    except KeyError:
        raise W.PolicyViolation(f"operator {op} is not allowed") from None
    return fn(a, b)


_EXACT_WRITABLE = frozenset({dict, list, set, bytearray})


_CLASS_IDS: set[int] = set()
"""ids of the snippet's classes, removed when a class is collected (a plain set: a C lookup, not a WeakSet's)."""


def fast_make_class(name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
    cls = W.make_class(name, bases, namespace, **kwargs)
    _CLASS_IDS.add(id(cls))
    weakref.finalize(cls, _CLASS_IDS.discard, id(cls))
    return cls


def fast_write(obj: Any) -> Any:
    cls = type(obj)
    if cls in _EXACT_WRITABLE or id(cls) in _CLASS_IDS:
        return obj
    return W.guarded_write(obj)  # subclasses of containers, the snippet's classes themselves, refusals


def fast_iter_unpack(it: Any, spec: Any, _getiter_: Any) -> Any:
    # ``guarded_iter_unpack_sequence`` is a generator calling ``guarded_unpack_sequence`` (a list, length
    # checks) per item, only to apply ``_getiter_`` to each item; the worker's ``_getiter_`` refuses
    # modules alone, which cannot be unpacked anyway: iterating the outer object is the same policy.
    return _getiter_(it)


FAST = {
    "_getattr_": fast_getattr,
    "_inplacevar_": fast_inplacevar,
    "_write_": fast_write,
    "__metaclass__": fast_make_class,
    "_iter_unpack_sequence_": fast_iter_unpack,
}

# --- what-if 2: literal attribute reads compiled as plain attribute access ------------------------


class PlainAttributes(RestrictingNodeTransformer):  # type: ignore[misc]
    """``obj.name`` with a literal, non-sensitive name stays ``obj.name`` (the compile-time checks stay:
    no ``_`` names, no ``INSPECT_ATTRIBUTES``); ``name += x`` on a plain name stays in-place."""

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        new = super().visit_Attribute(node)
        if (
            isinstance(node.ctx, ast.Load)
            and isinstance(new, ast.Call)
            and node.attr not in _SENSITIVE
            and not node.attr.startswith(W._DENIED_PREFIXES)
        ):
            return ast.copy_location(ast.Attribute(value=new.args[0], attr=node.attr, ctx=ast.Load()), node)
        return new

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if isinstance(node.target, ast.Name):
            return self.node_contents_visit(node)
        return super().visit_AugAssign(node)


def restricted(code: str, policy: type | None = None) -> Any:
    compiled = (
        compile_restricted_exec(code, W.SNIPPET, policy=policy) if policy else compile_restricted_exec(code, W.SNIPPET)
    )
    if compiled.errors:
        raise SystemExit(f"snippet refused by the policy: {compiled.errors}")
    return compiled.code


PROBES = [
    "x = ().__class__",
    "def g():\n    yield 1\nx = g().gi_frame",
    "x = 'a{}'.format",
    "x = str.format_map",
    "x = type(1).mro",
    "x = getattr(1, '__class__')",
    "x = getattr(1, 'real')",
    "import os",
    "import math\nx = math.floor(2.5)",
    "int.x = 1",
    "class A:\n    pass\n\na = A()\na.x = 1\nx = a.x",
    "x = [1]\nx += [2]\nresult = x",
    "x = 1\nx += 2\nresult = x",
    "for a, b in [(1, 2)]:\n    result = a + b",
    "def g():\n    yield 1\nx = getattr(g(), 'gi_' + 'frame')",
]
ALIAS = "x = [1]\ny = x\nx += [2]\nresult = y"
"""``+=`` on a list shared by two names: plain Python extends the one list."""
"""Policy probes: the what-if variants must refuse (or allow) exactly what the worker does."""


def probe_outcome(code: str, policy: type | None, override: dict[str, Any]) -> str:
    compiled = (
        compile_restricted_exec(code, W.SNIPPET, policy=policy) if policy else compile_restricted_exec(code, W.SNIPPET)
    )
    if compiled.errors:
        return "refused at compile time"
    glb = worker_globals({}, **override)
    try:
        exec(compiled.code, glb)
    except Exception as exc:
        return type(exc).__name__
    return f"ok {glb['result']!r}"


def check_probes() -> str:
    differ = []
    for code in PROBES:
        ours = probe_outcome(code, None, {})
        for name, policy, override in (("what-if 1", None, FAST), ("what-if 2", PlainAttributes, FAST)):
            got = probe_outcome(code, policy, override)
            if got != ours:
                differ.append(f"{name} on {code!r}: {got} (worker: {ours})")
    plain: dict[str, Any] = plain_globals({})
    exec(compile(ALIAS, W.SNIPPET, "exec"), plain)
    alias = (
        f"`{'; '.join(ALIAS.splitlines())}`: plain Python {plain['result']!r}, "
        f"worker {probe_outcome(ALIAS, None, {})}, "
        f"what-if 1 {probe_outcome(ALIAS, None, FAST)}, what-if 2 {probe_outcome(ALIAS, PlainAttributes, FAST)}"
    )
    if differ:
        return "policy probes DIFFER: " + "; ".join(differ) + "\n" + alias
    return (
        f"policy probes: the what-if variants refuse and allow exactly what the worker does ({len(PROBES)} probes)."
        f"\nsemantics: {alias}"
    )


class NoChannel:
    """``run_snippet`` needs a channel only for capability calls; none are granted here."""

    def send(self, message: dict[str, Any]) -> None:
        raise RuntimeError("no capability channel in process")

    def receive(self) -> None:
        raise RuntimeError("no capability channel in process")


def timed_exec(code: Any, glb: dict[str, Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    exec(code, glb)
    return time.perf_counter() - t0, glb["result"]


# --------------------------------------------------------------------------------------------------
# 1. round trip
# --------------------------------------------------------------------------------------------------

ECHO_CHILD = r"""
import json, os, struct
rd = os.fdopen(os.dup(0), "rb", buffering=0)
wr = os.fdopen(os.dup(1), "wb", buffering=0)
while True:
    head = rd.read(4)
    if len(head) < 4:
        break
    job = json.loads(rd.read(struct.unpack(">I", head)[0]))
    out = json.dumps({"op": "result", "id": job["id"], "ok": True, "result": 2, "error": None, "stdout": "",
                      "logs": [], "usage": {"cpu_ms": 0.05, "wall_ms": 0.07}, "recycle": False}).encode()
    wr.write(struct.pack(">I", len(out)) + out)
"""


class Echo:
    """The floor of a round trip: same framing and JSON over asyncio pipes, a bare child, no sandbox."""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", ECHO_CHILD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        self.n = 0

    async def call(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.n += 1
        job = {
            "op": "run",
            "id": f"{self.n:032x}",
            "code": TRIVIAL,
            "inputs": {},
            "limits": msgspec.to_builtins(Limits()),
            "capabilities": {},
        }
        data = msgspec.json.encode(job)
        self.proc.stdin.write(_FRAME.pack(len(data)) + data)
        await self.proc.stdin.drain()
        (size,) = _FRAME.unpack(await self.proc.stdout.readexactly(4))
        answer = msgspec.json.decode(await self.proc.stdout.readexactly(size))
        assert answer["id"] == job["id"]

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            async with asyncio.timeout(2):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def part_roundtrip(pool: WorkerPool, runs: int, rounds: int) -> dict[str, Any]:
    echo = Echo()
    await echo.start()
    try:
        for _ in range(100):  # warm both workers and the code cache, and the echo child
            r = await pool.run(TRIVIAL)
            assert r.ok and r.result == 2, r
            await echo.call()
        per_round = max(1, runs // rounds)
        rt: list[float] = []
        inside: list[float] = []
        rest: list[float] = []
        sup: list[float] = []
        floor: list[float] = []
        round_p50: list[tuple[float, float]] = []
        clock = time.perf_counter
        for rnd in range(rounds):
            order = ["pool", "echo"] if rnd % 2 == 0 else ["echo", "pool"]
            got: dict[str, list[float]] = {"pool": [], "echo": []}
            for which in order:
                gc.collect()
                for _ in range(per_round):
                    if which == "pool":
                        t0 = clock()
                        r = await pool.run(TRIVIAL)
                        ms = (clock() - t0) * 1000
                        if not (r.ok and r.result == 2):
                            raise SystemExit(f"trivial run failed: {r}")
                        got["pool"].append(ms)
                        inside.append(r.usage.wall_ms)
                        rest.append(ms - r.usage.wall_ms)
                        sup.append(r.usage.total_ms)
                    else:
                        t0 = clock()
                        await echo.call()
                        got["echo"].append((clock() - t0) * 1000)
            rt += got["pool"]
            floor += got["echo"]
            round_p50.append((median(got["pool"]), median(got["echo"])))
    finally:
        await echo.stop()
    print(f"## 1. Warm-pool round trip, `{TRIVIAL}`")
    print(
        f"WorkerPool(2), warm (100 runs first), {len(rt)} sequential `await pool.run(...)` in {rounds} rounds, "
        f"interleaved with as many floor round trips (same framing and JSON over asyncio pipes to a bare child "
        f"interpreter, `python -I -c`), order reversed every round. ms."
    )
    print()
    rows = [
        ["pool.run round trip (bench clock)", *(fmt(percentile(rt, q), 3) for q in (50, 95, 99)), fmt(max(rt), 3)],
        ["  inside the worker (usage.wall_ms)", *(fmt(percentile(inside, q), 3) for q in (50, 95, 99)),
         fmt(max(inside), 3)],
        ["  IPC + supervisor (round trip - wall_ms)", *(fmt(percentile(rest, q), 3) for q in (50, 95, 99)),
         fmt(max(rest), 3)],
        ["  usage.total_ms (supervisor's own clock)", *(fmt(percentile(sup, q), 3) for q in (50, 95, 99)),
         fmt(max(sup), 3)],
        ["floor: framing + JSON over pipes, bare child", *(fmt(percentile(floor, q), 3) for q in (50, 95, 99)),
         fmt(max(floor), 3)],
    ]  # fmt: skip
    table(["what", "p50", "p95", "p99", "max"], rows)
    print(
        "per-round p50, pool / floor (ms): "
        + "  ".join(f"{p:.3f}/{f:.3f}" for p, f in round_p50)
        + f"; throughput sequential: {1000 / median(rt):,.0f} runs/s"
    )
    print()
    return {
        "p50": percentile(rt, 50),
        "p95": percentile(rt, 95),
        "p99": percentile(rt, 99),
        "inside": percentile(inside, 50),
        "rest": percentile(rest, 50),
        "floor": percentile(floor, 50),
        "rounds": round_p50,
    }


# --------------------------------------------------------------------------------------------------
# 2. loop-heavy snippet
# --------------------------------------------------------------------------------------------------


async def part_loop(pool: WorkerPool, n: int, rounds: int) -> dict[str, Any]:
    inputs = {"n": n}
    plain_code = compile(LOOP, W.SNIPPET, "exec")
    rcode = restricted(LOOP)
    pcode = restricted(LOOP, PlainAttributes)
    job = {"op": "run", "id": "bench", "code": LOOP, "inputs": inputs, "limits": msgspec.to_builtins(HEAVY_LIMITS),
           "capabilities": {}}  # fmt: skip
    channel: Any = NoChannel()
    expected = timed_exec(plain_code, plain_globals(dict(inputs)))[1]

    def run_b() -> tuple[float, Any]:
        t0 = time.perf_counter()
        answer = W.run_snippet(dict(job), channel)
        took = time.perf_counter() - t0
        if not answer["ok"]:
            raise SystemExit(f"run_snippet failed: {answer['error']}")
        return took, answer["result"]

    variants: dict[str, Callable[[], Any]] = {
        "a": lambda: timed_exec(plain_code, plain_globals(dict(inputs))),
        "b": run_b,
        "c": lambda: pool.run(LOOP, inputs, HEAVY_LIMITS),
        "stock": lambda: timed_exec(rcode, worker_globals(dict(inputs), _getattr_=safer_getattr)),
        "floor": lambda: timed_exec(rcode, worker_globals(dict(inputs), **FLOOR)),
        "fast": lambda: timed_exec(rcode, worker_globals(dict(inputs), **FAST)),
        "plainattr": lambda: timed_exec(pcode, worker_globals(dict(inputs), **FAST)),
    }
    # warm: compile caches of both workers (FIFO idle queue: two runs reach both), this process's cache
    for _ in range(2):
        r = await pool.run(LOOP, inputs, HEAVY_LIMITS)
        if not r.ok:
            raise SystemExit(f"pool run failed: {r.error}")
    run_b()
    secs: dict[str, list[float]] = {k: [] for k in (*variants, "c_rt")}
    for rnd in range(rounds):
        order = list(variants) if rnd % 2 == 0 else list(reversed(variants))
        for name in order:
            gc.collect()
            if name == "c":
                t0 = time.perf_counter()
                r = await variants["c"]()
                rt = time.perf_counter() - t0
                if not r.ok or r.result != expected:
                    raise SystemExit(f"pool result differs: {r.result} vs {expected} ({r.error})")
                secs["c"].append(r.usage.wall_ms / 1000)
                secs["c_rt"].append(rt)
            else:
                took, got = variants[name]()
                if got != expected:
                    raise SystemExit(f"variant {name}: result {got} differs from plain Python's {expected}")
                secs[name].append(took)
    labels = {
        "a": "(a) plain Python exec, normal builtins",
        "b": "(b) run_snippet in process: worker's guards, no IPC",
        "c": "(c) pool, inside the worker (usage.wall_ms)",
        "c_rt": "(c) pool, round trip",
        "stock": "ref: (b)'s globals with RestrictedPython's safer_getattr",
        "floor": "ref: transformation floor (no-check builtins as guards)",
        "fast": "what-if 1: same policy, cheaper guards (prototype)",
        "plainattr": "what-if 2: plain literal attribute reads and name `+=`, + what-if 1",
    }
    print("## 2. Loop-heavy snippet: guards vs plain Python")
    print(
        f"{n:,} inner iterations (3 attribute reads + 1 method lookup on a snippet-class instance, arithmetic, "
        f"`+=`, list append, dict item write; a comprehension and a method call per 1,000), {rounds} rounds, "
        f"variants interleaved, order reversed every round; each result checked equal to plain Python's. "
        f"Ratio = paired per round against (a)."
    )
    print()
    ratios: dict[str, list[float]] = {}
    rows = []
    for key, label in labels.items():
        if key != "a":
            ratios[key] = [x / a for x, a in zip(secs[key], secs["a"], strict=True)]
        rows.append([
            label,
            fmt(median(secs[key]) * 1000, 1),
            f"{min(secs[key]) * 1000:,.0f}-{max(secs[key]) * 1000:,.0f}",
            fmt(median(secs[key]) / n * 1e9, 0),
            "1.00" if key == "a" else f"{median(ratios[key]):.2f}x",
            "" if key == "a" else " ".join(f"{x:.2f}" for x in ratios[key]),
        ])  # fmt: skip
    table(["variant", "median ms", "range ms", "ns/iteration", "vs (a)", "per-round ratios"], rows)
    return {"ratios": ratios, "secs": secs}


MICRO_SETUP = """\
class P:
    def __init__(self):
        self.x = 1


p = P()
out = []
d = {3: 0}
k = 3
pairs = [(1, 2)] * inputs["n"]
ten = list(range(10))
acc = []
t = 0
"""

MICRO: list[tuple[str, str, str, int]] = [
    # (construct, guard it goes through, loop body, divisor of n)
    ("attribute read `v = p.x` (snippet instance)", "_getattr_", "for i in range(n):\n    v = p.x\n", 1),
    ("method lookup + call `out.append(i)`", "_getattr_", "for i in range(n):\n    out.append(i)\n", 1),
    ("dict item write `d[k] = i`", "_write_", "for i in range(n):\n    d[k] = i\n", 1),
    ("attribute write `p.x = i` (snippet instance)", "_write_", "for i in range(n):\n    p.x = i\n", 1),
    ("item read `v = d[k]`", "_getitem_", "for i in range(n):\n    v = d[k]\n", 1),
    ("`t += i` on a name", "_inplacevar_", "for i in range(n):\n    t += i\n", 1),
    ("`for a, b in pairs` (per item)", "_iter_unpack_sequence_", "for a, b in pairs:\n    pass\n", 1),
    (
        "comprehension over 10 items (per comprehension)",
        "_getiter_",
        "for i in range(n):\n    s = [q for q in ten]\n",
        1,
    ),
    ("`acc += [i]` on a list, n/10 items (per item)", "_inplacevar_", "for i in range(n):\n    acc += [i]\n", 10),
]


def part_micro(n: int, rounds: int) -> None:
    print("### 2b. Each guard on its own")
    print(
        f"One construct per loop, {n:,} iterations (the last row {n // 10:,}), plain Python vs the worker's globals "
        f"in process, {rounds} rounds interleaved (plain, worker, what-if 1, what-if 2; order reversed every "
        f"round); extra = (variant - plain) / iterations, the loop itself is in both."
    )
    print()
    rows = []
    for label, guard, body, div in MICRO:
        m = max(1, n // div)
        src = MICRO_SETUP + f"n = {m}\n" + body + "result = 0\n"
        steps: list[tuple[str, Any, Callable[[], dict[str, Any]]]] = [
            ("plain", compile(src, W.SNIPPET, "exec"), lambda m=m: plain_globals({"n": m})),
            ("worker", restricted(src), lambda m=m: worker_globals({"n": m})),
            ("fast", restricted(src), lambda m=m: worker_globals({"n": m}, **FAST)),
            ("plainattr", restricted(src, PlainAttributes), lambda m=m: worker_globals({"n": m}, **FAST)),
        ]
        got: dict[str, list[float]] = {name: [] for name, _, _ in steps}
        for rnd in range(rounds):
            for name, code, glb in steps if rnd % 2 == 0 else reversed(steps):
                got[name].append(timed_exec(code, glb())[0])

        base = got["plain"]
        extra = {
            name: fmt(median([(v - p) / m * 1e9 for p, v in zip(base, got[name], strict=True)]), 0)
            for name in ("worker", "fast", "plainattr")
        }
        ratio = median([g / p for p, g in zip(base, got["worker"], strict=True)])
        rows.append([label, guard, fmt(median(base) / m * 1e9, 0), fmt(median(got["worker"]) / m * 1e9, 0),
                     extra["worker"], f"{ratio:.2f}x", extra["fast"], extra["plainattr"]])  # fmt: skip
    print(check_probes())
    print()
    table(["construct", "guard", "plain ns/op", "worker ns/op", "extra ns/op", "ratio", "what-if 1 extra",
           "what-if 2 extra"], rows)  # fmt: skip


def profile_b(n: int) -> str:
    code = restricted(LOOP)
    prof = cProfile.Profile()
    prof.enable()
    exec(code, worker_globals({"n": n}))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(10)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join([lines[0], *lines[start:]])


# --------------------------------------------------------------------------------------------------
# 3. concurrency
# --------------------------------------------------------------------------------------------------


def expected_concurrent(n: int) -> dict[str, int]:
    acc = 0
    for i in range(200):
        acc += (i * n) % 7
    return {"n": n, "double": n * 2, "acc": acc}


async def burst(pool: WorkerPool, count: int, base: int) -> dict[str, Any]:
    replaced0, pids0 = pool.replaced, pool.pids
    done: list[float] = [0.0] * count
    t0 = time.perf_counter()

    async def one(i: int) -> Any:
        r = await pool.run(CONCURRENT, {"n": base + i})
        done[i] = (time.perf_counter() - t0) * 1000
        return r

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    wall = time.perf_counter() - t0
    wrong = sum(
        1 for i, r in enumerate(results)
        if isinstance(r, BaseException) or not r.ok or r.result != expected_concurrent(base + i)
    )  # fmt: skip
    return {
        "wall": wall,
        "latency": done,
        "wrong": wrong,
        "completed": sum(1 for r in results if not isinstance(r, BaseException) and r.ok),
        "replaced": pool.replaced - replaced0,
        "same_pids": pool.pids == pids0,
    }


async def part_concurrent(count: int, rounds: int, sizes: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    pools = {size: WorkerPool(size) for size in sizes}
    await asyncio.gather(*(p.start() for p in pools.values()))
    got: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    try:
        for pool in pools.values():  # warm every worker's code cache
            await asyncio.gather(*(pool.run(CONCURRENT, {"n": i}) for i in range(pool.size * 4)))
        for rnd in range(rounds):
            order = list(sizes) if rnd % 2 == 0 else list(reversed(sizes))
            for size in order:
                gc.collect()
                got[size].append(await burst(pools[size], count, base=1_000_000 * (rnd + 1) + 1000 * size))
    finally:
        await asyncio.gather(*(p.stop() for p in pools.values()))
    print(f"## 3. {count} concurrent runs")
    print(
        f"`asyncio.gather` of {count} `pool.run` calls, inputs n = distinct per call, each result checked against "
        f"its own input; {rounds} rounds per pool size, interleaved, order reversed every round. Latency = from "
        f"the gather's start to that call's return (queueing included). Snippet: a 200-iteration guarded loop."
    )
    print()
    rows = []
    out: dict[int, dict[str, Any]] = {}
    for size in sizes:
        runs = got[size]
        lat = [x for r in runs for x in r["latency"]]
        walls = [r["wall"] for r in runs]
        wrong = sum(r["wrong"] for r in runs)
        completed = sum(r["completed"] for r in runs)
        replaced = sum(r["replaced"] for r in runs)
        same = all(r["same_pids"] for r in runs)
        out[size] = {"wall": median(walls), "wrong": wrong, "completed": completed, "total": count * rounds,
                     "replaced": replaced, "same": same, "p50": percentile(lat, 50), "p95": percentile(lat, 95),
                     "p99": percentile(lat, 99), "thr": count / median(walls)}  # fmt: skip
        rows.append([
            f"WorkerPool({size})",
            f"{completed}/{count * rounds}",
            str(wrong),
            f"{replaced} ({'same pids' if same else 'pids changed'})",
            fmt(median(walls) * 1000, 1) + " (" + " ".join(f"{w * 1000:.0f}" for w in walls) + ")",
            f"{count / median(walls):,.0f}",
            f"{percentile(lat, 50):.1f} / {percentile(lat, 95):.1f} / {percentile(lat, 99):.1f}",
        ])  # fmt: skip
    table(["pool", "ok", "wrong/lost", "replaced", "wall ms median (per round)", "runs/s", "latency p50/p95/p99 ms"],
          rows)  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------------
# 4. start-up and replacement
# --------------------------------------------------------------------------------------------------


async def wait_full(pool: WorkerPool, limit: float = 30.0) -> float:
    t0 = time.perf_counter()
    while len(pool.pids) < pool.size:
        if time.perf_counter() - t0 > limit:
            raise SystemExit("the pool did not get back to its size")
        await asyncio.sleep(0.001)
    return (time.perf_counter() - t0) * 1000


async def part_startup(samples: int) -> dict[str, Any]:
    cold1: list[float] = []
    cold2: list[float] = []
    first: list[float] = []
    for i in range(samples):
        for size in (1, 2) if i % 2 == 0 else (2, 1):
            pool = WorkerPool(size)
            t0 = time.perf_counter()
            await pool.start()
            (cold1 if size == 1 else cold2).append((time.perf_counter() - t0) * 1000)
            if size == 1:
                r = await pool.run(TRIVIAL)
                assert r.ok
                first.append(r.usage.total_ms)
            await pool.stop()
    overrun: list[tuple[float, float]] = []
    outside: list[str] = []
    outside_back: list[float] = []
    pool = WorkerPool(2)
    await pool.start()
    try:
        for _ in range(samples):
            r = await pool.run("while True:\n    pass\n", limits=Limits(wall_seconds=0.1))
            assert not r.ok and r.error is not None and r.error.limit == "wall_seconds", r
            back = await wait_full(pool)
            r2 = await pool.run(TRIVIAL)
            assert r2.ok
            overrun.append((back, r.usage.total_ms))
        for _ in range(max(1, samples // 2)):
            os.kill(pool.pids[0], signal.SIGKILL)  # a worker of this pool, started by this script
            await asyncio.sleep(0.02)
            outcome = "no run hit the dead worker"
            for _try in range(pool.size + 1):
                before = pool.replaced
                try:
                    r = await pool.run(TRIVIAL)
                    if not r.ok:
                        outcome = f"result ok=False, kind={r.error.kind if r.error else None}"
                except Exception as exc:
                    outcome = f"raised {type(exc).__name__}: {exc}"
                if pool.replaced > before:
                    break
            outside.append(outcome)
            outside_back.append(await wait_full(pool))
        replaced = pool.replaced
    finally:
        await pool.stop()
    print("## 4. Start-up and replacement")
    rows = [
        ["cold start, WorkerPool(1).start(): spawn to ready", fmt(median(cold1), 1),
         f"{min(cold1):.1f}-{max(cold1):.1f}", str(len(cold1))],
        ["cold start, WorkerPool(2).start() (two spawns at once)", fmt(median(cold2), 1),
         f"{min(cold2):.1f}-{max(cold2):.1f}", str(len(cold2))],
        ["first run on a fresh worker (usage.total_ms, compile not cached)", fmt(median(first), 2),
         f"{min(first):.2f}-{max(first):.2f}", str(len(first))],
        ["wall-clock overrun (wall_seconds=0.1): run returned after", fmt(median([o[1] for o in overrun]), 1),
         f"{min(o[1] for o in overrun):.1f}-{max(o[1] for o in overrun):.1f}", str(len(overrun))],
        ["  then pool back to 2 live workers after", fmt(median([o[0] for o in overrun]), 1),
         f"{min(o[0] for o in overrun):.1f}-{max(o[0] for o in overrun):.1f}", str(len(overrun))],
        ["idle worker SIGKILLed from outside: pool back to 2 after the failed run", fmt(median(outside_back), 1),
         f"{min(outside_back):.1f}-{max(outside_back):.1f}", str(len(outside_back))],
    ]  # fmt: skip
    table(["what", "median ms", "range ms", "samples"], rows)
    print(
        f"replaced in this part: {replaced}; the next caller after an outside SIGKILL: "
        + "; ".join(sorted(set(outside)))
    )
    print()
    return {
        "cold1": median(cold1),
        "cold2": median(cold2),
        "first": median(first),
        "back": median([o[0] for o in overrun]),
        "outside": sorted(set(outside)),
        "outside_back": median(outside_back),
    }


# --------------------------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000, help="sequential trivial runs (part 1)")
    parser.add_argument("--iterations", type=int, default=1_000_000, help="inner iterations of the loop snippet")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of part 2")
    parser.add_argument("--micro", type=int, default=200_000, help="iterations per construct (part 2b)")
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--concurrent-rounds", type=int, default=3)
    parser.add_argument("--startup-samples", type=int, default=6)
    parser.add_argument("--profile", action="store_true", help="cProfile of (b) even if the goal is met")
    args = parser.parse_args()
    header("bench/sandbox.py: warm-pool round trip, guards vs plain Python, concurrency, start-up")
    began = time.perf_counter()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()

    async with WorkerPool(2) as pool:
        replaced0 = pool.replaced
        rt = await part_roundtrip(pool, args.runs, rounds=4)
        loop = await part_loop(pool, args.iterations, args.rounds)
        replaced_seq = pool.replaced - replaced0
    part_micro(args.micro, rounds=3)
    b_ratio = median(loop["ratios"]["b"])
    c_ratio = median(loop["ratios"]["c"])
    if args.profile or b_ratio > GOAL_RATIO or c_ratio > GOAL_RATIO:
        print(f"### 2c. cProfile of (b), {args.iterations // 5:,} iterations, own time (profiler inflates calls)")
        print("```")
        print(profile_b(args.iterations // 5))
        print("```")
        print()
    conc = await part_concurrent(args.concurrent, args.concurrent_rounds, sizes=(2, 4))
    start = await part_startup(args.startup_samples)

    r = loop["ratios"]
    c2, c4 = conc[2], conc[4]
    print("## Figures vs goals")
    table(
        ["figure", "measured", "goal", "verdict"],
        [
            ["(1) round trip `result = 1 + 1`, warm pool of 2: median (p95 / p99)",
             f"{rt['p50']:.3f} ms ({rt['p95']:.3f} / {rt['p99']:.3f})", f"< {GOAL_RT_MS:g} ms median",
             verdict(rt["p50"] < GOAL_RT_MS)],
            ["(1) of which inside the worker / IPC + supervisor (medians); floor",
             f"{rt['inside']:.3f} / {rt['rest']:.3f} ms; {rt['floor']:.3f} ms", "-", "-"],
            ["(2) (b) worker's guards in process / plain Python (median of paired)",
             f"{median(r['b']):.2f}x ({' '.join(f'{x:.2f}' for x in r['b'])})", f"<= {GOAL_RATIO}x",
             verdict(median(r["b"]) <= GOAL_RATIO)],
            ["(2) (c) pool, usage.wall_ms / plain Python",
             f"{median(r['c']):.2f}x ({' '.join(f'{x:.2f}' for x in r['c'])})", f"<= {GOAL_RATIO}x",
             verdict(median(r["c"]) <= GOAL_RATIO)],
            ["(2) (c) pool, round trip / plain Python", f"{median(r['c_rt']):.2f}x", "information", "-"],
            ["(2) ref: RestrictedPython safer_getattr / transformation floor",
             f"{median(r['stock']):.2f}x / {median(r['floor']):.2f}x", "(1.8x measured before)", "-"],
            ["(2) what-if: cheaper guards, same policy / plain literal attributes",
             f"{median(r['fast']):.2f}x / {median(r['plainattr']):.2f}x", f"<= {GOAL_RATIO}x", "-"],
            [f"(3) {args.concurrent} concurrent, WorkerPool(2): correct; replaced",
             f"{c2['completed'] - c2['wrong']}/{c2['total']}; {c2['replaced']}", "all; 0",
             verdict(c2["wrong"] == 0 and c2["completed"] == c2["total"] and c2["replaced"] == 0)],
            [f"(3) {args.concurrent} concurrent, WorkerPool(2): wall, runs/s, p50/p95/p99",
             f"{c2['wall'] * 1000:.0f} ms, {c2['thr']:,.0f}/s, {c2['p50']:.1f}/{c2['p95']:.1f}/{c2['p99']:.1f} ms",
             "-", "-"],
            [f"(3) {args.concurrent} concurrent, WorkerPool(4): correct; replaced",
             f"{c4['completed'] - c4['wrong']}/{c4['total']}; {c4['replaced']}", "all; 0",
             verdict(c4["wrong"] == 0 and c4["completed"] == c4["total"] and c4["replaced"] == 0)],
            [f"(3) {args.concurrent} concurrent, WorkerPool(4): wall, runs/s, p50/p95/p99",
             f"{c4['wall'] * 1000:.0f} ms, {c4['thr']:,.0f}/s, {c4['p50']:.1f}/{c4['p95']:.1f}/{c4['p99']:.1f} ms",
             "-", "-"],
            ["(1)+(2) workers replaced, sequential parts", str(replaced_seq), "0", verdict(replaced_seq == 0)],
            ["(4) cold start: 1 worker / pool of 2; first run on it",
             f"{start['cold1']:.1f} / {start['cold2']:.1f} ms; {start['first']:.2f} ms", "information", "-"],
            ["(4) replacement after a wall-clock kill (back to size)", f"{start['back']:.1f} ms", "information", "-"],
        ],
    )  # fmt: skip
    print(f"total time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
