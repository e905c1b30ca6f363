"""Process calls: the command a call runs, as far as folding recovers it, and what it means.

``process_call`` weighs the executable against ``[permissions] subprocess`` and classifies the
command line with the shared classifiers in ``patterns.py``: shell payloads (download-and-run,
remote shells), clipboard tools, run-time ``pip install``, persistence commands, ``python -c``
code (walked again as a payload), standard streams bound to a socket, and secrets passed on.
"""

from __future__ import annotations

import ast
import itertools
import re
import shlex
from typing import TYPE_CHECKING

from automatos.extensions.scanning import patterns as P
from automatos.extensions.scanning.flows import escalate, flow
from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx, Walker

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

__all__ = ["process_call"]


def _command(w: Walker, node: ast.Call, name: str) -> tuple[str | None, str]:
    """(executable, whole command text) of a process call, as far as folding recovers them."""
    if not node.args:
        return None, ""
    if isinstance(node.args[0], ast.Name) and w.facts.bound(node.args[0].id) is None:
        chosen = _alternatives(w, node, name, node.args[0].id)
        if chosen is not None:
            return chosen
    if name.endswith((".subprocess_exec", ".subprocess_shell")) and name.startswith("asyncio."):
        node = ast.Call(func=node.func, args=list(node.args[1:]), keywords=node.keywords)  # (factory, ...)
        if not node.args:
            return None, ""
    if name.endswith(("create_subprocess_exec", ".subprocess_exec")) and len(node.args) > 1:  # argv spread out
        node = ast.Call(func=node.func, args=[ast.List(elts=list(node.args), ctx=ast.Load())], keywords=[])
    bound = w.facts.bound(node.args[0].id) if isinstance(node.args[0], ast.Name) else None
    if isinstance(bound, ast.List | ast.Tuple):  # ``args = ["curl", …]; run(args)``
        node = ast.Call(func=node.func, args=[bound, *node.args[1:]], keywords=node.keywords)
    if isinstance(node.args[0], ast.List | ast.Tuple):
        texts = [_arg_text(w, e) for e in node.args[0].elts]
        head = texts[0] if texts else None
        if head is None and node.args[0].elts:
            head = _which(w, node.args[0].elts[0])
            texts[0] = head
        return (head.rsplit("/", 1)[-1] if head else None), " ".join(t or "?" for t in texts)
    folded = w.facts.folder.fold(node.args[0])
    value = folded.value if folded is not None else None
    if isinstance(value, list):
        parts = [v.decode() if isinstance(v, bytes) else str(v) for v in value]
        return (parts[0].rsplit("/", 1)[-1] if parts else None), " ".join(parts)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            first = shlex.split(value)[:1]
        except ValueError:
            first = value.split()[:1]
        return (first[0].rsplit("/", 1)[-1] if first else None), value
    if name.startswith(("os.exec", "os.spawn")) and len(node.args) > 1:
        skip = 2 if name.startswith("os.spawn") else 1  # (mode,) file, then argv
        variant = name.rsplit(".", 1)[-1].removeprefix("spawn").removeprefix("exec")
        if variant.startswith("l") and len(node.args) > skip:  # execl*/spawnl*: argv spread out
            parts = [w.facts.folder.text(a) or "?" for a in node.args[skip:]]
            head = w.facts.folder.text(node.args[skip - 1])
            return (head.rsplit("/", 1)[-1] if head else None), " ".join(parts)
        return _command(w, ast.Call(func=node.func, args=node.args[1:], keywords=[]), "")
    return None, ""


def _arg_text(w: Walker, expr: ast.expr) -> str | None:
    """One argument's folded text; an f-string keeps its constant parts (``*`` for the rest) so that
    ``f"curl -H 'X: {token}' URL | sh"`` still reads as a download piped into a shell."""
    text = w.facts.folder.text(expr)
    if text is None and isinstance(expr, ast.JoinedStr):
        return w._template(expr)
    return text


