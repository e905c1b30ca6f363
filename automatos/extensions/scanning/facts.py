"""Per-module facts: names, aliases, single assignments, and how a dotted call name is resolved.

:class:`ModuleFacts` is built once per parsed module (one pre-pass over the tree) and answers two
questions for the walker (``walker.py``): what dotted name does this callee expression stand for
(``import subprocess as sp`` → ``sp.run`` is ``subprocess.run``; ``getattr(os, "sys" + "tem")`` is
``os.system``; ``__builtins__["ev" + "al"]`` is ``eval``; a variable assigned ``socket.socket()``
makes ``s.send`` ``socket.socket().send``), and what expression a name was assigned (so folding
sees through ``cmd = "cu" + "rl"``). Whether a resolution needed folding is remembered
(``hidden``), which is what obfuscation looks like.
"""

from __future__ import annotations

import ast
import copy
import importlib
from dataclasses import dataclass, field

from automatos.extensions.scanning.fold import Folder

__all__ = ["ModuleFacts", "Resolution", "normalise"]

_BUILTIN_PREFIXES = ("builtins.", "__builtins__.", "__builtin__.", "__builtins__.__dict__.", "builtins.__dict__.")
_NAMESPACES = frozenset(
    {
        "__builtins__",
        "__builtins__.__dict__",
        "builtins.__dict__",
        "builtins",
        "globals()",
        "locals()",
        "vars()",
        "vars(builtins)",
        "sys.modules",
        "__import__(builtins).__dict__",
    }
)
_STAR_MODULES = frozenset({"os", "subprocess", "socket", "ctypes", "base64", "pickle", "marshal", "urllib.request"})


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def normalise(name: str) -> str:
    """``builtins.eval`` and ``__builtins__.exec`` are ``eval`` and ``exec``."""
    for prefix in _BUILTIN_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass
class Resolution:
    name: str
    hidden: bool = False
    """The name was recovered by folding a built string (``getattr(os, "sys" + "tem")``)."""
    indirect: bool = False
    """Reached through ``getattr``/``__import__``/a namespace lookup with a literal name."""


_LOOKUP_CALLS = frozenset({"getattr", "__import__", "importlib.import_module", "importlib.__import__"})
"""Calls a one-expression helper may wrap that look a name up (inlined over the call's arguments)."""


