"""setup.py command classes: how dangerous an install-time hook is.

A command class (``install``, ``build_py``, …) that does more than call its base runs at
``pip install`` time. It is critical only when its code — its methods and the setup.py functions
they call — does something dangerous (network, processes, code from data, secrets, deletion, a path
outside the build tree); a hook that only writes files inside the project is low, other local code
medium. The walker walks the class body as install time either way.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.facts import ModuleFacts

__all__ = ["command_class"]

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

_CMD_BASES = re.compile(
    r"(^|\.)(install|develop|egg_info|build|build_py|build_ext|sdist|bdist_wheel|bdist_egg|easy_install)$"
)
_SAFE_CMD_CALLS = re.compile(
    r"(^|\.)(run|initialize_options|finalize_options|run_command|announce|__init__)$|^super\(\)"
)
_BASE_PREFIXES = ("self.", "super", "setuptools.", "distutils.")
_HOOK_DANGER = re.compile(
    r"^(subprocess|pty|socket|ssl|urllib|urllib3|requests|httpx|http|aiohttp|smtplib|ftplib|telnetlib|ctypes|cffi"
    r"|importlib|pickle|marshal|dill|base64|binascii|zlib|lzma|bz2|gzip|codecs|webbrowser|shutil\.rmtree|pip"
    r"|multiprocessing|threading|asyncio\.create_subprocess|getpass|keyring|winreg|crontab|glob)\b"
    r"|^os\.(system|popen|exec|spawn|startfile|fork|kill|getenv|environ|remove|unlink|rmdir|removedirs|chmod|chown"
    r"|symlink|path\.expanduser|listdir|walk|scandir)|(^|\.)(home|expanduser|getenv|urlopen|urlretrieve|rmtree)$"
    r"|(^|\.)spawn$|^(builtins\.)?(eval|exec|compile|__import__|getattr|globals|vars|setattr)$"
    r"|decode$|decompress$|loads$"
)
"""Calls that make an install-time command class dangerous: network, processes, code from data,
secrets, deletion, walking the file system."""
_HOOK_FILE_CALLS = re.compile(
    r"(^|\.)(write_text|write_bytes|write|open|mkdir|makedirs|exists|is_file|is_dir|join|dirname|abspath|"
    r"Path|str|format|print|log|info|debug|warn|warning|copy|copyfile|copy2|read_text|read|strip|replace|"
    r"get_version|mkpath|copy_file|make_file|announce|debug_print|dump|dumps|items|get)$"
)
"""Calls a hook that only (re)writes files inside the project makes (version files, generated code)."""
_OUTSIDE_PATH = re.compile(r"^(/(etc|usr|var|home|root|Library|System|opt|tmp|dev|proc)\b|~|[A-Za-z]:\\|\.\./\.\./|%)")
"""Path literals that leave the build tree: system and home directories, drive roots, climbing out."""


def command_class(facts: ModuleFacts, tree: ast.Module, node: ast.ClassDef) -> tuple[Severity, str] | None:
    """(severity, why) for a setup.py command class that runs code beyond its base's protocol;
    ``None`` for an ordinary class or a command that only calls its base."""
    if not any(_CMD_BASES.search(facts.resolve(b).name or "") for b in node.bases):
        return None
    bases = tuple(f"{facts.resolve(b).name}." for b in node.bases if facts.resolve(b).name)
    local = {s.name: s for s in [*tree.body, *node.body] if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    calls: list[str] = []
    strings: list[str] = []
    seen: set[int] = set()
    todo: list[ast.AST] = [item for item in node.body if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)]
    while todo:
        item = todo.pop()
        if id(item) in seen or len(seen) > 50:
            continue
        seen.add(id(item))
        for sub in ast.walk(item):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                strings.append(sub.value)
            if not isinstance(sub, ast.Call):
                continue
            name = facts.resolve(sub.func).name or ""
            own = _SAFE_CMD_CALLS.search(name or "super()") and name.startswith(_BASE_PREFIXES + bases)
            if name == "super" or own:
                continue  # the command's own protocol: ``super().run()``, ``build_py.run(self)``
            text = ast.unparse(sub.func)  # a function-local import the walk has not reached resolves later
            calls.append(name if _HOOK_DANGER.search(name) or not _HOOK_DANGER.search(text) else text)
            callee = name.removeprefix("self.")
            if callee in local:
                todo.append(local[callee])
    if not calls:
        return None
    danger = next((c for c in calls if _HOOK_DANGER.search(c)), None)
    outside = next((t for t in strings if _OUTSIDE_PATH.match(t)), None)
    if danger is not None:
        return C, f"runs {danger}"
    if outside is not None:
        return C, f"writes outside the build tree ({outside[:40]!r})"
    if all(_HOOK_FILE_CALLS.search(c) for c in calls):
        return L, "only writes files inside the project"
    return M, f"runs local code ({calls[0]})"