def _alternatives(w: Walker, node: ast.Call, name: str, var: str) -> tuple[str | None, str] | None:
    """``cmd = ["pbcopy"]`` in one branch, ``cmd = ["xclip", ...]`` in another: every constant
    command the name may hold; the first undeclared one speaks for the call (else the first)."""
    values = [v for scope in w.facts.assigns.values() for v in scope.get(var, [])]
    if not values or len(values) > 8 or not all(isinstance(v, ast.List | ast.Tuple) for v in values):
        return None
    found = [_command(w, ast.Call(func=node.func, args=[v], keywords=[]), name) for v in values]
    if any(exe is None for exe, _ in found):
        return None
    undeclared = [f for f in found if not w.perms.exe_declared(f[0] or "")]
    return (undeclared or found)[0]


def _which(w: Walker, expr: ast.expr) -> str | None:
    """``git = shutil.which("git")`` then ``[git, ...]``: the executable is the constant looked up."""
    bound = w.facts.bound(expr.id) if isinstance(expr, ast.Name) else expr
    if isinstance(bound, ast.BoolOp):  # ``shutil.which("git") or "git"``
        bound = bound.values[0]
    if isinstance(bound, ast.Call) and w.facts.resolve(bound.func).name == "shutil.which" and bound.args:
        return w.facts.folder.text(bound.args[0])
    return None


def _build_probe(w: Walker, node: ast.Call, name: str, exe: str | None, command: str) -> bool:
    """``git describe``-style: a constant command of a well-known build tool whose output is captured."""
    if exe not in P.SETUP_TOOLS_EXE or not command or "?" in command.split() or _BUILD_UNSAFE.search(command):
        return False
    captured = name in {"subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput"} or any(
        (kw.arg == "capture_output" and isinstance(kw.value, ast.Constant) and kw.value.value is True)
        or (kw.arg == "stdout" and w.facts.resolve(kw.value).name in {"subprocess.PIPE", "subprocess.DEVNULL"})
        for kw in node.keywords
    )
    return captured


_PIP_INSTALL = re.compile(r"\b(pip3?|uv\s+pip|ensurepip)\b.*\binstall\b|\beasy_install\s")
"""``pip install`` (any source) at run time: packages the manifest's reviewed dependencies do not list."""
_BUILD_UNSAFE = re.compile(r"://|[|;&`$<>]|\b(clone|fetch|pull|push|submodule|remote|config|archive)\b|(^|\s)-c\b|@")


def _saves(command: str) -> bool:
    """A downloader command that fetches a URL (or an unknown argument) rather than printing its version."""
    return (
        "://" in command or "?" in command.split() or bool(re.search(r"\s-(O|o|-output)\b|urlcache|/transfer", command))
    )


_DETACH_FLAGS = frozenset(
    {"DETACHED_PROCESS", "CREATE_NEW_PROCESS_GROUP", "CREATE_NO_WINDOW", "CREATE_BREAKAWAY_FROM_JOB"}
)


def _detached(w: Walker, node: ast.Call) -> str:
    """How a process call cuts the child loose: a new session, a detached Windows process or ``setsid``."""
    for kw in node.keywords:
        if kw.arg == "start_new_session" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
            return "start_new_session=True"
        if kw.arg == "creationflags":
            flags = {
                w.facts.resolve(n).name.rsplit(".", 1)[-1]
                for n in ast.walk(kw.value)
                if isinstance(n, ast.Attribute | ast.Name)
            }
            folded = w.facts.folder.fold(kw.value)
            number = folded.value if folded is not None and isinstance(folded.value, int) else 0
            if flags & _DETACH_FLAGS or number & _DETACH_BITS:
                return "creationflags detach it"
        if kw.arg == "preexec_fn" and w.facts.resolve(kw.value).name in {"os.setsid", "os.setpgrp"}:
            return f"preexec_fn={w.facts.resolve(kw.value).name}"
    streams = {
        kw.arg
        for kw in node.keywords
        if kw.arg in {"stdin", "stdout", "stderr"} and w.facts.resolve(kw.value).name == "subprocess.DEVNULL"
    }
    if len(streams) == 3:
        return "every standard stream discarded"
    return ""


