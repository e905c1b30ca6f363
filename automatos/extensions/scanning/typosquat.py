"""Typosquatting: names and metadata that imitate a popular PyPI project.

A squatted dependency (``reqeusts``, ``python-numpy``, ``urlib3``) installs the attacker's code
under a name a reviewer reads as the real one. The plugin's ``dependencies``, the top-level
modules its Python files import (those the bundle does not contain and the standard library does
not provide) and the plugin's own name and slug are compared with a shipped list of popular
projects (``data/popular_packages.txt``) and their import names:

- Damerau-Levenshtein distance 1 (2 when both names have at least 8 characters);
- look-alike spellings: ``rn``/``m``, ``vv``/``w``, ``0``/``o``, ``1``/``l``, separators
  (``-``/``_``/``.`` or none);
- affixes: a ``python-``/``py`` prefix, a ``-python``/``-dev``/``2``/``-lib``… suffix.

A popular name itself is never a squat, nor is a pair known to be legitimate (``pyyaml``/``yaml``).

Rules: ``typosquat-dependency`` (high; critical when the code imports the look-alike) and
``typosquat-import`` (high), ``typosquat-name`` (medium),
``metadata-impersonation`` (high: a homepage, author or e-mail claiming a popular project the
plugin is not). The popular names are indexed once per process by length and set of letters, so a
name is compared by edit distance only with the few popular names it could be one or two edits from.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

from automatos.extensions.scanning.content import PYTHON_SUFFIXES, ContentRule, cached
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["RULES", "close_to_popular", "normalise", "popular_packages", "requirement_name"]

CACHE_KEY = "content.typosquat"

IMPORT_NAMES: Mapping[str, str] = {
    "yaml": "pyyaml",
    "pil": "pillow",
    "bs4": "beautifulsoup4",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "attr": "attrs",
    "crypto": "pycryptodome",
    "cryptodome": "pycryptodomex",
    "openssl": "pyopenssl",
    "git": "gitpython",
    "serial": "pyserial",
    "usb": "pyusb",
    "zmq": "pyzmq",
    "magic": "python-magic",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "fitz": "pymupdf",
    "jose": "python-jose",
    "nacl": "pynacl",
    "kafka": "kafka-python",
    "telegram": "python-telegram-bot",
    "discord": "discord-py",
    "googleapiclient": "google-api-python-client",
    "google": "protobuf",
    "grpc": "grpcio",
    "websocket": "websocket-client",
    "socks": "pysocks",
    "dns": "dnspython",
    "multipart": "python-multipart",
    "github": "pygithub",
    "gitlab": "python-gitlab",
    "slugify": "python-slugify",
    "mysqldb": "mysqlclient",
    "win32api": "pywin32",
    "win32con": "pywin32",
    "pythoncom": "pywin32",
    "pywintypes": "pywin32",
    "pkg_resources": "setuptools",
    "mpl_toolkits": "matplotlib",
    "ruamel": "ruamel-yaml",
    "markdown_it": "markdown-it-py",
    "levenshtein": "levenshtein",
    "ldap": "python-ldap",
    "consul": "python-consul",
    "engineio": "python-engineio",
    "socketio": "python-socketio",
    "jsonpath_ng": "jsonpath-ng",
    "opentelemetry": "opentelemetry-api",
    "azure": "azure-core",
    "typing_extensions": "typing-extensions",
    "automatos": "automatos",
}
"""Import names that differ from their distribution's name (and the platform's own package)."""

LEGITIMATE_PAIRS = frozenset(
    frozenset(pair)
    for pair in (
        ("pyyaml", "pyaml"),
        ("pyyaml", "yaml"),
        ("jwt", "pyjwt"),
        ("dotenv", "python-dotenv"),
        ("slugify", "python-slugify"),
        ("dateutil", "python-dateutil"),
        ("magic", "python-magic"),
        ("serial", "pyserial"),
        ("pycrypto", "pycryptodome"),
        ("toml", "tomli"),
        ("toml", "tomlkit"),
        ("attr", "attrs"),
        ("docopt", "docopt-ng"),
        ("requests", "requests2"),
        ("msgpack", "msgpack-python"),
        ("redis", "redis-py"),
        ("nose", "nose2"),
        ("ujson", "orjson"),
        ("psycopg", "psycopg2"),
        ("hashids", "hashid"),
        ("boto", "boto3"),
        ("jinja", "jinja2"),
        ("mock", "pymock"),
    )
)
"""Near names that are both real, unrelated or sanctioned projects: never a squat of each other."""

_PREFIXES = ("python-", "python", "py-", "py")
_SUFFIXES = ("-python", "-py", "py", "-dev", "-devel", "2", "3", "-lib", "lib", "-latest", "-official", "-secure")
_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"))
_PROJECT_HOSTS = re.compile(
    r"^https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)/[^/\s]+/([^/\s#?]+)"
    r"|^https?://(?:www\.)?pypi\.(?:org|python\.org)/project/([^/\s#?]+)"
    r"|^https?://([a-z0-9-]+)\.readthedocs\.io\b",
    re.IGNORECASE,
)
_OFFICIAL_DOMAINS: Mapping[str, str] = {
    "python-requests.org": "requests",
    "numpy.org": "numpy",
    "pandas.pydata.org": "pandas",
    "scipy.org": "scipy",
    "palletsprojects.com": "flask",
    "djangoproject.com": "django",
    "pytorch.org": "torch",
    "tensorflow.org": "tensorflow",
    "matplotlib.org": "matplotlib",
    "scikit-learn.org": "scikit-learn",
    "sqlalchemy.org": "sqlalchemy",
    "pypa.io": "pip",
    "python.org": "python",
    "pytest.org": "pytest",
    "fastapi.tiangolo.com": "fastapi",
    "aws.amazon.com": "boto3",
}
"""Domains of famous projects: a homepage or e-mail there claims that project."""
_TEAM_WORDS = (
    r"(?:(?:development |dev |core )?team|developers|devs|maintainers|project|foundation|contributors|authors)"
)


def normalise(name: str) -> str:
    """PEP 503 normalised name (``Foo_Bar.baz`` → ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _skeleton(name: str) -> str:
    """The name as it looks: separators dropped, look-alike letters folded."""
    out = name.replace("-", "")
    for fake, real in _LOOKALIKES:
        out = out.replace(fake, real)
    return out


@functools.cache
def popular_packages() -> frozenset[str]:
    """The shipped list of popular PyPI projects (normalised)."""
    text = resources.files("automatos.extensions.scanning").joinpath("data/popular_packages.txt").read_text("utf-8")
    return frozenset(normalise(line) for raw in text.splitlines() if (line := raw.split("#", 1)[0].strip()))


@functools.cache
def _known() -> frozenset[str]:
    """Every name that is real on its own: popular projects and their import names."""
    return popular_packages() | frozenset(normalise(n) for n in IMPORT_NAMES) | frozenset(IMPORT_NAMES.values())


@functools.cache
def _index() -> tuple[dict[int, list[tuple[str, frozenset[str]]]], dict[str, str]]:
    """The popular names by length (with their sets of letters) and by skeleton."""
    by_length: dict[int, list[tuple[str, frozenset[str]]]] = {}
    skeletons: dict[str, str] = {}
    for name in sorted(popular_packages()):
        if len(name) < 4:
            continue
        by_length.setdefault(len(name), []).append((name, frozenset(name)))
        skeletons.setdefault(_skeleton(name), name)
    return by_length, skeletons


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def close_to_popular(name: str) -> tuple[str, str] | None:
    """``(popular name, how)`` when ``name`` imitates a popular project; ``None`` otherwise."""
    candidate = normalise(name)
    if len(candidate) < 4 or candidate in _known():
        return None
    neighbours, skeletons = _index()
    legitimate = LEGITIMATE_PAIRS
    skeleton = _skeleton(candidate)
    real = skeletons.get(skeleton)
    if real and real != candidate and frozenset((real, candidate)) not in legitimate:
        return real, "a look-alike spelling"
    for prefix in _PREFIXES:
        rest = candidate[len(prefix) :]
        if candidate.startswith(prefix) and len(rest) >= 4 and rest in popular_packages():
            if frozenset((rest, candidate)) not in legitimate:
                return rest, f"the {prefix!r} prefix"
    for suffix in _SUFFIXES:
        rest = candidate[: -len(suffix)]
        if candidate.endswith(suffix) and len(rest) >= 4 and rest in popular_packages():
            if frozenset((rest, candidate)) not in legitimate:
                return rest, f"the {suffix!r} suffix"
    letters = frozenset(candidate)
    hits: list[str] = []
    for length in range(len(candidate) - 2, len(candidate) + 3):
        for real, counts in neighbours.get(length, ()):
            limit = 2 if min(len(real), len(candidate)) >= 8 else 1
            # an edit changes the set of letters by at most 2: a cheap filter before the distance
            if abs(length - len(candidate)) <= limit and len(letters ^ counts) <= 2 * limit:
                hits.append(real)
    for real in sorted(hits, key=lambda r: (abs(len(r) - len(candidate)), r)):
        limit = 2 if min(len(real), len(candidate)) >= 8 else 1
        if frozenset((real, candidate)) in legitimate:
            continue
        distance = _distance(candidate, real)
        if 0 < distance <= limit:
            return real, f"{distance} edit{'s' if distance > 1 else ''} away"
    return None


def requirement_name(requirement: str) -> str:
    """The project name of a requirement string (``Foo[bar]>=1 ; python_version>'3'`` → ``Foo``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1) if match else ""


def _own_modules(target: ScanTarget) -> set[str]:
    own: set[str] = set()
    for path in target.files:
        parts = path.split("/")
        for part in parts[:-1]:
            own.add(part.lower())
        if path.endswith(PYTHON_SUFFIXES):
            own.add(parts[-1].rsplit(".", 1)[0].lower())
    return own


_IMPORT_LINE = re.compile(r"[ \t]*(?:import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)|from[ \t]+(\w[\w.]*)[ \t]+import\b)")


def _imports(target: ScanTarget) -> Iterator[tuple[str, str, int]]:
    """(top-level module, path, line) of the absolute imports in the target's Python files.

    A line scan, not a parse: parsing every file would cost about a second per 10 MB of source,
    and a name that only looks like an import (in a docstring) is still worth comparing.
    """
    for path in target.python_files():
        text = target.text(path)
        if not text:
            continue
        at = text.find("import")
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            match = _IMPORT_LINE.match(text, start, end)
            if match:
                line = text.count("\n", 0, start) + 1
                names = match.group(1).split(",") if match.group(1) else [match.group(2)]
                for name in names:
                    yield name.strip().split(".")[0], path, line
            at = text.find("import", end)


def _text_field(manifest: Mapping[str, Any], key: str) -> str:
    value = manifest.get(key)
    return value if isinstance(value, str) else ""


def _impersonation(manifest: Mapping[str, Any], own_names: set[str]) -> Iterator[str]:
    homepage = _text_field(manifest, "homepage")
    match = _PROJECT_HOSTS.match(homepage)
    if match:
        project = normalise(next(g for g in match.groups() if g).removesuffix(".git"))
        if project in popular_packages() and project not in own_names:
            yield f"homepage {homepage!r} is the home of the popular project {project!r}"
    host = re.sub(r"^https?://(?:www\.)?", "", homepage.lower()).split("/", 1)[0]
    email = _text_field(manifest, "email").lower()
    for where, domain in (("homepage", host), ("e-mail", email.rsplit("@", 1)[-1] if "@" in email else "")):
        for official, project in _OFFICIAL_DOMAINS.items():
            if domain and (domain == official or domain.endswith("." + official)) and project not in own_names:
                yield f"{where} domain {domain!r} belongs to the {project!r} project"
    author = normalise(_text_field(manifest, "author")).replace("-", " ")
    for word in re.findall(r"[a-z0-9][a-z0-9 ]*", author):
        for project in _claimed_projects(word.strip()):
            if project not in own_names:
                yield f"author {manifest.get('author')!r} claims to be the {project!r} project"


def _claimed_projects(author: str) -> Iterable[str]:
    popular = popular_packages()
    if author.replace(" ", "-") in popular and len(author) >= 4:
        yield author.replace(" ", "-")
        return
    match = re.fullmatch(rf"(?:the )?([a-z0-9][a-z0-9 ]*?) {_TEAM_WORDS}", author)
    if match and match.group(1).replace(" ", "-") in popular:
        yield match.group(1).replace(" ", "-")


def _finding(rule: str, severity: Severity, message: str, path: str = "plugin.toml", line: int = 0) -> ScanFinding:
    return ScanFinding(rule=rule, severity=severity, message=message, path=path, line=line)


def analyse(target: ScanTarget) -> list[ScanFinding]:
    findings: list[ScanFinding] = []
    manifest: Mapping[str, Any] = target.manifest or {}
    allowed = target.cache.get("allowed_dependencies") or frozenset()
    own_names = {normalise(n) for n in (_text_field(manifest, "name"), _text_field(manifest, "slug")) if n}
    for name in sorted(own_names):
        found = close_to_popular(name)
        if found:
            message = f"the plugin's name {name!r} imitates the popular project {found[0]!r} ({found[1]})"
            findings.append(_finding("typosquat-name", Severity.MEDIUM, message))
    dependencies = manifest.get("dependencies")
    declared: set[str] = set()
    imports = list(_imports(target))
    imported = {normalise(module) for module, _, _ in imports}
    for requirement in dependencies if isinstance(dependencies, list) else ():
        name = normalise(requirement_name(requirement)) if isinstance(requirement, str) else ""
        declared.add(name)
        found = close_to_popular(name) if name and name not in allowed else None
        if found:
            # imported, the look-alike package's code runs inside the plugin: as bad as the code itself
            used = name in imported
            severity = Severity.CRITICAL if used else Severity.HIGH
            message = f"dependency {name!r} imitates the popular project {found[0]!r} ({found[1]})"
            message += ", and the code imports it" if used else ""
            findings.append(_finding("typosquat-dependency", severity, message))
    skip = _own_modules(target) | set(sys.stdlib_module_names) | declared | {"__future__"}
    seen: set[str] = set()
    for module, path, line in imports:
        key = module.lower()
        if key in skip or key in seen or normalise(key) in declared:
            continue
        seen.add(key)
        found = close_to_popular(key)
        if found:
            message = f"imports {module!r}, which imitates the popular project {found[0]!r} ({found[1]})"
            findings.append(_finding("typosquat-import", Severity.HIGH, message, path, line))
    for message in dict.fromkeys(_impersonation(manifest, own_names)):
        findings.append(_finding("metadata-impersonation", Severity.HIGH, message))
    return findings


def _analysis(target: ScanTarget) -> list[ScanFinding]:
    return cached(target, CACHE_KEY, analyse)


RULES: tuple[ContentRule, ...] = (
    ContentRule("typosquat-dependency", Severity.CRITICAL, "a dependency named like a popular project", _analysis),
    ContentRule("typosquat-import", Severity.HIGH, "an import named like a popular project", _analysis),
    ContentRule("typosquat-name", Severity.MEDIUM, "the plugin named like a popular project", _analysis),
    ContentRule("metadata-impersonation", Severity.HIGH, "metadata claiming a popular project", _analysis),
)
