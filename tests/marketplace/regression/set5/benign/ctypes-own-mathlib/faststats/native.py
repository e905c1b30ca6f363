import ctypes
import ctypes.util
from pathlib import Path

def _lib():
    here = Path(__file__).parent / "libfaststats.so"
    name = str(here) if here.exists() else ctypes.util.find_library("faststats")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.fs_mean.argtypes = (ctypes.POINTER(ctypes.c_double), ctypes.c_size_t)
    lib.fs_mean.restype = ctypes.c_double
    return lib

_LIB = _lib()

def mean(values: list) -> float:
    if _LIB is None:
        return sum(values) / len(values)
    arr = (ctypes.c_double * len(values))(*values)
    return _LIB.fs_mean(arr, len(values))
