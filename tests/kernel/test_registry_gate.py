"""The registry's scan gate for pip-installed extensions (issue 11 item 10).

Every file a distribution lists is scanned with the same pipeline as marketplace bundles; the
verdict decides: ``blocked`` is quarantined with its heaviest finding, ``review`` loads only when
the operator lists the extension by name in ``AUTOMATOS_EXTENSIONS_ALLOW``, ``safe`` loads. The
score and verdict are shown in ``/api/extensions`` to platform admins only.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

from automatos.api.app import create_app
from automatos.kernel.registry import MAX_FILE_BYTES, Candidate, Registry
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ExtensionState, ScanFinding, Severity
from tests.helpers import make_container, serve_app


def _record_line(root: Path, rel: str, *, hashed: bool = True) -> str:
    if not hashed:
        return f"{rel},,"
    data = (root / rel).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def _install(root: Path, files: dict[str, bytes], *, unhashed: Sequence[str] = ()) -> Candidate:
    """A distribution ``gadget`` installed into ``root`` (site-packages style), as pip leaves it."""
    info = root / "gadget-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gadget\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[automatos.extensions]\ngadget = gadget\n")
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    rels = ["gadget-1.0.dist-info/METADATA", "gadget-1.0.dist-info/entry_points.txt", *files]
    lines = [_record_line(root, rel, hashed=rel not in unhashed) for rel in rels]
    (info / "RECORD").write_text("\n".join([*lines, "gadget-1.0.dist-info/RECORD,,"]) + "\n")
    (ep,) = PathDistribution(info).entry_points
    return Candidate.from_entry_point(ep)


def _load(*candidates: Candidate, **kw: Any) -> Registry:
    registry = Registry(**kw)
    registry.load([*registry.discover(), *candidates])
    return registry


def test_every_file_the_distribution_lists_is_scanned(tmp_path: Path) -> None:
    cand = _install(
        tmp_path,
        {
            "gadget/__init__.py": b"VALUE = 1\n",
            "gadget/data/locale.json": b'{"hello": "world"}\n',
            "gadget/__pycache__/__init__.cpython-311.pyc": b"compiled by the installer",
            "gadget/__pycache__/shipped.cpython-311.pyc": b"shipped in the wheel",
            "gadget-init.pth": b"import gadget\n",
        },
        unhashed=["gadget/__pycache__/__init__.cpython-311.pyc"],
    )
    assert cand.root == tmp_path and not cand.builtin
    target = Registry().target_for(cand)
    assert target.kind == "distribution" and target.entry == "gadget" and target.manifest is None
    assert set(target.files) == {
        "gadget-1.0.dist-info/METADATA",
        "gadget-1.0.dist-info/entry_points.txt",
        "gadget-1.0.dist-info/RECORD",
        "gadget/__init__.py",
        "gadget/data/locale.json",
        "gadget/__pycache__/shipped.cpython-311.pyc",  # a .pyc the wheel ships is scanned
        "gadget-init.pth",  # .pth files run at interpreter start: attackers hide there
    }
    assert target.files["gadget/data/locale.json"] == b'{"hello": "world"}\n'


def test_a_blocked_distribution_is_quarantined_with_its_top_finding_and_never_imported(tmp_path: Path) -> None:
    imported: list[bool] = []
    payload = base64.b64encode(b"print('hi')").decode()
    cand = _install(tmp_path, {"gadget/__init__.py": f"import base64\nexec(base64.b64decode('{payload}'))\n".encode()})
    cand = Candidate(**{**cand.__dict__, "loader": lambda: imported.append(True)})
    info = _load(cand, allow=["gadget"]).extensions["gadget"]  # listing it does not unblock it
    assert info.state is ExtensionState.QUARANTINED and info.verdict == "blocked"
    assert info.risk_score is not None and info.risk_score >= 70
    assert info.reason is not None and info.reason.startswith(f"scan verdict blocked (score {info.risk_score}): ")
    top = info.findings[0]
    assert f"{top.rule} ({top.severity.value}): {top.message} at gadget/__init__.py:2" in info.reason
    assert imported == []


def test_review_needs_the_name_itself_in_the_allow_list(tmp_path: Path) -> None:
    cand = _install(tmp_path, {"gadget/__init__.py": b"import subprocess\n\ndef run():\n    subprocess.run(['ls'])\n"})
    cand = Candidate(**{**cand.__dict__, "loader": lambda: object()})
    held = _load(cand).extensions["gadget"]
    assert held.state is ExtensionState.QUARANTINED and held.verdict == "review"
    assert held.reason == (
        f"scan verdict review (score {held.risk_score}): list it in AUTOMATOS_EXTENSIONS_ALLOW to load it"
    )
    wildcard = _load(cand, allow=["gad*"]).extensions["gadget"]  # a pattern lets it past the filter only
    assert wildcard.state is ExtensionState.QUARANTINED and wildcard.verdict == "review"
    listed = _load(cand, allow=["gadget"]).extensions["gadget"]
    assert listed.state is ExtensionState.LOADED and listed.verdict == "review"
    assert listed.risk_score == held.risk_score and listed.findings == held.findings


def test_the_example_extension_loads_safe() -> None:
    info = _load().extensions["hello"]
    assert info.state is ExtensionState.LOADED, info.reason
    assert (info.risk_score, info.verdict) == (0, "safe")
    builtin = _load().extensions["automatos.storage.local"]
    assert (builtin.risk_score, builtin.verdict) == (None, None)  # built-ins are not scanned


def test_a_file_over_the_cap_is_a_scanner_error_never_safe(tmp_path: Path) -> None:
    cand = _install(tmp_path, {"gadget/__init__.py": b"VALUE = 1\n", "gadget/blob.txt": b"a" * (MAX_FILE_BYTES + 1)})
    cand = Candidate(**{**cand.__dict__, "loader": lambda: object()})
    info = _load(cand).extensions["gadget"]
    assert info.state is ExtensionState.QUARANTINED and info.verdict == "review"
    (finding,) = [f for f in info.findings if f.rule == "unreadable"]
    assert finding.path == "gadget/blob.txt" and f"{MAX_FILE_BYTES} per file" in finding.message


class _Exploding:
    id = "explodes"
    severity = Severity.LOW

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]:
        raise RuntimeError("boom")


def test_a_failing_rule_makes_the_verdict_review(tmp_path: Path) -> None:
    cand = _install(tmp_path, {"gadget/__init__.py": b"VALUE = 1\n"})
    cand = Candidate(**{**cand.__dict__, "loader": lambda: object()})
    registry = Registry()
    registry.load(registry.discover())
    registry.scan_rules.append(_Exploding())
    info = registry.load_one(cand)
    assert info.state is ExtensionState.QUARANTINED and info.verdict == "review"
    assert [f.rule for f in info.findings] == ["rule-failed"]


async def test_score_and_verdict_are_shown_to_platform_admins_only(tmp_path: Path) -> None:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as client:
        admin = await client.get("/api/extensions/hello", headers={"X-Test-User": "root;admin"})
        member = await client.get("/api/extensions/hello", headers={"X-Test-User": "someone"})
        listed = await client.get("/api/extensions", headers={"X-Test-User": "someone"})
    assert admin.status_code == 200, admin.text
    assert (admin.json()["risk_score"], admin.json()["verdict"]) == (0, "safe")
    assert member.status_code == 200, member.text
    assert "risk_score" not in member.json() and "verdict" not in member.json()
    assert all("risk_score" not in item for item in listed.json()["items"])
