"""Layer 1 of the sandbox worker's policy: what sandbox code may be written, and compiling it.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading"), never imported
from the package; it imports only the standard library and RestrictedPython.

``compile_restricted`` refuses names and attributes starting with ``_``, frame/code/generator
internals, ``exec``/``eval`` calls, ``nonlocal``, ``async``, ``match``, ``try``/``except*``
(CVE-2025-22153), guard hooks as parameter names (GHSA-ffg3-p8fm-mjx2)…; code objects of snippets
up to :data:`MAX_CACHED_SOURCE` characters are cached by sha256 of the source (:func:`_compile`,
one cache per worker). On top of RestrictedPython's transformer (:class:`SandboxPolicy`):

- augmented assignment to attributes and items (``self.n += 1``, ``d[k] += 1``) is allowed and
  rewritten into the guarded write check first (``_write_``), then the guarded read
  (``_getattr_``/``_getitem_``), ``_inplacevar_`` and the guarded write, each operand evaluated
  once; augmented assignment to a *slice* is refused;
- ``super().__init__`` / ``super(C, self).__init__`` is the one ``_`` attribute a snippet may name,
  and only on a ``super(...)`` call (the guard checks again that the object is a ``super``);
- a class may define, besides RestrictedPython's ``__init__``/``__contains__``/comparisons, the
  value protocol methods in :data:`EXTRA_METHODS`; never attribute hooks, descriptors, ``__del__``,
  ``__init_subclass__``, ``__class_getitem__``, ``__instancecheck__``, ``__format__``,
  ``__enter__``/``__exit__``, ``__reduce__``, ``__new__``…;
- a literal, ordinary attribute name is read directly (:func:`_plain_read`); the rest go through
  the guard (``automatos/sandbox/guards.py``);
- a snippet nested too deeply for the compiler is a ``syntax`` error, not a crashed worker.

Sandbox code is what is compiled as :data:`SNIPPET` or ``<plugin:pkg.mod>`` (:func:`_sandbox_file`):
the CPU timer, error lines and the ``format`` guard recognise its frames and functions by that.
"""

from __future__ import annotations

import ast
import hashlib
from collections import OrderedDict
from typing import Any

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

__all__ = ["EXTRA_METHODS", "PLUGIN_FILE", "SNIPPET", "CompileFailure", "SandboxPolicy"]

EXTRA_METHODS = frozenset(
    {
        "__repr__",
        "__str__",
        "__len__",
        "__iter__",
        "__next__",
        "__getitem__",
        "__hash__",
        "__bool__",
        "__call__",
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__floordiv__",
        "__mod__",
        "__neg__",
        "__abs__",
    }
)
"""Special methods a snippet's class may define besides RestrictedPython's own allowance."""

SNIPPET = "<snippet>"
PLUGIN_FILE = "<plugin:"
"""Code of a plugin's module is compiled as ``<plugin:pkg.mod>``: sandbox code like a snippet's."""
MAX_CACHE = 256
MAX_CACHED_SOURCE = 64 * 1024
"""Characters of source above which a compiled snippet is not kept in the cache."""
_DENIED_PREFIXES = ("gi_", "ag_", "cr_", "tb_", "co_", "f_")
"""Attribute prefixes of interpreter internals (generator, coroutine, traceback, code, frame)."""

GUARDED_READS = frozenset({"format", "format_map", "mro", "register", "obj"})
"""Literal attribute names still read through ``_getattr_``: those it refuses depending on the object."""


def _plain_read(attr: str) -> bool:
    """Whether ``obj.attr`` (a literal name, read) may compile to a plain attribute read.

    The guard's run-time checks on such names are about the *value*: no module, frame, code or
    traceback object. Those are reachable only through names refused here at compile time
    (``_``-names, ``INSPECT_ATTRIBUTES``) or routed to the guard (the internals prefixes,
    :data:`GUARDED_READS`), and the views and builtins hand over no module or shared mutable object
    at any depth (``tests/sandbox/test_escapes.py`` walks them). Reading the rest directly is what
    keeps a loop under the guards within ~1.2-1.5x of plain Python (``bench/sandbox.py``); a computed
    name (``getattr(obj, name)``) always takes the full guard.
    """
    return not (
        attr.startswith("_")
        or attr.endswith("__roles__")
        or attr in INSPECT_ATTRIBUTES
        or attr.startswith(_DENIED_PREFIXES)
        or attr in GUARDED_READS
    )


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


