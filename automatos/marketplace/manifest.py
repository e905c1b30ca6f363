"""``plugin.toml``: the manifest at the root of every plugin bundle, parsed and validated.

:func:`parse_manifest` reads the TOML with :mod:`tomllib` and converts it to :class:`Manifest` with
msgspec (unknown fields refused, every string and list bounded). A bad manifest is a
:class:`ManifestError` whose message names the TOML line and the field path, e.g.
``plugin.toml line 7: permissions.network[1]: expected a host name (example.com or *.example.com)``.

Decisions (docs/plugins.md documents the format):

- ``version`` is a PEP 440 public version in its canonical spelling (``1.2.0``, ``2.0.0rc1``,
  ``1.0.post1``, ``0.3.dev2``); a plain semver core ``MAJOR.MINOR.PATCH`` is one. No local part
  (``+abc``), no epoch: a version is part of a storage path and is immutable once stored.
- ``slug`` defaults to the name normalised like PEP 503: lower case, every run of other characters
  one ``-``.
- ``dependencies`` are PEP 508 requirement strings without URLs (``name[extra]>=1,<2; marker``),
  checked by a strict pattern; whether a name is allowed is a scan finding, not a parse error.
- ``[permissions] filesystem`` has one word today, ``storage``: the plugin's own storage.

Whether ``entry`` and the ``[provides]`` paths exist is checked against the bundle's files
(:mod:`automatos.marketplace.bundle`), with the same kind of error.
"""

from __future__ import annotations

import re
import tomllib
from typing import Annotated, Any, Literal

import msgspec

from automatos.marketplace.archive import BundleError

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ManifestError",
    "Permissions",
    "Provides",
    "line_of",
    "normalise_slug",
    "parse_manifest",
]

MANIFEST_NAME = "plugin.toml"

_HOST = r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_EXECUTABLE = r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}$"
_PATH = r"^(?!/)(?!.*(^|/)\.\.?(/|$))[^\\\x00-\x1f]{1,255}$"
_SLUG = r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"
_N = "(0|[1-9][0-9]*)"
_VERSION = rf"^{_N}(\.{_N}){{0,4}}((a|b|rc){_N})?(\.post{_N})?(\.dev{_N})?$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,9}$"
_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"
_URL = r"^https?://[^\s]{1,490}$"
_NAME_508 = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SPEC = r"(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_SPECS = rf"{_SPEC}(?:\s*,\s*{_SPEC})*"
_REQUIREMENT = (
    rf"^{_NAME_508}\s*(?:\[\s*{_NAME_508}(?:\s*,\s*{_NAME_508})*\s*\])?"
    rf"\s*(?:{_SPECS}|\(\s*{_SPECS}\s*\))?"
    r"\s*(?:;\s*[A-Za-z0-9_.<>=!~'\" ()-]{1,200})?$"
)

Host = Annotated[str, msgspec.Meta(pattern=_HOST, max_length=253)]
EnvName = Annotated[str, msgspec.Meta(pattern=_ENV)]
Executable = Annotated[str, msgspec.Meta(pattern=_EXECUTABLE)]
BundlePath = Annotated[str, msgspec.Meta(pattern=_PATH)]
Requirement = Annotated[str, msgspec.Meta(pattern=_REQUIREMENT, max_length=300)]

EXPLAIN: dict[str, str] = {
    "name": "expected a name of 1-100 characters",
    "slug": "expected lower-case letters, digits and '-' (at most 64, not starting or ending with '-')",
    "version": "expected a PEP 440 version such as 1.2.0, 2.0.0rc1, 1.0.post1 or 0.3.dev2",
    "entry": "expected a dotted module path such as my_plugin or my_plugin.main",
    "email": "expected an e-mail address",
    "homepage": "expected an http(s) URL of at most 500 characters",
    "dependencies[]": "expected a PEP 508 requirement such as 'httpx>=0.27' (no URLs)",
    "permissions.network[]": "expected a host name (example.com or *.example.com), lower case, no port",
    "permissions.env[]": "expected an environment variable name (letters, digits, '_')",
    "permissions.filesystem[]": "expected 'storage' (the plugin's own storage)",
    "permissions.subprocess[]": "expected an executable name (no path), such as git",
    "provides[]": "expected a relative path inside the bundle (no '..', no leading '/')",
}
"""What a value that failed its pattern should look like, by field path (``[]`` for any item)."""


