"""The sandbox worker's lock-down at start, before any job: limits, warm views, privileges, second wall.

Loaded by path by :mod:`automatos.sandbox.worker` (see its docstring, "Loading"), never imported
from the package; it imports only the standard library and its siblings ``views.py`` and
``confine.py``. :func:`_lock_down`, once, in order:

- no file may be written (``RLIMIT_FSIZE`` 0, ``SIGXFSZ`` ignored so trying is an ``OSError``), no
  core dump; ``socket`` refuses to be used even by library code (:func:`_deny_sockets`);
- the views of the allow-list are built and the modules their libraries import lazily are loaded
  (:data:`PRELOADED`) before any limit applies; shared mutable state the views lead to is made
  read-only (:func:`_freeze_shared_state`);
- an exception in a snippet's finalizer is only counted (:data:`_UNRAISABLE`, which the worker
  clears and reads around each run);
- the second wall (``confine.py``: network namespace, no new privileges, landlock, seccomp, as far
  as the kernel allows; ``--confinement=auto|require|off``), which calls back to drop privileges
  between its layers: a worker started as root runs as uid/gid 65534 with ``RLIMIT_NPROC`` 0 when
  every directory it loaded modules from is readable by any user (:func:`_drop_privileges`);
  landlock leaves readable only :func:`_readable_paths`;
- the worker's own objects are frozen out of the per-run garbage collection.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import stat
import sys
import textwrap
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automatos.sandbox.confine import confine
    from automatos.sandbox.views import ALLOWED_MODULES, _view
else:
    from automatos_sandbox_confine import confine
    from automatos_sandbox_views import ALLOWED_MODULES, _view

__all__ = ["NOBODY", "PRELOADED"]

_UNRAISABLE: list[type[BaseException]] = []
"""Types of the exceptions raised in the snippet's finalizers (a generator's ``finally``) since the run began."""


def _record_unraisable(unraisable: Any) -> None:
    if len(_UNRAISABLE) < 100:
        _UNRAISABLE.append(unraisable.exc_type)  # the type only: no reference to the snippet's objects


def _deny_sockets() -> None:
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("network access is not available in the sandbox")

    socket.socket = refuse  # type: ignore[assignment,misc]
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


NOBODY = 65534
PRELOADED = (
    "heapq", "copy", "warnings", "unicodedata", "time", "_strptime", "locale", "calendar", "encodings.ascii",
    "encodings.latin_1", "encodings.utf_8_sig", "encodings.utf_16", "encodings.utf_16_le", "encodings.utf_16_be",
    "encodings.utf_32", "encodings.utf_32_le", "encodings.utf_32_be", "encodings.cp1252", "encodings.cp437",
    "encodings.iso8859_15", "encodings.unicode_escape", "encodings.raw_unicode_escape", "encodings.idna",
)  # fmt: skip
"""Modules the views' libraries import lazily (``Counter.most_common`` → heapq, codecs…): loaded up front."""


def _readable_by_anyone(path: str) -> bool:
    """Whether any user may reach ``path`` (every directory above it searchable) and read it."""
    path = os.path.realpath(path)
    current = path
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return False
        needed = stat.S_IROTH | stat.S_IXOTH if current == path else stat.S_IXOTH
        if mode & needed != needed:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def _drop_privileges() -> bool:
    """A worker started as root runs as uid/gid 65534 (RLIMIT_NPROC applies, root-only files stay shut).

    Only when every directory it loaded modules from is readable by any user: otherwise a library's
    lazy import would fail later (an interpreter installed under ``/root``, say) and it stays as is.
    """
    if os.geteuid() != 0:
        return False
    folders = {os.path.dirname(str(m.__file__)) for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    if not all(_readable_by_anyone(folder) for folder in folders):
        return False
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    return True


def _freeze_shared_state() -> None:
    """Make the mutable containers the views lead to read-only (they are shared by every run).

    ``textwrap.TextWrapper.unicode_whitespace_trans`` is a class-level dict every wrapper translates
    with: a snippet could rewrite it (item assignment, ``.update()``) for the runs that follow.
    """
    trans = textwrap.TextWrapper.unicode_whitespace_trans
    if isinstance(trans, dict):
        textwrap.TextWrapper.unicode_whitespace_trans = types.MappingProxyType(dict(trans))  # type: ignore[assignment]


def _lock_down(confinement: str = "auto") -> dict[str, str]:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file can be written
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # …and trying is an OSError, not a dead worker
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _deny_sockets()
    for name in ALLOWED_MODULES:  # warm the views (and their imports) before any limit applies
        _view(name)
    for name in PRELOADED:
        try:
            __import__(name)
        except ImportError:
            pass
    _freeze_shared_state()
    sys.unraisablehook = _record_unraisable  # an exception in a snippet's finalizer is only counted
    report = _confine(confinement)  # drops privileges and sets RLIMIT_NPROC between its layers
    gc.collect()
    gc.freeze()  # the worker's own objects: never scanned again by the per-run collection
    return report


def _drop_privileges_and_forks() -> None:
    _drop_privileges()
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork (ignored for root)
    except (ValueError, OSError):
        pass


def _readable_paths() -> list[str]:
    """What the worker may still read once confined: the interpreter's libraries, its own directory,
    locale and time zone data, ``/dev/null``, ``/dev/urandom`` and its own ``statm`` (:func:`_vsz`)."""
    prefixes = dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix))
    paths = [os.path.join(prefix, lib) for prefix in prefixes for lib in dict.fromkeys(("lib", sys.platlibdir))]
    paths += [entry for entry in sys.path if entry and os.path.isabs(entry)]
    loaded = [m.__file__ for m in list(sys.modules.values()) if isinstance(getattr(m, "__file__", None), str)]
    paths += sorted({os.path.dirname(str(file)) for file in loaded})
    paths.append(os.path.dirname(os.path.abspath(__file__)))
    paths += ["/usr/lib/locale", "/usr/share/zoneinfo", "/etc/localtime", os.devnull, "/dev/urandom"]
    paths.append("/proc/self/statm")
    return paths


def _confine(mode: str) -> dict[str, str]:
    """The second wall (``confine.py``, a sibling loaded by path: this process may not import the package)."""
    return confine(mode, readable=_readable_paths(), drop_privileges=_drop_privileges_and_forks)
