"""The engine's scan rules: one :class:`StaticRule` per rule id over the shared analysis.

Each rule is a :class:`~automatos.kernel.scanning.TargetRule` (``check_target``) that picks its
findings out of :func:`~automatos.extensions.scanning.analysis.analyse`, which runs once per target
and is cached in ``target.cache``. For the registry's older per-file path each rule also has
``check(source, path)``, which analyses that one file as a target of its own. docs/scanning.md
has a section per rule: its id, severity, rationale, a malicious sample and its benign twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automatos.extensions.scanning.analysis import analyse
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["RULES", "StaticRule"]


@dataclass(frozen=True)
class StaticRule:
    id: str
    severity: Severity
    """The highest severity the rule gives (declared or unreachable uses weigh less)."""
    description: str

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]:
        return [f for f in analyse(target) if f.rule == self.id]

    def check(self, source: str, path: str) -> Sequence[ScanFinding]:
        name = path.replace("\\", "/")
        local = name if name.endswith((".py", ".pyw", ".pyi")) else name + ".py"
        target = ScanTarget(files={local: source.encode("utf-8", "surrogatepass")}, kind="distribution")
        return [
            ScanFinding(
                rule=f.rule,
                severity=f.severity,
                message=f.message,
                path=path,
                line=f.line,
                reachable=f.reachable,
                declared=f.declared,
            )
            for f in self.check_target(target)
        ]


_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
RULES: tuple[StaticRule, ...] = (
    StaticRule("unparsable", _C, "Python source that does not parse cannot be reviewed"),
    StaticRule("obfuscated-exec", _C, "executes code hidden by encoding, compression or string building"),
    StaticRule("obfuscated-call", _C, "reaches a dangerous function or module through a hidden or indirect name"),
    StaticRule(
        "exfiltration",
        _C,
        "secrets (environment, credential files, host data) flow to the network, DNS, a process or a file",
    ),
    StaticRule("credential-read", _C, "reads credential, key, history, account, browser or wallet files"),
    StaticRule("download-exec", _C, "runs, imports, deserialises or installs what it downloads"),
    StaticRule("reverse-shell", _C, "hands a shell to a socket"),
    StaticRule("install-hook", _C, "setup.py command classes that run code at install time"),
    StaticRule("pth-exec", _C, ".pth lines that run code whenever Python starts"),
    StaticRule(
        "persistence", _C, "writes where code runs again later (shell rc files, cron, systemd, autostart, .pth)"
    ),
    StaticRule(
        "exfiltration-capable",
        _C,
        "reads a sensitive source and sends to an undeclared destination, even with no visible flow between them",
    ),
    StaticRule("obfuscated-capability", _C, "names hidden from analysis next to exec, network or process use"),
    StaticRule("destructive", _C, "deletes home, root or personal directories (critical behind a date/host/CI check)"),
    StaticRule("monkeypatch", _C, "replaces library functions (critical with an undeclared destination)"),
    StaticRule("crypto-miner", _C, "crypto-miner, mining-pool or wallet strings"),
    StaticRule("clipboard-hijack", _C, "reads the clipboard and writes back wallet addresses"),
    StaticRule("input-capture", _H, "captures keystrokes or the screen"),
    StaticRule("dropper", _C, "unpacks data shipped in the bundle to a file, then imports or runs it"),
    StaticRule(
        "silent-process", _C, "starts an undeclared process detached from the plugin (new session, DETACHED_PROCESS)"
    ),
    StaticRule("process-spawn", _H, "starts processes (undeclared executables weigh more)"),
    StaticRule("network-access", _H, "uses the network (undeclared hosts weigh more)"),
    StaticRule("import-time-side-effect", _H, "threads, processes or connections started at import time"),
    StaticRule("dynamic-exec", _H, "eval/exec/compile of code built at run time"),
    StaticRule("dynamic-import", _H, "imports modules whose names are computed at run time"),
    StaticRule("dynamic-getattr", _H, "getattr on a module with a name computed at run time"),
    StaticRule("builtins-access", _H, "lookups in __builtins__, globals(), vars() or sys.modules"),
    StaticRule("embedded-deserialise", _C, "pickle/marshal/dill of data embedded in the code"),
    StaticRule("native-code", _C, "ctypes/cffi: system libraries, shellcode patterns"),
    StaticRule("time-gate", _H, "dangerous behaviour that waits for a date or time"),
    StaticRule("anti-analysis", _H, "dangerous behaviour that hides from CI, sandboxes and debuggers"),
    StaticRule("env-access", _H, "reads environment variables (undeclared ones weigh more)"),
    StaticRule("env-harvest", Severity.LOW, "reads the whole environment"),
    StaticRule("kernel-internals", _M, "reaches into kernel internals"),
)