class Permissions(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the plugin asks for; a workspace admin grants all or part of it."""

    network: Annotated[list[Host], msgspec.Meta(max_length=50)] = []
    env: Annotated[list[EnvName], msgspec.Meta(max_length=50)] = []
    filesystem: Annotated[list[Literal["storage"]], msgspec.Meta(max_length=1)] = []
    subprocess: Annotated[list[Executable], msgspec.Meta(max_length=20)] = []


PathList = Annotated[list[BundlePath], msgspec.Meta(max_length=200)]


class Provides(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The text content the plugin ships, by path inside the bundle."""

    tools: PathList = []
    skills: PathList = []
    prompts: PathList = []
    agent_templates: PathList = []
    commands: PathList = []
    routing_rules: PathList = []

    def paths(self) -> list[tuple[str, int, str]]:
        """(field, index, path) of every path listed."""
        return [
            (name, index, path) for name in self.__struct_fields__ for index, path in enumerate(getattr(self, name))
        ]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A validated ``plugin.toml``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    version: Annotated[str, msgspec.Meta(pattern=_VERSION, max_length=64)]
    entry: Annotated[str, msgspec.Meta(pattern=_MODULE, max_length=200)]
    slug: Annotated[str, msgspec.Meta(pattern=_SLUG)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    author: Annotated[str, msgspec.Meta(max_length=200)] = ""
    email: Annotated[str, msgspec.Meta(pattern=_EMAIL)] | None = None
    license: Annotated[str, msgspec.Meta(max_length=100)] = ""
    homepage: Annotated[str, msgspec.Meta(pattern=_URL)] | None = None
    category: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    dependencies: Annotated[list[Requirement], msgspec.Meta(max_length=50)] = []
    permissions: Permissions = msgspec.field(default_factory=Permissions)
    provides: Provides = msgspec.field(default_factory=Provides)

    def entry_files(self) -> tuple[str, str]:
        """The two files the entry module may be: ``a/b.py`` or ``a/b/__init__.py``."""
        base = self.entry.replace(".", "/")
        return f"{base}.py", f"{base}/__init__.py"

    def to_data(self) -> dict[str, Any]:
        """The manifest as plain data, every field present (``slug`` resolved)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


class ManifestError(BundleError):
    """A manifest refused: ``line`` is its line in ``plugin.toml`` (1 when unknown), ``field_path`` the field."""

    def __init__(self, message: str, *, line: int, field_path: str, rule: str = "manifest") -> None:
        where = f"{MANIFEST_NAME} line {line}: {field_path}: " if field_path else f"{MANIFEST_NAME} line {line}: "
        super().__init__(where + message, rule, None, field_path or None, MANIFEST_NAME, field=field_path or "manifest")
        self.extra["line"] = line
        self.line = line
        self.field_path = field_path


def normalise_slug(name: str) -> str:
    """PEP 503-like: lower case, every run of characters outside ``[a-z0-9]`` one ``-``, trimmed."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def parse_manifest(text: str) -> Manifest:
    """Parse and validate the text of ``plugin.toml``; raise :class:`ManifestError` naming line and field."""
    data = load_toml(text)
    return manifest_from_data(data, text)


def load_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` with every failure a :class:`ManifestError`: bad TOML names its line; nesting
    too deep for the parser (``a = [[[[…`` thousands deep) and integers too long to convert are
    refused as such, not left to escape as ``RecursionError``/``ValueError``. A leading UTF-8 byte
    order mark (Windows editors write one) is not part of the TOML."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ManifestError(f"invalid TOML: {exc}", line=int(found.group(1)) if found else 1, field_path="") from None
    except RecursionError:
        raise ManifestError(
            "invalid TOML: arrays or inline tables are nested too deeply", line=1, field_path="", rule="manifest.depth"
        ) from None
    except ValueError as exc:  # int("9" * 5000): past Python's integer-string limit
        raise ManifestError(f"invalid TOML: a value cannot be read ({exc})", line=1, field_path="") from None
    _check_strings(data, [], text)
    return data


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_strings(value: Any, path: list[str | int], text: str) -> None:
    """Refuse control characters (NUL above all: PostgreSQL cannot store it in JSON) in any string
    or key of the manifest, naming the field; tabs and line breaks are text."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            field_path = _dotted(path)
            raise ManifestError(
                "a string holds a control character (NUL or another C0 character other than tab or line breaks)",
                line=line_of(text, path),
                field_path=field_path or "manifest",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, [*path, key], text)
            _check_strings(item, [*path, key], text)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, [*path, index], text)


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def manifest_from_data(data: dict[str, Any], text: str = "") -> Manifest:
    """Validate already-parsed manifest data (``text`` locates lines for errors)."""
    try:
        manifest = msgspec.convert(data, Manifest)
    except msgspec.ValidationError as exc:
        raise _explain(str(exc), text) from None
    if manifest.slug is None:
        slug = normalise_slug(manifest.name)
        if not re.match(_SLUG, slug):
            raise ManifestError(
                "no slug can be made of this name: give a name with letters or digits, or a slug",
                line=line_of(text, ["name"]),
                field_path="name",
            )
        manifest = msgspec.structs.replace(manifest, slug=slug)
    return manifest


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _explain(message: str, text: str) -> ManifestError:
    """Turn msgspec's ``Expected … - at `$.a.b[1]``` into a :class:`ManifestError`."""
    found = _AT.search(message)
    raw = found.group("path") if found else ""
    message = message[: found.start()] if found else message
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    path = raw.lstrip(".")
    if unknown or missing:
        name = (unknown or missing).group(1)  # type: ignore[union-attr]
        path = f"{path}.{name}" if path else name
        if unknown:
            return ManifestError("unknown field", line=line_of(text, _segments(path)), field_path=path)
        return ManifestError("required field is missing", line=line_of(text, _segments(path)[:-1]), field_path=path)
    generic = re.sub(r"\[\d+\]", "[]", path)
    if generic.startswith("provides.") and generic.endswith("[]"):
        generic = "provides[]"
    if "matching regex" in message or message.startswith("Invalid enum value"):
        human = EXPLAIN.get(generic, "has the wrong form")
    else:
        human = _lower(message)
        if generic in EXPLAIN and "length" not in message:
            human += f" ({EXPLAIN[generic]})"
    return ManifestError(human, line=line_of(text, _segments(path)), field_path=path)


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _segments(path: str) -> list[str | int]:
    """``permissions.network[1]`` -> ``["permissions", "network", 1]``."""
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\s\"'-]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\s\"'-]+?)\s*=")


def line_of(text: str, segments: list[str | int]) -> int:
    """The line of the key ``segments`` names (its table, or a dotted key), 1 when it cannot be found.

    Good enough for error messages: the line of the key in its table; for an item of a multi-line
    array, the line of that item when the array lists one item per line.
    """
    keys = [s for s in segments if isinstance(s, str)]
    index = next((s for s in segments if isinstance(s, int)), None)
    if not keys or not text:
        return 1
    lines = text.splitlines()
    table: list[str] = []
    table_line = 0
    for number, raw in enumerate(lines, start=1):
        header = _HEADER.match(raw)
        if header and not raw.strip().startswith("[["):
            table = [_unquote(k) for k in header.group(1).split(".")]
            if table == keys:
                table_line = number
            continue
        key = _KEY.match(raw)
        if not key:
            continue
        full = table + [_unquote(k) for k in key.group(1).split(".")]
        if full == keys:
            return _item_line(lines, number, index)
    return table_line or (line_of(text, list(keys[:-1])) if len(keys) > 1 else 1)


def _item_line(lines: list[str], number: int, index: int | None) -> int:
    """The line of item ``index`` of an array that starts at ``number`` (one item per line), else ``number``."""
    if index is None or lines[number - 1].rstrip().endswith("]"):
        return number
    seen = 0
    for offset, raw in enumerate(lines[number:], start=number + 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("]"):
            break
        if seen == index:
            return offset
        seen += 1
    return number


def _unquote(key: str) -> str:
    return key.strip().strip("\"'")
