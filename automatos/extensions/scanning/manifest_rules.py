"""Scan rules over the manifest: dependencies outside the platform's allow-list, dependencies that
bypass the package index, and ``[provides]`` paths the bundle does not contain.

- ``dependency-not-allowed`` (medium, one finding each): a dependency whose (PEP 503 normalised)
  name is not on the platform's allow-list. The marketplace's scan puts the deployment's
  ``PLUGINS_ALLOWED_DEPENDENCIES`` into ``target.cache["allowed_dependencies"]`` (always: its
  default list when the deployment sets none). Without it — an installed distribution, whose
  dependencies the operator's pip resolved — names are not checked, only how they install.
- ``dependency-url`` (high; critical for plain ``http://``): a requirement that installs from a
  URL, a VCS, a local path or another index (``pkg @ https://…``, ``git+…``, ``--index-url``) —
  code no index and no review has seen, fetched at install time; over plain http anyone on the
  path can swap it.
- ``provides-missing`` (medium): a ``[provides]`` path with no file behind it.

Pip requirement files the bundle ships (``requirements*.txt``, ``constraints*.txt``, ``*.in``) are
dependencies too: code that runs ``pip install -r`` installs them, so their lines (and their
``--extra-index-url`` options) go through the same two dependency rules.

``plugin.toml``'s own validation already refuses most of these for a marketplace upload; the rules
keep the scan honest for every other way a target is built (a directory, a pip distribution).
Binaries and executables inside a bundle are reported when the bundle is read
(``automatos.marketplace.bundle``); disguised ones by ``data-disguised-file``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from automatos.extensions.scanning.content import ContentRule, cached
from automatos.extensions.scanning.typosquat import normalise, requirement_name
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["RULES", "analyse"]

CACHE_KEY = "content.manifest"
_URL = re.compile(r"(?:\s@\s*|^|\s)((?:git|hg|svn|bzr)\+[a-z]+://\S+|[a-z][a-z0-9+.-]*://\S+)", re.IGNORECASE)
_PATH = re.compile(r"(?:\s@\s*|^)(?:\.{1,2}/|/|~/|file:)", re.IGNORECASE)
_REQUIREMENT_FILE = re.compile(r"(?:requirements|constraints)[\w.-]*\.(?:txt|in)")
_INDEX_OPTION = re.compile(
    r"(?:^|\s)(?:--(?:extra-)?index-url|--find-links|--trusted-host|-i|-f)(?:\s|=)", re.IGNORECASE
)


def _dependencies(manifest: Mapping[str, Any]) -> Iterable[str]:
    value = manifest.get("dependencies")
    return [d for d in value if isinstance(d, str)] if isinstance(value, list) else []


def _provided(manifest: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    provides = manifest.get("provides")
    if not isinstance(provides, Mapping):
        return []
    return [
        (str(kind), path)
        for kind, paths in provides.items()
        for path in (paths if isinstance(paths, list) else [paths])
        if isinstance(path, str)
    ]


def _requirement_files(target: ScanTarget) -> Iterable[tuple[str, int, str]]:
    """(path, line, requirement or option) of every line of the pip requirement files shipped."""
    for path in target.files:
        name = path.rsplit("/", 1)[-1].lower()
        if not _REQUIREMENT_FILE.fullmatch(name):
            continue
        for number, raw in enumerate((target.text(path) or "").splitlines(), 1):
            line = re.sub(r"(?:^|\s)#.*", "", raw).strip()
            if line and not re.match(r"-[rc]\s|--(?:requirement|constraint)\b", line):
                yield path, number, line


def _check(requirement: str, allowed: frozenset[str] | set[str] | None) -> Iterable[tuple[str, Severity, str]]:
    url = _URL.search(requirement)
    if url or _PATH.search(requirement) or _INDEX_OPTION.search(requirement):
        where = url.group(1) if url else requirement
        plain = bool(url) and re.match(r"(?:[a-z]+\+)?http://", where, re.IGNORECASE) is not None
        severity = Severity.CRITICAL if plain else Severity.HIGH
        how = "over plain http, which anyone on the path can replace" if plain else "from outside the package index"
        yield "dependency-url", severity, f"dependency {requirement!r} installs {how}"
    name = "" if requirement.startswith("-") else normalise(requirement_name(requirement))
    if name and allowed is not None and name not in allowed:
        yield "dependency-not-allowed", Severity.MEDIUM, f"dependency {name!r} is not on the platform's allow-list"


def analyse(target: ScanTarget) -> list[ScanFinding]:
    manifest: Mapping[str, Any] = target.manifest or {}
    allowed: frozenset[str] | None = target.cache.get("allowed_dependencies")
    findings: list[ScanFinding] = []

    def add(rule: str, severity: Severity, message: str, path: str = "plugin.toml", line: int = 0) -> None:
        findings.append(ScanFinding(rule=rule, severity=severity, message=message, path=path, line=line))

    for requirement in _dependencies(manifest):
        for rule, severity, message in _check(requirement.strip(), allowed):
            add(rule, severity, message)
    for path, line, requirement in _requirement_files(target):
        for rule, severity, message in _check(requirement, allowed):
            add(rule, severity, message, path, line)
    for kind, path in _provided(manifest):
        if path.removeprefix("./") not in target.files:
            message = f"[provides] {kind} lists {path!r}, which the bundle does not contain"
            add("provides-missing", Severity.MEDIUM, message)
    return findings


def _analysis(target: ScanTarget) -> list[ScanFinding]:
    return cached(target, CACHE_KEY, analyse)


RULES: tuple[ContentRule, ...] = (
    ContentRule("dependency-not-allowed", Severity.MEDIUM, "a dependency outside the allow-list", _analysis),
    ContentRule("dependency-url", Severity.CRITICAL, "a dependency installed from a URL, VCS or path", _analysis),
    ContentRule("provides-missing", Severity.MEDIUM, "a [provides] path with no file", _analysis),
)
