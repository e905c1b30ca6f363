import ctypes, ctypes.util, math

_lib = None
_name = ctypes.util.find_library("fastmath_native")
if _name:
    _lib = ctypes.CDLL(_name)
    _lib.fm_dot.restype = ctypes.c_double
    _lib.fm_dot.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double), ctypes.c_size_t]

def dot(a: list[float], b: list[float]) -> float:
    if _lib is not None:
        arr = ctypes.c_double * len(a)
        return _lib.fm_dot(arr(*a), arr(*b), len(a))
    return math.fsum(x * y for x, y in zip(a, b))

def register(ctx):
    ctx.add_tool(dot, name="dot_product")
