"""Constant folding: recover the strings and bytes a module builds from literals.

Attackers hide names and payloads behind concatenation, ``"".join``, ``chr`` codes, reversal,
hex, base64/32/85, zlib and ``codecs``; :class:`Folder` evaluates those expressions over literals
(and over names assigned once, through the ``lookup`` it is given) without running anything.
``hidden`` tells whether the value needed more than reading a literal, which is what turns "calls
``os.system``" into "hides a call to ``os.system``". Sizes are capped and depth is bounded, so a
huge or deeply nested literal costs little.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import gzip
import lzma
import os.path
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_SIZE", "NO", "Folded", "Folder"]

MAX_SIZE = 2_000_000
"""Largest folded value (characters or bytes); larger results are not folded."""
_MAX_DEPTH = 40
NO: Any = object()
"""The expression does not fold."""

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "base64.b64decode": base64.b64decode,
    "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "base64.decodebytes": base64.decodebytes,
    "base64.decodestring": base64.decodebytes,
    "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode,
    "base64.b85decode": base64.b85decode,
    "base64.a85decode": base64.a85decode,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_hex": binascii.a2b_hex,
    "binascii.a2b_base64": binascii.a2b_base64,
    "bytes.fromhex": bytes.fromhex,
    "bytearray.fromhex": lambda s: bytes(bytearray.fromhex(s)),
    "zlib.decompress": zlib.decompress,
    "gzip.decompress": gzip.decompress,
    "bz2.decompress": bz2.decompress,
    "lzma.decompress": lzma.decompress,
}
_STR_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold"}


@dataclass(frozen=True)
class Folded:
    value: Any
    hidden: bool
    """True when recovering the value took more than reading one literal (built or decoded)."""
    decoded: bool
    """True when a decoder (base64, hex, zlib, codecs, chr codes) was applied."""


def _small(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple) and len(value) > MAX_SIZE:
        return NO
    return value


def _codec(data: Any, encoding: str) -> Any:
    enc = encoding.lower().replace("-", "_")
    if enc in {"rot13", "rot_13"} and isinstance(data, str):
        return codecs.decode(data, "rot13")
    if enc in {"hex", "hex_codec"}:
        return binascii.unhexlify(data)
    if enc in {"base64", "base_64", "base64_codec"}:
        return base64.b64decode(data)
    if enc in {"zlib", "zlib_codec"}:
        return zlib.decompress(data)
    if enc in {"bz2", "bz2_codec"}:
        return bz2.decompress(data)
    if isinstance(data, bytes):
        try:
            return data.decode(encoding)
        except LookupError:
            return NO
    return NO


def _codec_name(encoding: str) -> str:
    """The codec a name means; a name Python does not know that is another's rot13 (``"ebg13"``)
    is that codec, disguised."""
    try:
        codecs.lookup(encoding)
        return encoding
    except LookupError:
        hidden = codecs.decode(encoding, "rot13")
        try:
            codecs.lookup(hidden)
        except LookupError:
            return encoding
        return hidden


class Folder:
    """Folds expressions of one module; ``resolve`` names callees, ``lookup`` binds names."""

    def __init__(
        self,
        resolve: Callable[[ast.expr], str],
        lookup: Callable[[str, ast.AST], ast.expr | None],
        function: Callable[[str], tuple[ast.arguments, ast.expr] | None] | None = None,
    ):
        self.resolve = resolve
        self.lookup = lookup
        self.function = function
        """Name -> (parameters, returned expression) of a module's one-expression helpers and lambdas."""
        self._inlined = 0
        self._hidden = False
        self._decoded = False
        self._bound: dict[str, Any] = {}

    def fold(self, node: ast.expr | None) -> Folded | None:
        if node is None:
            return None
        self._hidden = self._decoded = False
        try:
            value = self._f(node, 0)
        except RecursionError:
            return None
        if value is NO:
            return None
        return Folded(value, self._hidden, self._decoded)

    def text(self, node: ast.expr | None) -> str | None:
        folded = self.fold(node)
        if folded is None:
            return None
        value = folded.value
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value if isinstance(value, str) else None

    # -- the evaluator ---------------------------------------------------------------------------

    def _f(self, node: ast.AST, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return NO
        d = depth + 1
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str | bytes | int | float) else NO
        if isinstance(node, ast.Name):
            if node.id in self._bound:
                return self._bound[node.id]
            bound = self.lookup(node.id, node)
            return NO if bound is None else self._f(bound, d)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                part = self._f(value, d)
                if part is NO:
                    return NO
                parts.append(str(part))
            self._hidden = True
            return _small("".join(parts))
        if isinstance(node, ast.FormattedValue):
            value = self._f(node.value, d)
            if value is NO:
                return NO
            spec = self._f(node.format_spec, d) if node.format_spec is not None else ""
            return format(value, spec) if isinstance(spec, str) else NO
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self._f(e, d) for e in node.elts]
            return NO if any(i is NO for i in items) else items
        if isinstance(node, ast.Dict) and len(node.keys) <= 256:
            keys = [self._f(k, d) if k is not None else NO for k in node.keys]
            values = [self._f(v, d) for v in node.values]
            if any(x is NO or isinstance(x, list | dict) for x in keys) or any(v is NO for v in values):
                return NO
            return dict(zip(keys, values, strict=True))
        if isinstance(node, ast.BinOp):
            return self._binop(node, d)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Invert):
            operand = self._f(node.operand, d)
            if not isinstance(operand, int):
                return NO
            return (
                -operand if isinstance(node.op, ast.USub) else ~operand if isinstance(node.op, ast.Invert) else operand
            )
        if isinstance(node, ast.Subscript):
            return self._subscript(node, d)
        if isinstance(node, ast.Call):
            try:
                return self._call(node, d)
            except (ValueError, TypeError, LookupError, OverflowError, binascii.Error, zlib.error, lzma.LZMAError):
                return NO
            except OSError:
                return NO
        if isinstance(node, ast.ListComp | ast.GeneratorExp):
            return self._comprehension(node, d)
        return NO

    def _binop(self, node: ast.BinOp, d: int) -> Any:
        left, right = self._f(node.left, d), self._f(node.right, d)
        if left is NO or right is NO:
            return NO
        try:
            if isinstance(node.op, ast.Add) and type(left) is type(right):
                self._hidden = True
                return _small(left + right)
            if isinstance(node.op, ast.Mult) and isinstance(left, str | bytes | list) and isinstance(right, int):
                return _small(left * right) if len(left) * max(right, 0) <= MAX_SIZE else NO
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                self._hidden = True
                return _small(left % (tuple(right) if isinstance(right, list) else right))
            if isinstance(node.op, ast.Div) and isinstance(left, str) and isinstance(right, str):
                return left.rstrip("/") + "/" + right.lstrip("/")
            if isinstance(left, int) and isinstance(right, int) and not isinstance(node.op, ast.Pow | ast.LShift):
                ops = {ast.Sub: int.__sub__, ast.BitXor: int.__xor__, ast.Add: int.__add__, ast.Mult: int.__mul__}
                ops |= {
                    ast.BitAnd: int.__and__,
                    ast.BitOr: int.__or__,
                    ast.Mod: int.__mod__,
                    ast.RShift: int.__rshift__,
                }
                op = ops.get(type(node.op))
                return op(left, right) if op else NO
        except (TypeError, ValueError, OverflowError):
            return NO
        return NO

    def entry(self, node: ast.Subscript, depth: int = 0) -> ast.expr | None:
        """``table["k"]`` where ``table`` is bound to a dict literal: the expression stored under the
        constant key (values need not fold: ``{"run": codecs.decode, "key": "rot13"}``)."""
        base: ast.AST | None = node.value
        for _ in range(8):
            if isinstance(base, ast.Name) and base.id not in self._bound:
                base = self.lookup(base.id, base)
            elif isinstance(base, ast.Subscript) and depth < 4:
                base = self.entry(base, depth + 1)
            else:
                break
        if not isinstance(base, ast.Dict):
            return None
        key = self._f(node.slice, 0)
        if key is NO:
            return None
        for k, v in zip(base.keys, base.values, strict=True):
            if isinstance(k, ast.Constant) and k.value == key:
                return v
        return None

    def _subscript(self, node: ast.Subscript, d: int) -> Any:
        stored = self.entry(node)
        if stored is not None:
            return self._f(stored, d)
        value = self._f(node.value, d)
        if isinstance(value, dict):
            key = self._f(node.slice, d)
            return value.get(key, NO) if isinstance(key, str | int) else NO
        if value is NO or not isinstance(value, str | bytes | list):
            return NO
        sl = node.slice
        try:
            if isinstance(sl, ast.Slice):
                parts = [self._f(p, d) if p is not None else None for p in (sl.lower, sl.upper, sl.step)]
                if any(p is NO for p in parts):
                    return NO
                self._hidden = True
                return value[slice(*parts)]
            index = self._f(sl, d)
            return value[index] if isinstance(index, int) else NO
        except (IndexError, TypeError, ValueError):
            return NO

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp, d: int) -> Any:
        if len(node.generators) != 1:
            return NO
        gen = node.generators[0]
        if gen.ifs or not isinstance(gen.target, ast.Name):
            return NO
        iterable = self._f(gen.iter, d)
        if iterable is NO or not isinstance(iterable, str | bytes | list) or len(iterable) > 100_000:
            return NO
        name, saved = gen.target.id, self._bound.get(gen.target.id, NO)
        out = []
        try:
            for item in iterable:
                self._bound[name] = item
                value = self._f(node.elt, d)
                if value is NO:
                    return NO
                out.append(value)
        finally:
            if saved is NO:
                self._bound.pop(name, None)
            else:
                self._bound[name] = saved
        return out

    def _call(self, node: ast.Call, d: int) -> Any:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "map" and len(node.args) == 2:
            return self._map(node, d)
        if isinstance(func, ast.Name) and self.function is not None and func.id not in self._bound:
            helper = self.function(func.id)
            if helper is not None:
                return self._inline(helper, node, d)
        args = [self._f(a, d) for a in node.args[:3]]
        if any(a is NO for a in args) or any(isinstance(a, ast.Starred) for a in node.args):
            return NO
        if isinstance(func, ast.Attribute):
            obj = self._f(func.value, d)
            if obj is not NO:
                return self._method(obj, func.attr, args, node, d)
        name = self.resolve(func)
        if name in _DECODERS and args:
            self._hidden = self._decoded = True
            data = args[0].encode() if isinstance(args[0], str) else args[0]
            if name.endswith("fromhex"):
                data = data.decode("ascii", "replace") if isinstance(data, bytes) else data
            return _small(_DECODERS[name](bytes(data) if isinstance(data, list) else data))
        if name == "codecs.decode" and args:
            encoding = args[1] if len(args) > 1 else self._keyword(node, "encoding", d)
            if isinstance(encoding, str):
                self._hidden = self._decoded = True
                return _small(_codec(args[0], _codec_name(encoding)))
            return NO
        if name == "chr" and args and isinstance(args[0], int):
            self._hidden = self._decoded = True
            return chr(args[0])
        if name == "ord" and args and isinstance(args[0], str) and len(args[0]) == 1:
            return ord(args[0])
        if name in {"bytes", "bytearray"} and args and isinstance(args[0], list):
            self._hidden = self._decoded = True
            return bytes(args[0])
        if name in {"bytes", "bytearray"} and len(args) >= 2 and isinstance(args[0], str):
            return args[0].encode(args[1])
        if name == "str" and args and isinstance(args[0], str | int | float):
            return str(args[0])
        if name in {"list", "tuple"} and args and isinstance(args[0], str | bytes | list):
            return list(args[0])
        if name == "reversed" and args and isinstance(args[0], str | bytes | list):
            self._hidden = True
            return list(args[0])[::-1]
        if name == "map" and len(args) == 0 and len(node.args) == 2:
            return self._map(node, d)
        if name in {"os.path.join", "posixpath.join"} and args and all(isinstance(a, str) for a in args):
            return os.path.join(*[str(a) for a in self._all_args(node, d)] or [""])
        if name in {"os.path.expanduser", "os.path.expandvars", "os.path.abspath", "os.path.normpath"} and args:
            return args[0]
        if name in {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "Path"}:
            parts = self._all_args(node, d)
            return "/".join(str(p) for p in parts) if parts and all(isinstance(p, str) for p in parts) else NO
        if name in {"pathlib.Path.home", "Path.home", "os.path.expanduser", "pathlib.Path.cwd"}:
            return "~"
        return NO

    def _inline(self, helper: tuple[ast.arguments, ast.expr], node: ast.Call, d: int) -> Any:
        """Fold a call of a one-expression helper (``def rot(s): return codecs.decode(s, "rot13")``,
        ``_g = lambda *p: "".join(p)``) by folding its returned expression over the folded arguments."""
        params, body = helper
        if self._inlined >= 8:
            return NO
        values: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                spread = self._f(arg.value, d)
                if not isinstance(spread, list | str | bytes):
                    return NO
                values.extend(spread)
            else:
                value = self._f(arg, d)
                if value is NO:
                    return NO
                values.append(value)
        names = [a.arg for a in params.posonlyargs + params.args]
        binding: dict[str, Any] = dict(zip(names, values, strict=False))
        if len(values) > len(names):
            if params.vararg is None:
                return NO
            binding[params.vararg.arg] = values[len(names) :]
        elif params.vararg is not None:
            binding[params.vararg.arg] = []
        for kw in node.keywords:
            if kw.arg is None:
                return NO
            binding[kw.arg] = self._f(kw.value, d)
        missing = [n for n in names if n not in binding]
        defaults = dict(zip(names[len(names) - len(params.defaults) :], params.defaults, strict=False))
        for name in missing:
            if name not in defaults:
                return NO
            binding[name] = self._f(defaults[name], d)
        if any(v is NO for v in binding.values()):
            return NO
        saved = {name: self._bound.get(name, NO) for name in binding}
        self._bound.update(binding)
        self._inlined += 1
        try:
            return self._f(body, d)
        finally:
            self._inlined -= 1
            for name, old in saved.items():
                if old is NO:
                    self._bound.pop(name, None)
                else:
                    self._bound[name] = old

    def _all_args(self, node: ast.Call, d: int) -> list[Any]:
        values = [self._f(a, d) for a in node.args]
        return [] if any(v is NO for v in values) else values

    def _keyword(self, node: ast.Call, name: str, d: int) -> Any:
        for kw in node.keywords:
            if kw.arg == name:
                return self._f(kw.value, d)
        return NO

    def _map(self, node: ast.Call, d: int) -> Any:
        fn, iterable = node.args
        values = self._f(iterable, d)
        if not isinstance(values, list | str | bytes) or len(values) > 100_000:
            return NO
        fname = self.resolve(fn) if isinstance(fn, ast.Name | ast.Attribute) else ""
        try:
            if fname == "chr":
                self._hidden = self._decoded = True
                return [chr(v) for v in values if isinstance(v, int)]
            if fname == "ord":
                return [ord(v) for v in values if isinstance(v, str)]
            if fname == "str":
                return [str(v) for v in values]
        except (TypeError, ValueError):
            return NO
        return NO

    def _method(self, obj: Any, attr: str, args: list[Any], node: ast.Call, d: int) -> Any:
        if attr == "join" and isinstance(obj, str | bytes) and args and isinstance(args[0], list):
            self._hidden = True
            items = args[0]
            if all(isinstance(i, type(obj)) for i in items):
                return _small(obj.join(items))
            return NO
        if attr == "decode" and isinstance(obj, bytes):
            encoding = args[0] if args else self._keyword(node, "encoding", d)
            return obj.decode(encoding if isinstance(encoding, str) else "utf-8", "replace")
        if attr == "encode" and isinstance(obj, str):
            encoding = args[0] if args else "utf-8"
            return _codec(obj, encoding) if encoding in {"rot13", "rot_13"} else obj.encode("utf-8")
        if attr == "format" and isinstance(obj, str):
            kwargs = {kw.arg: self._f(kw.value, d) for kw in node.keywords if kw.arg}
            if any(v is NO for v in kwargs.values()):
                return NO
            self._hidden = True
            return _small(obj.format(*args, **kwargs))
        if attr == "replace" and isinstance(obj, str | bytes) and len(args) >= 2:
            self._hidden = True
            return _small(obj.replace(args[0], args[1]))
        if attr in _STR_METHODS and isinstance(obj, str | bytes) and not args:
            return getattr(obj, attr)()
        if attr == "hex" and isinstance(obj, bytes):
            return obj.hex()
        if attr == "split" and isinstance(obj, str):
            return obj.split(*args[:1]) if not args or isinstance(args[0], str) else NO
        return NO
