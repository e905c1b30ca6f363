"""The one process-wide PluginManager, and how extensions get into it.

Discovery never imports: entry points of the ``automatos.extensions`` group are listed from
distribution metadata, checked against the allow/deny settings, and — for third-party ones —
every file their distribution lists (``RECORD``: code, data, ``.pth`` files, scripts; sizes capped)
is scanned by the built-in scan rules (:func:`automatos.kernel.scanning.run_rules`, the same
pipeline as marketplace bundles) before anything of theirs runs. The scan's verdict gates the
import: ``blocked`` is quarantined with its heaviest finding as the reason; ``review`` loads only
when the operator lists the extension by name in ``AUTOMATOS_EXTENSIONS_ALLOW`` (quarantined
otherwise, the reason says so); ``safe`` loads. Only then is the module imported and registered,
one extension at a time. An extension that fails to import, that implements a hook that does not
exist, or whose implementation does not match its spec is quarantined with its reason, and the
kernel carries on.

Order: built-ins are registered first, third-party ones after. This departs from Datasette (which
registers its defaults last) for one reason: the scan rules that gate third-party code are
themselves built-in extensions and must be in place before any third-party module is imported.
pluggy calls the last registered first, so a third-party collector runs before a built-in one and
wins a contested name (collectors keep the first registration of a name in call order).

Two entry points with the same name: the first found is loaded, the other is recorded as
quarantined under ``name@distribution``. Deny patterns never apply to essential built-ins — the
kernel cannot start without them.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pluggy

from automatos.kernel import hookspecs
from automatos.kernel.extension_config import ConfigProblem, config_problem, schema_problem
from automatos.kernel.extras import reason_for
from automatos.kernel.scanning import ScanReport, ScanTarget, TargetRule, Verdict, run_rules
from automatos.kernel.types import ExtensionInfo, ExtensionState, ScanFinding, ScanRule, Severity

__all__ = ["ENTRY_POINT_GROUP", "ESSENTIAL", "MAX_FILES", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "Candidate", "Registry"]

log = logging.getLogger("automatos.registry")

ENTRY_POINT_GROUP = "automatos.extensions"
BUILTIN_DISTRIBUTION = "automatos"

MAX_FILE_BYTES = 2 * 1024 * 1024
"""A distribution's file larger than this is not read by the scan (an ``unreadable`` finding)."""
MAX_TOTAL_BYTES = 32 * 1024 * 1024
"""At most this much of one distribution is read by the scan; past it, files are ``unreadable``."""
MAX_FILES = 5000

# Built-ins a workspace cannot disable: without them the kernel cannot store or find anything, and
# without the offline LLM and embedding providers (the embedded default) no agent could answer.
ESSENTIAL = frozenset(
    {
        "automatos.storage.local",
        "automatos.storage.s3",
        "automatos.cache.memory",
        "automatos.cache.redis",
        "automatos.vectors.exact",
        "automatos.vectors.pgvector",
        "automatos.scanning.basic",
        "automatos.auth.api_keys",
        "automatos.llm.offline",
    }
)


