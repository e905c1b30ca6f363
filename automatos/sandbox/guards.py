"""Layer 2 of the sandbox worker's policy: the guards sandbox code runs under, and its printed output.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading"), never imported
from the package; it imports only the standard library, RestrictedPython and its sibling ``policy.py``.

Code compiled by ``policy.py`` calls these hooks: ``_getattr_`` (:func:`guarded_getattr`),
``_getitem_``, ``_getiter_``, ``_write_`` (:func:`guarded_write`), ``_inplacevar_``,
``__metaclass__`` (:func:`make_class`, which records the snippet's classes in
:data:`_SANDBOX_CLASSES`, one registry per worker) and ``_print_`` (:class:`_Printer`, into an
:class:`Output` whose size is the ``output_bytes`` limit; ``printed`` is the text).
:class:`PolicyViolation` and :class:`LimitExceeded` are the errors the whole worker raises.

The globals (assembled in ``views.py``): a minimal builtins set plus ``super`` and ``bytes``;
``open``, ``eval``, ``exec``, ``compile``, ``globals``, ``locals``, ``vars``, ``dir``, ``help``,
``input``, ``breakpoint``, ``memoryview``, ``BaseException``, ``ExceptionGroup``… are absent, and
using one is a ``policy`` error naming it (``views._REFUSED_NAMES``). ``type(x)`` takes one argument and never returns a
metaclass — ``type`` itself included: ``type(int)('C', (), {...})`` would make classes with any
dunder method, and metaclasses with ``__eq__``/``__hash__`` that pass for the snippet's classes.
Guarded attribute access:

- the name must be a ``str`` and is read as an exact ``str``: a ``str`` subclass overriding
  ``startswith``/``__eq__``/``__hash__`` cannot smuggle ``__class__`` past the check
  (RestrictedPython PR #282, "type(name) must be str");
- no ``_`` names, no frame/code/generator/coroutine/traceback internals, by name and by value
  (CVE-2023-37271 / GHSA-wqc8-x2pr-7jqh, ``gi_frame.f_back``);
- ``format``/``format_map`` resolve only to functions the snippet defined: ``str.format`` and
  anything built on it (``collections.UserString.format``, ``super(S, s).format``…) walk
  ``{0.__class__…}`` unguarded (CVE-2023-41039 / GHSA-xjw2-6jm9-rf67); ``string.Formatter`` is
  withheld (GHSA-hp3v-5vw7-fx9w);
- ``AttributeError.obj`` is refused (CVE-2024-47532: the object a failed lookup was made on);
- ``register`` on a library ABC is refused (the ABC registry is shared by every run);
- no ``mro`` on classes, and no module object is ever returned.

Writes (``_write_``, ``setattr``, ``delattr``) only to the containers in :data:`_WRITABLE`
(``dict``, ``list``, ``set``, ``bytearray``, ``deque``, ``UserDict``/``UserList``/``ChainMap``…,
recognised by the real MRO of ``type(obj)`` — never by ``isinstance``, which an ABC answers from a
registry the snippet's own ABC subclass can extend), ``decimal.Context`` objects, and the classes
the snippet defined and their instances (recognised by identity, never by ``==``/hash). A class
may derive only from classes whose metaclass is ``type`` or ``abc.ABCMeta`` (no enum machinery).
Guarded iteration and unpacking.
"""

from __future__ import annotations

import abc
import collections
import decimal
import functools
import operator
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

if TYPE_CHECKING:
    from automatos.sandbox.policy import _DENIED_PREFIXES, _sandbox_file
else:
    from automatos_sandbox_policy import _DENIED_PREFIXES, _sandbox_file

__all__ = ["LimitExceeded", "Output", "PolicyViolation", "guarded_getattr", "guarded_write", "make_class"]

MAX_MESSAGE = 4000
"""Characters of an error message handed back."""
_STRING_FORMAT = frozenset({"format", "format_map"})


class PolicyViolation(Exception):
    """A construct the policy forbids, met at run time (a computed attribute name, an import…)."""


class LimitExceeded(BaseException):
    """A limit was hit; a BaseException so that ``except Exception`` in the snippet cannot swallow it."""

    def __init__(self, limit: str, value: Any) -> None:
        super().__init__(f"{limit} limit of {value} exceeded")
        self.limit = limit
        self.value = value


_SANDBOX_CLASSES: dict[int, weakref.ref[type]] = {}
"""The snippets' classes by ``id``: membership is identity, never a class's own ``==``/``hash``."""


def _is_sandbox_class(cls: object) -> bool:
    ref = _SANDBOX_CLASSES.get(id(cls))
    return ref is not None and ref() is cls