@dataclass
class ModuleFacts:
    """Aliases and assignments of one module, and the resolver and folder built on them."""

    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    assigns: dict[int, dict[str, list[ast.expr]]] = field(default_factory=dict)
    """scope (0 = module, else id of the function node) -> name -> assigned expressions."""
    loops: dict[str, ast.expr] = field(default_factory=dict)
    """Loop variable -> the iterable it runs over (its strings are what the variable may hold)."""
    returns: dict[str, list[ast.expr]] = field(default_factory=dict)
    """Function name -> the expressions it returns (strings a helper hands back)."""
    self_attrs: dict[str, list[ast.expr]] = field(default_factory=dict)
    """``self.<attr>`` -> values assigned to it in any method (one value: ``self.sock.send`` resolves)."""
    objects: dict[tuple[int, str], Resolution] = field(default_factory=dict)
    """(scope, name) -> resolved type of the value last bound (``socket.socket()``), flow-sensitive."""
    scope: int = 0
    folder: Folder = field(init=False)

    helpers: dict[str, tuple[ast.arguments, ast.expr]] = field(default_factory=dict)
    """Module-level one-expression functions and lambdas (name -> parameters, returned expression)."""

    def __post_init__(self) -> None:
        self.folder = Folder(lambda node: self.resolve(node).name, self._lookup, self.helpers.get)
        self._collect(self.tree, 0)
        self._helpers()

    def _helpers(self) -> None:
        defined: dict[str, int] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef):
                defined[stmt.name] = defined.get(stmt.name, 0) + 1
                body = stmt.body[1:] if _docstring(stmt.body[0]) and len(stmt.body) > 1 else stmt.body
                if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
                    self.helpers[stmt.name] = (stmt.args, body[0].value)
        for name, entries in self.assigns.get(0, {}).items():
            if len(entries) == 1 and isinstance(entries[0], ast.Lambda) and name not in defined:
                self.helpers[name] = (entries[0].args, entries[0].body)
        for name, count in defined.items():
            if count > 1 or name in self.assigns.get(0, {}):
                self.helpers.pop(name, None)

    # -- pre-pass ------------------------------------------------------------------------------------

    def _collect(self, root: ast.AST, scope: int) -> None:
        stack: list[tuple[ast.AST, int, str]] = [(root, scope, "")]
        while stack:
            node, sc, fname = stack.pop()
            for child in ast.iter_child_nodes(node):
                child_scope, child_name = sc, fname
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    child_scope = id(child)
                    child_name = child.name if not isinstance(child, ast.Lambda) else ""
                if isinstance(child, ast.Return | ast.Yield | ast.YieldFrom) and child.value is not None and fname:
                    # a generator's yields are what iterating its call hands back
                    self.returns.setdefault(fname, []).append(child.value)
                if isinstance(child, ast.Call) and isinstance(child.func, ast.Lambda):
                    # ``(lambda o, n: getattr(o, n))(os, "system")``: the parameters are bound like
                    # assignments in the scope of the call
                    params = child.func.args.posonlyargs + child.func.args.args
                    for param, arg in zip(params, child.args, strict=False):
                        if not isinstance(arg, ast.Starred):
                            self._add(sc, param.arg, arg)
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        if alias.asname:
                            self.aliases[alias.asname] = alias.name
                        else:
                            top = alias.name.split(".")[0]
                            self.aliases.setdefault(top, top)
                elif isinstance(child, ast.ImportFrom) and child.module is not None and child.level == 0:
                    for alias in child.names:
                        if alias.name == "*":
                            self.star_modules.append(child.module)
                        else:
                            self.aliases[alias.asname or alias.name] = f"{child.module}.{alias.name}"
                elif isinstance(child, ast.withitem) and isinstance(child.optional_vars, ast.Name):
                    self._add(sc, child.optional_vars.id, child.context_expr)
                elif isinstance(child, ast.Assign):
                    for target in child.targets:
                        self._bind(target, child.value, sc)
                        if isinstance(node, ast.ClassDef) and isinstance(target, ast.Name):
                            # a class attribute is what ``self.<name>`` reads in its methods
                            self.self_attrs.setdefault(target.id, []).append(child.value)
                    if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
                        self._grow(child, sc)
                elif (
                    isinstance(child, ast.AugAssign)
                    and isinstance(child.op, ast.Add)
                    and isinstance(child.target, ast.Name)
                    and isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef)
                    and len(self.assigns.get(sc, {}).get(child.target.id, [])) == 1
                ):  # straight-line ``s += "..."``: fold as ``s = <previous> + "..."``
                    entries = self.assigns[sc][child.target.id]
                    joined = ast.BinOp(left=entries[0], op=ast.Add(), right=child.value)
                    entries[0] = ast.copy_location(joined, child)
                elif isinstance(child, ast.Expr) and isinstance(
                    node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef
                ):  # straight-line ``parts.append("…")`` / ``table["k"] = "…"`` on a literal
                    self._grow(child, sc)
                elif isinstance(child, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                    if isinstance(child.target, ast.Name):
                        value = child.value if not isinstance(child, ast.AugAssign) else None
                        self._add(sc, child.target.id, value)
                elif isinstance(child, ast.For | ast.AsyncFor | ast.comprehension):
                    for name in ast.walk(child.target):
                        if isinstance(name, ast.Name):
                            self._add(sc, name.id, None)
                            self.loops[name.id] = child.iter
                stack.append((child, child_scope, child_name))

    def _grow(self, stmt: ast.Expr | ast.Assign, scope: int) -> None:
        """Fold a list or dict literal built up in straight-line code as the literal it ends as."""
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0] if len(stmt.targets) == 1 else None
            if not isinstance(target, ast.Subscript) or not isinstance(target.value, ast.Name):
                return
            entries = self.assigns.get(scope, {}).get(target.value.id)
            if not entries or len(entries) != 1 or not isinstance(entries[0], ast.Dict) or len(entries[0].keys) > 256:
                return
            table = entries[0]
            grown = ast.Dict(keys=[*table.keys, target.slice], values=[*table.values, stmt.value])
            entries[0] = ast.copy_location(grown, table)
            return
        call = stmt.value
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.attr in {"append", "extend"}
            and len(call.args) == 1
        ):
            return
        entries = self.assigns.get(scope, {}).get(call.func.value.id)
        if not entries or len(entries) != 1 or not isinstance(entries[0], ast.List) or len(entries[0].elts) > 256:
            return
        arg = call.args[0]
        if call.func.attr == "append":
            extra = [arg]
        elif isinstance(arg, ast.List | ast.Tuple):
            extra = list(arg.elts)
        else:
            return
        old_list = entries[0]
        entries[0] = ast.copy_location(ast.List(elts=[*old_list.elts, *extra], ctx=ast.Load()), old_list)

    def _bind(self, target: ast.expr, value: ast.expr, scope: int) -> None:
        if isinstance(target, ast.Name):
            self._add(scope, target.id, value)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            self.self_attrs.setdefault(target.attr, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            for i, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    same = values is not None and len(values) == len(target.elts)
                    self._add(scope, element.id, values[i] if same and values is not None else None)

    def _add(self, scope: int, name: str, value: ast.expr | None) -> None:
        entries = self.assigns.setdefault(scope, {}).setdefault(name, [])
        entries.append(value if value is not None else ast.Constant(value=None))
        if value is None:
            entries.append(ast.Constant(value=None))  # never single

    def bound(self, name: str) -> ast.expr | None:
        """The one expression ``name`` was assigned in the current scope, else in the module."""
        for scope in (self.scope, 0) if self.scope else (0,):
            entries = self.assigns.get(scope, {}).get(name)
            if entries is not None:
                return entries[0] if len(entries) == 1 else None
        return None

    def _lookup(self, name: str, node: ast.AST) -> ast.expr | None:
        return self.bound(name)

    # -- resolution ------------------------------------------------------------------------------

    def resolve(self, node: ast.expr, depth: int = 0) -> Resolution:
        if depth > 20:
            return Resolution("")
        try:
            return self._resolve(node, depth + 1)
        except RecursionError:
            return Resolution("")

    def _resolve(self, node: ast.expr, depth: int) -> Resolution:
        if isinstance(node, ast.Name):
            return self._resolve_name(node.id, depth)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                values = self.self_attrs.get(node.attr, [])
                if len(values) == 1 and isinstance(values[0], ast.Call | ast.Attribute | ast.Name | ast.Subscript):
                    resolved = self.resolve(values[0], depth)
                    if resolved.name:
                        return resolved
            base = self.resolve(node.value, depth)
            if not base.name:
                return Resolution(f"?.{node.attr}")
            if node.attr == "__dict__" and base.name in {"__builtins__", "builtins", "__builtin__"}:
                return Resolution(f"{base.name}.__dict__", base.hidden, base.indirect)  # the namespace itself
            return Resolution(normalise(f"{base.name}.{node.attr}"), base.hidden, base.indirect)
        if isinstance(node, ast.Call):
            return self._resolve_call(node, depth)
        if isinstance(node, ast.Subscript):
            stored = self.folder.entry(node)  # ``{"run": os.system}["run"]``: the callable stored there
            if isinstance(stored, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
                resolved = self.resolve(stored, depth)
                if resolved.name:
                    return Resolution(resolved.name, resolved.hidden, True)
            base = self.resolve(node.value, depth)
            if base.name in _NAMESPACES:
                key = self.folder.fold(node.slice)
                if key is not None and isinstance(key.value, str):
                    return Resolution(normalise(key.value), key.hidden or base.hidden, True)
            return Resolution("")
        if isinstance(node, ast.Await):
            return self.resolve(node.value, depth)
        if isinstance(node, ast.IfExp):  # ``b = __builtins__ if ... else vars(__builtins__)``: either branch
            first = self.resolve(node.body, depth)
            return first if first.name else self.resolve(node.orelse, depth)
        return Resolution("")

    def _resolve_name(self, name: str, depth: int) -> Resolution:
        if name in self.aliases:
            return Resolution(self.aliases[name])
        for scope in (self.scope, 0):
            known = self.objects.get((scope, name))
            if known is not None:
                return known
        bound = self.bound(name)
        if isinstance(bound, ast.Attribute | ast.Subscript | ast.Call | ast.Name | ast.IfExp) and not (
            isinstance(bound, ast.Name) and bound.id == name
        ):
            resolved = self.resolve(bound, depth)
            if resolved.name:
                return resolved
        for module in self.star_modules:
            if module in _STAR_MODULES and hasattr(importlib.import_module(module), name):
                return Resolution(f"{module}.{name}")
        return Resolution(name)

    def _inline_helper(self, name: str, node: ast.Call) -> ast.expr | None:
        """The helper's returned expression with its parameters replaced by the call's arguments,
        when that expression looks a name up (``getattr``, a subscript, a conditional of them)."""
        params, body = self.helpers[name]
        lookups = isinstance(body, ast.Subscript | ast.IfExp) or (
            isinstance(body, ast.Call) and self.resolve(body.func).name in _LOOKUP_CALLS
        )
        names = [a.arg for a in params.posonlyargs + params.args]
        if not lookups or any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) > len(names):
            return None
        binding: dict[str, ast.expr] = dict(zip(names, node.args, strict=False))
        binding.update({kw.arg: kw.value for kw in node.keywords if kw.arg})

        class _Substitute(ast.NodeTransformer):
            def visit_Name(self, sub: ast.Name) -> ast.expr:
                return binding.get(sub.id, sub)

        return _Substitute().visit(copy.deepcopy(body))

    def _getter(self, node: ast.Call, name: str, depth: int) -> Resolution | None:
        """getattr by another name: ``operator.attrgetter("system")(os)``, ``os.__getattribute__("system")``,
        ``object.__getattribute__(os, "system")``."""
        base_expr: ast.expr | None = None
        attr_expr: ast.expr | None = None
        if name == "operator.attrgetter()" and isinstance(node.func, ast.Call) and node.func.args and node.args:
            base_expr, attr_expr = node.args[0], node.func.args[0]
        elif name in {"object.__getattribute__", "type.__getattribute__"} and len(node.args) >= 2:
            base_expr, attr_expr = node.args[0], node.args[1]
        elif name.endswith(".__getattribute__") and isinstance(node.func, ast.Attribute) and node.args:
            base_expr, attr_expr = node.func.value, node.args[0]
        if base_expr is None or attr_expr is None:
            return None
        base = self.resolve(base_expr, depth)
        attr = self.folder.fold(attr_expr)
        if base.name and attr is not None and isinstance(attr.value, str):
            return Resolution(normalise(f"{base.name}.{attr.value}"), attr.hidden or base.hidden, True)
        return Resolution("")

    def _resolve_call(self, node: ast.Call, depth: int) -> Resolution:
        if isinstance(node.func, ast.Name) and node.func.id in self.helpers and node.func.id not in self.aliases:
            inlined = self._inline_helper(node.func.id, node)
            if inlined is not None:  # ``_g = lambda o, n: getattr(o, n)`` then ``_g(__builtins__, name)``
                resolved = self.resolve(inlined, depth)
                if resolved.name and not resolved.name.endswith("()"):
                    return Resolution(resolved.name, resolved.hidden, True)
        func = self.resolve(node.func, depth)
        name = normalise(func.name)
        args = node.args
        if name in {"__import__", "importlib.import_module", "importlib.__import__"} and args:
            module = self.folder.fold(args[0])
            if module is not None and isinstance(module.value, str):
                return Resolution(module.value, module.hidden, True)
            return Resolution("")
        if name == "getattr" and len(args) >= 2:
            base = self.resolve(args[0], depth)
            attr = self.folder.fold(args[1])
            if base.name and attr is not None and isinstance(attr.value, str):
                return Resolution(normalise(f"{base.name}.{attr.value}"), attr.hidden or base.hidden, True)
            return Resolution("")
        getter = self._getter(node, name, depth)
        if getter is not None:
            return getter
        if name in {"globals", "locals", "vars"} and not args:
            return Resolution(f"{name}()")
        if name == "vars" and args:
            inner = self.resolve(args[0], depth)
            return Resolution(f"{inner.name}.__dict__" if inner.name else "", inner.hidden, True)
        if not name:
            return Resolution("")
        return Resolution(f"{name}()", func.hidden, func.indirect)
