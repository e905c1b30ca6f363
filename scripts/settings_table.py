"""Print the README's two settings tables: environment settings (every settings struct: the kernel's
``automatos.kernel.settings.Settings``, the feature packages' from the composition root, the built-in
extensions' from ``register_settings``) and the platform settings (the seeded ones). Run with
--write after adding either."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from pathlib import Path

from dependency_injector import providers

from automatos.agents.seed_data import PLATFORM_SETTINGS, PlatformSettingSeed
from automatos.container import Container
from automatos.kernel.settings import Settings, SettingsGroup, load_settings


def settings_groups() -> list[type[SettingsGroup]]:
    """The kernel's struct, the packages' (in the composition root's order), then the built-in
    extensions' (by owner): what a deployment with no third-party extension reads."""
    container = Container()
    container.settings.override(providers.Object(load_settings({})))
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


def platform_table() -> str:
    """The Markdown table of the seeded platform settings, header included."""
    lines = ["| Platform setting | Seeded value | Accepts | Meaning |", "|---|---|---|---|"]
    for seed in PLATFORM_SETTINGS:
        lines.append(f"| `{seed.key}` | `{json.dumps(seed.value)}` | {_accepts(seed)} | {seed.description} |")
    return "\n".join(lines)


def _accepts(seed: PlatformSettingSeed) -> str:
    """What a new value must be, as the API checks it (``automatos.agents.platform_settings.check_setting_value``)."""
    if seed.kind == "string":
        return " or ".join(f"`{json.dumps(c)}`" for c in seed.choices) or "a string"

    def shown(bound: float | None) -> str:
        return "?" if bound is None else str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

    return f"{seed.kind} from {shown(seed.minimum)} to {shown(seed.maximum)}"


def _replace(text: str, header: str, body: str) -> str:
    start = text.index(header)
    end = text.index("\n\n", start)
    return text[:start] + body + text[end:]


def update_readme(readme: Path) -> None:
    """Replace both tables in README.md (each between its header row and the next blank line)."""
    text = _replace(readme.read_text(), "| Variable | Default |", table())
    readme.write_text(_replace(text, "| Platform setting | Seeded value |", platform_table()))


def main() -> None:
    import sys

    if "--write" in sys.argv:
        update_readme(Path(__file__).parents[1] / "README.md")
    else:
        print(table() + "\n\n" + platform_table())


if __name__ == "__main__":
    main()
