"""Layer 3 of the sandbox worker's policy: what sandbox code is given — imports, builtins, globals.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading"), never imported
from the package; it imports only the standard library, RestrictedPython and its siblings
``policy.py``/``guards.py``.

Imports from an allow-list only, each handed over as a *view*: a fresh object holding the
module's public API — its ``__all__`` when it has one, otherwise the functions and classes it
defines itself (names it merely imports, such as ``uuid.Enum`` and its functional API that sets
any dunder, are left out), classes without a metaclass of their own, and immutable constants
(numbers, strings, ``uuid.NAMESPACE_*``, ``datetime.UTC``) — never a module object. A name the
module has but the view leaves out is a ``policy`` error saying why. Withheld or replaced (see
:data:`ALLOWED_MODULES`, :data:`_WITHHELD_REASONS`, :data:`_REPLACED`):
``functools.singledispatch``/``singledispatchmethod`` (``register`` evaluates string annotations
with ``eval`` through ``typing.get_type_hints``, outside the policy); ``functools.update_wrapper``/
``wraps`` accept only their default attribute lists and a wrapper the snippet made (``updated=
('__globals__',)`` would merge the worker's globals — real builtins included — into the
snippet's); ``functools.total_ordering`` takes only the snippet's classes; ``string.Formatter``;
``uuid.getnode``/``uuid1`` (a subprocess). Shared mutable state the views lead to is made
read-only at start (``textwrap.TextWrapper.unicode_whitespace_trans``). An import that library C
code makes on the snippet's behalf (``PyImport_Import`` — ``datetime.strftime`` needs ``time``;
an empty *list* as ``fromlist``, which no ``import`` statement passes) gets the real module,
which goes to that C code only; modules libraries import lazily are loaded at start
(``lockdown.PRELOADED``).

Views are built once per worker (:data:`_VIEWS`, warmed at lock-down). A plugin run
(``plugin_host.py``) is asked first for its bundle's own modules: the worker makes it the import
hook's first stop for the run's duration (:func:`set_bundle`; one run at a time). The builtins
(:data:`_BUILTINS`: RestrictedPython's safe set, the guarded ``getattr``/``setattr``/``type``/
``iter``…, ``super``, ``bytes``) and the guards make up :func:`_base_globals`, the globals every piece
of sandbox code — a snippet, each plugin module — runs in.
"""

from __future__ import annotations

import datetime
import sys
import types
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from RestrictedPython import safe_builtins
from RestrictedPython.Guards import guarded_unpack_sequence

if TYPE_CHECKING:
    from automatos.sandbox.guards import (
        _PLAIN_METACLASSES,
        Output,
        PolicyViolation,
        _Printer,
        apply,
        guarded_delattr,
        guarded_getattr,
        guarded_getitem,
        guarded_hasattr,
        guarded_iter,
        guarded_setattr,
        guarded_write,
        inplacevar,
        iter_unpack_sequence,
        make_class,
        safe_total_ordering,
        safe_type,
        safe_update_wrapper,
        safe_wraps,
    )
else:
    from automatos_sandbox_guards import (
        _PLAIN_METACLASSES,
        Output,
        PolicyViolation,
        _Printer,
        apply,
        guarded_delattr,
        guarded_getattr,
        guarded_getitem,
        guarded_hasattr,
        guarded_iter,
        guarded_setattr,
        guarded_write,
        inplacevar,
        iter_unpack_sequence,
        make_class,
        safe_total_ordering,
        safe_type,
        safe_update_wrapper,
        safe_wraps,
    )

__all__ = ["ALLOWED_MODULES", "ModuleView", "guarded_import", "set_bundle"]

ALLOWED_MODULES: dict[str, frozenset[str]] = {
    # module -> public names withheld from its view (and why)
    "json": frozenset(),
    "math": frozenset(),
    "re": frozenset(),
    "datetime": frozenset(),
    "decimal": frozenset(),
    "statistics": frozenset(),
    "itertools": frozenset(),
    # register() evaluates string annotations through typing.get_type_hints, i.e. eval() unguarded
    "functools": frozenset({"singledispatch", "singledispatchmethod"}),
    "collections": frozenset(),
    "random": frozenset(),
    "string": frozenset({"Formatter"}),  # Formatter().format("{0.__class__}") walks attributes
    "textwrap": frozenset(),
    "uuid": frozenset({"getnode", "uuid1"}),  # may read the MAC address through a subprocess
    "hashlib": frozenset(),
}


