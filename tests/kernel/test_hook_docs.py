"""The two meta-tests that keep the hooks honest (Datasette's): every hook is documented, every hook is tested.

(a) ``docs/hooks.md`` has exactly one ``## name(args)`` section per hook spec, its arguments are the
    spec's parameters in order, every such section names a real hook, and each section's example
    defines an implementation that accepts only arguments the spec offers.
(b) ``tests/plugins/everything.py`` implements every hook, and every hook's name appears in at
    least one test module besides that plugin and this file.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from automatos.kernel import hookspecs
from tests.plugins import everything

ROOT = Path(__file__).resolve().parents[2]
HOOKS_MD = ROOT / "docs" / "hooks.md"
TESTS = ROOT / "tests"
THIS = Path(__file__).resolve()
EVERYTHING = (TESTS / "plugins" / "everything.py").resolve()

SPEC_MARKER = f"{hookspecs.PROJECT}_spec"
IMPL_MARKER = f"{hookspecs.PROJECT}_impl"
SPECS: dict[str, Callable[..., Any]] = {
    name: obj for name, obj in vars(hookspecs).items() if inspect.isfunction(obj) and hasattr(obj, SPEC_MARKER)
}
HOOKS = sorted(SPECS)

HEADING = re.compile(r"^## (?P<name>[A-Za-z_]\w*)\((?P<args>[^()]*)\)\s*$")
FENCE = re.compile(r"^\s*```")


def spec_args(name: str) -> list[str]:
    return list(inspect.signature(SPECS[name]).parameters)


def _level_two_sections() -> list[tuple[str, list[str]]]:
    """``(heading line, body lines)`` for every ``## `` heading outside code blocks, in order."""
    sections: list[tuple[str, list[str]]] = []
    in_code = False
    for line in HOOKS_MD.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and line.startswith("## "):
            sections.append((line.rstrip(), []))
            continue
        if sections:
            sections[-1][1].append(line)
    return sections


def documented() -> dict[str, tuple[list[str], str]]:
    """``{hook name: (listed arguments, section text)}`` from the ``## name(args)`` headings."""
    out: dict[str, tuple[list[str], str]] = {}
    for heading, body in _level_two_sections():
        match = HEADING.match(heading)
        if match is None:
            continue
        args = [a.strip() for a in match["args"].split(",") if a.strip()]
        assert match["name"] not in out, f"docs/hooks.md documents {match['name']} twice"
        out[match["name"]] = (args, "\n".join(body))
    return out


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_specs_are_found() -> None:
    assert len(HOOKS) >= 10, f"only {HOOKS} carry {SPEC_MARKER!r}: has the marker changed?"


# -- (a) every hook is documented ----------------------------------------------------------------


def test_every_level_two_heading_is_a_hook_section() -> None:
    """Family groups use bold text or rules, so a ``## `` heading is always ``## name(args)``."""
    stray = [heading for heading, _ in _level_two_sections() if not HEADING.match(heading)]
    assert stray == [], f"docs/hooks.md: level-2 headings must be `## <hook>(<args>)`: {stray}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_arguments_in_order(hook: str) -> None:
    docs = documented()
    assert hook in docs, f"docs/hooks.md has no `## {hook}(...)` section"
    listed, _ = docs[hook]
    expected = spec_args(hook)
    assert listed == expected, (
        f"docs/hooks.md: `## {hook}({', '.join(listed)})` should be `## {hook}({', '.join(expected)})`"
    )


def test_every_documented_hook_exists() -> None:
    unknown = sorted(set(documented()) - set(SPECS))
    assert unknown == [], f"docs/hooks.md documents hooks that hookspecs.py does not define: {unknown}"


def test_sections_follow_the_order_of_hookspecs() -> None:
    order = [name for name in vars(hookspecs) if name in SPECS]
    assert [name for name in documented() if name in SPECS] == order


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_section_has_an_example_that_matches_the_spec(hook: str) -> None:
    docs = documented()
    assert hook in docs, f"docs/hooks.md has no `## {hook}(...)` section"
    _, text = docs[hook]
    blocks = python_blocks(text)
    assert blocks, f"docs/hooks.md: the {hook} section has no ```python example"
    impls: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for block in blocks:
        tree = ast.parse(block)  # a syntax error fails here, naming the line
        impls += [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == hook
            and any(ast.unparse(d).split("(")[0].endswith("hookimpl") for d in node.decorator_list)
        ]
    assert impls, f"docs/hooks.md: the {hook} example has no `@hookimpl def {hook}(...)`"
    allowed = spec_args(hook)
    for impl in impls:
        names = [a.arg for a in impl.args.args if a.arg != "self"]
        extra = [n for n in names if n not in allowed]
        assert extra == [], f"docs/hooks.md: the {hook} example accepts {extra}, which the spec does not offer"
        assert not impl.args.defaults, f"docs/hooks.md: the {hook} example gives an argument a default"


# -- (b) every hook is tested --------------------------------------------------------------------


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_the_everything_plugin(hook: str) -> None:
    impl = getattr(everything, hook, None)
    assert impl is not None and hasattr(impl, IMPL_MARKER), (
        f"tests/plugins/everything.py does not implement {hook} with @hookimpl"
    )


def _test_modules() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in sorted(TESTS.rglob("test_*.py"))
        if path.resolve() not in (THIS, EVERYTHING)
    }


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_named_by_a_test_module(hook: str) -> None:
    word = re.compile(rf"\b{re.escape(hook)}\b")
    users = [path.relative_to(ROOT).as_posix() for path, text in _test_modules().items() if word.search(text)]
    assert users, f"no test module under tests/ mentions {hook}: add a test that exercises it"
