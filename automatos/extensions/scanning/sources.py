"""Where secrets come from: the walker's taint labels, sensitive reads and bundled-data reads.

:class:`Sources` is the half of :class:`~automatos.extensions.scanning.walker.Walker` that answers
"what does this expression carry?": environment variables (``env:NAME`` / ``environ``), secret
files (``file:<path>``, from the one table of sensitive paths and readers in ``patterns.py``, a
module function that opens its parameter, an object a secret was read into), host information
(``host``), data read from the network (``download``) and data shipped in the bundle
(``bundled``). The walk (statements, calls, findings) stays in ``walker.py``; this mixin only
reads the walker's facts and taint state.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from automatos.extensions.scanning import patterns as P
from automatos.extensions.scanning.facts import ModuleFacts, normalise

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx

__all__ = ["Sources"]

_NET_READS = frozenset(
    {
        "read",
        "recv",
        "recvfrom",
        "accept",
        "makefile",
        "readline",
        "readlines",
        "json",
        "text",
        "content",
        "iter_lines",
        "iter_content",
        "aread",
    }
)


_PATH_TYPES = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"})


class Sources:
    """Taint and source methods mixed into the walker (state lives on the walker dataclass)."""

    facts: ModuleFacts
    taint: dict[tuple[int, str], frozenset[str]]
    returns: dict[str, frozenset[str]]
    bundle_files: frozenset[str]
    _defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    _openers: dict[str, frozenset[int | str]]

    def _taint(self, expr: ast.expr, ctx: Ctx) -> frozenset[str]:
        labels: set[str] = set()
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                labels |= self.taint.get((ctx.scope, node.id), frozenset()) | self.taint.get((0, node.id), frozenset())
                if self.facts.resolve(node).name == "os.environ":
                    labels.add("environ")
                continue
            if isinstance(node, ast.Attribute):
                if isinstance(node.value, ast.Name):
                    labels |= self.taint.get((0, f"{node.value.id}.{node.attr}"), frozenset())
                name = self.facts.resolve(node).name
                if name == "os.environ":
                    labels.add("environ")
                    continue
                if name.startswith("os.environ."):
                    continue
            if isinstance(node, ast.Subscript) and self.facts.resolve(node.value).name == "os.environ":
                key = self.facts.folder.text(node.slice)
                labels.add(f"env:{key}" if key else "environ")
                continue
            if isinstance(node, ast.Call):
                labels |= self._source(node)
                name = self.facts.resolve(node.func).name
                if name.startswith("os.environ.") or name in {"os.getenv", "os.getenvb"}:
                    for arg in node.args[1:]:
                        stack.append(arg)
                    continue
            stack.extend(ast.iter_child_nodes(node))
        return frozenset(labels)

    def _source(self, node: ast.Call) -> set[str]:
        name = self.facts.resolve(node.func).name
        if name in {"os.getenv", "os.getenvb", "os.environ.get", "os.environ.pop", "os.environ.setdefault"}:
            key = self.facts.folder.text(node.args[0]) if node.args else None
            return {f"env:{key}" if key else "environ"}
        if name in {
            "os.environ.copy",
            "os.environ.items",
            "os.environ.keys",
            "os.environ.values",
            "dict",
            "os.environ.__iter__",
        } and (name != "dict" or (node.args and self.facts.resolve(node.args[0]).name == "os.environ")):
            return {"environ"}
        if name in P.HOSTINFO_CALLS:
            return {"host"}
        out: set[str] = set()
        path = self._sensitive_path(node, name)
        if path:
            out.add(f"file:{path}")
        if self._bundled_read(node, name):
            out.add("bundled")
        if P.is_network(name) and name.rsplit(".", 1)[-1].removesuffix("()") in P.NET_REQUESTS | _NET_READS:
            out.add("download")
        last = name.rsplit(".", 1)[-1].rstrip("()")
        if last in self.returns:
            out |= self.returns[last]
        return out

    def _sensitive_path(self, node: ast.Call, name: str) -> str | None:
        """The secret location a call reads: a reader (``P.is_file_reader``) given a sensitive path,
        a reader that opens one by default (``netrc.netrc()``), or a module function that opens its
        parameter called with one (``_read("/proc/self/environ")``)."""
        exprs: list[ast.expr]
        if P.is_file_reader(name):
            if name in P.IMPLICIT_SENSITIVE and not node.args:
                return P.IMPLICIT_SENSITIVE[name]
            exprs = list(node.args[:2]) + [kw.value for kw in node.keywords]
            if isinstance(node.func, ast.Attribute):
                exprs.append(node.func.value)
        else:
            slots = self._opened_params(name.rsplit(".", 1)[-1])
            if not slots:
                return None
            exprs = [a for i, a in enumerate(node.args) if i in slots]
            exprs += [kw.value for kw in node.keywords if kw.arg in slots]
        for expr in exprs:
            for text in self._strings(expr):
                if P.SENSITIVE_PATH_RE.search(text):
                    return text
        return None

    def _opened_params(self, fname: str) -> frozenset[int | str]:
        """Positions and names of a module function's parameters that it opens or reads as a path."""
        if fname in self._openers:
            return self._openers[fname]
        self._openers[fname] = frozenset()  # recursion guard
        target = self._defs.get(fname)
        found: set[int | str] = set()
        if target is not None:
            params = [a.arg for a in target.args.posonlyargs + target.args.args]
            if params and params[0] in {"self", "cls"}:
                params = params[1:]
            for node in ast.walk(target):
                if not isinstance(node, ast.Call):
                    continue
                called = normalise(self.facts.resolve(node.func).name)
                if not P.is_file_reader(called) and not self._opened_params(called.rsplit(".", 1)[-1]):
                    continue
                used = list(node.args[:1])
                if isinstance(node.func, ast.Attribute):
                    used.append(node.func.value)
                for expr in used:
                    for sub in ast.walk(expr):
                        if isinstance(sub, ast.Name) and sub.id in params:
                            found.update({params.index(sub.id), sub.id})
        self._openers[fname] = frozenset(found)
        return self._openers[fname]

    def _bundled_read(self, node: ast.Call, name: str) -> bool:
        """Reads a data file shipped in the bundle (next to ``__file__``, a bundled name, package resources).

        A read of one of the bundle's own ``.py`` files (``exec(open("version.py").read())`` in a
        setup.py) is reviewable code, not opaque data, and does not count."""
        if name.startswith(("pkgutil.get_data", "pkg_resources.resource_string", "pkg_resources.resource_stream")):
            return True
        reads = P.is_file_reader(name) or name.endswith(".read")
        if not reads:
            return False
        exprs: list[ast.expr] = list(node.args[:2]) + [kw.value for kw in node.keywords]
        if isinstance(node.func, ast.Attribute):
            exprs.append(node.func.value)
        texts = [t for e in exprs for t in self._strings(e)]
        if any(t.endswith((".py", ".pyw")) and t.rsplit("/", 1)[-1] in self.bundle_files for t in texts):
            return False
        resources = any(
            isinstance(n, ast.Call) and self.facts.resolve(n.func).name.startswith("importlib.resources.")
            for e in exprs
            for n in ast.walk(e)
        )
        return resources or any(t == "__file__" or t.rsplit("/", 1)[-1] in self.bundle_files for t in texts)

    def _template(self, node: ast.JoinedStr) -> str:
        """An f-string with ``*`` for each part folding cannot recover."""
        parts: list[str] = []
        for value in node.values[:20]:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                inner = value.value if isinstance(value, ast.FormattedValue) else value
                parts.append(self.facts.folder.text(inner) or "*")
        return "".join(parts)

    def _path_shape(self, expr: ast.expr, depth: int = 0) -> str:
        """A path built by ``os.path.join``, ``Path(a, b)``, ``a / b`` or ``expanduser``, with ``*`` for
        each part folding cannot recover (names bound once are followed): ``*/.vscode/tasks.json``."""
        folded = self.facts.folder.text(expr)
        if folded is not None:
            return folded
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return f"{self._path_shape(expr.left, depth + 1)}/{self._path_shape(expr.right, depth + 1)}"
        if isinstance(expr, ast.JoinedStr):
            return self._template(expr)
        if isinstance(expr, ast.Name) and depth < 4:
            bound = self.facts.bound(expr.id)
            return self._path_shape(bound, depth + 1) if bound is not None else "*"
        if isinstance(expr, ast.Call) and depth < 6:
            called = self.facts.resolve(expr.func).name
            last = called.rsplit(".", 1)[-1]
            if called in {"os.path.join", "posixpath.join", "ntpath.join"} or last in _PATH_TYPES:
                parts = [self._path_shape(a, depth + 1) for a in expr.args[:8]]
                return "/".join(parts) if parts else "*"
            if last in {"expanduser", "abspath", "realpath", "normpath", "expandvars", "resolve", "absolute"}:
                inner = expr.args[0] if expr.args else expr.func.value if isinstance(expr.func, ast.Attribute) else None
                return self._path_shape(inner, depth + 1) if inner is not None else "*"
            if last in {"joinpath"} and isinstance(expr.func, ast.Attribute):
                parts = [self._path_shape(a, depth + 1) for a in [expr.func.value, *expr.args[:8]]]
                return "/".join(parts)
            if called in {"pathlib.Path.home", "Path.home"}:
                return "~"
        return "*"

    def _strings(self, expr: ast.expr, depth: int = 0) -> list[str]:
        """The folded value of ``expr`` and every string constant in it (and in names it uses)."""
        out: list[str] = []
        folded = self.facts.folder.text(expr)
        if folded:
            out.append(folded)
        for node in ast.walk(expr):
            if isinstance(node, ast.JoinedStr) and not (node is expr and folded):
                out.append(self._template(node))  # ``f"/proc/{pid}/environ"`` -> ``/proc/*/environ``
            elif isinstance(node, ast.BinOp | ast.Call) and depth < 3:
                shape = self._path_shape(node, depth)
                if "/" in shape and shape.strip("*/") and shape != folded:
                    out.append(shape)  # ``os.path.join(top, ".git", "hooks", x)`` -> ``*/.git/hooks/*``
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and depth < 3:
                for ret in self.facts.returns.get(node.func.id, []):
                    out.extend(self._strings(ret, depth + 1))
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in {"self", "cls"}
                and depth < 3
                and len(self.facts.self_attrs.get(node.attr, [])) == 1
            ):  # ``self._paths``: the class attribute it reads
                out.extend(self._strings(self.facts.self_attrs[node.attr][0], depth + 1))
            elif isinstance(node, ast.Name) and node.id == "__file__":
                out.append("__file__")
            elif isinstance(node, ast.Name) and depth < 3:
                bound = self.facts.bound(node.id) or self.facts.loops.get(node.id)
                if bound is not None:
                    out.extend(self._strings(bound, depth + 1))
        return out