_RUNNERS = re.compile(
    r"^((ba|z|da|k|c|tc|fi)?sh|python[\d.]*w?|py|pythonw|node|deno|bun|perl|ruby|php|java|lua|osascript|"
    r"powershell|pwsh|cmd|wscript|cscript|mshta|msiexec|rundll32|regsvr32|installutil|start|open|xdg-open|"
    r"chmod|env|nohup|setsid|sudo|doas|exec|source|\.)$",
    re.I,
)
"""Programs that run the file they are given (a shell, an interpreter, a loader) or make it runnable."""


_RUNNABLE_SUFFIXES = (".sh", ".bin", ".run", ".py", ".pyw", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".msi", ".scr")


def _runs_a_file(exe: str | None) -> bool:
    """Whether a process call may run a file written earlier: a computed program, a path, a file with an
    executable suffix, or a shell/interpreter/loader. A named tool (``curl``, ``git``, ``ffmpeg``) runs
    itself: a download it saves is data until something else runs it."""
    if not exe:
        return True
    name = exe.strip().lower()
    if "/" in name or "\\" in name or name.startswith("."):
        return True
    base = name.removesuffix(".exe")
    if name.endswith(_RUNNABLE_SUFFIXES):
        return True
    if name.endswith(".exe") and base not in P.DOWNLOADERS:
        return True  # a Windows program named by its file: possibly the one just saved
    return bool(_RUNNERS.match(base))


_DETACH_BITS = 0x00000008 | 0x08000000  # DETACHED_PROCESS | CREATE_NO_WINDOW