@dataclass(frozen=True)
class Candidate:
    """An entry point as seen before import."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    files: tuple[Path, ...] = ()
    """Every file of the distribution, located without importing it (empty when unknown)."""
    root: Path | None = None
    """What ``files`` are named relative to in scan findings (the distribution's install root)."""
    attr: str | None = None
    """The ``:attr`` part of ``module:attr`` entry points: the plugin is that attribute of the module."""
    loader: Callable[[], Any] | None = None
    """Overrides ``importlib.import_module(module)``; used for in-process test plugins."""

    @classmethod
    def from_entry_point(cls, ep: EntryPoint) -> Candidate:
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        builtin = dist_name is not None and dist_name.lower() == BUILTIN_DISTRIBUTION
        files, root = ((), None) if builtin else _distribution_files(ep)
        return cls(
            name=ep.name,
            module=ep.module,
            attr=ep.attr or None,
            distribution=dist_name,
            version=dist.version if dist is not None else None,
            builtin=builtin,
            files=files,
            root=root,
        )


def _distribution_files(ep: EntryPoint) -> tuple[tuple[Path, ...], Path | None]:
    """Every file ``ep``'s distribution lists in its ``RECORD``, and the root they are relative to.

    Not only the module's ``.py`` files: data files, ``.pth`` files and scripts are where attackers
    hide. Left out: ``.pyc`` files the installer compiled (listed without a hash; a ``.pyc`` the
    wheel itself ships has one and is scanned). An editable install lists a ``.pth`` pointing at a
    source directory: the module's files there are added.
    """
    dist = ep.dist
    if dist is None or not dist.files:
        return (), None
    root = Path(str(dist.locate_file("")))
    found: list[Path] = []
    for f in dist.files:
        if f.suffix == ".pyc" and f.hash is None:
            continue
        found.append(Path(str(dist.locate_file(f))))
    rel = ep.module.replace(".", "/")
    if not any(p.as_posix().endswith((f"/{rel}.py", f"/{rel}/__init__.py")) for p in found):
        # An editable install lists a .pth or finder file, not the module: look where it points.
        for f in dist.files:
            if f.suffix == ".pth":
                try:
                    text = Path(str(dist.locate_file(f))).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    source_root = Path(line.strip())
                    if line.strip() and not line.startswith("import") and source_root.is_dir():
                        found.extend(_files_under(source_root, rel))
    return tuple(found), root


def _files_under(root: Path, rel: str) -> list[Path]:
    single = root / f"{rel}.py"
    if single.is_file():
        return [single]
    pkg = root / rel
    if not pkg.is_dir():
        return []
    return sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _summary(exc: BaseException) -> str:
    """One line for the error, plus the innermost frame — enough to act on, short enough to list."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


@dataclass
class Registry:
    """Discovers, checks, imports and registers extensions; remembers what became of each."""

    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    pm: pluggy.PluginManager = field(init=False)
    extensions: dict[str, ExtensionInfo] = field(init=False, default_factory=dict)
    scan_rules: list[ScanRule | TargetRule] = field(init=False, default_factory=list)
    scan_errors: list[tuple[str, str]] = field(init=False, default_factory=list)
    """(extension, error) for scan-rule collectors that failed."""
    _scanned: dict[str, tuple[int, str]] = field(init=False, default_factory=dict, repr=False)
    """Extension name -> (risk score, verdict) of a third-party extension the gate let through."""
    config_schemas: dict[str, Any] = field(init=False, default_factory=dict)
    """Extension name -> the type its per-workspace configuration must convert to
    (``extension_config_schema``); extensions without one accept any object."""

    def __post_init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)

    # -- discovery -------------------------------------------------------------------------------

    @staticmethod
    def discover() -> list[Candidate]:
        """Every entry point of the group, built-ins first, without importing any of them."""
        found = [Candidate.from_entry_point(ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
        return sorted(found, key=lambda c: (not c.builtin, c.name))

    def load(self, candidates: Iterable[Candidate] | None = None) -> None:
        """Check and register every candidate (default: everything discovered)."""
        ordered = sorted(candidates if candidates is not None else self.discover(), key=lambda c: not c.builtin)
        for candidate in ordered:
            self.load_one(candidate)

    def load_one(self, candidate: Candidate) -> ExtensionInfo:
        """Check, import and register one extension; on any failure quarantine it and go on."""
        existing = self.extensions.get(candidate.name)
        if existing is not None and existing.state is ExtensionState.LOADED:
            key = f"{candidate.name}@{candidate.distribution or '?'}"
            owner = existing.distribution or "?"
            clash = self._info(
                candidate, ExtensionState.QUARANTINED, reason=f"name {candidate.name!r} is already used by {owner}"
            )
            self.extensions[key] = msgspec.structs.replace(clash, name=key)
            log.warning("extension %s quarantined: %s", key, clash.reason)
            return clash
        gated, findings = self._gate(candidate)
        info = gated if gated is not None else self._import_and_register(candidate, findings)
        self._scanned.pop(candidate.name, None)
        self.extensions[candidate.name] = info
        if info.state is ExtensionState.LOADED and self.pm.get_plugin(candidate.name) is not None:
            self._collect_scan_rules(candidate.name)
            problem = self._collect_config_schema(candidate.name)
            if problem is not None:
                self.pm.unregister(name=candidate.name)
                info = msgspec.structs.replace(info, state=ExtensionState.QUARANTINED, reason=problem)
                self.extensions[candidate.name] = info
        level = logging.INFO if info.state is ExtensionState.LOADED else logging.WARNING
        log.log(level, "extension %s %s%s", info.name, info.state.value, f": {info.reason}" if info.reason else "")
        return info

    def _info(self, c: Candidate, state: ExtensionState, **kw: Any) -> ExtensionInfo:
        if "risk_score" not in kw and c.name in self._scanned:
            kw["risk_score"], kw["verdict"] = self._scanned[c.name]
        return ExtensionInfo(
            name=c.name,
            module=c.module,
            distribution=c.distribution,
            version=c.version,
            builtin=c.builtin,
            essential=c.builtin and c.name in ESSENTIAL,
            state=state,
            **kw,
        )

    def _gate(self, c: Candidate) -> tuple[ExtensionInfo | None, tuple[ScanFinding, ...]]:
        """What stops an extension before import: deny/allow lists and the static scan's verdict."""
        essential = c.builtin and c.name in ESSENTIAL
        denied = _matches(c.name, self.deny) and not essential
        if denied or (self.allow and not c.builtin and not _matches(c.name, self.allow)):
            reason = "excluded by AUTOMATOS_EXTENSIONS_ALLOW/DENY"
            return self._info(c, ExtensionState.DENIED, reason=reason), ()
        if c.builtin:
            return None, ()
        report = self.scan_target(self.target_for(c))
        findings = report.findings
        scanned = {"findings": findings, "risk_score": report.risk_score, "verdict": report.verdict.value}
        if report.verdict is Verdict.BLOCKED:
            top = findings[0]
            reason = (
                f"scan verdict blocked (score {report.risk_score}): {top.rule} ({top.severity.value}): "
                f"{top.message} at {top.path}:{top.line}"
            )
            return self._info(c, ExtensionState.QUARANTINED, reason=reason, **scanned), findings
        if report.verdict is Verdict.REVIEW and c.name not in self.allow:
            reason = (
                f"scan verdict review (score {report.risk_score}): list it in AUTOMATOS_EXTENSIONS_ALLOW to load it"
            )
            return self._info(c, ExtensionState.QUARANTINED, reason=reason, **scanned), findings
        self._scanned[c.name] = (report.risk_score, report.verdict.value)
        return None, findings

    def target_for(self, c: Candidate) -> ScanTarget:
        """The candidate's files as a :class:`ScanTarget` (``kind="distribution"``), sizes capped.

        A file over :data:`MAX_FILE_BYTES`, or past :data:`MAX_FILES` files or
        :data:`MAX_TOTAL_BYTES` in all, is not read: it is an ``unreadable`` finding (the verdict is
        then at least ``review``), kept in ``target.cache["unreadable"]``.
        """
        files: dict[str, bytes] = {}
        unreadable: list[ScanFinding] = []
        total = 0
        for path in c.files:
            name = _relative(path, c.root)
            if name in files:
                continue
            try:
                size = path.stat().st_size
                if len(files) >= MAX_FILES or size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
                    raise OSError(
                        f"not scanned: {size} bytes (caps: {MAX_FILE_BYTES} per file, {MAX_TOTAL_BYTES} "
                        f"in all, {MAX_FILES} files)"
                    )
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # listed in RECORD but gone: nothing there to import either
            except OSError as exc:
                unreadable.append(ScanFinding(rule="unreadable", severity=Severity.HIGH, message=str(exc), path=name))
                continue
            total += len(data)
            files[name] = data
        target = ScanTarget(files=files, manifest=None, entry=c.module, kind="distribution")
        target.cache["unreadable"] = tuple(unreadable)
        return target

    def scan_target(self, target: ScanTarget) -> ScanReport:
        """Run every registered scan rule over ``target`` (a rule that raises is itself a finding)."""
        return run_rules(self.scan_rules, target, extra=target.cache.get("unreadable", ()))

    def scan(self, files: Iterable[Path]) -> list[ScanFinding]:
        """The findings of every registered scan rule over ``files`` (named by their full path)."""
        candidate = Candidate("scan", "scan", None, None, False, files=tuple(files))
        return list(self.scan_target(self.target_for(candidate)).findings)

    def _import_and_register(self, c: Candidate, findings: tuple[ScanFinding, ...]) -> ExtensionInfo:
        try:
            if c.loader is not None:
                plugin = c.loader()
            else:
                plugin = importlib.import_module(c.module)
                if c.attr:
                    plugin = getattr(plugin, c.attr)
        except BaseException as exc:  # a plugin may raise SystemExit at import
            if isinstance(exc, KeyboardInterrupt):
                raise
            reason = reason_for(exc) or f"import failed: {_summary(exc)}"  # an optional extra missing?
            return self._info(c, ExtensionState.QUARANTINED, reason=reason, findings=findings)
        try:
            self.pm.register(plugin, name=c.name)
        except Exception as exc:
            reason = f"does not match the hook specs: {_summary(exc)}"
            return self._info(c, ExtensionState.QUARANTINED, reason=reason, findings=findings)
        problem = self._validate(c.name)
        if problem:
            self.pm.unregister(name=c.name)
            return self._info(c, ExtensionState.QUARANTINED, reason=problem, findings=findings)
        hooks = tuple(sorted(hc.name for hc in self.pm.get_hookcallers(plugin) or ()))
        return self._info(c, ExtensionState.LOADED, hooks=hooks, findings=findings)

    def _validate(self, name: str) -> str | None:
        """Refuse hook implementations with no spec (typos), wrappers and non-callables."""
        plugin = self.pm.get_plugin(name)
        for caller in self.pm.get_hookcallers(plugin) or ():
            if caller.spec is None:
                return f"implements unknown hook {caller.name!r} (known: see docs/hooks.md)"
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    return f"hook {caller.name!r}: wrappers are reserved to the kernel"
        return None

    def _collect_scan_rules(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        impl = getattr(plugin, "register_scan_rules", None)
        if impl is None:
            return
        if not self.extensions[name].builtin:
            log.warning("extension %s: register_scan_rules ignored; scan rules come only from built-ins", name)
            return

        def register(rule: ScanRule | TargetRule) -> None:
            if not isinstance(rule, TargetRule | ScanRule):
                raise TypeError(f"{name}: register_scan_rules got {rule!r}, neither a TargetRule nor a ScanRule")
            self.scan_rules.append(rule)

        try:
            result = impl(register=register)
            if hasattr(result, "__await__"):
                result.close()
                raise TypeError("register_scan_rules must be a plain function: it runs before any event loop")
        except Exception as exc:
            log.error("extension %s failed in register_scan_rules: %s", name, _summary(exc))
            self.scan_errors.append((name, _summary(exc)))

    def _collect_config_schema(self, name: str) -> str | None:
        """Ask the extension for its configuration schema once; why it is unusable, if it is."""
        impl = getattr(self.pm.get_plugin(name), "extension_config_schema", None)
        if impl is None:
            return None
        try:
            schema = impl()
            if hasattr(schema, "__await__"):
                schema.close()
                raise TypeError("extension_config_schema must be a plain function")
        except Exception as exc:
            return f"extension_config_schema failed: {_summary(exc)}"
        if schema is None:
            return None
        problem = schema_problem(schema)
        if problem is None:
            self.config_schemas[name] = schema
        return problem

    def config_problem(self, name: str, config: Mapping[str, Any], *, settings: Any = None) -> ConfigProblem | None:
        """What is wrong with ``config`` for extension ``name`` (``None``: fine, or no schema).

        ``settings`` (given when a configuration is written) also runs the schema's settings-dependent rules.
        """
        schema = self.config_schemas.get(name)
        return config_problem(schema, config, settings=settings) if schema is not None else None

    # -- queries ---------------------------------------------------------------------------------

    def loaded(self) -> list[str]:
        return [n for n, i in self.extensions.items() if i.state is ExtensionState.LOADED]

    def plugin(self, name: str) -> ModuleType | Any | None:
        return self.pm.get_plugin(name)

    def unregister(self, name: str) -> None:
        """Remove an extension (tests, and unloading marketplace versions)."""
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.extensions.pop(name, None)
        self.config_schemas.pop(name, None)