def _is_snippet_function(value: object) -> bool:
    func = value.__func__ if isinstance(value, types.MethodType) else value
    return isinstance(func, types.FunctionType) and _sandbox_file(func.__code__.co_filename)


def _plain_str(value: object) -> str:
    text = str(value)
    return text if type(text) is str else str.__str__(text)


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise PolicyViolation("attribute names must be strings")
    name = str.__str__(name)  # an exact str: a subclass's own startswith/__eq__/__hash__ play no part
    if name.startswith("_"):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed (it starts with '_')")
    if name in INSPECT_ATTRIBUTES or name.startswith(_DENIED_PREFIXES):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed (interpreter internals)")
    return name


_MISSING = object()


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    if type(obj) is super and isinstance(name, str) and str.__str__(name) == "__init__":
        return cast(Any, obj).__init__  # super().__init__(…): the parent's initialiser
    name = _check_name(name)
    if name in _STRING_FORMAT and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
        raise PolicyViolation(f"str.{name} is not allowed (it can reach attributes); use f-strings")
    if name == "mro" and isinstance(obj, type):
        raise PolicyViolation("access to attribute 'mro' is not allowed")
    if name == "register" and isinstance(obj, abc.ABCMeta) and not _is_sandbox_class(obj):
        raise PolicyViolation("register() on a library ABC is not allowed (the registry is shared between runs)")
    if name == "obj" and isinstance(obj, AttributeError):
        raise PolicyViolation("AttributeError.obj is not allowed (it can hand back objects the snippet was not given)")
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    try:
        value = getattr(obj, name)
    except AttributeError:
        if default is _MISSING:
            raise
        return default
    if isinstance(value, types.ModuleType):
        raise PolicyViolation(f"attribute {name!r} is a module, which is not reachable")
    if isinstance(value, types.FrameType | types.CodeType | types.TracebackType):
        raise PolicyViolation(f"attribute {name!r} leads to interpreter internals")
    if name in _STRING_FORMAT and not _is_snippet_function(value):
        raise PolicyViolation(
            f"{name}() of {type(obj).__name__} is not allowed (it can reach attributes); use f-strings"
        )
    return value


def guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except (AttributeError, PolicyViolation):
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    return obj[key]


def guarded_iter(obj: Any) -> Any:
    if isinstance(obj, types.ModuleType):
        raise PolicyViolation("module objects are not reachable")
    return iter(obj)


_WRITABLE = (
    dict, list, set, bytearray, OrderedDict, collections.deque, collections.UserDict, collections.UserList,
    collections.ChainMap, decimal.Context,
)  # fmt: skip
_PLAIN_METACLASSES = (type, abc.ABCMeta)
"""The metaclasses of classes a snippet may use and derive from (not enum's, for one)."""


_WRITABLE_IDS = frozenset(id(cls) for cls in _WRITABLE)


def guarded_write(obj: Any) -> Any:
    """What the snippet may assign attributes or items on: containers, decimal contexts, its own objects.

    Containers are recognised by the real MRO of ``type(obj)``, never by ``isinstance``: an ABC such as
    ``UserDict`` answers ``isinstance`` from its registry, which a snippet's subclass can extend.
    """
    cls = type(obj)
    if cls is dict or cls is list or cls is set:  # the common case, answered without a scan
        return obj
    if _is_sandbox_class(cls) or _is_sandbox_class(obj):
        return obj
    if any(id(base) in _WRITABLE_IDS for base in cls.__mro__):
        return obj
    raise PolicyViolation(f"objects of type {type(obj).__name__} cannot be modified here")


def guarded_setattr(obj: Any, name: Any, value: Any) -> None:
    setattr(guarded_write(obj), _check_name(name), value)


def guarded_delattr(obj: Any, name: Any) -> None:
    delattr(guarded_write(obj), _check_name(name))


