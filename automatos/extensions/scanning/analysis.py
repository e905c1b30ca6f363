"""The analysis of a whole target, shared by every rule through ``target.cache``.

Every Python file is parsed once and walked once (``walker.py``); every ``.pth`` line that
executes is walked as code that runs at install time. The import graph from the entry module —
plus ``setup.py``, ``conftest.py``, ``sitecustomize``/``usercustomize`` and executing ``.pth``
lines, which run without being imported — decides reachability: a finding in a module nothing
reaches weighs half (``reachable=False``). Decoded payloads that parse as Python are walked again,
up to :data:`MAX_PAYLOAD_DEPTH` deep, their findings pointing at the outer file and line.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from automatos.extensions.scanning.correlate import Mark, correlate
from automatos.extensions.scanning.dispatch import data_dispatch
from automatos.extensions.scanning.permissions import Permissions
from automatos.extensions.scanning.walker import Ctx, Hit, Walker
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["CACHE_KEY", "MAX_PAYLOAD_DEPTH", "analyse", "module_name"]

CACHE_KEY = "automatos.scanning.static"
MAX_PAYLOAD_DEPTH = 4
_PATH_SETUP = ("sys.path.insert", "sys.path.append", "sys.path.extend", "site.addsitedir", "os.path.")
_INSTALL_ROOTS = {"setup.py", "sitecustomize.py", "usercustomize.py"}
_TOOL_ROOTS = {"conftest.py", "noxfile.py", "fabfile.py", "dodo.py"}
"""Files a developer tool runs without the package importing them (pytest, nox, fabric, doit)."""
_DOCS_DIRS = {"docs", "doc"}


@dataclass
class _Module:
    path: str
    name: str
    is_package: bool
    hits: list[Hit] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    root: bool = False


def module_name(path: str) -> tuple[str, bool]:
    """``pkg/sub/mod.py`` → ``("pkg.sub.mod", False)``; ``pkg/__init__.py`` → ``("pkg", True)``."""
    stem = path.rsplit(".", 1)[0]
    parts = [p for p in stem.split("/") if p]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _is_test(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return (
        any(p in {"tests", "test"} for p in parts[:-1])
        or base.startswith("test_")
        or base.endswith("_test.py")
        or base == "conftest.py"
    )


def _unparsable(path: str, line: int, why: str) -> Hit:
    return Hit("unparsable", Severity.CRITICAL, why, line, module_level=True)


class _Analyser:
    def __init__(self, target: ScanTarget):
        self.target = target
        self.perms = Permissions.from_manifest(target.permissions())
        self.bundle_files = frozenset(posixpath.basename(p) for p in target.files)
        self.bundle_data = {posixpath.basename(p): data for p, data in target.files.items()}
        names = (module_name(p)[0].split(".") for p in target.python_files())
        self.own_packages = frozenset(n[1] if n[0] == "src" and len(n) > 1 else n[0] for n in names if n and n[0])
        self.build_roots = _build_hooks(target)

    def walk(
        self, source: str, path: str, *, install_root: bool, test_root: bool, line_of: object = None, depth: int = 0
    ) -> Walker | Hit:
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError as exc:
            return _unparsable(path, exc.lineno or 0, f"source does not parse: {exc.msg}")
        except (RecursionError, MemoryError, ValueError):
            return _unparsable(path, 0, "source is too deeply nested or too large to parse")
        walker = Walker(
            tree,
            self.perms,
            is_setup=posixpath.basename(path) == "setup.py",
            install_root=install_root,
            test_root=test_root,
            bundle_files=self.bundle_files,
            bundle_data=self.bundle_data,
            own_packages=self.own_packages,
            is_test=_is_test(path),
        )
        if line_of is not None:
            walker.line_of = line_of  # type: ignore[assignment]
        walker.payload = self._payload_handler(walker, path, install_root, test_root, depth)
        try:
            walker.run()
        except RecursionError:
            return _unparsable(path, 0, "source is too deeply nested to analyse")
        return walker

    def _payload_handler(self, outer: Walker, path: str, install_root: bool, test_root: bool, depth: int):  # type: ignore[no-untyped-def]
        seen: set[tuple[int, str]] = set()

        def handle(text: str, line: int, ctx: Ctx, origin: str) -> None:
            if depth >= MAX_PAYLOAD_DEPTH or not outer._emit or len(text) > 2_000_000 or (line, text) in seen:
                return
            seen.add((line, text))
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return
            if not any(isinstance(n, ast.Call | ast.Import | ast.ImportFrom) for n in ast.walk(tree)):
                return
            outer_line = outer.line_of(line)
            inner = self.walk(
                text,
                path,
                install_root=install_root and ctx.module_level,
                test_root=test_root,
                line_of=lambda _l: outer_line,
                depth=depth + 1,
            )
            if isinstance(inner, Hit):
                return
            outer.imports.extend((name, line) for name, _ in inner.imports)
            for hit in inner.hits:
                hit.module_level = ctx.module_level
                hit.install = hit.install or ctx.install
                hit.message = f"{hit.message} (in {origin} at line {outer_line})"
                outer.hits.append(hit)

        return handle

    def modules(self) -> list[_Module]:
        out: list[_Module] = []
        for path in self.target.python_files():
            source = self.target.text(path)
            if source is None:
                continue  # run_rules reports it as unreadable
            name, is_package = module_name(path)
            base = posixpath.basename(path)
            install = base in _INSTALL_ROOTS or path in self.build_roots
            parts = path.split("/")
            test = base in _TOOL_ROOTS or (base == "conf.py" and len(parts) > 1 and parts[-2] in _DOCS_DIRS)
            module = _Module(path, name, is_package, root=install or test)
            result = self.walk(source, path, install_root=install, test_root=test)
            if isinstance(result, Hit):
                module.hits.append(result)
            else:
                module.hits, module.imports = result.hits, result.imports
            out.append(module)
        for path, data in self.target.files.items():
            if path.endswith(".pth"):
                out.append(self._pth(path, data))
        return out

    def _pth(self, path: str, data: bytes) -> _Module:
        module = _Module(path, "", False, root=True)
        text = data.decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.startswith(("import ", "import\t")):
                continue
            result = self.walk(line, path, install_root=True, test_root=False, line_of=lambda _l, n=number: n)
            if isinstance(result, Hit):
                result.line = number
                module.hits.append(result)
                continue
            calls = [n for n in ast.walk(result.tree) if isinstance(n, ast.Call)]
            names = [result.facts.resolve(c.func).name for c in calls]
            if any(not name.startswith(_PATH_SETUP) for name in names):
                shown = next(n for n in names if not n.startswith(_PATH_SETUP)) or "code"
                module.hits.append(
                    Hit(
                        "pth-exec",
                        Severity.CRITICAL,
                        f".pth line runs code every time Python starts ({shown})",
                        number,
                        True,
                    )
                )
            module.hits.extend(result.hits)
            module.imports.extend(result.imports)
        return module


_SETUPTOOLS_HOOK_GROUPS = (
    "distutils.commands",
    "distutils.setup_keywords",
    "setuptools.finalize_distribution_options",
    "egg_info.writers",
    "setuptools.file_finders",
)


def _module_files(target: ScanTarget, module: str, bases: Iterable[str] = ("",)) -> set[str]:
    """Bundle paths a dotted module name (``pkg.mod`` or ``pkg.mod:attr``) may live at."""
    stem = module.split(":", 1)[0].strip().replace(".", "/")
    out: set[str] = set()
    for base in bases:
        prefix = f"{base.strip('/')}/" if base.strip("/ .") else ""
        for candidate in (f"{prefix}{stem}.py", f"{prefix}{stem}/__init__.py"):
            if stem and candidate in target.files:
                out.add(candidate)
    return out


def _table(doc: dict[str, object], key: str) -> dict[str, object]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _build_hooks(target: ScanTarget) -> frozenset[str]:
    """Bundle modules a build or install runs without anything importing them: a PEP 517 build
    backend (``[build-system] build-backend`` + ``backend-path`` in pyproject.toml), setuptools
    command classes (``[tool.setuptools] cmdclass``, setup.cfg ``cmdclass``) and setuptools hook
    entry points (``distutils.commands``, ``egg_info.writers``…) declared in either file."""
    import configparser
    import tomllib

    found: set[str] = set()
    for path, data in target.files.items():
        base = posixpath.basename(path)
        folder = posixpath.dirname(path)
        text = data[:200_000].decode("utf-8", "replace")
        if base == "pyproject.toml":
            try:
                doc = tomllib.loads(text)
            except (tomllib.TOMLDecodeError, ValueError):
                continue
            system = _table(doc, "build-system")
            backend = system.get("build-backend")
            paths = system.get("backend-path")
            dirs = [posixpath.join(folder, p) for p in paths if isinstance(p, str)] if isinstance(paths, list) else []
            if isinstance(backend, str):
                found |= _module_files(target, backend, [*dirs, folder])
            cmdclass = _table(_table(_table(doc, "tool"), "setuptools"), "cmdclass")
            groups = _table(_table(doc, "project"), "entry-points")
            values = [v for v in cmdclass.values() if isinstance(v, str)]
            if groups:
                for group in _SETUPTOOLS_HOOK_GROUPS:
                    entries = groups.get(group)
                    if isinstance(entries, dict):
                        values += [v for v in entries.values() if isinstance(v, str)]
            for value in values:
                found |= _module_files(target, value.rsplit(".", 1)[0] if ":" not in value else value, [folder])
        elif base == "setup.cfg":
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            values = []
            if parser.has_option("options", "cmdclass"):
                values += [v.split("=", 1)[-1].strip() for v in parser.get("options", "cmdclass").splitlines()]
                values = [v.rsplit(".", 1)[0] for v in values if v]
            for group in _SETUPTOOLS_HOOK_GROUPS:
                if parser.has_option("options.entry_points", group):
                    raw = parser.get("options.entry_points", group).splitlines()
                    values += [v.split("=", 1)[-1].strip() for v in raw if "=" in v]
            for value in values:
                found |= _module_files(target, value, [folder])
    return frozenset(found)


def _reached(modules: list[_Module], entry: str | None) -> set[str] | None:
    """Paths reachable from the entry module and the roots; ``None`` when everything counts."""
    by_name: dict[str, _Module] = {}
    for module in modules:
        if module.name:
            by_name.setdefault(module.name, module)
            if module.name.startswith("src."):
                by_name.setdefault(module.name[4:], module)
    start = [m for m in modules if m.root]
    if entry is None or entry not in by_name:
        return None
    parts = entry.split(".")
    start.extend(by_name[".".join(parts[:i])] for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in by_name)
    seen: set[str] = set()
    queue = list(start)
    while queue:
        module = queue.pop()
        if module.path in seen:
            continue
        seen.add(module.path)
        for target in _targets(module, by_name):
            if target.path not in seen:
                queue.append(target)
    return seen


def _targets(module: _Module, by_name: dict[str, _Module]) -> Iterable[_Module]:
    own = module.name.split(".") if module.name else []
    package = own if module.is_package else own[:-1]
    for name, _line in module.imports:
        if name.startswith("."):
            level = len(name) - len(name.lstrip("."))
            base = package[: len(package) - (level - 1)] if level > 1 else package
            rest = name.lstrip(".")
            name = ".".join([*base, rest] if rest else base)
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # a package's __init__ runs on the way down
            found = by_name.get(".".join(parts[:i]))
            if found is not None:
                yield found


def analyse(target: ScanTarget) -> list[ScanFinding]:
    """Every finding of the static engine over ``target`` (computed once, then cached)."""
    cached = target.cache.get(CACHE_KEY)
    if cached is not None:
        return list(cached)
    analyser = _Analyser(target)
    modules = analyser.modules()
    reached = _reached(modules, target.entry)
    findings: dict[tuple[str, str, int, str], ScanFinding] = {}
    marks: list[Mark] = []
    for module in modules:
        reachable = reached is None or module.path in reached
        for hit in module.hits:
            if hit.rule.startswith("~"):
                marks.append(Mark(hit.rule[1:], hit.message, module.path, hit.line, reachable or hit.install))
                continue
            key = (hit.rule, module.path, hit.line, hit.message.split(" (in ", 1)[0])
            findings.setdefault(
                key,
                ScanFinding(
                    rule=hit.rule,
                    severity=hit.severity,
                    message=hit.message,
                    path=module.path,
                    line=hit.line,
                    reachable=reachable or hit.install,
                    declared=hit.declared,
                ),
            )
    result = correlate(list(findings.values()), marks)
    result += data_dispatch(target, result)
    target.cache[CACHE_KEY] = result
    return list(result)
