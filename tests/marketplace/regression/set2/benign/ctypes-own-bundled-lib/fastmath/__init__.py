import ctypes
import ctypes.util
import math
from pathlib import Path

_lib = None


def _load():
    global _lib
    here = Path(__file__).parent / "libfastmath.so"
    name = str(here) if here.exists() else ctypes.util.find_library("fastmath")
    if name:
        _lib = ctypes.CDLL(name)
        _lib.fm_dot.restype = ctypes.c_double
        _lib.fm_dot.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double), ctypes.c_size_t]


def dot(a: list[float], b: list[float]) -> float:
    if _lib is None:
        return math.fsum(x * y for x, y in zip(a, b))
    arr = ctypes.c_double * len(a)
    return _lib.fm_dot(arr(*a), arr(*b), len(a))


def register(ctx):
    _load()
    ctx.register_tool("dot", dot)
