"""The mechanism every settings struct uses: :class:`SettingsGroup`, its fields' declarations
(:class:`FieldDoc`, :func:`setting`), one parser for every variable, :class:`Secret`, and the
:class:`Environ` a :class:`~automatos.kernel.settings.Settings` keeps for the structs read later.

The kernel's own struct and the rules that tie the structs together (reading each from the
kernel's settings, checking them all when the kernel is built) are :mod:`automatos.kernel.settings`'s,
which re-exports these names: import them from there.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, Union, get_args, get_origin

import msgspec

from automatos.kernel.errors import SettingsError

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = ["Environ", "FieldDoc", "Secret", "SettingsGroup", "setting"]

G = TypeVar("G", bound="SettingsGroup")


class Secret(str):
    """A string that does not show itself in ``repr``/``str`` formatting of containers or logs."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"

    def reveal(self) -> str:
        return str.__str__(self)


class FieldDoc(msgspec.Struct, frozen=True):
    """One setting: its environment variable, its field, the form a value must have."""

    env: str
    field: str
    form: str
    runtime: bool = False
    """May be overridden from ``system_settings`` without a restart."""
    valid: Callable[[Any], bool] | None = None
    """A range check of the parsed value; ``False`` is reported as out of range, naming ``form``."""


def setting(
    env: str, field: str, form: str, *, runtime: bool = False, valid: Callable[[Any], bool] | None = None
) -> FieldDoc:
    """Declare a setting (an item of a struct's ``FIELDS``)."""
    return FieldDoc(env, field, form, runtime, valid)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every settings struct: subclass it, declare fields with defaults and ``FIELDS``.

    Fields are typed ``str``, ``int``, ``float``, ``bool``, ``Path``, ``tuple[str, ...]`` (a
    comma-separated variable) or ``Secret`` (optionally ``| None``); an attribute docstring under a
    field is its documentation (the README table shows it). Cross-field rules go in
    :meth:`validate`.
    """

    FIELDS: ClassVar[tuple[FieldDoc, ...]] = ()
    """Every field's environment variable, form and run-time flag."""
    OWNER: ClassVar[str] = ""
    """Who reads these settings, as the README names it (``kernel``, ``automatos.llm.openai``…)."""

    @classmethod
    def compose(cls, env: Mapping[str, str], values: dict[str, Any]) -> None:
        """Derive values from other variables before keyword overrides apply (the seed's names)."""

    @classmethod
    def validate(cls, values: dict[str, Any], settings: Settings | None) -> None:
        """Check the given values (not the defaults); raise :class:`SettingsError` naming the variable.

        The default runs each field's ``valid``; override it (calling ``super()``) for rules across
        fields. ``settings`` is the kernel's, for rules that involve them (``None`` for the kernel's own).
        """
        for doc in cls.FIELDS:
            if doc.valid is not None and doc.field in values and not doc.valid(values[doc.field]):
                raise SettingsError(f"{doc.env}={values[doc.field]!r} is out of range: expected {doc.form}")

    @classmethod
    def read(
        cls: type[G],
        env: Mapping[str, str],
        overrides: Mapping[str, Any] | None = None,
        *,
        settings: Settings | None = None,
        fixed: Mapping[str, Any] | None = None,
    ) -> G:
        """Parse this struct from ``env``; ``overrides`` (by field name) win; ``fixed`` is passed as is."""
        values: dict[str, Any] = {}
        for doc in cls.FIELDS:
            if doc.env in env:
                values[doc.field] = _parse(cls, doc, env[doc.env])
        cls.compose(env, values)
        values.update(overrides or {})
        for name, kind in _kinds(cls).items():
            if values.get(name) is not None:
                if kind == "secret":
                    values[name] = Secret(values[name]) if values[name] else None
                elif kind == "path":
                    values[name] = Path(values[name])
        cls.validate(values, settings)
        return cls(**values, **(fixed or {}))

    def secrets(self) -> Iterator[str]:
        """The values of this struct's ``Secret`` fields that are set."""
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, Secret) and value:
                yield value.reveal()


@functools.cache
def _kinds(cls: type[SettingsGroup]) -> dict[str, str]:
    """Field name -> how a variable is parsed: ``bool``, ``int``, ``float``, ``tuple``, ``path``,
    ``secret`` or ``str``."""
    kinds: dict[str, str] = {}
    for info in msgspec.structs.fields(cls):
        kind: Any = info.type
        if get_origin(kind) in (Union, types.UnionType):
            kind = next((a for a in get_args(kind) if a is not type(None)), str)
        if get_origin(kind) is tuple:
            kinds[info.name] = "tuple"
        elif kind in (bool, int, float):
            kinds[info.name] = kind.__name__
        elif isinstance(kind, type) and issubclass(kind, Secret):
            kinds[info.name] = "secret"
        elif isinstance(kind, type) and issubclass(kind, Path):
            kinds[info.name] = "path"
        else:
            kinds[info.name] = "str"
    return kinds


def _parse(cls: type[SettingsGroup], doc: FieldDoc, raw: str) -> Any:
    """Turn one raw string into the field's type, or raise naming the variable."""
    kind = _kinds(cls)[doc.field]
    text = raw.strip()
    try:
        if kind == "tuple":
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if kind == "bool":
            low = text.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if kind == "int":
            return int(text)
        if kind == "float":
            number = float(text)
            if not math.isfinite(number):  # "inf", "nan", "1e309" would be stored and served as null
                raise ValueError
            return number
    except ValueError:
        raise SettingsError(f"{doc.env}={raw!r} is malformed: expected {doc.form}") from None
    return text


class Environ(Mapping[str, str]):
    """The environment a :class:`Settings` was read from, kept for the structs read later.

    ``fields`` are the keyword overrides of :func:`load_settings` the kernel does not have (by field
    name, for the struct that declares them). ``repr`` shows no value: it may hold secrets.
    """

    __slots__ = ("_env", "_groups", "fields")

    def __init__(self, env: Mapping[str, str] | None = None, fields: Mapping[str, Any] | None = None) -> None:
        self._env: dict[str, str] = dict(env or {})
        self.fields: dict[str, Any] = dict(fields or {})
        self._groups: dict[type[SettingsGroup], SettingsGroup] = {}

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return f"Environ({len(self._env)} variables, fields={sorted(self.fields)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Environ) and self._env == other._env and self.fields == other.fields

    def __hash__(self) -> int:
        return hash((frozenset(self._env.items()), frozenset(self.fields)))

    def overridden(self, values: Mapping[str, str], fields: Iterable[str] = ()) -> Environ:
        """A copy with ``values`` set and the keyword overrides of ``fields`` dropped (they lose to
        a run-time override of the same setting)."""
        dropped = set(fields)
        return Environ({**self._env, **values}, {k: v for k, v in self.fields.items() if k not in dropped})

    def given(self, env: str, field: str) -> bool:
        """Whether a setting has a non-empty value, by variable or keyword override."""
        return bool(self.fields.get(field) or self._env.get(env, "").strip())
