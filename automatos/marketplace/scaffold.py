"""The source tree ``automatos plugin new NAME`` writes: a plugin that packages, and scans ``safe``.

:func:`scaffold_files` gives path → text for a plugin called ``name``: ``plugin.toml`` (name,
version, entry, description, license, ``[permissions]`` empty, ``[provides]`` naming its skill),
the package with ``register(ctx)`` and one tool, a skill, a README and a test. Nothing in it uses
a capability the scanner weighs (network, environment, processes, files), so a fresh scaffold
scans ``safe``; the CLI's tests prove it. :func:`write_scaffold` writes it into a new directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from automatos.marketplace.manifest import normalise_slug

__all__ = ["module_name", "scaffold_files", "write_scaffold"]


def module_name(name: str) -> str:
    """A Python package name for the plugin: lower case, ``_`` between words, not starting with a digit."""
    module = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "plugin"
    return f"plugin_{module}" if module[0].isdigit() else module


def scaffold_files(name: str) -> dict[str, str]:
    """path → text of a new plugin called ``name`` (see the module docstring)."""
    slug = normalise_slug(name) or "plugin"
    module = module_name(name)
    title = name.strip() or slug
    return {
        "plugin.toml": f'''name = "{_toml(title)}"
slug = "{slug}"
version = "0.1.0"
entry = "{module}"
description = "{_toml(title)}: what it does, in one sentence."
author = ""
license = "MIT"

# What the plugin needs; a workspace admin grants all or part of it. Declare every host, variable
# and executable your code uses: an undeclared one weighs far more in the scan.
[permissions]
network = []
env = []
subprocess = []

[provides]
skills = ["skills/{slug}.md"]
''',
        f"{module}/__init__.py": f'''"""{title}: an Automatos marketplace plugin."""

from __future__ import annotations

from typing import Any

__all__ = ["register", "word_count"]


def word_count(text: str) -> int:
    """How many words ``text`` has."""
    return len(text.split())


def register(ctx: Any) -> None:
    """Called once when a workspace loads the plugin: add what it provides."""
    ctx.add_tool(word_count, name="word_count")
''',
        f"skills/{slug}.md": f"""# {title}

Use the `word_count` tool when the user asks how long a text is. Report the number of words.
""",
        "README.md": f"""# {title}

An Automatos marketplace plugin.

    automatos plugin scan .          # the static scan, as the marketplace runs it
    automatos plugin package .       # the bundle to upload, and its sha256
    python -m pytest tests           # its own tests

Before publishing, sign it: `automatos plugin keygen`, then `automatos plugin sign . --key <file>`.
""",
        "tests/test_plugin.py": f"""from {module} import register, word_count


class Recorder:
    def __init__(self) -> None:
        self.tools: dict[str, object] = {{}}

    def add_tool(self, fn: object, *, name: str) -> None:
        self.tools[name] = fn


def test_word_count() -> None:
    assert word_count("one two  three") == 3


def test_register_adds_the_tool() -> None:
    ctx = Recorder()
    register(ctx)
    assert ctx.tools == {{"word_count": word_count}}
""",
    }


def _toml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def write_scaffold(name: str, directory: Path) -> Path:
    """Write the scaffold into ``directory`` (created; it must not exist or be empty). Returns it."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise FileExistsError(f"{directory} already exists and is not an empty directory")
    for path, text in scaffold_files(name).items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return directory
