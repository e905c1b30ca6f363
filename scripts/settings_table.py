"""Print the README's settings tables: environment settings (every settings struct: the kernel's
``automatos.kernel.settings.Settings``, the feature packages' from the composition root, the built-in
extensions' from ``register_settings``), and the settings of the one settings registry declared with
``Declared`` (platform scope; workspace scope when any is declared). Run with --write after adding
any."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from pathlib import Path

from dependency_injector import providers

from automatos.agents.seed_data import PLATFORM_SETTINGS
from automatos.container import Container
from automatos.kernel.settings import Settings, SettingsGroup, load_settings
from automatos.kernel.settings_registry import Declared, Scope


def _container() -> Container:
    container = Container()
    container.settings.override(providers.Object(load_settings({})))
    return container


def settings_groups() -> list[type[SettingsGroup]]:
    """The kernel's struct, the packages' (in the composition root's order), then the built-in
    extensions' (by owner): what a deployment with no third-party extension reads."""
    container = _container()
    parts = container.parts()
    packages = [g for g in container.package_parts().settings]
    extensions = sorted((g for g in parts.settings if g not in packages), key=lambda g: (g.OWNER, g.__name__))
    return [Settings, *packages, *extensions]


def attribute_docs(cls: type[SettingsGroup]) -> dict[str, str]:
    """Field -> the docstring under it in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    docs: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for stmt, nxt in zip(node.body, node.body[1:], strict=False):
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                        docs[stmt.target.id] = " ".join(str(nxt.value.value).split()).replace("``", "`")
    return docs


def table() -> str:
    """The Markdown table, header included."""
    defaults = load_settings({})
    lines = [
        "| Variable | Default | Form | Run-time override | Read by | Meaning |",
        "|---|---|---|---|---|---|",
    ]
    for group in settings_groups():
        docs = attribute_docs(group)
        values = defaults.group(group)
        for f in group.FIELDS:
            value = getattr(values, f.field)
            if isinstance(value, tuple):
                value = ",".join(value)
            shown = f"`{value}`" if value not in (None, "") else "(empty)"
            lines.append(
                f"| `{f.env}` | {shown} | {f.form.replace('|', ' or ')} | {'yes' if f.runtime else 'no'} "
                f"| {group.OWNER} | {docs.get(f.field, '')} |"
            )
    return "\n".join(lines)


def declared(scope: Scope) -> list[Declared]:
    """The built-in declarations of ``scope``, each key once: seeded ones in the seed's order, then the rest."""
    seeded = {seed.key: n for n, seed in enumerate(PLATFORM_SETTINGS)}
    found: dict[str, Declared] = {}
    for item in _container().parts().declared:
        if item.scope == scope:
            found.setdefault(item.key, item)
    return sorted(found.values(), key=lambda d: (seeded.get(d.key, len(seeded)), d.key))


def platform_table() -> str:
    """The Markdown table of the declared platform settings, header included."""
    lines = ["| Platform setting | Seeded value | Accepts | Meaning |", "|---|---|---|---|"]
    for item in declared("platform"):
        lines.append(f"| `{item.key}` | `{json.dumps(item.default)}` | {_accepts(item)} | {item.description} |")
    return "\n".join(lines)


def workspace_table() -> str:
    """The Markdown table of the declared workspace settings (empty when none is declared)."""
    rows = declared("workspace")
    if not rows:
        return ""
    lines = ["| Workspace setting | Default | Accepts | Meaning |", "|---|---|---|---|"]
    for item in rows:
        lines.append(f"| `{item.key}` | `{json.dumps(item.default)}` | {_accepts(item)} | {item.description} |")
    return "\n".join(lines)


def _accepts(item: Declared) -> str:
    """What a new value must be, as the registry checks it (``automatos.kernel.settings_registry.check_value``)."""
    if item.kind in ("string", "string_list"):
        accepted = " or ".join(f"`{json.dumps(c)}`" for c in item.choices) or "a string"
        return accepted if item.kind == "string" else f"a list of: {accepted}"

    def shown(bound: float | None) -> str:
        return "?" if bound is None else str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

    return f"{item.kind} from {shown(item.minimum)} to {shown(item.maximum)}"


def _replace(text: str, header: str, body: str) -> str:
    start = text.index(header)
    end = text.index("\n\n", start)
    return text[:start] + body + text[end:]


def update_readme(readme: Path) -> None:
    """Replace the tables in README.md (each between its header row and the next blank line); the
    workspace table goes right after the platform table the first time there is one."""
    text = _replace(readme.read_text(), "| Variable | Default |", table())
    text = _replace(text, "| Platform setting | Seeded value |", platform_table())
    workspace = workspace_table()
    if "| Workspace setting | Default |" in text:
        text = _replace(text, "| Workspace setting | Default |", workspace or "")
    elif workspace:
        end = text.index("\n\n", text.index("| Platform setting | Seeded value |"))
        text = text[:end] + "\n\n" + workspace + text[end:]
    readme.write_text(text)


def main() -> None:
    import sys

    if "--write" in sys.argv:
        update_readme(Path(__file__).parents[1] / "README.md")
    else:
        print("\n\n".join(t for t in (table(), platform_table(), workspace_table()) if t))


if __name__ == "__main__":
    main()
