"""One walk over a module: every call resolved, every string folded, secrets followed to sinks.

:func:`walk_module` turns a parsed module into :class:`Hit` s — candidate findings with the rule
id, the severity when undeclared and when declared, the capability used (a host, an environment
variable, an executable) and whether the code runs at import time. ``analysis.py`` then weighs
them against the import graph and the manifest.

Taint is intra-procedural plus module globals: module-level statements are walked first, function
bodies after (so a function sees the globals a module assigned), and a function that returns a
secret makes its calls a source. Decoded payloads that parse as Python are walked again
(``payload``), their hits pointing at the outer line. What an expression carries (taint labels,
sensitive reads) is the :class:`~automatos.extensions.scanning.sources.Sources` mixin; what a call
means is ``calls.py``. Over 500 lines: the statement walk, guards, decoded strings and the
module-wide pairings (reverse shells, clipboard swaps, encrypt-while-sweeping) read and write the
same per-module state, which one class keeps in one place.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from automatos.extensions.scanning import patterns as P
from automatos.extensions.scanning.facts import ModuleFacts, Resolution, normalise
from automatos.extensions.scanning.hooks import command_class
from automatos.extensions.scanning.permissions import Permissions
from automatos.extensions.scanning.processes import upload_argument
from automatos.extensions.scanning.sources import Sources
from automatos.kernel.types import Severity

__all__ = ["Ctx", "Hit", "Walker"]

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_FILE_WRITERS = (".write_text", ".write_bytes")
_DANGER_RULES = frozenset(
    {
        "process-spawn",
        "network-access",
        "dynamic-exec",
        "obfuscated-exec",
        "obfuscated-call",
        "embedded-deserialise",
        "native-code",
        "persistence",
        "download-exec",
        "exfiltration",
        "credential-read",
        "reverse-shell",
        "file-write",
        "destructive",
        "monkeypatch",
        "silent-process",
        "dropper",
    }
)
_GATE_WHY = {
    "time": "only after a date or time check",
    "host": "only on chosen hosts, users or regions (a hostname, user, locale or time-zone check)",
    "anti": "only when no CI, sandbox or debugger is seen",
}
_COLLECTORS = frozenset({"append", "extend", "update", "add", "insert", "setdefault", "appendleft", "write", "put"})
_B64ISH = re.compile(r"^[A-Za-z0-9+/=_\-\s]{40,}$")
_HEXISH = re.compile(r"^([0-9a-fA-F]{2}){20,}$")


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


@dataclass(frozen=True)
class Ctx:
    scope: int = 0
    module_level: bool = True
    guards: frozenset[str] = frozenset()
    install: bool = False


@dataclass
class Hit:
    rule: str
    severity: Severity
    message: str
    line: int
    module_level: bool = False
    declared: bool = False
    install: bool = False


@dataclass
class Walker(Sources):
    tree: ast.Module
    perms: Permissions
    is_setup: bool = False
    install_root: bool = False
    """setup.py, a .pth line, sitecustomize: module-level code runs when the package is installed or Python starts."""
    test_root: bool = False
    bundle_files: frozenset[str] = frozenset()
    """Base names of the bundle's files (a library loading its own shared object)."""
    bundle_data: Mapping[str, bytes] = field(default_factory=dict)
    """The bundle's files by base name (what a shipped pickle holds)."""
    own_packages: frozenset[str] = frozenset()
    """Top-level package and module names of the bundle's Python files (its own imports)."""
    line_of: Callable[[int], int] = lambda line: line
    payload: Callable[[str, int, Ctx, str], None] | None = None
    hits: list[Hit] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    """(absolute or dotted-relative module name, line) for the import graph; relative ones start with dots."""
    facts: ModuleFacts = field(init=False)
    taint: dict[tuple[int, str], frozenset[str]] = field(default_factory=dict)
    returns: dict[str, frozenset[str]] = field(default_factory=dict)
    _emit: bool = True
    _downloads_written: list[int] = field(default_factory=list)
    _runs_files: bool = False
    _loads_files: bool = False
    _forks: bool = False
    _unpacked_written: list[tuple[int, bool]] = field(default_factory=list)
    """(line, decoded) of writes of bundled data: a dropper when the module then loads or runs files."""
    _names: dict[int, str] = field(default_factory=dict)
    _defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    _params: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    """Function name -> parameter -> labels of what callers pass (a secret handed to a helper)."""
    _sock_lines: list[int] = field(default_factory=list)
    _shell_lines: list[int] = field(default_factory=list)
    _swept: dict[str, list[int]] = field(default_factory=lambda: {"write": [], "delete": []})
    """Lines writing / deleting files of a sweep over a precious directory (both: ransomware)."""
    _clip_reads: list[int] = field(default_factory=list)
    _clip_writes: list[tuple[int, str]] = field(default_factory=list)
    """Clipboard writes of a value built with a wallet address (line, the address)."""
    _child_env: set[int] = field(default_factory=set)
    """ids of nodes that build a child process's ``env=`` (an environment copy handed on, not harvested)."""
    _callables: set[str] = field(default_factory=set)
    _loaded: set[str] = field(default_factory=set)
    """Dotted texts of attributes the module reads (``requests.Session.send`` kept as the original)."""
    _sweeps: list[str] = field(default_factory=list)
    """Precious directories a loop walks (``os.walk(home)``, ``Path.home().rglob("*")``)."""
    _encrypts: list[tuple[int, Ctx]] = field(default_factory=list)
    _uploads: list[tuple[int, str, Ctx]] = field(default_factory=list)
    """Secret files named as upload arguments (``-F x=@~/.ssh/id_rsa``, ``-T``, ``--data-binary @``)."""
    _spawns: bool = False
    _decoded_seen: set[tuple[int, str]] = field(default_factory=set)
    _openers: dict[str, frozenset[int | str]] = field(default_factory=dict)
    _wallets: list[str] = field(default_factory=list)
    """Wallet addresses written as literals in the module (what a clipboard hijacker pastes)."""
    _wallet_patterns: list[str] = field(default_factory=list)
    """Regular expressions recognising wallet addresses (what a hijacker checks the clipboard against)."""
    is_test: bool = False
    """A test module (``tests/``, ``test_*.py``, ``conftest.py``): replacing library functions is mocking."""
    """Names of the module's functions and classes (what a monkeypatch assigns)."""

    def __post_init__(self) -> None:
        self.facts = ModuleFacts(self.tree)

    # -- driving -------------------------------------------------------------------------------

    def _prepass(self) -> None:
        env_names: set[str] = set()
        assigns: list[ast.Assign] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self._callables.add(node.name)
            elif isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "env":
                        if isinstance(kw.value, ast.Name):
                            env_names.add(kw.value.id)
                        self._child_env.update(id(n) for n in ast.walk(kw.value))
            elif isinstance(node, ast.Assign):
                assigns.append(node)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                dotted = _dotted(node)
                if dotted:
                    self._loaded.add(dotted)
        for node in assigns:
            if any(isinstance(t, ast.Name) and t.id in env_names for t in node.targets):
                self._child_env.update(id(n) for n in ast.walk(node.value))

    def mark(self, kind: str, what: str, line: int, ctx: Ctx) -> None:
        """Record a sensitive source (``kind="source"``) or an undeclared destination (``"sink"``) for
        the bundle-wide correlation in ``analysis.py`` (not a finding by itself)."""
        if self._emit:
            self.hits.append(Hit(f"~{kind}", INFO, what, self.line_of(line), ctx.module_level, install=ctx.install))

    def run(self) -> None:
        self._prepass()
        functions: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, Ctx]] = []
        self._emit = False
        for _ in range(1):  # which functions return secrets and which parameters receive them
            functions.clear()
            self._block(self.tree.body, Ctx(), functions)
            self._functions(functions)
        self.taint = {k: v for k, v in self.taint.items() if k[0] == 0}
        self.facts.objects.clear()
        self._emit = True
        functions.clear()
        self._block(self.tree.body, Ctx(), functions)
        self._functions(functions)
        if self._spawns:
            for line, path, ctx in self._uploads[:3]:
                message = f"hands the secret file {path[:60]!r} to a process as an upload argument"
                self._hit("exfiltration", C, message, line, ctx)
        if self._downloads_written and self._runs_files:
            for line in self._downloads_written:
                self._hit(
                    "download-exec",
                    C,
                    "writes downloaded data to a file and makes it executable or runs it",
                    line,
                    Ctx(module_level=False),
                )
        for line, decoded in self._unpacked_written:
            if self._loads_files or (decoded and self._runs_files):
                how = "imports it as code" if self._loads_files else "makes it executable or runs it"
                self._hit(
                    "dropper",
                    C,
                    f"unpacks {'encoded ' if decoded else ''}data shipped in the bundle to a file and {how}",
                    line,
                    Ctx(module_level=False),
                )
        if self._sock_lines and self._shell_lines:
            for line in sorted(set(self._shell_lines)):
                self._hit(
                    "reverse-shell",
                    C,
                    "connects a socket and hands it a shell (dup2, pty.spawn, or a shell's piped streams)",
                    line,
                    Ctx(module_level=False),
                )
        if self._sweeps:
            for line, ctx in self._encrypts:
                gated = bool(ctx.guards & {"time", "host", "anti"})
                why = " behind a date, host or CI check" if gated else ""
                replaced = bool(self._swept["write"] or self._swept["delete"])
                if replaced:  # the ciphertext written over (or next to, then deleting) every file
                    why += f"{why and ','} writing the result over the files it walks"
                self._hit(
                    "destructive",
                    C if gated or replaced else H,
                    f"encrypts files while walking {self._sweeps[0][:60]!r} (ransomware pattern){why}",
                    line,
                    ctx,
                )
        if self._clip_reads:
            # a write traced to a wallet address, or any write in a module that embeds one
            fallback = self._wallets[0] if self._wallets else ""
            for line, traced in sorted(set(self._clip_writes)):
                if traced.startswith("~"):
                    if self._wallet_patterns:
                        self._hit(
                            "clipboard-hijack",
                            C,
                            f"reads the clipboard, matches it against a wallet-address pattern "
                            f"({self._wallet_patterns[0]!r}) and writes the fixed value {traced[1:41]!r} back",
                            line,
                            Ctx(module_level=False),
                        )
                        continue
                    traced = ""
                address = traced or fallback
                if not address:
                    continue
                self._hit(
                    "clipboard-hijack",
                    C,
                    (
                        f"reads the clipboard and writes back a value built with the wallet address {address!r}"
                        if traced
                        else f"reads and writes the clipboard in a module that embeds the wallet address {address!r}"
                    ),
                    line,
                    Ctx(module_level=False),
                )

    def _functions(self, functions: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, Ctx]]) -> None:
        while functions:
            node, ctx = functions.pop(0)
            self.facts.scope = ctx.scope
            for param, labels in self._params.get(node.name, {}).items():
                self.taint[(ctx.scope, param)] = labels
            for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                if isinstance(arg.annotation, ast.Name | ast.Attribute):  # ``s: requests.Session``
                    typed = self.facts.resolve(arg.annotation).name
                    if typed and "()" not in typed and self._imported(typed):
                        self.facts.objects[(ctx.scope, arg.arg)] = Resolution(f"{typed}()")
            self._block(node.body, ctx, functions)
            self.facts.scope = 0

    def _hit(self, rule: str, severity: Severity, message: str, line: int, ctx: Ctx, declared: bool = False) -> None:
        if not self._emit:
            return
        for guard in sorted(ctx.guards - {"main"}):
            if rule in _DANGER_RULES:
                gate = "anti-analysis" if guard == "anti" else "time-gate"
                why = _GATE_WHY[guard]
                # a date or chosen-host trigger in front of undeclared serious behaviour is a logic bomb
                serious = severity is C or (severity is H and not declared)
                level = C if guard in {"time", "host"} and serious else H
                self.hits.append(
                    Hit(gate, level, f"runs {rule} {why}", self.line_of(line), ctx.module_level, install=ctx.install)
                )
        self.hits.append(Hit(rule, severity, message, self.line_of(line), ctx.module_level, declared, ctx.install))

    # -- statements ------------------------------------------------------------------------------

    def _block(
        self, body: list[ast.stmt], ctx: Ctx, functions: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, Ctx]]
    ) -> None:
        for stmt in body:
            extra = self._stmt(stmt, ctx, functions)
            if extra:
                ctx = Ctx(ctx.scope, ctx.module_level, ctx.guards | extra, ctx.install)

    def _stmt(
        self, stmt: ast.stmt, ctx: Ctx, functions: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, Ctx]]
    ) -> frozenset[str]:
        """Walk one statement; returns guards that hold for the rest of the block (``if CI: return``)."""
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in stmt.decorator_list:
                self._expr(deco, ctx)
            body_ctx = Ctx(id(stmt), ctx.install, ctx.guards, ctx.install)
            self._names[id(stmt)] = stmt.name
            self._defs[stmt.name] = stmt
            functions.append((stmt, body_ctx))
            return frozenset()
        if isinstance(stmt, ast.ClassDef):
            for expr in [*stmt.bases, *stmt.decorator_list]:
                self._expr(expr, ctx)
            install = ctx.install or (self.is_setup and self._is_command(stmt))
            self._block(stmt.body, Ctx(ctx.scope, ctx.module_level, ctx.guards, install), functions)
            return frozenset()
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            self._import(stmt, ctx)
            return frozenset()
        if isinstance(stmt, ast.If | ast.While):
            self._expr(stmt.test, ctx)
            guards = self._guards(stmt.test)
            inner = ctx
            if "main" in guards:
                inner = Ctx(ctx.scope, False, ctx.guards, ctx.install)
            elif guards:
                inner = Ctx(ctx.scope, ctx.module_level, ctx.guards | guards, ctx.install)
            self._block(stmt.body, inner, functions)
            self._block(stmt.orelse, inner if guards - {"main"} else ctx, functions)
            if (guards - {"main"} and stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise)) or (
                guards - {"main"} and self._exits(stmt.body)
            ):
                return guards - {"main"}
            return frozenset()
        if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            value = stmt.value
            if value is None:
                return frozenset()
            self._expr(value, ctx)
            labels = self._taint(value, ctx)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                self._assign(target, value, labels, ctx, augment=isinstance(stmt, ast.AugAssign))
                if isinstance(target, ast.Attribute) and isinstance(stmt, ast.Assign):
                    self.patch(target.value, value, stmt.lineno, ctx, target.attr)
                elif isinstance(target, ast.Subscript) and isinstance(stmt, ast.Assign):
                    key = self.facts.folder.text(target.slice)
                    if key and self.facts.resolve(target.value).name in {"__builtins__", "builtins.__dict__"}:
                        self.patch(target.value, value, stmt.lineno, ctx, key)
            return frozenset()
        if isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self._expr(item.context_expr, ctx)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, item.context_expr, self._taint(item.context_expr, ctx), ctx)
            self._block(stmt.body, ctx, functions)
            return frozenset()
        if isinstance(stmt, ast.For | ast.AsyncFor):
            self._expr(stmt.iter, ctx)
            if self._emit:
                from automatos.extensions.scanning.destructive import swept

                under = swept(self, stmt.iter)
                if under:
                    self._sweeps.append(under)
            self._assign(stmt.target, None, self._taint(stmt.iter, ctx), ctx)
            self._block(stmt.body, ctx, functions)
            self._block(stmt.orelse, ctx, functions)
            return frozenset()
        if isinstance(stmt, ast.Try | ast.TryStar):
            for block in (stmt.body, *[h.body for h in stmt.handlers], stmt.orelse, stmt.finalbody):
                self._block(block, ctx, functions)
            return frozenset()
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            self._expr(stmt.value, ctx)
            labels = self._taint(stmt.value, ctx)
            fname = self._names.get(ctx.scope)
            if labels and fname:
                self.returns[fname] = self.returns.get(fname, frozenset()) | labels
            return frozenset()
        if isinstance(stmt, ast.Match):
            self._expr(stmt.subject, ctx)
            for case in stmt.cases:
                self._block(case.body, ctx, functions)
            return frozenset()
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._expr(child, ctx)
        return frozenset()

    def _imported(self, name: str) -> bool:
        """``name`` comes from a module the code imports that is not one of the bundle's own."""
        root = name.split(".", 1)[0]
        return root not in self.own_packages and any(v.split(".", 1)[0] == root for v in self.facts.aliases.values())

    def patch(self, target: ast.expr, value: ast.expr | None, line: int, ctx: Ctx, attr: str | None = None) -> None:
        """``requests.Session.send = _send`` / ``setattr(Keypair, name, wrap(...))``: replacing a library's
        function changes what every caller of it runs."""
        base = self.facts.resolve(target).name
        if base in {"builtins", "__builtins__", "builtins.__dict__", "__builtins__.__dict__"}:
            base = "builtins"
        elif not base or "()" in base or not self._imported(base):
            return
        name = f"{base}.{attr}" if attr else f"{base}.<computed>"
        if name in P.PATCH_HOOKS or (attr and attr.isupper()):
            return
        callable_value = value is None or (
            isinstance(value, ast.Lambda | ast.Call) or (isinstance(value, ast.Name) and value.id in self._callables)
        )
        if not callable_value:
            return
        # replacing (not adding): the original is kept/wrapped, or the library is one whose calls carry data
        here = _dotted(target)
        keeps = (attr is not None and here is not None and f"{here}.{attr}" in self._loaded) or any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr"
            for n in ast.walk(value or ast.Constant(None))
        )
        sensitive = (
            base == "builtins"
            or P.is_network(base + ".")
            or P.is_process(base + ".")
            or base.split(".")[0]
            in {"os", "io", "ssl", "importlib", "subprocess", "builtins", "http", "urllib", "hashlib", "hmac", "json"}
        )
        if not (keeps or sensitive):
            return
        if self.is_test:
            self._hit("monkeypatch", L, f"test code replaces {name} (mocking)", line, ctx)
        else:
            self._hit("monkeypatch", H, f"replaces the library function {name} (monkeypatching)", line, ctx)

    def _exits(self, body: list[ast.stmt]) -> bool:
        last = body[-1] if body else None
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            return self.facts.resolve(last.value.func).name in {"sys.exit", "exit", "quit", "os._exit"}
        return False

    def _is_command(self, node: ast.ClassDef) -> bool:
        hook = command_class(self.facts, self.tree, node)
        if hook is None:
            return False
        severity, why = hook
        message = f"setup.py command class {node.name} runs code at install time: {why}"
        self._hit("install-hook", severity, message, node.lineno, Ctx(install=True))
        return True

    def _assign(
        self, target: ast.expr, value: ast.expr | None, labels: frozenset[str], ctx: Ctx, augment: bool = False
    ) -> None:
        names: list[str] = []
        if isinstance(target, ast.Name):
            names = [target.id]
            if value is not None and not augment:
                resolved = (
                    self.facts.resolve(value) if isinstance(value, ast.Call | ast.Attribute | ast.Subscript) else None
                )
                key = (ctx.scope, target.id)
                if resolved is not None and resolved.name:
                    self.facts.objects[key] = resolved
                else:
                    self.facts.objects.pop(key, None)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            names = [f"{target.value.id}.{target.attr}"]
        elif isinstance(target, ast.Tuple | ast.List | ast.Starred):
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.append(sub.id)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            names = [target.value.id]
            augment = True
        for name in names:
            key = (ctx.scope, name) if "." not in name else (0, name)
            old = self.taint.get(key, frozenset()) if augment else frozenset()
            if labels or old:
                self.taint[key] = old | labels
            else:
                self.taint.pop(key, None)

    def _import(self, stmt: ast.Import | ast.ImportFrom, ctx: Ctx) -> None:
        if isinstance(stmt, ast.Import):
            modules = [alias.name for alias in stmt.names]
            for name in modules:
                self.imports.append((name, stmt.lineno))
        else:
            base = "." * stmt.level + (stmt.module or "")
            modules = [base]
            for alias in stmt.names:
                self.imports.append((f"{base}.{alias.name}" if base.strip(".") else base + alias.name, stmt.lineno))
            self.imports.append((base, stmt.lineno))
        for name in modules:
            if name.startswith(("automatos.kernel.registry", "automatos.kernel.hooks", "automatos.kernel.container")):
                self._hit(
                    "kernel-internals",
                    M,
                    f"imports kernel internals ({name}); use automatos.hookimpl and hook arguments",
                    stmt.lineno,
                    ctx,
                )

    # -- guards ----------------------------------------------------------------------------------

    def _guard_nodes(self, test: ast.expr) -> list[ast.AST]:
        """The test's nodes plus what the names and helper calls in it stand for (two levels):
        ``lang = locale.getlocale()[0]`` then ``if lang.startswith(...)`` is a locale check."""
        nodes: list[ast.AST] = []
        todo: list[tuple[ast.AST, int]] = [(test, 0)]
        while todo and len(nodes) < 400:
            expr, depth = todo.pop()
            for node in ast.walk(expr):
                nodes.append(node)
                if depth >= 2:
                    continue
                if isinstance(node, ast.Name):
                    bound = self.facts.bound(node.id)
                    if bound is None and depth:  # a local of the helper whose return we expanded
                        held = [v for scope in self.facts.assigns.values() for v in scope.get(node.id, [])]
                        bound = held[0] if len(held) == 1 else None
                    if bound is not None:
                        todo.append((bound, depth + 1))
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    todo.extend((r, depth + 1) for r in self.facts.returns.get(node.func.id, [])[:4])
        return nodes

    def _guards(self, test: ast.expr) -> frozenset[str]:
        found: set[str] = set()
        nodes = self._guard_nodes(test)
        compares = any(
            isinstance(n, ast.Compare)
            or (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in {"startswith", "endswith", "__contains__"}
            )
            for n in nodes  # the comparison may sit in a helper: ``if not _in_region(): return``
        )
        if compares and any(self._region(n) for n in nodes):
            found.add("host")  # locale, time zone or language: a check of where the machine is
        for node in ast.walk(test):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "__name__":
                found.add("main")
            if isinstance(node, ast.Call | ast.Attribute | ast.Name):
                name = self.facts.resolve(node.func if isinstance(node, ast.Call) else node).name
                if name.rstrip("()").rsplit("()", 1)[0] in P.TIME_NAMES or name.startswith(
                    tuple(f"{t}()" for t in P.TIME_NAMES)
                ):
                    if any(isinstance(n, ast.Compare) for n in ast.walk(test)):
                        found.add("time")
                if name.removesuffix("()").split("().", 1)[0] in P.HOSTINFO_CALLS - {"os.getcwd"} and any(
                    isinstance(n, ast.Compare)
                    or (
                        isinstance(n, ast.Call)
                        and isinstance(n.func, ast.Attribute)
                        and n.func.attr in {"startswith", "endswith", "__contains__"}
                    )
                    for n in ast.walk(test)
                ):
                    found.add("host")
                if name in {
                    "sys.gettrace",
                    "sys.getprofile",
                    "ctypes.windll.kernel32.IsDebuggerPresent",
                    "os.cpu_count",
                    "psutil.cpu_count",
                    "multiprocessing.cpu_count",
                }:
                    found.add("anti")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and P.ANTI_ANALYSIS_RE.search(node.value):
                found.add("anti")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in {"/.dockerenv", "pydevd"}
            ):
                found.add("anti")
        return frozenset(found)

    def _region(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value in P.REGION_FILES
        if isinstance(node, ast.Call | ast.Attribute):
            name = self.facts.resolve(node.func if isinstance(node, ast.Call) else node).name.removesuffix("()")
            if name in P.REGION_CALLS:
                return True
            if isinstance(node, ast.Call) and name in P.HOME_CALLS - {"pathlib.Path.home", "Path.home"} and node.args:
                return (self.facts.folder.text(node.args[0]) or "") in P.REGION_ENV
        return False

    # -- expressions -----------------------------------------------------------------------------

    def _expr(self, expr: ast.expr, ctx: Ctx) -> None:
        for node in ast.walk(expr):
            if isinstance(node, ast.NamedExpr):  # ``while line := reader.readline()``
                self._assign(node.target, node.value, self._taint(node.value, ctx), ctx)
            if isinstance(node, ast.Call):
                if self._emit:
                    self._call(node, ctx)
                func = node.func
                if isinstance(func, ast.Name | ast.Attribute):
                    self._pass_params(node, func, ctx)
                receiver = (
                    func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
                )
                if receiver is not None and receiver not in self.facts.aliases and receiver != "self":
                    labels = frozenset().union(
                        *(self._taint(a, ctx) for a in [*node.args, *(k.value for k in node.keywords)])
                    )
                    # ``cfg.read(secret_path)``: the parser object now holds the secret
                    labels |= {label for label in self._source(node) if label.startswith("file:")}
                    if labels:
                        key = (ctx.scope, receiver)
                        self.taint[key] = self.taint.get(key, frozenset()) | labels
            elif not self._emit:
                continue
            elif isinstance(node, ast.Subscript):
                self._namespace_lookup(node, ctx)
            elif isinstance(node, ast.JoinedStr | ast.BinOp | ast.List | ast.Tuple):
                path = upload_argument(self, node)
                if path is not None:
                    self._uploads.append((node.lineno, path, ctx))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 8:
                self._string(node.value, node.lineno, ctx)
            elif isinstance(node, ast.Name) and node.id == "__builtins__":
                self._hit("builtins-access", M, "touches __builtins__", node.lineno, ctx)

    def _pass_params(self, node: ast.Call, func: ast.Name | ast.Attribute, ctx: Ctx) -> None:
        name = func.id if isinstance(func, ast.Name) else func.attr
        target = self._defs.get(name)
        if target is None:
            return
        params = [a.arg for a in target.args.posonlyargs + target.args.args]
        if params and params[0] in {"self", "cls"} and isinstance(func, ast.Attribute):
            params = params[1:]
        slots = self._params.setdefault(name, {})
        for param, arg in zip(params, node.args, strict=False):
            labels = self._taint(arg, ctx)
            if labels:
                slots[param] = slots.get(param, frozenset()) | labels
        for kw in node.keywords:
            if kw.arg in params:
                labels = self._taint(kw.value, ctx)
                if labels:
                    slots[kw.arg] = slots.get(kw.arg, frozenset()) | labels

    def _string(self, text: str, line: int, ctx: Ctx) -> None:
        if len(text) <= 64 and P.WALLET_ADDRESS_RE.match(text):
            self._wallets.append(text.strip())
        elif len(text) <= 200 and P.WALLET_PATTERN_RE.search(text):
            self._wallet_patterns.append(text[:40])
        if P.MINER_RE.search(text[:10000]):
            self._hit("crypto-miner", C, f"crypto-miner string: {text[:60]!r}", line, ctx)
        elif P.WALLET_STRING_RE.search(text[:10000]):
            self._hit("crypto-miner", H, f"crypto wallet address: {text[:60]!r}", line, ctx)
        if self.payload is None or len(text) < 40:
            return
        stripped = "".join(text.split())
        decoders: list[Callable[[str], bytes]] = []
        if _HEXISH.match(stripped):
            decoders.append(bytes.fromhex)
        elif _B64ISH.match(text):
            import base64

            decoders.append(
                lambda s: base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_" if "-" in s or "_" in s else None)
            )
        for decode in decoders:
            try:
                data = decode(stripped)
            except ValueError:
                continue
            if data[:2] in {b"x\x9c", b"x\xda", b"x\x01"}:
                import zlib

                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    continue
            try:
                decoded = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            self.payload(decoded, line, ctx, "an encoded string")

    def _namespace_lookup(self, node: ast.Subscript, ctx: Ctx) -> None:
        base = self.facts.resolve(node.value).name
        if base == "os.environ" and isinstance(node.ctx, ast.Load):
            from automatos.extensions.scanning.flows import env_read

            env_read(self, self.facts.folder.text(node.slice), node.lineno, ctx)
            return
        if base.endswith(".__dict__") and base.split(".", 1)[0] not in {"__builtins__", "builtins", "__builtin__"}:
            module = base.removesuffix(".__dict__")
            key = self.facts.folder.fold(node.slice)
            full = f"{module}.{key.value}" if key is not None and isinstance(key.value, str) else ""
            if full and (P.is_process(full) or full in P.EXEC_CALLS or full in {"os.system", "os.popen"}):
                self._hit("obfuscated-call", H, f"reaches {full} through the module's __dict__", node.lineno, ctx)
            return
        if base not in {
            "__builtins__",
            "__builtins__.__dict__",
            "builtins.__dict__",
            "globals()",
            "locals()",
            "vars()",
            "sys.modules",
        }:
            return
        key = self.facts.folder.fold(node.slice)
        if key is None or not isinstance(key.value, str):
            self._hit("builtins-access", H, f"looks up a computed name in {base}", node.lineno, ctx)
        elif normalise(key.value) in P.EXEC_CALLS | P.IMPORT_CALLS | {"open", "getattr", "os", "subprocess", "socket"}:
            self._hit(
                "obfuscated-call", C if key.hidden else H, f"reaches {key.value} through {base}", node.lineno, ctx
            )

    # -- calls -----------------------------------------------------------------------------------

    def _call(self, node: ast.Call, ctx: Ctx) -> None:
        from automatos.extensions.scanning.calls import check_call

        res: Resolution = self.facts.resolve(node.func)
        name = normalise(res.name)
        check_call(self, node, name, res, ctx)
        if any(hint in name for hint in P.DECODE_HINTS):
            self._decoded(node, ctx)

    def _decoded(self, node: ast.Call, ctx: Ctx) -> None:
        """A decoder's output, wherever it goes (a lambda, a dict of callables): hidden shell
        commands are findings and hidden Python is analysed like the module's own code."""
        folded = self.facts.folder.fold(node)
        if folded is None or not folded.decoded or not isinstance(folded.value, str | bytes):
            return
        value = folded.value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if len(text) < 8 or (node.lineno, text) in self._decoded_seen:
            return
        self._decoded_seen.add((node.lineno, text))
        shell = P.shell_payload(text)
        if shell is not None:
            self._hit(shell[0], C, f"decodes a hidden shell command that {shell[1]}: {text[:80]!r}", node.lineno, ctx)
        if self.payload is not None:
            self.payload(text, node.lineno, ctx, "a decoded string")