def _is_super_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer plus the additions documented in the module docstring."""

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if allow_magic_methods and name in EXTRA_METHODS and getattr(node, "col_offset", 0) != 0:
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr == "__init__" and isinstance(node.ctx, ast.Load) and _is_super_call(node.value):
            new_node = _call("_getattr_", self.visit(node.value), ast.Constant("__init__"))
            copy_locations(new_node, node)
            return new_node
        if isinstance(node.ctx, ast.Load) and _plain_read(node.attr):
            # A literal, ordinary name: read directly (see _plain_read); the object is still visited.
            node.value = self.visit(node.value)
            return node
        return super().visit_Attribute(node)

    def _refuse_attribute(self, node: ast.AST, attr: str) -> bool:
        if attr.startswith("_") or attr.endswith("__roles__") or attr in INSPECT_ATTRIBUTES:
            self.error(node, f'"{attr}" is an invalid attribute name.')
            return True
        return False

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if isinstance(target, ast.Name):
            # ``n += 1`` rebinds a name of the snippet's own: nothing outside it is written
            self.check_name(node, target.id)
            node.value = self.visit(node.value)
            return node
        if not isinstance(target, ast.Attribute | ast.Subscript):
            return super().visit_AugAssign(node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        holder = self.gen_tmp_name()
        names = [holder]
        # the object is checked as writable first: nothing is read or changed in place on one that is not
        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(holder, ast.Store())], value=_call("_write_", self.visit(target.value)))
        ]
        if isinstance(target, ast.Attribute):
            if self._refuse_attribute(node, target.attr):
                return node
            current: ast.expr = _call("_getattr_", ast.Name(holder, ast.Load()), ast.Constant(target.attr))
            store: ast.expr = ast.Attribute(
                value=_call("_write_", ast.Name(holder, ast.Load())), attr=target.attr, ctx=ast.Store()
            )
        else:
            key = target.slice
            if isinstance(key, ast.Slice) or (
                isinstance(key, ast.Tuple) and any(isinstance(e, ast.Slice) for e in key.elts)
            ):
                self.error(node, "Augmented assignment of slices is not allowed.")
                return node
            index = self.gen_tmp_name()
            names.append(index)
            statements.append(ast.Assign(targets=[ast.Name(index, ast.Store())], value=self.visit(key)))
            current = _call("_getitem_", ast.Name(holder, ast.Load()), ast.Name(index, ast.Load()))
            store = ast.Subscript(
                value=_call("_write_", ast.Name(holder, ast.Load())), slice=ast.Name(index, ast.Load()), ctx=ast.Store()
            )
        update = ast.Assign(targets=[store], value=_call("_inplacevar_", op, current, self.visit(node.value)))
        cleanup = ast.Delete(targets=[ast.Name(name, ast.Del()) for name in names])
        statements.append(ast.Try(body=[update], handlers=[], orelse=[], finalbody=[cleanup]))
        for statement in statements:
            ast.copy_location(statement, node)
            ast.fix_missing_locations(statement)
        return statements


def _sandbox_file(filename: str) -> bool:
    """Whether code compiled as ``filename`` is the sandbox's (a snippet's or a plugin module's)."""
    return filename == SNIPPET or filename.startswith(PLUGIN_FILE)


_CODE_CACHE: OrderedDict[str, Any] = OrderedDict()
"""Compiled code objects by sha256 of the source (and a plugin module's name), least recently used first."""


class CompileFailure(Exception):
    """The code does not compile: ``kind`` is ``syntax`` or ``policy`` (a construct the policy refuses)."""

    def __init__(self, kind: str, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.kind, self.message, self.line, self.column = kind, message, line, column


def _compile(code: str, filename: str = SNIPPET) -> Any:
    """The code object of ``code`` under :class:`SandboxPolicy`; :class:`CompileFailure` when it does not compile."""
    digest = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
    if filename != SNIPPET:  # a plugin's module: its name is part of the code object
        digest = f"{filename}:{digest}"
    cached = _CODE_CACHE.get(digest)
    if cached is not None:
        _CODE_CACHE.move_to_end(digest)
        return cached
    try:
        compile(code, filename, "exec", dont_inherit=True)  # plain syntax first: exact line and column
    except SyntaxError as exc:
        raise CompileFailure("syntax", f"{type(exc).__name__}: {exc.msg}", exc.lineno, exc.offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise CompileFailure("syntax", f"{type(exc).__name__}: {exc}", None, None) from None
    try:
        result = compile_restricted_exec(code, filename, policy=SandboxPolicy)
    except (RecursionError, MemoryError) as exc:
        raise CompileFailure("syntax", f"{type(exc).__name__}: the snippet is nested too deeply", None, None) from None
    if result.errors:
        first = result.errors[0]
        line = None
        if first.startswith("Line "):
            head = first[5:].split(":", 1)[0]
            line = int(head) if head.isdigit() else None
        raise CompileFailure("policy", "; ".join(result.errors), line, None)
    if len(code) <= MAX_CACHED_SOURCE:  # a flood of huge snippets cannot grow the worker for good
        _CODE_CACHE[digest] = result.code
    if len(_CODE_CACHE) > MAX_CACHE:
        _CODE_CACHE.popitem(last=False)
    return result.code
