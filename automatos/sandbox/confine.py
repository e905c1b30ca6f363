"""The second wall: OS-level confinement of a sandbox worker, behind RestrictedPython's policy.

Loaded *by path* by :mod:`automatos.sandbox.worker` (``python -I``, no ``automatos`` import), so it
imports only the standard library and, lazily, ``pyseccomp``. :func:`confine` applies, in order,
every layer the kernel allows and returns what holds, layer by layer (``"on"``, ``"off"`` or
``"unavailable: <why>"``):

- ``netns``: a network namespace of its own (``unshare(CLONE_NEWNET)``, needs root): even a socket
  that somehow gets made sees nothing but an unconfigured loopback. Done first, while still root;
  then the caller's ``drop_privileges`` runs (uid/gid 65534, ``RLIMIT_NPROC``).
- ``no_new_privs`` (``prctl(PR_SET_NO_NEW_PRIVS)``): no set-uid/file-capability gain, ever; also
  what lets an unprivileged process install the two filters below.
- ``landlock`` (ABI 1+): no filesystem write of any kind (every write right is handled, none
  granted: create, write, truncate, remove, rename, link, mknod), no ``execve`` of a file, reads only
  beneath the given ``readable`` paths (the interpreter's libraries, the worker's own directory,
  locale and time zone data, ``/dev/null``, ``/dev/urandom``, ``/proc/self/statm``) — so
  ``/proc/<supervisor>/environ``, keys and other tenants' files stay shut; ABI 4+: no TCP bind or
  connect; ABI 6+: no signal to, and no abstract UNIX socket of, a process outside the worker.
- ``seccomp`` (a filter over the system's libseccomp via ``pyseccomp``, default allow): ``EPERM``
  for sockets (``socket``, ``socketpair``, ``connect``, ``bind``, ``listen``, ``accept``…), starting
  programs or processes (``execve``, ``execveat``, ``fork``, ``vfork``, ``clone`` without
  ``CLONE_THREAD``; ``clone3`` gets ``ENOSYS`` so libc falls back to ``clone``), reaching other
  processes (``ptrace``, ``process_vm_*``, ``pidfd_*``, ``kcmp``; ``kill``/``tkill``/``tgkill``/
  ``rt_*sigqueueinfo`` aimed at any pid but its own), changing the filesystem (``open``/``openat``
  with a write, create or truncate flag, ``creat``, ``openat2``, unlink/rename/mkdir/link/mknod,
  chmod/chown/xattr/utime, truncate), ``io_uring`` (which does all of the above around seccomp),
  namespaces and mounts, identity changes (the set*id family, ``capset``), and the kernel's
  administrative surface (modules, ``kexec``, ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``keyctl``, ``iopl``, ``personality``, ``reboot``, clocks, quotas, ``fanotify``…). Loaded last:
  nothing after it needs a denied call (the worker talks over inherited pipes).

Landlock is written here with ``ctypes`` (three syscalls) rather than taken from PyPI's ``landlock``
package: its only release is a development version (1.0.0.dev5) that handles filesystem rights
only (no ABI 4 network rules, no ABI 6 signal/abstract-socket scoping), decides failure from a
possibly stale ``ctypes`` errno instead of the return value, and leaks the ruleset descriptor.

``mode`` (``SANDBOX_CONFINEMENT``, read by the pool and passed on the worker's command line):
``auto`` applies what the kernel allows and reports the rest, ``require`` raises
:class:`ConfinementError` when any layer is missing (the worker then refuses to start), ``off``
applies nothing (only ``drop_privileges``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["LAYERS", "MODES", "ConfinementError", "confine", "missing"]

MODES = ("auto", "require", "off")
LAYERS = ("no_new_privs", "netns", "landlock", "seccomp")

PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000

# landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every architecture
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ABI1 = (1 << 13) - 1  # execute … make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_DENIED = (
    # network (the capabilities go through the supervisor's pipe)
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # programs and processes
    "execve", "execveat", "fork", "vfork", "uselib",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "process_mrelease", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "migrate_pages", "move_pages",
    # the filesystem (besides open/openat with write flags, below)
    "creat", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "link",
    "linkat", "symlink", "symlinkat", "mknod", "mknodat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
    "fchown", "lchown", "fchownat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat", "removexattr",
    "lremovexattr", "fremovexattr", "removexattrat", "utime", "utimes", "utimensat", "futimesat", "truncate",
    "ftruncate", "fallocate", "name_to_handle_at", "open_by_handle_at", "fanotify_init", "fanotify_mark",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # namespaces and mounts
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    # identity
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
    "capset",
    # the kernel's administrative surface
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "iopl", "ioperm", "personality", "reboot", "swapon",
    "swapoff", "syslog", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "quotactl", "quotactl_fd", "vhangup", "lookup_dcookie", "nfsservctl",
)  # fmt: skip
"""Syscalls denied with ``EPERM`` outright (names this architecture lacks are skipped)."""
_OWN_PID_ONLY = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
"""Signals only to the worker itself (first argument: its pid)."""
_WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)
"""``open``/``openat`` with any of these flags is denied (``openat2`` keeps its flags in memory: ENOSYS)."""


class ConfinementError(RuntimeError):
    """``require`` mode, and a layer could not be applied."""


def missing(report: dict[str, str]) -> list[str]:
    """The layers of ``report`` that do not hold (``off`` counts as missing)."""
    return [layer for layer in LAYERS if not report.get(layer, "").startswith("on")]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _no_new_privs(libc: ctypes.CDLL) -> str:
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"unavailable: prctl: {os.strerror(ctypes.get_errno())}"
    return "on" if prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 else "unavailable: not reported set"


def _netns(libc: ctypes.CDLL) -> str:
    unshare = libc.unshare
    unshare.argtypes = (ctypes.c_int,)
    unshare.restype = ctypes.c_int
    if unshare(CLONE_NEWNET) == 0:
        return "on"
    code = ctypes.get_errno()
    if code == errno.EPERM:
        return "unavailable: needs root (CAP_SYS_ADMIN); seccomp and landlock still deny sockets"
    return f"unavailable: unshare: {os.strerror(code)}"


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]  # fmt: skip


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(libc: ctypes.CDLL, *argtypes: Any) -> Any:
    call = libc["syscall"]  # a fresh function pointer: its argtypes are ours alone
    call.argtypes = (ctypes.c_long, *argtypes)
    call.restype = ctypes.c_long
    return call


def landlock_abi() -> int:
    """The kernel's landlock ABI version (0: none)."""
    create = _syscall(_libc(), ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32)
    version = int(create(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION))
    return max(version, 0)


