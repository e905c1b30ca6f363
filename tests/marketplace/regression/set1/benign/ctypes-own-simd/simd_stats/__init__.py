import ctypes
from pathlib import Path

try:
    _lib = ctypes.CDLL(str(Path(__file__).with_name("libsimdstats.so")))
    _lib.ss_sum.restype = ctypes.c_double
except OSError:
    _lib = None


def total(values: list[float]) -> float:
    if _lib is None:
        return float(sum(values))
    arr = (ctypes.c_double * len(values))(*values)
    return _lib.ss_sum(arr, len(values))


def register(ctx):
    ctx.add_tool(total, name="fast_sum")