def process_call(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    line = node.lineno
    exe, command = _command(w, node, name)
    bump, when = escalate(w, ctx)
    if bump is C and _build_probe(w, node, name, exe, command):
        bump = H  # setup.py reading its version from git: install-time, but a constant, local, read-only probe
    if exe and w.perms.exe_declared(exe):
        w._hit("process-spawn", bump or M, f"runs declared executable {exe}{when}", line, ctx, declared=True)
    else:
        what = f"runs {exe}" if exe else f"starts a process ({name})"
        w._hit("process-spawn", bump or H, f"{what}, not declared in [permissions] subprocess{when}", line, ctx)
    if when == " at import time":
        w._hit("import-time-side-effect", H, f"starts a process at import time ({name})", line, ctx)
    clip = P.clipboard_command(exe, command)
    if clip == "read":
        w._clip_reads.append(line)
        w.mark("source", "the clipboard", line, ctx)
    elif clip == "write":
        w._clip_writes.append((line, ""))
    shell = P.shell_payload(command) if command else None
    if shell is not None:
        w._hit(shell[0], C, f"shell command {shell[1]}: {command[:80]!r}", line, ctx)
    if command and P.PIP_URL_RE.search(command):
        w._hit(
            "download-exec",
            C,
            f"installs packages from a URL or another index at run time: {command[:80]!r}",
            line,
            ctx,
        )
    elif command and _PIP_INSTALL.search(command):
        w._hit(
            "download-exec",
            H,  # a package index name: a policy breach to review, not a fetch of unknown code by itself
            f"installs packages at run time, outside the manifest's reviewed dependencies: {command[:80]!r}",
            line,
            ctx,
        )
    if command and P.PERSIST_CMD_RE.search(command):
        w._hit("persistence", C, f"installs itself to run again: {command[:80]!r}", line, ctx)
    if exe and exe.startswith("python") and " -c " in f" {command} ":
        code = command.split(" -c ", 1)[1] if " -c " in command else ""
        if isinstance(w.facts.folder.fold(node.args[0]), object) and code and w.payload is not None:
            w.payload(code.strip("'\""), line, ctx, "a python -c command")
    for kw in node.keywords:
        if kw.arg in {"stdin", "stdout", "stderr"}:
            target = w.facts.resolve(kw.value.func if isinstance(kw.value, ast.Call) else kw.value).name
            if target.startswith("socket."):
                w._hit("reverse-shell", C, "process with its standard streams bound to a socket", line, ctx)
    command_exprs = node.args[:1] + [kw.value for kw in node.keywords if kw.arg in {"args", "cmd", "command"}]
    if any("download" in w._taint(e, ctx) for e in command_exprs):
        w._hit("download-exec", C, "runs a command built from downloaded data", line, ctx)
    if exe and exe.lower().removesuffix(".exe") in P.DOWNLOADERS and _saves(command):
        w._downloads_written.append(line)  # ``wget -O file URL``: a download written to disk
    detached = _detached(w, node)
    if detached and not (exe and w.perms.exe_declared(exe)):
        w._hit(
            "silent-process",
            C,
            f"starts {exe or 'a process'} detached ({detached}), not declared in [permissions] subprocess",
            line,
            ctx,
        )
    if name == "pty.spawn" or _piped_shell(w, node):
        w._shell_lines.append(line)
    w._spawns = True
    if _runs_a_file(exe):
        w._runs_files = True
    flow(w, node, ctx, "process", None, command)


_SHELL_RE = re.compile(r"^((ba|z|da|k|c|tc|fi)?sh|cmd|powershell|pwsh)(\.exe)?$", re.I)


def _piped_shell(w: Walker, node: ast.Call) -> bool:
    """An interactive shell (no ``-c`` command) whose standard input is a pipe the plugin writes:
    someone else types into it. Paired with an outbound socket in the module, a reverse shell."""
    piped = any(kw.arg == "stdin" and w.facts.resolve(kw.value).name == "subprocess.PIPE" for kw in node.keywords)
    if not piped or not node.args:
        return False
    argv = node.args[0]
    program = argv.elts[0] if isinstance(argv, ast.List | ast.Tuple) and argv.elts else argv
    rest = argv.elts[1:] if isinstance(argv, ast.List | ast.Tuple) else []
    if any((w.facts.folder.text(a) or "?").lower() in {"-c", "/c", "-command", "-encodedcommand"} for a in rest):
        return False
    names = [t.strip().rsplit("/", 1)[-1].rsplit("\\", 1)[-1] for t in w._strings(program) if t]
    return any(_SHELL_RE.match(n) for n in names)


_UPLOAD_FLAGS = frozenset(
    {"-T", "--upload-file", "--post-file", "--body-file", "--data-binary", "--data", "-d", "--data-raw", "-F", "--form"}
)
"""Flags of network tools (curl, wget, httpie) whose next argument names a file to send."""


def upload_argument(w: Walker, node: ast.JoinedStr | ast.BinOp | ast.List | ast.Tuple) -> str | None:
    """The secret path an expression hands to a network tool as a file to send, if any: curl's
    ``name=@path`` / ``@path`` form and data arguments, or a path after ``-T``/``--upload-file``/
    ``--post-file`` in an argument list. Paths are read as shapes (``os.path.join``, ``expanduser``,
    names bound once), so ``f"sig=@{key}"`` with ``key = expanduser("~/.ssh/id_rsa")`` is one."""
    if isinstance(node, ast.List | ast.Tuple):
        items = node.elts[:64]
        for flag, value in itertools.pairwise(items):
            if w.facts.folder.text(flag) in _UPLOAD_FLAGS and not isinstance(value, ast.JoinedStr | ast.BinOp):
                shape = w._path_shape(value)
                if P.SENSITIVE_PATH_RE.search(shape):
                    return shape
        return None
    if isinstance(node, ast.JoinedStr):
        values = node.values[:20]
        for before, value in itertools.pairwise(values):
            if (
                isinstance(before, ast.Constant)
                and str(before.value).endswith("@")
                and isinstance(value, ast.FormattedValue)
            ):
                shape = w._path_shape(value.value)
                if P.SENSITIVE_PATH_RE.search(shape):
                    return shape
        return None
    if isinstance(node.op, ast.Add):
        head = w.facts.folder.text(node.left)
        if head is not None and head.endswith("@"):
            shape = w._path_shape(node.right)
            if P.SENSITIVE_PATH_RE.search(shape):
                return shape
    return None
