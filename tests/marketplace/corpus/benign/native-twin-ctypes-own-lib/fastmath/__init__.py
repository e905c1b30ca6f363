import ctypes
import os
import sys

_NAME = {"win32": "fastmath.dll", "darwin": "libfastmath.dylib"}.get(sys.platform, "libfastmath.so")
_PATH = os.path.join(os.path.dirname(__file__), "_native", _NAME)

try:
    _lib = ctypes.CDLL(_PATH)
    _lib.fm_dot.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double), ctypes.c_size_t]
    _lib.fm_dot.restype = ctypes.c_double
except OSError:
    _lib = None


def dot(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        raise ValueError("vectors differ in length")
    if _lib is None:
        return sum(x * y for x, y in zip(a, b))
    arr = ctypes.c_double * len(a)
    return _lib.fm_dot(arr(*a), arr(*b), len(a))


def register(ctx):
    ctx.add_tool(dot, name="dot")