def make_class(name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
    """``__metaclass__`` of every class statement: plain classes only, and remembered as the snippet's."""
    if kwargs:
        raise PolicyViolation("class keywords (metaclass=…) are not allowed")
    for base in bases:
        if not isinstance(base, type) or issubclass(base, type) or base is LimitExceeded:
            raise PolicyViolation(f"cannot derive a class from {base!r}")
        if type(base) not in _PLAIN_METACLASSES:
            raise PolicyViolation(f"cannot derive a class from {base.__name__} (it has a metaclass of its own)")
    cls = type(name, bases, namespace)
    _SANDBOX_CLASSES[id(cls)] = weakref.ref(cls, _forget(id(cls)))
    return cls


def _forget(key: int) -> Callable[[weakref.ref[type]], None]:
    def forget(ref: weakref.ref[type]) -> None:
        if _SANDBOX_CLASSES.get(key) is ref:
            del _SANDBOX_CLASSES[key]

    return forget


def safe_type(*args: Any) -> type:
    if len(args) != 1:
        raise PolicyViolation("type() takes exactly one argument here (making classes with it is not allowed)")
    cls = type(args[0])
    if issubclass(cls, type):
        raise PolicyViolation(
            "type() of a class is not available (metaclasses, type itself included, are not reachable)"
        )
    return cls


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def inplacevar(op: str, a: Any, b: Any) -> Any:
    try:
        func = _INPLACE[op]
    except KeyError:
        raise PolicyViolation(f"operator {op} is not allowed") from None
    return func(a, b)


def iter_unpack_sequence(it: Any, spec: Any, _getiter_: Any) -> Any:
    """``for a, b in it``: the iterable goes through ``_getiter_``; its items are unpacked natively.

    RestrictedPython's version re-checks every item with ``_getiter_`` (~330 ns each); ours refuses
    only module objects, and no item a snippet can iterate is one (the views hold no modules).
    """
    return _getiter_(it)


def apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


# --- replaced library functions --------------------------------------------------------------------


def _snippet_owned(obj: object) -> bool:
    return _is_snippet_function(obj) or _is_sandbox_class(obj) or _is_sandbox_class(type(obj))


def safe_update_wrapper(wrapper: Any, wrapped: Any, assigned: Any = None, updated: Any = None) -> Any:
    """``functools.update_wrapper`` with its default attribute lists, onto the snippet's own wrapper."""
    if assigned is not None or updated is not None:
        raise PolicyViolation(
            "functools.update_wrapper/wraps: only the default assigned/updated attributes are allowed"
        )
    if not _snippet_owned(wrapper):
        raise PolicyViolation("functools.update_wrapper/wraps: the wrapper must be a function or object of the snippet")
    return functools.update_wrapper(wrapper, wrapped)


def safe_wraps(wrapped: Any, assigned: Any = None, updated: Any = None) -> Any:
    if assigned is not None or updated is not None:
        raise PolicyViolation(
            "functools.update_wrapper/wraps: only the default assigned/updated attributes are allowed"
        )
    return functools.partial(safe_update_wrapper, wrapped=wrapped)


def safe_total_ordering(cls: Any) -> Any:
    if not _is_sandbox_class(cls):
        raise PolicyViolation("functools.total_ordering applies to the snippet's own classes only")
    return functools.total_ordering(cls)


# --- output ----------------------------------------------------------------------------------------


class Output:
    """What the snippet prints, up to ``limit`` bytes; more is a limit hit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.exceeded = False

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        if self.size + len(data) > self.limit:
            room = self.limit - self.size
            if room > 0:
                self.parts.append(data[:room].decode("utf-8", "ignore"))
            self.size = self.limit
            self.exceeded = True
            raise LimitExceeded("output_bytes", self.limit)
        self.parts.append(text)
        self.size += len(data)

    def charge(self, size: int) -> None:
        """Count ``size`` bytes of log lines against the same budget (what they say is kept elsewhere)."""
        if self.size + size > self.limit:
            self.size = self.limit
            self.exceeded = True
            raise LimitExceeded("output_bytes", self.limit)
        self.size += size

    def text(self) -> str:
        return "".join(self.parts)


class _PrintScope:
    """What ``_print_(_getattr_)`` returns: ``print(…)`` is ``._call_print(…)``, ``printed`` is ``()``."""

    __slots__ = ("_output",)

    def __init__(self, output: Output) -> None:
        self._output = output

    def __call__(self) -> str:
        return self._output.text()  # `printed`: the text, never this object or the Output

    def _call_print(
        self, *objects: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: bool = False
    ) -> None:
        if file is not None:
            raise PolicyViolation("print(file=…) is not allowed")
        separator = " " if sep is None else _plain_str(sep)
        ending = "\n" if end is None else _plain_str(end)
        self._output.write(separator.join([_plain_str(o) for o in objects]) + ending)


class _Printer:
    """RestrictedPython's ``_print_`` protocol: called once per scope with ``_getattr_``."""

    __slots__ = ("_output",)

    def __init__(self, output: Output) -> None:
        self._output = output

    def __call__(self, _getattr: Any = None) -> _PrintScope:
        return _PrintScope(self._output)


def _message(exc: BaseException) -> str:
    """``Type: text`` of an exception the snippet raised (its ``__str__`` may be the snippet's)."""
    try:
        text = _plain_str(exc)
    except LimitExceeded:
        raise
    except BaseException:
        text = "(the message could not be read)"
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