_CONSTANT_TYPES = (
    int, float, complex, str, bytes, bool, tuple, frozenset, type(None), uuid.UUID, datetime.timezone
)  # fmt: skip
"""Module attributes handed over as constants: immutable values (``uuid.NAMESPACE_DNS``, ``datetime.UTC``)."""
_REFUSED_NAMES: dict[str, str] = {
    "open": "there is no file access",
    "input": "there is no console",
    "eval": "code cannot be evaluated from text",
    "exec": "code cannot be evaluated from text",
    "compile": "code cannot be compiled from text",
    "globals": "namespaces cannot be introspected",
    "locals": "namespaces cannot be introspected",
    "vars": "namespaces cannot be introspected",
    "dir": "namespaces cannot be introspected",
    "help": "there is no interactive help",
    "breakpoint": "there is no debugger",
    "memoryview": "raw memory views are not available",
    "exit": "a snippet ends by reaching its last line",
    "quit": "a snippet ends by reaching its last line",
    "BaseException": "the sandbox's own signals cannot be caught",
    "KeyboardInterrupt": "the sandbox's own signals cannot be caught",
    "GeneratorExit": "the sandbox's own signals cannot be caught",
    "ExceptionGroup": "exception groups (try/except*) are not supported",
    "BaseExceptionGroup": "exception groups (try/except*) are not supported",
    "aiter": "async code is not supported",
    "anext": "async code is not supported",
}


_REPLACED: dict[str, dict[str, Any]] = {
    "functools": {"update_wrapper": safe_update_wrapper, "wraps": safe_wraps, "total_ordering": safe_total_ordering},
}


class ModuleView:
    """A module's public functions, classes and constants — not the module.

    A name the module has but the view leaves out is a ``policy`` error saying why (an unknown name
    is an ``AttributeError``, as usual).
    """

    __slots__ = ("_members", "_name", "_withheld")

    def __init__(self, name: str, members: dict[str, Any], withheld: dict[str, str] | None = None) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", members)
        object.__setattr__(self, "_withheld", withheld or {})

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._members[attr]
        except KeyError:
            pass
        reason = self._withheld.get(attr)
        if reason is not None:
            raise PolicyViolation(f"{self._name}.{attr} is not available in the sandbox: {reason}")
        raise AttributeError(f"module {self._name!r} has no attribute {attr!r} here")

    def __setattr__(self, attr: str, value: Any) -> None:
        raise PolicyViolation(f"module {self._name!r} cannot be modified")

    def __delattr__(self, attr: str) -> None:
        raise PolicyViolation(f"module {self._name!r} cannot be modified")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (sandbox view)>"


_VIEWS: dict[str, ModuleView] = {}

_WITHHELD_REASONS: dict[str, str] = {
    "functools.singledispatch": "register() evaluates string annotations outside the policy",
    "functools.singledispatchmethod": "register() evaluates string annotations outside the policy",
    "string.Formatter": "it resolves {fields} by attribute access outside the policy",
    "uuid.getnode": "it may read the MAC address through a subprocess",
    "uuid.uuid1": "it reads the MAC address (uuid.getnode); use uuid.uuid4",
}


def _public_names(module: types.ModuleType) -> list[str]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return [str(name) for name in exported]
    names = []
    own = (module.__name__, "_" + module.__name__)
    for attr in dir(module):
        value = getattr(module, attr)
        if callable(value) and getattr(value, "__module__", None) not in own:
            continue  # imported from elsewhere (uuid.Enum, uuid.int_…), not this module's API
        names.append(attr)
    return names


def _view(name: str) -> ModuleView:
    view = _VIEWS.get(name)
    if view is None:
        module = __import__(name)
        replaced = _REPLACED.get(name, {})
        public = set(_public_names(module))
        members: dict[str, Any] = {}
        withheld: dict[str, str] = {}
        for attr in dir(module):
            if attr.startswith("_"):
                continue
            value = replaced.get(attr, getattr(module, attr, None))
            if attr in ALLOWED_MODULES[name]:
                withheld[attr] = _WITHHELD_REASONS.get(f"{name}.{attr}", "it is withheld")
            elif isinstance(value, types.ModuleType):
                withheld[attr] = "modules are not reachable"
            elif attr not in public:
                withheld[attr] = "it is not part of the module's own public API"
            elif isinstance(value, type) and type(value) not in _PLAIN_METACLASSES:
                # classes with a metaclass of their own (enums): their members remain as constants
                withheld[attr] = "classes with a metaclass of their own are not available"
            elif callable(value) or isinstance(value, _CONSTANT_TYPES):
                members[attr] = value
            else:
                withheld[attr] = "only functions, classes and immutable constants are available"
        view = _VIEWS[name] = ModuleView(name, members, withheld)
    return view


