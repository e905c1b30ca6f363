"""Pickles shipped in the bundle: what their opcodes import decides how bad loading them is.

``pickletools.genops`` reads the opcode stream without running it; every ``GLOBAL``/``STACK_GLOBAL``
names a ``module.attribute`` the load imports and may call. Data types (numpy, pandas, sklearn,
collections, datetime, builtin containers) are opaque data; anything else (``posix.system``,
``builtins.eval``, an unknown module) is code run on load. Compressed pickles (zlib, gzip, xz, bz2:
joblib and hand-rolled caches) are unpacked first, capped.
"""

from __future__ import annotations

import ast
import bz2
import lzma
import pickletools
import re
import zlib
from typing import TYPE_CHECKING

from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Walker

__all__ = ["shipped_pickle"]

C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
_CAP = 50_000_000

_PICKLE_DATA_MODULES = re.compile(
    r"^(numpy|pandas|sklearn|scipy|collections|datetime|decimal|fractions|uuid|pathlib|copy_reg|copyreg|_codecs"
    r"|torch\._utils|torch|joblib\.numpy_pickle|__builtin__|builtins|array|enum|re|typing)(\.|$)"
)
_PICKLE_DATA_BUILTINS = frozenset(
    {"set", "frozenset", "bytearray", "complex", "slice", "range", "object"}
    | {"list", "dict", "tuple", "int", "float", "str", "bytes", "bool"}
)


def _gunzip(data: bytes) -> bytes:
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, _CAP)


def _unzlib(data: bytes) -> bytes:
    return zlib.decompressobj().decompress(data, _CAP)


def _unxz(data: bytes) -> bytes:
    return lzma.LZMADecompressor().decompress(data, _CAP)


def _unbz2(data: bytes) -> bytes:
    return bz2.BZ2Decompressor().decompress(data, _CAP)


_UNPACKERS = (_unzlib, _gunzip, _unxz, _unbz2)
"""Compressions joblib and hand-rolled caches wrap pickles in (each output capped)."""


def _pickle_globals(data: bytes) -> list[str] | None:
    """``module.name`` of every global a pickle imports, read from its opcodes (nothing runs), or
    ``None`` when the data is not a plain pickle (compressed, a zip, truncated)."""
    found: list[str] = []
    strings: list[str] = []
    try:
        for op, arg, _pos in pickletools.genops(data[:5_000_000]):
            if op.name in {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"} and isinstance(arg, str):
                strings = [*strings[-1:], arg]
            elif op.name == "GLOBAL" and isinstance(arg, str):
                found.append(arg.replace(" ", "."))
            elif op.name == "STACK_GLOBAL":
                found.append(".".join(strings[-2:]) if len(strings) >= 2 else "?")
            elif op.name == "STOP":
                return found
    except Exception:
        return None
    return found


def shipped_pickle(w: Walker, arg: ast.expr, kind: str, bare: str) -> tuple[Severity, str]:
    """How bad deserialising a file shipped in the bundle is: critical when its pickle imports code
    (``os.system``, ``builtins.eval``, anything beyond data types) or cannot be read as a plain pickle,
    medium when its opcodes import only data types (numpy arrays, sklearn estimators, sets)."""
    if kind not in {"pickle", "dill", "joblib"}:
        return C, "opaque code"
    names = [s.rsplit("/", 1)[-1] for s in w._strings(arg) if s]
    data = next((w.bundle_data[n] for n in names if n in w.bundle_data), None)
    if data is None:
        return C, "opaque code"
    imported = _pickle_globals(data)
    for unpack in _UNPACKERS:
        if imported is not None:
            break
        try:
            imported = _pickle_globals(unpack(data[:5_000_000]))
        except Exception:
            continue
    if imported is None:
        return H, "opaque data that is not a readable pickle"
    risky = [
        g
        for g in imported
        if not _PICKLE_DATA_MODULES.match(g)
        or (g.split(".")[0] in {"builtins", "__builtin__"} and g.split(".", 1)[-1] not in _PICKLE_DATA_BUILTINS)
    ]
    if risky:
        return C, f"its pickle imports {', '.join(sorted(set(risky))[:3])}: code run on load"
    return M, "a pickle of data types only (" + (", ".join(sorted(set(imported))[:3]) or "plain values") + ")"
