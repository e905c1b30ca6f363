import ctypes
import ctypes.util
import os
import statistics

_HERE = os.path.dirname(__file__)
_lib = None
try:
    _lib = ctypes.CDLL(os.path.join(_HERE, "libfaststats.so"))
    _lib.fs_mean.argtypes = (ctypes.POINTER(ctypes.c_double), ctypes.c_size_t)
    _lib.fs_mean.restype = ctypes.c_double
except OSError:
    _lib = None


def mean(values: list[float]) -> float:
    if _lib is None:
        return statistics.fmean(values)
    arr = (ctypes.c_double * len(values))(*values)
    return _lib.fs_mean(arr, len(values))


def register(ctx):
    ctx.tools.add("mean", mean)
