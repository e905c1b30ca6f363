"""Discovery without import, quarantine instead of crash, allow/deny, scanning third-party code."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from automatos import Event, hookimpl
from automatos.kernel.registry import ESSENTIAL, Candidate, Registry
from automatos.kernel.types import ExtensionState, Severity
from tests.helpers import EVERYTHING, candidate


def _load(*candidates: Candidate, **kw: Any) -> Registry:
    registry = Registry(**kw)
    registry.load([*registry.discover(), *candidates])
    return registry


def test_builtins_are_entry_points_of_automatos_and_load() -> None:
    registry = _load()
    builtins = {n for n, i in registry.extensions.items() if i.builtin}
    assert ESSENTIAL <= builtins
    for name in builtins:
        info = registry.extensions[name]
        assert info.state is ExtensionState.LOADED, info.reason
        assert info.distribution == "automatos" and info.version


def test_discovery_does_not_import(monkeypatch: Any) -> None:
    for name in [m for m in sys.modules if m.startswith("automatos_hello")]:
        monkeypatch.delitem(sys.modules, name)
    found = {c.name: c for c in Registry.discover()}
    assert "hello" in found, "the example distribution (examples/automatos-hello) must be installed"
    assert "automatos_hello" not in sys.modules
    hello = found["hello"]
    assert not hello.builtin and hello.distribution == "automatos-hello" and hello.version == "0.1.0"
    assert any(p.name == "__init__.py" for p in hello.files)


def test_third_party_distribution_is_scanned_then_loaded() -> None:
    registry = _load()
    info = registry.extensions["hello"]
    assert info.state is ExtensionState.LOADED, info.reason
    assert "register_llm_providers" in info.hooks and "on_event" in info.hooks
    assert not [f for f in info.findings if f.severity is Severity.CRITICAL]


def test_import_failure_is_quarantined_with_a_summary() -> None:
    def explode() -> Any:
        raise ImportError("missing dependency foo")

    registry = _load(candidate("tests.nowhere", "broken", loader=explode))
    info = registry.extensions["broken"]
    assert info.state is ExtensionState.QUARANTINED
    assert info.reason is not None and "import failed: ImportError: missing dependency foo" in info.reason
    assert "test_registry.py" in info.reason  # where it failed
    assert registry.pm.get_plugin("broken") is None
    assert registry.extensions["automatos.storage.local"].state is ExtensionState.LOADED  # the rest went on


def test_system_exit_at_import_is_contained() -> None:
    def leave() -> Any:
        raise SystemExit(3)

    registry = _load(candidate("tests.nowhere", "exits", loader=leave))
    assert registry.extensions["exits"].state is ExtensionState.QUARANTINED


class UnknownHook:
    @hookimpl
    def register_llm_provider(self, register: Any) -> None:  # typo: the spec is register_llm_providers
        pass


class BadSignature:
    @hookimpl
    def on_event(self, event: Event, colour: str) -> None:  # "colour" is not an argument of the spec
        pass


class Wrapper:
    @hookimpl(wrapper=True)
    def on_event(self, event: Event) -> Any:
        return (yield)


def test_specs_are_enforced_per_plugin() -> None:
    registry = _load(
        candidate("x", "typo", loader=UnknownHook),
        candidate("x", "badsig", loader=BadSignature),
        candidate("x", "wrapper", loader=Wrapper),
        EVERYTHING,
    )
    typo = registry.extensions["typo"]
    assert typo.state is ExtensionState.QUARANTINED and "unknown hook 'register_llm_provider'" in (typo.reason or "")
    badsig = registry.extensions["badsig"]
    assert badsig.state is ExtensionState.QUARANTINED and "colour" in (badsig.reason or "")
    assert "does not match the hook specs" in (badsig.reason or "")
    assert registry.extensions["wrapper"].state is ExtensionState.QUARANTINED
    assert registry.extensions["tests.everything"].state is ExtensionState.LOADED
    for name in ("typo", "badsig", "wrapper"):
        assert registry.pm.get_plugin(name) is None


def test_deny_wins_and_allow_limits_third_party_only() -> None:
    registry = _load(EVERYTHING, deny=["tests.*"])
    assert registry.extensions["tests.everything"].state is ExtensionState.DENIED
    registry = _load(EVERYTHING, allow=["hello"])
    assert registry.extensions["tests.everything"].state is ExtensionState.DENIED
    assert registry.extensions["hello"].state is ExtensionState.LOADED
    assert registry.extensions["automatos.cache.memory"].state is ExtensionState.LOADED  # built-ins always


def _write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "plugin_src.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_critical_scan_finding_quarantines_before_import(tmp_path: Path) -> None:
    imported: list[bool] = []
    path = _write(tmp_path, "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n")
    sneaky = Candidate("sneaky", "sneaky", "evil", "1", False, files=(path,), loader=lambda: imported.append(True))
    registry = _load(sneaky)
    info = registry.extensions["sneaky"]
    assert info.state is ExtensionState.QUARANTINED
    assert "obfuscated-exec" in (info.reason or "") and f"{path}:2" in (info.reason or "")
    assert imported == []  # never imported


def test_a_review_verdict_loads_only_when_the_operator_lists_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "import subprocess\nsubprocess.run(['ls'])\n")
    cand = Candidate("spawner", "spawner", "d", "1", False, files=(path,), loader=lambda: object())
    held = _load(cand).extensions["spawner"]
    assert held.state is ExtensionState.QUARANTINED and held.verdict == "review"
    assert "list it in AUTOMATOS_EXTENSIONS_ALLOW" in (held.reason or "")
    info = _load(cand, allow=["spawner"]).extensions["spawner"]
    assert info.state is ExtensionState.LOADED and info.verdict == "review"
    assert ("process-spawn", Severity.HIGH) in [(f.rule, f.severity) for f in info.findings]


def test_unparsable_source_is_critical(tmp_path: Path) -> None:
    path = _write(tmp_path, "def broken(:\n")
    cand = Candidate("garbled", "garbled", "d", "1", False, files=(path,), loader=lambda: object())
    info = _load(cand).extensions["garbled"]
    assert info.state is ExtensionState.QUARANTINED and "unparsable" in (info.reason or "")


def test_scan_rules_come_from_builtin_extensions_only(tmp_path: Path) -> None:
    """register_scan_rules is collected from built-ins only, before third-party code loads."""
    path = _write(tmp_path, "# TODO: later\n")
    as_builtin = candidate("tests.plugins.everything", "tests.everything", builtin=True)
    registry = _load(as_builtin)
    assert "test-todo" in [r.id for r in registry.scan_rules]
    findings = registry.scan([path])
    assert [f.rule for f in findings] == ["test-todo"]
    third_party = _load(EVERYTHING)
    assert "test-todo" not in [r.id for r in third_party.scan_rules]


def test_a_second_extension_with_the_same_name_is_quarantined_apart() -> None:
    from tests.plugins import everything

    impostor = Candidate("tests.everything", "impostor", "someone-else", "9", False, loader=lambda: object())
    registry = _load(EVERYTHING, impostor)
    assert registry.extensions["tests.everything"].state is ExtensionState.LOADED
    assert registry.plugin("tests.everything") is everything
    clash = registry.extensions["tests.everything@someone-else"]
    assert clash.state is ExtensionState.QUARANTINED
    assert clash.reason == "name 'tests.everything' is already used by automatos-tests"


def test_entry_point_attribute_form_is_honoured() -> None:
    attr_form = Candidate("attr-form", "tests.plugins.everything", "d", "1", False, attr="HeaderAuth")
    registry = _load(attr_form)
    assert registry.plugin("attr-form") is __import__("tests.plugins.everything").plugins.everything.HeaderAuth


def test_deny_never_applies_to_essential_builtins() -> None:
    registry = _load(deny=["automatos.*"])
    for name in ESSENTIAL:
        assert registry.extensions[name].state is ExtensionState.LOADED
