"""Built-in static scan rules, run over third-party extension source before it is imported.

These are AST checks, not a sandbox: they flag what an operator should look at (``high``) and
refuse what no honest extension needs (``critical``: code that hides what it runs, source that does
not parse). The marketplace pipeline adds its own rules and an LLM review on top.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import ScanFinding, ScanRule, Severity

__all__ = ["RULES", "register_scan_rules"]

_EXEC = {"eval", "exec", "compile", "__import__"}
_SPAWN_MODULES = {"subprocess", "pty", "multiprocessing"}
_SPAWN_OS = {"system", "popen", "spawnl", "spawnv", "execv", "execve", "execl", "fork", "forkpty"}
_NATIVE = {"ctypes", "cffi"}
_DECODERS = {"b64decode", "b85decode", "a85decode", "decompress", "loads", "fromhex", "unhexlify"}
_KERNEL_PRIVATE = ("automatos.kernel.registry", "automatos.kernel.hooks", "automatos.kernel.container")


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


@dataclass(frozen=True)
class AstRule:
    id: str
    severity: Severity
    description: str

    def check(self, source: str, path: str) -> Sequence[ScanFinding]:
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError as exc:
            if self.id != "unparsable":
                return []
            return [self._finding(f"source does not parse: {exc.msg}", path, exc.lineno or 0, Severity.CRITICAL)]
        return [self._finding(msg, path, line) for line, msg in self.visit(tree)]

    def _finding(self, message: str, path: str, line: int, severity: Severity | None = None) -> ScanFinding:
        return ScanFinding(rule=self.id, severity=severity or self.severity, message=message, path=path, line=line)

    def visit(self, tree: ast.AST) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        for node in ast.walk(tree):
            found = self.match(node)
            if found:
                out.append((getattr(node, "lineno", 0), found))
        return out

    def match(self, node: ast.AST) -> str | None:
        return None


class Unparsable(AstRule):
    """Only reports through :meth:`check`'s SyntaxError branch."""


class DynamicExec(AstRule):
    def match(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _EXEC:
            return f"calls {node.func.id}()"
        return None


class ObfuscatedExec(AstRule):
    def match(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call) and _call_name(node) in _EXEC:
            for inner in ast.walk(node):
                if inner is not node and isinstance(inner, ast.Call) and _call_name(inner) in _DECODERS:
                    return f"{_call_name(node)}() of decoded data ({_call_name(inner)})"
        return None


class ProcessSpawn(AstRule):
    def match(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            hit = [n for n in names if n.split(".")[0] in _SPAWN_MODULES]
            return f"imports {hit[0]}" if hit else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            dotted = _dotted(node.func)
            if dotted.startswith("os.") and node.func.attr in _SPAWN_OS:
                return f"calls {dotted}()"
        return None


class NativeCode(AstRule):
    def match(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            hit = [n for n in names if n.split(".")[0] in _NATIVE]
            return f"imports {hit[0]}" if hit else None
        return None


class KernelInternals(AstRule):
    def match(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_KERNEL_PRIVATE):
            return f"imports kernel internals ({node.module}); use automatos.hookimpl and hook arguments"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(_KERNEL_PRIVATE):
                    return f"imports kernel internals ({alias.name})"
        return None


RULES: tuple[ScanRule, ...] = (
    Unparsable("unparsable", Severity.CRITICAL, "source that does not parse cannot be reviewed"),
    ObfuscatedExec("obfuscated-exec", Severity.CRITICAL, "executes decoded or decompressed data"),
    DynamicExec("dynamic-exec", Severity.HIGH, "runs code built at run time"),
    ProcessSpawn("process-spawn", Severity.HIGH, "starts processes"),
    NativeCode("native-code", Severity.HIGH, "loads native code"),
    KernelInternals("kernel-internals", Severity.MEDIUM, "reaches into kernel internals"),
)


@hookimpl
def register_scan_rules(register: Callable[[ScanRule], None]) -> None:
    for rule in RULES:
        register(rule)
