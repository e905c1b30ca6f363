"""Data-driven dispatch: names read from the bundle's own data files are hidden names.

A generic engine (``import_module(spec)``, ``getattr(mod, name)``, a ``reduce(getattr, …)`` over a
dotted path) reads which module and function to call from a JSON/YAML/TOML file shipped next to it.
Nothing in the Python names a dangerous call, so the code rules see only a computed import; the
data file does. When a module of the bundle imports or looks up computed names, every string of the
bundle's data files is read as a candidate name: ``"os:system"``, ``"subprocess.getoutput"``,
``"builtins:eval"``, ``"urllib.request:urlopen"``, or a module string and an attribute string in
the same file (``{"module": "subprocess", "call": "run"}``). A candidate naming process execution,
code execution, the network, the environment, native code or deserialisation makes the dynamic
lookup ``obfuscated-call`` (critical): the data chooses the code. Handler tables naming the
plugin's own modules (``"plug.handlers.csv"``) are not dangerous names and add nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator

from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["data_dispatch"]

_LOOKUPS = frozenset({"dynamic-import", "dynamic-getattr", "builtins-access"})
_DATA_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf")
_NAME = re.compile(r"^[A-Za-z_][\w]*(?:[.:][A-Za-z_][\w]*)*$")
_DANGER: dict[str, frozenset[str]] = {
    "os": frozenset(
        {
            "system",
            "popen",
            "execv",
            "execve",
            "execl",
            "execvp",
            "spawnv",
            "spawnl",
            "fork",
            "startfile",
            "environ",
            "getenv",
            "remove",
            "unlink",
            "rmdir",
            "removedirs",
            "dup2",
            "kill",
        }
    ),
    "builtins": frozenset({"eval", "exec", "compile", "__import__", "open", "getattr"}),
    "subprocess": frozenset({"run", "call", "Popen", "check_output", "check_call", "getoutput", "getstatusoutput"}),
    "pty": frozenset({"spawn", "fork"}),
    "socket": frozenset({"socket", "create_connection", "gethostbyname", "getaddrinfo"}),
    "ctypes": frozenset({"CDLL", "WinDLL", "cdll", "windll", "memmove", "CFUNCTYPE"}),
    "marshal": frozenset({"loads", "load"}),
    "pickle": frozenset({"loads", "load"}),
    "shutil": frozenset({"rmtree"}),
    "webbrowser": frozenset({"open"}),
    "urllib.request": frozenset({"urlopen", "urlretrieve", "Request", "build_opener"}),
    "http.client": frozenset({"HTTPConnection", "HTTPSConnection"}),
    "requests": frozenset({"get", "post", "put", "request", "Session"}),
    "httpx": frozenset({"get", "post", "put", "request", "Client"}),
    "smtplib": frozenset({"SMTP", "SMTP_SSL"}),
    "ftplib": frozenset({"FTP", "FTP_TLS"}),
    "importlib": frozenset({"import_module"}),
}
"""Modules and the attributes of theirs that run code, start processes, touch the network, the
environment or native code, deserialise or delete: what a data file must not choose."""
_MAX_STRINGS = 5000


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _load(path: str, text: str) -> tuple[list[str], bool]:
    """The file's strings, and whether they are exact values (parsed JSON/TOML) or loose tokens."""
    try:
        if path.endswith(".json"):
            return list(_strings(json.loads(text))), True
        if path.endswith(".toml"):
            return list(_strings(tomllib.loads(text))), True
    except (ValueError, RecursionError):
        pass
    # YAML/INI and anything that did not parse: the quoted and bare scalar tokens
    return re.findall(r"[A-Za-z_][\w.:]*[A-Za-z_\d]", text[:200_000]), False


def _dangerous(name: str) -> bool:
    dotted = name.replace(":", ".")
    module, _, attr = dotted.rpartition(".")
    while module:
        if attr.split(".")[0] in _DANGER.get(module, ()):
            return True
        module, _, head = module.rpartition(".")
        attr = f"{head}.{attr}"
    return False


def _candidates(strings: list[str], structured: bool) -> Iterator[str]:
    names = {s.strip() for s in strings[:_MAX_STRINGS] if len(s) <= 100 and _NAME.match(s.strip())}
    for name in sorted(names):
        if ("." in name or ":" in name) and _dangerous(name):
            yield name
    if not structured:
        return  # a loose token scan pairs nothing: prose says "os" and "run" all the time
    for module in sorted(names & _DANGER.keys()):
        for attr in sorted(names & _DANGER[module]):
            yield f"{module} + {attr}"


def data_dispatch(target: ScanTarget, findings: list[ScanFinding]) -> list[ScanFinding]:
    """Findings for computed lookups whose names the bundle's data files supply."""
    lookups = [f for f in findings if f.rule in _LOOKUPS and f.severity in (Severity.HIGH, Severity.CRITICAL)]
    if not lookups:
        return []
    named: list[tuple[str, str]] = []
    for path in sorted(target.files):
        if not path.lower().endswith(_DATA_SUFFIXES) or path.rsplit("/", 1)[-1] in {"pyproject.toml", "plugin.toml"}:
            continue
        text = target.text(path)
        if text is None:
            continue
        named.extend((path, name) for name in _candidates(*_load(path, text)))
        if len(named) > 5:
            break
    if not named:
        return []
    lookup = next((f for f in lookups if f.reachable), lookups[0])
    names = ", ".join(f"{n!r} ({p})" for p, n in named[:3])
    return [
        ScanFinding(
            rule="obfuscated-call",
            severity=Severity.CRITICAL,
            message=f"{lookup.message}; the bundle's data files name the code it selects: {names}",
            path=lookup.path,
            line=lookup.line,
            reachable=lookup.reachable,
        )
    ]
