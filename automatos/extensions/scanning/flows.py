"""Secrets reaching sinks, and when code runs: the helpers every capability check shares.

``host_in`` reads the destination of a network call from its folded arguments, ``args_taint`` and
``classify`` sort the taint labels a call's arguments carry (secrets, declared and undeclared
environment variables, host information), ``flow`` turns them into ``exfiltration`` findings for a
network, DNS, process or file sink, ``env_read`` weighs one environment read against the manifest,
and ``escalate`` says whether a call runs at install, test or import time.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from automatos.extensions.scanning import patterns as P
from automatos.kernel.types import Severity

if TYPE_CHECKING:
    from automatos.extensions.scanning.walker import Ctx, Walker

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

__all__ = ["args_taint", "classify", "env_read", "escalate", "flow", "host_in", "host_of", "last"]


def last(name: str) -> str:
    return name.rsplit(".", 1)[-1].removesuffix("()")


def host_of(text: str) -> str | None:
    text = text.strip()
    if "://" in text:
        try:
            return urlsplit(text).hostname
        except ValueError:
            return None
    head = text.split("/", 1)[0].split(":", 1)[0]
    return head if (head and "." in head) or head == "localhost" else None


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def host_in(w: Walker, node: ast.Call, name: str = "") -> str | None:
    first = node.args[1:2] if last(name) == "sendto" else node.args[:1]
    if last(name) in {"request", "Request"} and len(node.args) > 1:  # ``Request("POST", url)``
        method = w.facts.folder.text(node.args[0])
        if method and method.upper() in _METHODS:
            first = node.args[1:2]
    candidates: list[ast.expr] = list(first) + [
        kw.value for kw in node.keywords if kw.arg in {"url", "host", "address"}
    ]
    for expr in candidates:
        if isinstance(expr, ast.Tuple) and expr.elts:
            expr = expr.elts[0]
        folded = w.facts.folder.fold(expr)
        if folded is None:
            continue
        value = folded.value
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            return host_of(value)
    return None


def args_taint(w: Walker, node: ast.Call, ctx: Ctx, skip: frozenset[str] = frozenset()) -> frozenset[str]:
    labels: frozenset[str] = frozenset()
    for arg in node.args:
        labels |= w._taint(arg, ctx)
    for kw in node.keywords:
        if kw.arg not in skip:
            labels |= w._taint(kw.value, ctx)
    return labels


def classify(w: Walker, labels: frozenset[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(secrets, declared env vars, other env vars, host information) among taint labels."""
    secrets, declared, other, hostinfo = [], [], [], []
    for label in sorted(labels):
        if label == "environ" or label.startswith("file:"):
            secrets.append("the whole environment" if label == "environ" else label[5:])
        elif label.startswith("env:"):
            var = label[4:]
            if w.perms.env_declared(var):
                declared.append(var)
            elif var in P.BENIGN_ENV or var in {"USER", "USERNAME", "LOGNAME", "HOSTNAME"}:
                hostinfo.append(var)
            elif P.SECRET_ENV_RE.search(var):
                secrets.append(f"${var}")
            else:
                other.append(var)
        elif label == "host":
            hostinfo.append("host/user information")
    return secrets, declared, other, hostinfo


def flow(w: Walker, node: ast.Call, ctx: Ctx, sink: str, host: str | None, command: str = "") -> None:
    labels = args_taint(w, node, ctx, skip=frozenset({"env"}))
    if not labels:
        return
    secrets, declared, other, hostinfo = classify(w, labels)
    line = node.lineno
    if sink in {"network", "DNS"}:
        where = f" to {host}" if host else ""
        if secrets:
            w._hit("exfiltration", C, f"sends {', '.join(secrets)} over the {sink}{where}", line, ctx)
        elif declared and host and not w.perms.host_declared(host):
            w._hit("exfiltration", H, f"sends declared ${declared[0]} to undeclared host {host}", line, ctx)
        elif hostinfo:
            # fingerprinting the machine for an undeclared collector (telemetry at best): high, review;
            # the same to a declared host is the plugin's own service
            to_declared = host is not None and w.perms.host_declared(host)
            w._hit(
                "exfiltration",
                M if to_declared else H,
                f"sends {', '.join(hostinfo)} over the {sink}{where}",
                line,
                ctx,
            )
        elif other:
            w._hit(
                "exfiltration", M, f"sends undeclared environment variable {other[0]} over the {sink}{where}", line, ctx
            )
    elif sink == "process" and secrets:
        loud = any(tool in command for tool in ("curl", "wget", "nc ", "http"))
        w._hit("exfiltration", C if loud else H, f"passes {', '.join(secrets)} to a process", line, ctx)
    elif sink == "file" and secrets:
        w._hit("exfiltration", H, f"writes {', '.join(secrets)} to a file", line, ctx)


def env_read(w: Walker, key: str | None, line: int, ctx: Ctx) -> None:
    if key is None or key in P.BENIGN_ENV or P.ANTI_ANALYSIS_RE.search(key):
        return
    if w.perms.env_declared(key):
        w._hit("env-access", INFO, f"reads declared environment variable {key}", line, ctx, declared=True)
    elif P.SECRET_ENV_RE.search(key):
        w._hit("env-access", H, f"reads environment variable {key}, not declared in [permissions] env", line, ctx)
        w.mark("source", f"secret environment variable {key}", line, ctx)
    else:
        w._hit("env-access", M, f"reads environment variable {key}, not declared in [permissions] env", line, ctx)


def escalate(w: Walker, ctx: Ctx) -> tuple[Severity | None, str]:
    if (w.install_root and ctx.module_level) or ctx.install:
        return C, " at install time"
    if ctx.module_level and w.test_root:
        return None, " when a test, docs or task tool loads it"
    if ctx.module_level:
        return None, " at import time"
    return None, ""