_LIBRARY_IMPORTS = frozenset({"time", "_strptime", "locale", "calendar", "unicodedata", "numbers"})
"""Modules library C code imports lazily (``datetime.strftime`` needs ``time``), when not loaded yet."""


def _library_import(name: Any, globals: Any, locals: Any, fromlist: Any, level: int) -> bool:
    """Whether this is ``PyImport_Import`` on behalf of library C code, not an ``import`` statement.

    The interpreter calls ``__import__(name, globals, globals, [], 0)`` — an empty *list* — with the
    snippet's globals when C code called from the snippet imports a module; an import statement
    always passes ``None`` or a tuple. The module goes to that C code, never to the snippet.
    """
    return type(fromlist) is list and not fromlist and level == 0 and globals is locals and type(name) is str


class Bundle(Protocol):
    """A plugin run's own modules (``plugin_host._PluginRun``), as :func:`guarded_import` asks for them."""

    def import_module(self, name: Any, importer: Any, fromlist: Any, level: Any) -> object | None:
        """The bundle's module for this ``__import__``; ``None`` when ``name`` is not the bundle's."""


_BUNDLE: Bundle | None = None
"""The plugin run in progress (a worker runs one job at a time): where ``guarded_import`` finds bundle modules."""


def set_bundle(bundle: Bundle | None) -> None:
    """Make ``bundle``'s modules importable by sandbox code (``None``: no plugin run in progress)."""
    global _BUNDLE
    _BUNDLE = bundle


def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if _library_import(name, globals, locals, fromlist, level):
        if name in sys.modules or name in _LIBRARY_IMPORTS:
            return __import__(name)
        raise PolicyViolation(f"library code may not import {name!r} here")
    if _BUNDLE is not None:  # a plugin's run: the bundle's own modules first
        own = _BUNDLE.import_module(name, globals, fromlist, level)
        if own is not None:
            return own
    if level != 0:
        raise PolicyViolation("relative imports are not allowed")
    if not isinstance(name, str) or str.__str__(name) not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise PolicyViolation(f"import of {name!r} is not allowed (allowed: {allowed})")
    view = _view(str.__str__(name))
    for item in fromlist or ():
        if not isinstance(item, str) or item.startswith("_") or str.__str__(item) not in view._members:
            reason = view._withheld.get(str(item), "it is not available in the sandbox")
            raise PolicyViolation(f"cannot import {item!r} from {name!r}: {reason}")
    return view


_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(
    {
        "__import__": guarded_import,
        "getattr": guarded_getattr,
        "hasattr": guarded_hasattr,
        "setattr": guarded_setattr,
        "delattr": guarded_delattr,
        "type": safe_type,
        "super": super,
        "bytes": bytes,
        "list": list,
        "dict": dict,
        "set": set,
        "frozenset": frozenset,
        "tuple": tuple,
        "enumerate": enumerate,
        "reversed": reversed,
        "sorted": sorted,
        "map": map,
        "filter": filter,
        "zip": zip,
        "min": min,
        "max": max,
        "sum": sum,
        "any": any,
        "all": all,
        "iter": guarded_iter,
        "next": next,
        "isinstance": isinstance,
        "issubclass": issubclass,
        "object": object,
        "property": property,
        "staticmethod": staticmethod,
        "classmethod": classmethod,
        "format": format,
        "bin": bin,
        "bytearray": bytearray,
        "StopAsyncIteration": StopAsyncIteration,
        "RecursionError": RecursionError,
    }
)
for _name in ("KeyboardInterrupt", "GeneratorExit", "BaseException"):
    _BUILTINS.pop(_name, None)  # nothing the snippet could use to catch the sandbox's own signals


def _base_globals(output: Output) -> dict[str, Any]:
    """What sandbox code runs in — a snippet and each plugin module alike: the builtins and the guards."""
    return {
        "__builtins__": _BUILTINS,
        "__metaclass__": make_class,
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_iter,
        "_iter_unpack_sequence_": iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": guarded_write,
        "_inplacevar_": inplacevar,
        "_print_": _Printer(output),
        "_apply_": apply,
    }
