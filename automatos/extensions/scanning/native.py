"""Native code: ctypes/cffi library loads (libc, system DLLs, planted DLLs, own libraries) and shellcode calls."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from automatos.extensions.scanning.flows import last
from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx, Walker

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

__all__ = ["native_call"]

_LIBC = re.compile(
    r"^(c|libc(\.so(\.\d+)?)?|msvcrt|kernel32|ntdll|user32|advapi32|libSystem(\.B)?\.dylib|libdl.*)$|/libc\.so", re.I
)

_LOADERS = (
    "ctypes.CDLL",
    "ctypes.cdll.LoadLibrary",
    "ctypes.WinDLL",
    "ctypes.PyDLL",
    "ctypes.OleDLL",
    "ctypes.windll.LoadLibrary",
    "cffi.FFI().dlopen",
    "ctypes.LibraryLoader",
)


def native_call(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    line = node.lineno
    parts = set(name.replace("()", "").split("."))
    if parts & P_SHELLCODE or (
        name.startswith("mmap.mmap")
        and any("PROT_EXEC" in ast.unparse(a) for a in node.args + [k.value for k in node.keywords])
    ):
        w._hit("native-code", C, f"shellcode pattern: {name}", line, ctx)
        return
    if name.startswith("ctypes.") and last(name) in {"system", "execv", "execve", "popen", "fork", "execl"}:
        w._hit("process-spawn", C, f"starts a process through native code ({name})", line, ctx)
        return
    if name.startswith(_LOADERS) and name.count("()") == (1 if "FFI()" in name else 0):
        lib = w.facts.folder.text(node.args[0]) if node.args else None
        if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is None:
            lib = "c"
        inner = node.args[0] if node.args else None
        if isinstance(inner, ast.Call) and w.facts.resolve(inner.func).name == "ctypes.util.find_library":
            lib = w.facts.folder.text(inner.args[0]) if inner.args else None
        if lib is None and _planted(w, node.args[0] if node.args else None):
            w._hit(
                "native-code", H, f"loads a native library from a temporary or user-writable place ({name})", line, ctx
            )
        elif lib is None:
            w._hit("native-code", M, f"loads a native library computed at run time ({name})", line, ctx)
        elif _LIBC_RE(lib):
            w._hit("native-code", H, f"loads the system C library or a system DLL ({lib})", line, ctx)
        elif lib.rsplit("/", 1)[-1] in w.bundle_files or _MATHS.match(lib.rsplit("/", 1)[-1]):
            w._hit("native-code", L, f"loads its own native library {lib}", line, ctx)
        else:
            w._hit("native-code", M, f"loads native library {lib}", line, ctx)
    elif name.startswith("ctypes.windll.") or name.startswith("ctypes.cdll."):
        w._hit("native-code", H, f"calls a system DLL function ({name})", line, ctx)


def _planted(w: Walker, expr: ast.expr | None) -> bool:
    """A library path under a temporary directory (or one built from temp/app-data variables)."""
    if expr is None:
        return False
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and w.facts.resolve(node.func).name.startswith("tempfile."):
            return True
    return any(
        re.search(r"(^|[/\\])(tmp|temp)([/\\]|$)|^(TEMP|TMP|TMPDIR|APPDATA|LOCALAPPDATA)$", t, re.I)
        for t in w._strings(expr)
    )


_MATHS = re.compile(
    r"^(lib)?(m|gomp|openblas|blas|cblas|lapack|fftw3f?|gmp|mpfr|quadmath|gfortran)(\.so[.\d]*|\.dylib|\.dll)?$"
)


def _LIBC_RE(lib: str) -> bool:

    return bool(_LIBC.search(lib.rsplit("/", 1)[-1])) or "libc" in lib


P_SHELLCODE = frozenset(
    {
        "VirtualAlloc",
        "VirtualProtect",
        "CreateThread",
        "RtlMoveMemory",
        "WriteProcessMemory",
        "CreateRemoteThread",
        "mprotect",
        "VirtualAllocEx",
        "NtAllocateVirtualMemory",
        "ReadProcessMemory",
        "MiniDumpWriteDump",
    }
)
