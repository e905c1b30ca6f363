"""Bundle-wide correlations: capabilities that are harmless apart and an attack together.

The walker marks sensitive sources (secret environment variables, environment dumps, credential
and key files, keyrings, browser cookies, the clipboard, keystrokes, screenshots) and undeclared
network destinations as it goes (``Walker.mark``). Taint tracking follows data only where the code
shows the flow; an attacker can hide the hand-over (a global dict filled in one module, a thread,
a callback, a monkeypatched library) and the two ends are still there. So:

- ``exfiltration-capable``: a reachable sensitive source and a reachable undeclared destination
  anywhere in the bundle (critical); a declared destination does not count.
- ``monkeypatch`` becomes critical when the bundle also sends to an undeclared destination.
- ``obfuscated-capability``: a module that looks names up where analysis cannot read them
  (computed ``getattr`` on a module, computed ``__builtins__``/``globals()`` keys, computed imports,
  indirect calls) and also runs code, starts processes or uses the network undeclared (critical).
"""

from __future__ import annotations

from dataclasses import dataclass

from automatos.kernel.types import ScanFinding, Severity

__all__ = ["Mark", "correlate"]

_HIDING = frozenset({"builtins-access", "dynamic-getattr", "dynamic-import", "obfuscated-call"})
_CAPABILITY = frozenset(
    {"network-access", "process-spawn", "dynamic-exec", "embedded-deserialise", "native-code", "download-exec"}
)
_WEIGHT = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}


@dataclass(frozen=True)
class Mark:
    kind: str
    """``source`` or ``sink``."""
    what: str
    path: str
    line: int
    reachable: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _best(marks: list[Mark]) -> Mark | None:
    return next((m for m in marks if m.reachable), marks[0] if marks else None)


def correlate(findings: list[ScanFinding], marks: list[Mark]) -> list[ScanFinding]:
    """``findings`` with the correlations applied (new findings added, monkeypatches escalated)."""
    sources = [m for m in marks if m.kind == "source"]
    sinks = [m for m in marks if m.kind == "sink"]
    source, sink = _best(sources), _best(sinks)
    out = list(findings)
    if source is not None and sink is not None:
        out.append(
            ScanFinding(
                rule="exfiltration-capable",
                severity=Severity.CRITICAL,
                message=(
                    f"reads {source.what} ({source.where}) and sends to {sink.what} ({sink.where}): "
                    "able to exfiltrate even where no data flow is visible"
                ),
                path=sink.path,
                line=sink.line,
                reachable=source.reachable and sink.reachable,
            )
        )
    if sink is not None:
        out = [
            ScanFinding(
                rule=f.rule,
                severity=Severity.CRITICAL,
                message=f"{f.message}; the bundle sends to {sink.what} ({sink.where})",
                path=f.path,
                line=f.line,
                reachable=f.reachable and sink.reachable,
                declared=f.declared,
            )
            if f.rule == "monkeypatch" and f.severity is Severity.HIGH
            else f
            for f in out
        ]
    by_path: dict[str, list[ScanFinding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    for path, group in by_path.items():
        hiding = [f for f in group if f.rule in _HIDING and _WEIGHT[f.severity] >= _WEIGHT[Severity.HIGH]]
        using = [f for f in group if f.rule in _CAPABILITY and not f.declared and f.severity is not Severity.INFO]
        using = [f for f in using if not (f.rule == "dynamic-exec" and f.severity is Severity.MEDIUM)]
        if hiding and using:
            h, u = hiding[0], max(using, key=lambda f: _WEIGHT[f.severity])
            out.append(
                ScanFinding(
                    rule="obfuscated-capability",
                    severity=Severity.CRITICAL,
                    message=(
                        f"{h.message} (line {h.line}) in the module that also {u.message} (line {u.line}): "
                        "hidden names next to a dangerous capability"
                    ),
                    path=path,
                    line=h.line,
                    reachable=h.reachable,
                )
            )
    return out
