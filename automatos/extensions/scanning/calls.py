"""What one resolved call means: the capability rules, checked where the walker meets a call.

:func:`check_call` gets the walker (its facts, folder, taint and the manifest's permissions), the
call node and its resolved dotted name, and records hits: process execution, network access,
exec/eval/compile, dynamic import and ``getattr``, deserialisation, native code, file writes and
persistence, environment reads, credential-file reads, secrets reaching a sink, monkeypatching via
``setattr``, destructive deletes, and the sensitive-source / undeclared-destination marks that
``correlate.py`` pairs up. Process calls are read in ``processes.py``, native-code loads in
``native.py``, wipers (deleting or overwriting precious directories) in ``destructive.py``; the
helpers every check shares (hosts, taint classification, secrets reaching a sink, install/import
time) are ``flows.py``.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from automatos.extensions.scanning import patterns as P
from automatos.extensions.scanning.destructive import destructive_call, overwrite_call, write_mode
from automatos.extensions.scanning.facts import Resolution
from automatos.extensions.scanning.flows import args_taint, env_read, escalate, flow, host_in, last
from automatos.extensions.scanning.native import native_call
from automatos.extensions.scanning.pickles import shipped_pickle
from automatos.extensions.scanning.processes import process_call
from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx, Walker

__all__ = ["check_call", "env_read"]

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_LAZY = frozenset({"ServerProxy", "Request", "PoolManager", "HTTPConnection", "HTTPSConnection"})


def _network(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    line = node.lineno
    method = last(name)
    dns = name in P.DNS_CALLS
    if method in P.NET_REQUESTS or dns:
        host = host_in(w, node, name)
        bump, when = escalate(w, ctx)
        if when == " at import time" and method in _LAZY:
            when = ""  # a proxy, request or pool object built at import connects only when used
        # a name lookup that carries no data sends nothing but the name asked for: medium, not high
        undeclared = M if dns and not args_taint(w, node, ctx) else H
        if host and w.perms.host_declared(host):
            w._hit("network-access", bump or L, f"connects to declared host {host}{when}", line, ctx, declared=True)
        elif host:
            drop = next((t for a in node.args[:1] for t in w._strings(a) if P.DROP_SERVICE_RE.search(t)), None)
            if drop is not None:
                undeclared = C  # a chat webhook, request bin, tunnel or paste site: a collector of stolen data
            w._hit(
                "network-access",
                bump or undeclared,
                f"connects to {host}, not declared in [permissions] network{when}",
                line,
                ctx,
            )
            w.mark("sink", f"undeclared host {host} ({name})", line, ctx)
        elif w.perms.network:
            w._hit(
                "network-access",
                bump or L,
                f"connects to a host computed at run time ({name}){when}",
                line,
                ctx,
                declared=True,
            )
        else:
            w._hit(
                "network-access",
                bump or undeclared,
                f"uses the network ({name}) without a [permissions] network entry{when}",
                line,
                ctx,
            )
            w.mark("sink", f"an undeclared destination ({name})", line, ctx)
        if when == " at import time":
            w._hit("import-time-side-effect", H, f"opens a network connection at import time ({name})", line, ctx)
        if method in {"connect", "create_connection", "open_connection"}:
            w._sock_lines.append(line)
        if method == "urlretrieve":
            w._downloads_written.append(line)
        flow(w, node, ctx, "DNS" if dns else "network", host)
    else:
        flow(w, node, ctx, "network", None)


_PUBLIC_KEY_DATA = re.compile(r"[/\\](known_hosts|[^/\\*]+\.pub)$")
"""SSH files clients read routinely and that hold no secret (``~/.ssh/known_hosts``, ``id_ed25519.pub``)."""

_INERT_MODULES = frozenset({"math", "cmath", "unicodedata", "colorsys"})
"""Modules whose attributes only compute and that import nothing a name could reach (``random._os``,
``fractions.sys`` would): a computed ``getattr`` on them is medium (dispatch over arithmetic)."""

_DECRYPTS = frozenset({"decrypt", "decrypt_at_time", "decrypt_and_verify", "decrypt_and_digest"})


def _exec(w: Walker, node: ast.Call, name: str, res: Resolution, ctx: Ctx) -> None:
    line = node.lineno
    if not node.args:
        return
    arg = node.args[0]
    labels = w._taint(arg, ctx)
    if "download" in labels:
        w._hit("download-exec", C, f"{name}() of data read from the network", line, ctx)
        return
    if "bundled" in labels:
        w._hit(
            "obfuscated-exec",
            C,
            f"{name}() of data read from a file shipped in the bundle: code a reviewer never sees as source",
            line,
            ctx,
        )
        return
    folded = w.facts.folder.fold(arg)
    exprs = [arg] + [b for n in ast.walk(arg) if isinstance(n, ast.Name) and (b := w.facts.bound(n.id)) is not None]
    inner = [w.facts.resolve(n.func).name for e in exprs[:8] for n in ast.walk(e) if isinstance(n, ast.Call)]
    decodes = any(any(h in n for h in P.DECODE_HINTS) for n in inner)
    if any(last(n) in _DECRYPTS for n in inner):
        # decrypting shipped ciphertext into exec is encoding with a key: obfuscated exec
        w._hit("obfuscated-exec", C, f"{name}() of decrypted data: code hidden by encryption", line, ctx)
        return
    if folded is not None and isinstance(folded.value, str | bytes):
        text = folded.value.decode("utf-8", "replace") if isinstance(folded.value, bytes) else folded.value
        if folded.decoded or folded.hidden or decodes:
            w._hit("obfuscated-exec", C, f"{name}() of code hidden by encoding or string building", line, ctx)
        else:
            w._hit("dynamic-exec", M, f"{name}() of a constant string", line, ctx)
        if w.payload is not None:
            w.payload(text, line, ctx, f"code passed to {name}()")
    elif decodes:
        w._hit("obfuscated-exec", C, f"{name}() of decoded or decompressed data", line, ctx)
    elif any(P.STEGO_RE.search(n) for n in inner):
        w._hit("obfuscated-exec", C, f"{name}() of code revealed from an image (steganography)", line, ctx)
    else:
        w._hit("dynamic-exec", H, f"{name}() of a value computed at run time", line, ctx)


def _writes(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    line = node.lineno
    targets: list[ast.expr] = []
    if name in {"open", "io.open", "codecs.open"} and node.args:
        mode_expr = (
            node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        )
        mode = w.facts.folder.text(mode_expr) if mode_expr is not None else "r"
        if mode and any(c in mode for c in "wax+"):
            targets.append(node.args[0])
    elif name.endswith(_WRITERS) and isinstance(node.func, ast.Attribute):
        targets.append(node.func.value)
    elif name.endswith(".open") and isinstance(node.func, ast.Attribute) and write_mode(w, node, 0):
        targets.append(node.func.value)  # ``Path(...).open("a")``
    elif name in _MOVERS and len(node.args) > 1:
        targets.append(node.args[1])
    elif name.startswith("winreg.") and last(name) in {
        "SetValueEx",
        "SetValue",
        "CreateKey",
        "CreateKeyEx",
        "OpenKey",
    }:
        targets.extend(node.args)
    for target in targets:
        for text in w._strings(target):
            if (
                P.PERSISTENCE_RE.search(text)
                or "authorized_keys" in text
                or ("Run" in text and name.startswith("winreg."))
            ):
                w._hit("persistence", C, f"writes to {text[:80]!r}, a place that runs code again later", line, ctx)
                return


_WRITERS = (".write_text", ".write_bytes")


_MOVERS = frozenset(
    {
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "os.rename",
        "os.replace",
        "os.symlink",
        "os.link",
    }
)


def _yaml_safe(w: Walker, node: ast.Call) -> bool:
    """``yaml.load`` with a safe loader (or none given: PyYAML ≥ 6 then refuses to run)."""
    positional = node.args[1] if len(node.args) > 1 else None
    loader = next((kw.value for kw in node.keywords if kw.arg == "Loader"), positional)
    if loader is None:
        return True
    return last(w.facts.resolve(loader).name) in P.YAML_SAFE_LOADERS


def _table_values(w: Walker, expr: ast.expr) -> list[str]:
    """Every string ``table[key]`` can be when ``table`` is a constant dict, list or tuple."""
    if not isinstance(expr, ast.Subscript) or not isinstance(expr.value, ast.Name):
        return []
    bound = w.facts.bound(expr.value.id)
    values: list[ast.expr] = []
    if isinstance(bound, ast.Dict):
        values = [v for v in bound.values if v is not None]
    elif isinstance(bound, ast.List | ast.Tuple):
        values = list(bound.elts)
    texts = [w.facts.folder.text(v) for v in values[:64]]
    return [t for t in texts if t is not None] if texts and all(t is not None for t in texts) else []


def _templated(w: Walker, arg: ast.expr) -> list[str]:
    """The module names an f-string or ``+`` template can build when its one computed part is a
    lookup in a constant table; ``[]`` when any other part is unknown."""
    parts: list[ast.expr] = []
    if isinstance(arg, ast.JoinedStr):
        parts = list(arg.values)
    elif isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
        parts = [arg.left, arg.right]
    fixed: list[str | list[str]] = []
    for part in parts:
        inner = part.value if isinstance(part, ast.FormattedValue) else part
        text = w.facts.folder.text(inner)
        if text is not None:
            fixed.append(text)
            continue
        choices = _table_values(w, inner)
        if not choices or any(isinstance(f, list) for f in fixed):
            return []
        fixed.append(choices)
    table = next((f for f in fixed if isinstance(f, list)), None)
    if table is None:
        return []
    out = []
    for choice in table:
        name = "".join(choice if isinstance(f, list) else f for f in fixed)
        if not _MODULE_NAME.match(name):
            return []
        out.append(name)
    return out


def _dynamic_import(w: Walker, node: ast.Call, name: str, ctx: Ctx) -> None:
    """A computed module name: from a table of its own modules, inside its own package, or anything."""
    arg, line = node.args[0], node.lineno
    table = arg.value if isinstance(arg, ast.Subscript) else None
    bound = w.facts.bound(table.id) if isinstance(table, ast.Name) else None
    candidates: list[str] = []
    loop = w.facts.loops.get(arg.id) if isinstance(arg, ast.Name) else None
    if loop is not None:  # ``for name, (module, attr) in _TOOLS.items(): import_module(module)``
        candidates = _loop_strings(w, loop)
    if isinstance(bound, ast.Dict):
        candidates = [w.facts.folder.text(v) or "" for v in bound.values]
    elif isinstance(bound, ast.List | ast.Tuple | ast.Set):
        candidates = [w.facts.folder.text(v) or "" for v in bound.elts]
    if loop is not None and candidates:  # the table's dotted names (its keys and attribute names are not modules)
        candidates = [c for c in candidates if _MODULE_NAME.match(c) and _module_like(c, w.own_packages)]
    if not candidates and isinstance(arg, ast.JoinedStr | ast.BinOp):
        candidates = _templated(w, arg)  # ``f"pkg.formats.{FORMATS[fmt]}"``: a constant table in a template
    if candidates and all(candidates):
        w.imports.extend((c, line) for c in candidates)
        own = all(c.startswith(".") or c.split(".", 1)[0] in w.own_packages for c in candidates)
        if own:
            return  # one of its own modules, picked from a constant table: ordinary plugin dispatch
        shown = ", ".join(sorted(set(candidates))[:3])
        w._hit("dynamic-import", M, f"imports one of a constant table of modules ({shown}) ({name})", line, ctx)
        return
    positional = node.args[1] if len(node.args) > 1 else None
    package = next((kw.value for kw in node.keywords if kw.arg == "package"), positional)
    head = (w.facts.folder.text(_head(arg)) or "") if isinstance(arg, ast.JoinedStr | ast.BinOp) else ""
    relative = head.startswith(".")
    # ``import_module("plug.handlers." + n)``: a computed module confined under one of its own packages
    own_prefix = "." in head and head.split(".", 1)[0] in w.own_packages
    if (package is not None and relative) or own_prefix:
        w._hit("dynamic-import", M, f"imports a computed module inside its own package ({name})", line, ctx)
        return
    w._hit("dynamic-import", H, f"imports a module whose name is computed at run time ({name})", line, ctx)


_MODULE_NAME = re.compile(r"^\.*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _module_like(text: str, own: frozenset[str]) -> bool:
    return "." in text.strip(".") or text.startswith(".") or text in own


def _loop_strings(w: Walker, loop: ast.expr) -> list[str]:
    """Every string of the constant table a loop runs over (``TABLE``, ``TABLE.items()``/``values()``)."""
    if isinstance(loop, ast.Call) and isinstance(loop.func, ast.Attribute) and loop.func.attr in {"items", "values"}:
        loop = loop.func.value
    table = w.facts.bound(loop.id) if isinstance(loop, ast.Name) else loop
    if not isinstance(table, ast.Dict | ast.List | ast.Tuple | ast.Set):
        return []
    out: list[str] = []
    for node in ast.walk(table):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.Name | ast.Call | ast.BinOp | ast.JoinedStr):
            return []  # not a table of constants
    return out


def _head(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.JoinedStr):
        return node.values[0] if node.values else None
    if isinstance(node, ast.BinOp):
        return _head(node.left) if isinstance(node.left, ast.BinOp | ast.JoinedStr) else node.left
    return None


def check_call(w: Walker, node: ast.Call, name: str, res: Resolution, ctx: Ctx) -> None:
    if not name:
        return
    line = node.lineno
    bare = name.removesuffix("()")
    dangerous = (
        bare in P.EXEC_CALLS or P.is_process(bare) or bare in P.DESERIALISERS or bare in {"os.system", "os.popen"}
    )
    if (res.hidden or res.indirect) and (dangerous or P.is_network(bare)):
        how = "a name built at run time" if res.hidden else "getattr/__import__ or a namespace lookup"
        w._hit("obfuscated-call", C if res.hidden else H, f"calls {bare} through {how}", line, ctx)
    if bare in P.EXEC_CALLS:
        _exec(w, node, bare, res, ctx)
    elif bare in P.IMPORT_CALLS and node.args:
        module = w.facts.folder.fold(node.args[0])
        if module is None or not isinstance(module.value, str):
            _dynamic_import(w, node, bare, ctx)
        else:
            w.imports.append((module.value, line))
            if module.hidden:
                w._hit("obfuscated-call", C, f"imports {module.value} under a name built at run time", line, ctx)
    elif bare == "getattr" and len(node.args) >= 2 and w.facts.folder.fold(node.args[1]) is None:
        target = w.facts.resolve(node.args[0]).name
        if target and (target in w.facts.aliases.values() or target in {"builtins", "__builtins__", "sys.modules"}):
            inert = target.split(".")[0] in _INERT_MODULES or target.split(".")[0] in w.own_packages
            severity = M if inert else H  # ``getattr(math, op)`` reaches only arithmetic
            w._hit(
                "dynamic-getattr", severity, f"getattr on module {target} with a name computed at run time", line, ctx
            )
    if (
        P.is_process(bare)
        and bare not in {"subprocess.Popen().communicate", "subprocess.Popen().wait"}
        and ("()." not in name or name.startswith("asyncio."))
    ):
        process_call(w, node, bare, ctx)
    elif (P.is_network(bare) and not bare.startswith("socket.socket")) or bare.startswith("socket.socket()."):
        _network(w, node, bare, ctx)
    if bare in P.THREAD_CALLS and ctx.module_level and not ctx.install:
        bump, when = escalate(w, ctx)
        w._hit("import-time-side-effect", bump or H, f"starts a thread or process{when} ({bare})", line, ctx)
    capture = P.sensitive_call(bare)
    if capture in P.CAPTURES:
        w._hit("input-capture", H, f"captures {capture} ({bare})", line, ctx)
    if bare in {"os.setsid", "os.setpgrp", "os.daemon"} and w._forks:
        w._hit("silent-process", C, f"forks and detaches from the plugin ({bare}): a daemon", line, ctx)
    if bare in {"os.fork", "os.forkpty"}:
        w._forks = True
    if bare.startswith("webbrowser.open"):
        flow(w, node, ctx, "network", None)  # a URL opened in the browser is a request with its query
    if bare.endswith("__subclasses__") and isinstance(node.func, ast.Attribute):
        chain = ast.unparse(node.func.value)
        if "__base__" in chain or "__mro__" in chain or "__bases__" in chain or chain == "object":
            w._hit(
                "builtins-access", H, "walks every subclass of object (reaches Popen and friends unnamed)", line, ctx
            )
    if bare == "win32crypt.CryptUnprotectData":
        w._hit("credential-read", C, f"decrypts secrets protected for the user ({bare}): saved passwords", line, ctx)
        w.mark("source", "DPAPI-protected secrets", line, ctx)
    if bare.startswith(("crontab.CronTab().", "crontab.CronTab.")) and last(bare) in {"new", "write", "write_to_user"}:
        w._hit("persistence", C, f"adds a cron job ({bare}): code that runs again later", line, ctx)
    if bare in P.PYARMOR_NAMES or bare.startswith("pytransform."):
        w._hit("obfuscated-exec", C, f"runs PyArmor-encrypted code ({bare}): nothing a reviewer can read", line, ctx)
    if bare.startswith(P.CLOUD_PREFIXES) and last(bare) in P.CLOUD_UPLOADS:
        flow(w, node, ctx, "network", None)  # a bucket, queue or topic is a network destination
    if bare in P.CODE_BUILDERS and node.args:
        w._hit("dynamic-exec", H, f"builds a callable from a code object ({bare}): exec by another name", line, ctx)
    if bare in P.CLIPBOARD_READS or last(bare) in P.CLIPBOARD_METHODS_READ:
        w._clip_reads.append(line)
    if (bare in P.CLIPBOARD_WRITES or last(bare) in P.CLIPBOARD_METHODS_WRITE) and node.args:
        address = next((t for t in w._strings(node.args[0]) if P.WALLET_ADDRESS_RE.match(t)), None)
        constant = w.facts.folder.text(node.args[0])
        if address is None and constant is not None and P.ADDRESS_LIKE_RE.fullmatch(constant.strip()):
            address = f"~{constant.strip()}"  # a fixed token: an address only if the module matches wallets
        w._clip_writes.append((line, address.strip() if address is not None else ""))
    if bare in {"sys.path.insert", "sys.path.append", "zipimport.zipimporter", "runpy.run_path"} or bare.startswith(
        "importlib.util.spec_from_file_location"
    ):
        w._runs_files = True  # a written file put on the import path or loaded as code runs
        w._loads_files = True
    if bare in {"yaml.load", "yaml.load_all"} and _yaml_safe(w, node):
        pass
    elif bare in P.DESERIALISERS and node.args:
        arg = node.args[0]
        if "download" in w._taint(arg, ctx):
            w._hit("download-exec", C, f"{bare}() of data read from the network", line, ctx)
        else:
            folded = w.facts.folder.fold(arg)
            kind = P.DESERIALISERS[bare]
            shipped = (
                any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(arg))
                or any(s.rsplit("/", 1)[-1] in w.bundle_files for s in w._strings(arg) if s)
                or "bundled" in w._taint(arg, ctx)
            )
            if folded is None and shipped:
                _, when = escalate(w, ctx)
                # an object graph shipped as data runs code on load that no reviewer reads as source;
                # a pickle whose opcodes import only data types is opaque data, not code
                severity, loaded = shipped_pickle(w, arg, kind, bare)
                message = f"{kind} data shipped in the bundle is deserialised{when} ({bare}): {loaded}"
                w._hit("embedded-deserialise", severity, message, line, ctx)
            if folded is None and not shipped and kind == "yaml":
                w._hit("embedded-deserialise", M, f"yaml with an object-building loader ({bare})", line, ctx)
            if folded is not None and isinstance(folded.value, bytes | str):
                severity = C if kind == "marshal" or folded.decoded else H
                w._hit(
                    "embedded-deserialise",
                    severity,
                    f"{kind} data embedded in the code is deserialised ({bare})",
                    line,
                    ctx,
                )
    if bare.startswith(("ctypes.", "cffi.", "_ctypes.", "mmap.mmap")):
        native_call(w, node, bare, ctx)
    if bare == "os.dup2":
        w._shell_lines.append(line)
    if bare in {"os.chmod", "os.startfile", "os.execv", "os.execl"} or bare.endswith(".chmod"):
        w._runs_files = True
    _writes(w, node, bare, ctx)
    if bare in {"os.getenv", "os.getenvb", "os.environ.get", "os.environ.pop", "os.environ.setdefault"} and node.args:
        env_read(w, w.facts.folder.text(node.args[0]), line, ctx)
    elif bare in {"os.environ.copy", "os.environ.items", "os.environ.values"} or (
        bare == "dict" and node.args and w.facts.resolve(node.args[0]).name == "os.environ"
    ):
        w._hit("env-harvest", L, "reads the whole environment", line, ctx)
        if id(node) not in w._child_env:
            w.mark("source", "the whole environment", line, ctx)
    path = w._sensitive_path(node, bare)
    if path and _PUBLIC_KEY_DATA.search(path):
        # known_hosts and public keys are what SSH clients read: not secrets, but still host data to send
        w._hit("credential-read", M, f"reads {path[:80]!r} (SSH public data: known hosts, public keys)", line, ctx)
        w.mark("source", repr(path[:60]), line, ctx)
    elif path:
        w._hit("credential-read", C, f"reads {path[:80]!r} (credentials, keys, history or account data)", line, ctx)
        w.mark("source", repr(path[:60]), line, ctx)
    what = P.sensitive_call(bare)
    if what is None and (bare in P.CLIPBOARD_READS or last(bare) in P.CLIPBOARD_METHODS_READ):
        what = "the clipboard"
    if what is not None:
        w.mark("source", what, line, ctx)
    if bare == "setattr" and len(node.args) >= 3:
        attr = w.facts.folder.text(node.args[1])
        w.patch(node.args[0], node.args[2], line, ctx, attr)
    if bare in P.DESTRUCTIVE_CALLS or (last(bare) in P.DESTRUCTIVE_METHODS and "." in bare):
        destructive_call(w, node, bare, ctx)
    else:
        overwrite_call(w, node, bare, ctx)
    if last(bare) == "encrypt" and "." in bare:
        w._encrypts.append((line, ctx))
    if bare.endswith((".write", ".writelines", ".write_text", ".write_bytes", ".dump")) or bare in {
        "json.dump",
        "pickle.dump",
    }:
        labels = args_taint(w, node, ctx)
        if "download" in labels:
            w._downloads_written.append(line)
        if "bundled" in labels:
            decoded = any(
                isinstance(n, ast.Call) and any(h in w.facts.resolve(n.func).name for h in P.DECODE_HINTS)
                for a in node.args
                for n in ast.walk(a)
            )
            w._unpacked_written.append((line, decoded))
        flow(w, node, ctx, "file", None)
