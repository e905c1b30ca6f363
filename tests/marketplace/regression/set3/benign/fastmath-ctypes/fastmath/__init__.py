import ctypes
import math
from pathlib import Path

_LIB = None
_path = Path(__file__).with_name("libfastmath.so")
if _path.exists():
    _LIB = ctypes.CDLL(str(_path))
    _LIB.fm_dot.restype = ctypes.c_double


def dot(a: list[float], b: list[float]) -> float:
    if _LIB is not None:
        n = len(a)
        arr = ctypes.c_double * n
        return _LIB.fm_dot(arr(*a), arr(*b), ctypes.c_size_t(n))
    return math.fsum(x * y for x, y in zip(a, b))


def register(ctx):
    ctx.tools.add("dot", dot)
