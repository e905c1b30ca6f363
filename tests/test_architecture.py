"""The direction of imports, and docs/architecture.md against the tree.

Imports run one way: ``api/``, ``cli/`` and the composition root (``automatos/container.py``) →
feature packages and extensions → ``kernel/``. This test reads every module of ``automatos/`` with
:mod:`ast` (imports inside functions and under ``TYPE_CHECKING`` count: they couple as much) and
fails on an import running back up, naming the module, the line and the rule. The rules and the
feature packages' allowed dependencies are the ones docs/architecture.md states; change both
together.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "automatos"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

TOP = "automatos"
KERNEL = "kernel"
EXTENSIONS = "extensions"
ENTRY = frozenset({"api", "cli", "container"})
"""The top of the graph: may import anything; nothing below imports them."""

FEATURES: dict[str, frozenset[str]] = {
    # feature package -> the other feature packages it may import (the kernel is always allowed)
    "workspaces": frozenset(),
    "llm": frozenset(),
    "jobs": frozenset(),
    "agents": frozenset({"llm"}),
    "chat": frozenset({"agents", "llm", "tools", "workspaces"}),
    "sandbox": frozenset({"jobs"}),
    "tools": frozenset({"sandbox", "jobs"}),
    "routing": frozenset({"agents", "llm"}),
    "marketplace": frozenset({"sandbox", "jobs", "tools"}),
    "recipes": frozenset({"agents", "chat", "jobs", "llm", "tools", "sandbox"}),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _imports_of(source: str, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from automatos import agents` imports a package too
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names if module == TOP)
    return [(line, module) for line, module in found if module == TOP or module.startswith(TOP + ".")]


def _layer(module: str) -> str:
    """The first package below ``automatos`` (``""`` for the public face ``automatos/__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _violation(source: str, target: str) -> str | None:
    src, dst = _layer(source), _layer(target)
    if dst == "" or src == dst:
        return None  # the public face re-exports kernel types; a package may import itself
    if src in ENTRY:
        return None
    if dst in ENTRY:
        return f"only api/, cli/ and the composition root may import automatos.{dst}"
    if src in ("", KERNEL):
        if dst != KERNEL:
            return "the kernel (and the public face) imports no feature package and no extension"
        return None
    if src == EXTENSIONS:
        if dst != KERNEL:
            return "an extension reaches the platform through the kernel only (hooks, types, backends)"
        return None
    if src in FEATURES:
        if dst == EXTENSIONS:
            return "feature packages reach extensions through hooks, never by import"
        if dst != KERNEL and dst not in FEATURES[src]:
            return f"automatos.{src} may import the kernel and {sorted(FEATURES[src]) or 'no other feature'}"
        return None
    return f"automatos.{src} is not a known layer: add it to docs/architecture.md and to FEATURES here"


def _controller_violation(source: str, target: str) -> str | None:
    if source.startswith("automatos.api.controllers") and _layer(target) == EXTENSIONS:
        return "controllers call services, never a concrete extension (extensions add routes via register_routes)"
    return None


def _all_violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        for line, target in _imports(path):
            for check in (_violation, _controller_violation):
                why = check(source, target)
                if why:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {target}: {why}")
    return problems


def test_imports_run_one_way() -> None:
    problems = _all_violations()
    assert not problems, "imports running back up:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "target", "flagged"),
    [
        ("automatos.kernel.core", "automatos.agents.models", True),
        ("automatos.kernel.core", "automatos.kernel.views", False),
        ("automatos", "automatos.kernel.types", False),
        ("automatos.api.controllers.agents", "automatos.extensions.auth.api_keys", True),
        ("automatos.api.plugin", "automatos.extensions.auth.api_keys", False),
        ("automatos.chat.service", "automatos.agents.models", False),
        ("automatos.agents.models", "automatos.chat.service", True),
        ("automatos.sandbox.pool", "automatos.api.dependencies", True),
        ("automatos.extensions.llm.openai", "automatos.llm.catalog", True),
        ("automatos.jobs.queue", "automatos.extensions.cache.redis", True),
        ("automatos.cli.keys", "automatos.container", False),
        ("automatos.workspaces.service", "automatos.container", True),
    ],
)
def test_the_rules_flag_what_they_should(source: str, target: str, flagged: bool) -> None:
    got = _violation(source, target) or _controller_violation(source, target)
    assert (got is not None) is flagged, got


def test_relative_imports_are_resolved() -> None:
    # the checker must see `from ..agents import x` inside automatos/kernel/ as automatos.agents
    found = {m for _, m in _imports_of("from ..agents import models\nfrom . import types\n", "automatos.kernel")}
    assert found == {"automatos.agents", "automatos.kernel"}


def _documented_packages() -> set[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"<!-- layout -->\s*```\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md keeps the layout in a ``` block right after <!-- layout -->"
    return {m.group(1) for m in re.finditer(r"^\s{2}([a-z_]+)/", block.group(1), re.M)}


def test_architecture_md_matches_the_tree() -> None:
    on_disk = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    documented = _documented_packages()
    assert documented == on_disk, (
        f"docs/architecture.md layout lists {sorted(documented - on_disk)} that do not exist and misses "
        f"{sorted(on_disk - documented)}"
    )
    for name in on_disk - {KERNEL, EXTENSIONS, *ENTRY}:
        assert name in FEATURES, f"automatos/{name} has no place in the import rules (FEATURES)"


def test_architecture_md_names_every_feature_dependency() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    for name, allowed in FEATURES.items():
        line = re.search(rf"^\|\s*`{name}/`\s*\|([^|]*)\|", text, re.M)
        assert line, f"docs/architecture.md has no row for `{name}/` in its dependency table"
        stated = set(re.findall(r"`([a-z_]+)/`", line.group(1))) - {KERNEL}
        assert stated == set(allowed), f"{name}/: docs say {sorted(stated)}, the test allows {sorted(allowed)}"