def _landlock(libc: ctypes.CDLL, readable: Iterable[str]) -> str:
    create = _syscall(libc, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32)
    add_rule = _syscall(libc, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
    restrict = _syscall(libc, ctypes.c_int, ctypes.c_uint32)
    abi = int(create(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION))
    if abi < 0:
        code = ctypes.get_errno()
        if code == errno.ENOSYS:
            return "unavailable: the kernel has no landlock (5.13+ with CONFIG_SECURITY_LANDLOCK)"
        if code == errno.EOPNOTSUPP:
            return "unavailable: landlock is disabled at boot (lsm=)"
        return f"unavailable: landlock: {os.strerror(code)}"
    fs = _FS_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    fs |= _FS_IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(fs, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0,
                        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0)  # fmt: skip
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = int(create(_SYS_CREATE_RULESET, ctypes.addressof(attr), size, 0))
    if ruleset < 0:
        return f"unavailable: landlock_create_ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        for path in dict.fromkeys(readable):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not on this machine: nothing to allow
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                rule = _PathBeneath(_FS_READ_FILE | (_FS_READ_DIR if is_dir else 0), fd)
                if add_rule(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.addressof(rule), 0) != 0:
                    return f"unavailable: landlock_add_rule({path}): {os.strerror(ctypes.get_errno())}"
            finally:
                os.close(fd)
        if restrict(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            return f"unavailable: landlock_restrict_self: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return f"on (abi {abi})"


_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


def _load_seccomp() -> Any:
    """``pyseccomp``, or the reason it is unavailable: imported first, while it can still find libseccomp.

    Its import looks up libc and libseccomp with ``ctypes.util.find_library``, which runs ``ldconfig``
    twice (~30 ms of every worker start) and may write a temporary file: for the import only, the
    well-known sonames are tried first (``dlopen`` finds them as ``ldconfig`` would), the real lookup
    after.
    """
    import ctypes.util

    lookup = ctypes.util.find_library

    def known_first(name: str) -> str | None:
        soname = _SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return lookup(name)

    ctypes.util.find_library = known_first
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as exc:  # no pyseccomp, or no libseccomp on this system
        return f"unavailable: {type(exc).__name__}: {exc}"
    finally:
        ctypes.util.find_library = lookup
    return pyseccomp


def _seccomp(sc: Any) -> str:
    if isinstance(sc, str):
        return sc
    try:
        flt = sc.SyscallFilter(sc.ALLOW)
        flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)  # a 32-bit or x32 syscall ends the worker
        eperm = sc.ERRNO(errno.EPERM)

        def add(action: int, name: str, *args: Any) -> None:
            number = sc.resolve_syscall(sc.Arch.NATIVE, name)
            if number >= 0:  # negative: this architecture has no such syscall
                flt.add_rule(action, number, *args)

        for name in _DENIED:
            add(eperm, name)
        add(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))  # threads yes, processes no
        add(sc.ERRNO(errno.ENOSYS), "clone3")  # its flags live in memory; libc falls back to clone
        add(sc.ERRNO(errno.ENOSYS), "openat2")  # likewise (Python never calls it)
        for flag in _WRITE_FLAGS:
            add(eperm, "open", sc.Arg(1, sc.MASKED_EQ, flag, flag))
            add(eperm, "openat", sc.Arg(2, sc.MASKED_EQ, flag, flag))
        pid = os.getpid()
        for name in _OWN_PID_ONLY:
            add(eperm, name, sc.Arg(0, sc.NE, pid))
        flt.load()
    except OSError as exc:
        return f"unavailable: {exc}"
    return "on"


def confine(
    mode: str = "auto",
    *,
    readable: Iterable[str] = (),
    drop_privileges: Callable[[], object] | None = None,
) -> dict[str, str]:
    """Apply the layers ``mode`` asks for to this process; what holds, layer by layer.

    ``drop_privileges`` runs after the network namespace (which needs root) and before the filters
    (which deny the set*id calls it makes). Raises :class:`ConfinementError` in ``require`` mode
    when a layer is missing (what was applied stays applied), :class:`ValueError` for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"confinement mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        if drop_privileges is not None:
            drop_privileges()
        return dict.fromkeys(LAYERS, "off")
    seccomp, libc = _load_seccomp(), _libc()
    report = {"netns": _netns(libc)}
    if drop_privileges is not None:
        drop_privileges()
    report["no_new_privs"] = _no_new_privs(libc)
    report["landlock"] = _landlock(libc, readable)
    report["seccomp"] = _seccomp(seccomp)
    report = {layer: report[layer] for layer in LAYERS}
    absent = missing(report)
    if mode == "require" and absent:
        raise ConfinementError(
            "SANDBOX_CONFINEMENT=require, but " + "; ".join(f"{layer} is {report[layer]}" for layer in absent)
        )
    return report
