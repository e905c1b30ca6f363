"""What the engine looks for: dotted names of capabilities, secret locations, suspicious strings.

Data only (no logic beyond small predicates), so a rule change is a reviewable diff of names.
Names are the *resolved* dotted names the analysis produces (``import subprocess as sp`` then
``sp.run`` is ``subprocess.run``; a variable bound to ``socket.socket()`` makes ``s.send``
``socket.socket().send``). Over 500 lines: it is one table per technique (the coverage audit
against GuardDog's and bandit's checks added rows, not logic); splitting it would scatter the
lists a reviewer compares side by side.
"""

from __future__ import annotations

import re

__all__ = [
    "ANTI_ANALYSIS_RE",
    "BENIGN_ENV",
    "DECODE_HINTS",
    "DESERIALISERS",
    "DNS_CALLS",
    "EXEC_CALLS",
    "HOSTINFO_CALLS",
    "IMPORT_CALLS",
    "MINER_RE",
    "NET_PREFIXES",
    "NET_REQUESTS",
    "PERSISTENCE_RE",
    "PROCESS_CALLS",
    "SECRET_ENV_RE",
    "SENSITIVE_PATH_RE",
    "SHELL_DOWNLOAD_RE",
    "THREAD_CALLS",
    "TIME_NAMES",
    "WALLET_STRING_RE",
    "clipboard_command",
    "is_file_reader",
    "is_network",
    "is_process",
    "sensitive_call",
    "shell_payload",
]

DECODE_HINTS = (
    "b64decode",
    "b32decode",
    "b85decode",
    "a85decode",
    "decodebytes",
    "unhexlify",
    "fromhex",
    "decompress",
    "codecs.decode",
    "a2b_",
)
"""Parts of decoder names (base64, hex, zlib and friends, ``codecs.decode``): their output is hidden text."""
EXEC_CALLS = frozenset({"eval", "exec", "compile", "builtins.eval", "builtins.exec", "builtins.compile"})
IMPORT_CALLS = frozenset({"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"})

PROCESS_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "os.posix_spawn",
        "os.posix_spawnp",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
        "pty.fork",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "commands.getoutput",
        "platform.popen",
    }
)
_PROCESS_PREFIXES = ("subprocess.", "os.exec", "os.spawn", "multiprocessing.Process", "sh.", "plumbum.", "pexpect.")


def is_process(name: str) -> bool:
    if name.startswith("asyncio.") and name.endswith((".subprocess_exec", ".subprocess_shell")):
        return True  # ``asyncio.get_running_loop().subprocess_exec(factory, *argv)``
    if name in PROCESS_CALLS or name.startswith(_PROCESS_PREFIXES):
        # subprocess helpers that start nothing
        return not name.startswith(("subprocess.PIPE", "subprocess.DEVNULL", "subprocess.CalledProcessError"))
    return False


NET_PREFIXES = (
    "requests.",
    "httpx.",
    "urllib.request.",
    "urllib3.",
    "http.client.",
    "aiohttp.",
    "socket.",
    "smtplib.",
    "ftplib.",
    "telnetlib.",
    "websocket.",
    "websockets.",
    "paramiko.",
    "dns.resolver.",
    "pycurl.",
    "xmlrpc.client.",
    "asyncio.open_connection",
    "ssl.wrap_socket",
)
NET_REQUESTS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "request",
        "urlopen",
        "urlretrieve",
        "Request",
        "connect",
        "connect_ex",
        "create_connection",
        "HTTPConnection",
        "HTTPSConnection",
        "SMTP",
        "SMTP_SSL",
        "FTP",
        "FTP_TLS",
        "stream",
        "open_connection",
        "sendto",
        "ServerProxy",
        "PoolManager",
        "bind",
    }
)
"""Last components of network calls that name a destination (the host is read from their arguments)."""

DNS_CALLS = frozenset(
    {
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.getaddrinfo",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "dns.resolver.Resolver().resolve",
        "dns.resolver.Resolver().query",
    }
)


_RESPONSE_DATA = frozenset({"json", "text", "content", "read", "decode", "headers", "cookies", "raise_for_status"})


def is_network(name: str) -> bool:
    """A call on a network API — not a method of the data it already handed back
    (``httpx.get(u).json().get("k")`` is a dict lookup)."""
    links = name.split("().")
    if any(
        link.split(".", 1)[0] in _RESPONSE_DATA and (i < len(links) - 1 or "." in link)
        for i, link in enumerate(links[1:], 1)
    ):
        return False
    return name.startswith(NET_PREFIXES) and not name.startswith(
        ("socket.gethostname", "socket.AF_", "socket.SOCK_", "socket.timeout", "urllib.request.pathname2url")
    )


HOSTINFO_CALLS = frozenset(
    {
        "socket.gethostname",
        "socket.getfqdn",
        "getpass.getuser",
        "os.getlogin",
        "os.uname",
        "platform.node",
        "platform.uname",
        "platform.platform",
        "uuid.getnode",
        "os.getcwd",
        "pwd.getpwuid",
    }
)

THREAD_CALLS = frozenset(
    {
        "threading.Thread",
        "threading.Timer",
        "_thread.start_new_thread",
        "thread.start_new_thread",
        "multiprocessing.Process",
        "concurrent.futures.ThreadPoolExecutor",
    }
)

DESERIALISERS = {
    "pickle.loads": "pickle",
    "pickle.load": "pickle",
    "_pickle.loads": "pickle",
    "cPickle.loads": "pickle",
    "dill.loads": "dill",
    "dill.load": "dill",
    "cloudpickle.loads": "cloudpickle",
    "marshal.loads": "marshal",
    "marshal.load": "marshal",
    "joblib.load": "joblib",
    "shelve.open": "shelve",
    "yaml.unsafe_load": "yaml",
    "jsonpickle.decode": "jsonpickle",
    "yaml.load": "yaml",
    "yaml.load_all": "yaml",
    "yaml.unsafe_load_all": "yaml",
    "torch.load": "pickle",
    "pandas.read_pickle": "pickle",
}
YAML_SAFE_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
"""``yaml.load(..., Loader=X)`` with one of these builds plain data; any other loader can build objects."""

CODE_BUILDERS = frozenset({"types.FunctionType", "types.CodeType", "types.LambdaType"})
"""Calls that turn a code object into something callable: ``exec`` by another name."""

CLIPBOARD_READS = frozenset(
    {"pyperclip.paste", "clipboard.paste", "win32clipboard.GetClipboardData", "pandas.read_clipboard"}
)
CLIPBOARD_WRITES = frozenset(
    {"pyperclip.copy", "clipboard.copy", "win32clipboard.SetClipboardData", "win32clipboard.SetClipboardText"}
)
CLIPBOARD_METHODS_READ = frozenset({"clipboard_get", "GetClipboardData"})
CLIPBOARD_METHODS_WRITE = frozenset({"clipboard_append", "SetClipboardData", "SetClipboardText"})
_CLIP_READERS = frozenset({"pbpaste", "wl-paste", "termux-clipboard-get", "xclip-o"})
_CLIP_WRITERS = frozenset({"pbcopy", "wl-copy", "termux-clipboard-set", "clip", "clip.exe"})


def clipboard_command(exe: str | None, command: str) -> str | None:
    """``"read"`` / ``"write"`` when a process call is a clipboard tool (xclip, xsel, pbpaste,
    pbcopy, wl-paste, wl-copy, clip, PowerShell's Get-/Set-Clipboard), else ``None``."""
    exe = (exe or "").lower()
    words = command.split()
    if exe in _CLIP_READERS or re.search(r"\bGet-Clipboard\b", command, re.I):
        return "read"
    if exe in _CLIP_WRITERS or re.search(r"\bSet-Clipboard\b", command, re.I):
        return "write"
    if exe == "xclip":
        return "read" if any(w in {"-o", "-out"} for w in words) else "write"
    if exe == "xsel":
        return "write" if any(w in {"-i", "--input", "-a", "--append"} for w in words) else "read"
    return None


WALLET_ADDRESS_RE = re.compile(
    r"^\s*(0x[a-fA-F0-9]{40}|(bc1|[13])[a-km-zA-HJ-NP-Z1-9]{25,39}|T[1-9A-HJ-NP-Za-km-z]{33})\s*$"
)
"""A wallet address (Ethereum, Bitcoin, Tron) as a whole string: what a clipboard hijacker pastes in."""
WALLET_PATTERN_RE = re.compile(r"\(?bc1\|\[13\]|\[13\]\[a-|0x\[a-fA-F0-9\]\{40\}|0x\[0-9a-fA-F\]\{40\}|\^T\[1-9A")
"""A regular expression that recognises wallet addresses (Bitcoin, Ethereum, Tron): what a clipboard
hijacker matches the clipboard against before swapping in its own."""
ADDRESS_LIKE_RE = re.compile(r"[A-Za-z0-9]{20,100}")
"""A fixed token written to the clipboard: an address when the module also matches wallet addresses."""
SETUP_TOOLS_EXE = frozenset({"git", "hg", "svn", "pkg-config", "pkgconf", "cmake", "gcc", "cc", "nvcc", "xcrun"})
"""Build tools a setup.py may run to learn its version or flags (a constant command, output captured)."""

SENSITIVE_PATH_RE = re.compile(
    r"(^|[/\\~])\.ssh([/\\]|$)|id_rsa|id_dsa|id_ed25519|id_ecdsa|authorized_keys|known_hosts"
    r"|\.aws[/\\](credentials|config)|\.aws$|\.netrc|\.git-credentials|\.pypirc|\.npmrc|\.docker[/\\]config"
    r"|\.kube[/\\]config|gcloud|application_default_credentials|\.azure[/\\]|\.gnupg"
    r"|/etc/passwd|/etc/shadow|/etc/sudoers|_history\b|\.bash_history|\.zsh_history|\.python_history"
    r"|Login Data|Local State|Cookies|\.mozilla|Google[/\\]Chrome|Chrome[/\\]User Data|BraveSoftware"
    r"|Keychains|\.keychain|keyring|leveldb|wallet\.dat|\.electrum|Exodus|\.bitcoin|\.ethereum|metamask"
    r"|discord[/\\]|Telegram Desktop|\.vault-token|\.terraformrc|credentials\.json|\.boto\b|/proc/[^/]+/(environ|mem)\b"
    r"|lsass\.(exe|dmp)|\.kdbx?\b|\.1pux\b|\.1pif\b|\.agilekeychain|\.opvault|bitwarden[^/\\]*\.json|lastpass[^/\\]*\.csv"
    r"|(^|[/\\*_-])passwords?[^/\\]*\.csv$|\.ovpn\b|\.ppk\b",
    re.IGNORECASE,
)
"""Credential, key, history, account, browser and wallet locations."""

FILE_READERS = frozenset(
    {
        "open",
        "io.open",
        "codecs.open",
        "os.open",
        "glob.glob",
        "glob.iglob",
        "os.listdir",
        "os.walk",
        "os.scandir",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "os.rename",
        "os.replace",
        "os.symlink",
        "shutil.make_archive",
        "shutil.copytree",
        "tarfile.open",
        "zipfile.ZipFile().write",
        "tarfile.open().add",
        "tarfile.TarFile().add",
        "zipfile.ZipFile().writestr",
        "sqlite3.connect",
        "netrc.netrc",
    }
)
"""Calls that read (or copy away) the file or directory named in their arguments."""
FILE_READER_SUFFIXES = (".read_text", ".read_bytes", ".open", ".iterdir", ".glob", ".rglob")
_PARSER_READERS = ("configparser.", "netrc.", "dotenv.", "ConfigParser")
IMPLICIT_SENSITIVE = {"netrc.netrc": "~/.netrc", "dotenv.load_dotenv": ".env", "dotenv.dotenv_values": ".env"}
"""Readers that open a secret file when given no path at all."""


def is_file_reader(name: str) -> bool:
    """One table for every source check: ``open``, pathlib reads, copies and archives of a path,
    and config parsers whose ``read``/``read_file`` take a path (``configparser``, ``netrc``)."""
    if name in FILE_READERS or name.endswith(FILE_READER_SUFFIXES):
        return True
    return name.startswith(_PARSER_READERS) and name.rsplit(".", 1)[-1] in {"read", "read_file", "netrc"}


SECRET_ENV_RE = re.compile(
    r"TOKEN|SECRET|PASS|KEY|CRED|AUTH|SESSION|COOKIE|PRIVATE|^AWS_|^GH_|^GITHUB_|^NPM_|API", re.I
)
BENIGN_ENV = frozenset(
    {
        "HOME",
        "PATH",
        "LANG",
        "LC_ALL",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TERM",
        "PWD",
        "SHELL",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "NO_COLOR",
        "DEBUG",
        "LOG_LEVEL",
        "PYTHONPATH",
    }
)

PERSISTENCE_RE = re.compile(
    r"\.bashrc|\.bash_profile|\.zshrc|\.profile\b|\.zprofile|/etc/profile|/etc/rc\.local|crontab|/etc/cron"
    r"|/var/spool/cron|systemd[/\\]|autostart[/\\]|LaunchAgents|LaunchDaemons|sitecustomize|usercustomize"
    r"|\.pth$|CurrentVersion\\\\?Run|Start Menu\\\\?Programs\\\\?Startup|\.config/fish/config"
    r"|(^|[/\\])pip\.(conf|ini)$|\.pydistutils\.cfg|(^|[/\\])\.condarc$"
    r"|\.git[/\\]hooks[/\\]|(^|[/\\])\.gitconfig$|\.vimrc$|(^|[/\\])\.?vim[/\\](plugin|autoload)[/\\]|nvim[/\\]init\.(vim|lua)$"
    r"|\.emacs(\.d[/\\]init\.el)?$|\.ipython[/\\]profile_[^/\\]+[/\\](startup|ipython_config)|jupyter_\w*config\.py$"
    r"|\.xinitrc|\.xprofile|\.xsession|\.bash_login|\.bash_logout|\.zshenv|\.zlogin|\.config[/\\]environment\.d"
    r"|/etc/init\.d/|/etc/ld\.so\.preload|/etc/update-motd\.d/|/etc/sudoers|\.ssh[/\\]rc$|\.pythonrc|\.tmux\.conf$"
    r"|\.vscode[/\\]tasks\.json$|\.idea[/\\]runConfigurations[/\\]|Startup[/\\][^/\\]+\.(lnk|bat|cmd|vbs|exe)$",
    re.IGNORECASE,
)

MINER_RE = re.compile(
    r"stratum\+(tcp|ssl|tls)://|xmrig|cryptonight|randomx|--donate-level|minergate|coinhive"
    r"|nanopool|supportxmr|moneroocean|ethermine|nicehash\.com:\d|\bpool\.[a-z0-9.-]+:\d{4}",
    re.IGNORECASE,
)
"""Miner programs, algorithms, pool hosts and the stratum protocol: a crypto-miner (critical). A coin's
name (``monero``) is not: price trackers say it all the time."""
WALLET_STRING_RE = re.compile(
    r"\b4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b"
    r"|\b(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}\b.*wallet|wallet.*\b(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}\b",
    re.IGNORECASE,
)
"""A Monero address, or a Bitcoin address next to the word wallet: high alone (a donation line looks
the same); a miner's pool string next to it is the critical finding."""

SHELL_DOWNLOAD_RE = re.compile(
    r"(curl|wget|fetch|Invoke-WebRequest|iwr|DownloadString|DownloadFile|certutil)\b.*"
    r"(\|\s*(ba|z|da)?sh\b|\|\s*python|&&\s*(chmod|\./|sh |bash |python)|;\s*(chmod|\./|sh |bash )|-o\s*/tmp|IEX|iex)"
    r"|powershell.*-e(nc(odedcommand)?)?\s+[A-Za-z0-9+/=]{20,}|base64\s+(-d|--decode)\s*\|\s*(ba)?sh"
    r"|/dev/tcp/|\bnc\b.*-e\s|ncat\b.*-e\s|mkfifo"
    r"|\b(IEX|Invoke-Expression)\b.*\b(DownloadString|DownloadData|Invoke-WebRequest|iwr|Invoke-RestMethod|irm|Net\.WebClient)\b",
    re.IGNORECASE | re.DOTALL,
)
"""Shell one-liners that fetch and run, or open a shell to a remote end."""
_REMOTE_SHELL_RE = re.compile(
    r"/dev/(tcp|udp)/|\bn(c|cat|etcat)\b.*\s-[a-z]*[ec]\b|mkfifo|\b(ba|z|da)?sh\s+-i\b.*[<>]&?"
    r"|\bsocat\b.*\bexec:|\bpython[\d.]*\s+-c\b.*\bsocket\b.*\b(dup2|pty|subprocess)\b"
    r"|\bperl\b.*-e\b.*\bsocket\b|\bphp\b.*fsockopen|\bruby\b.*TCPSocket",
    re.IGNORECASE | re.DOTALL,
)


def shell_payload(text: str) -> tuple[str, str] | None:
    """(rule, what) when a command line fetches and runs code, opens a remote shell or decodes a
    script into a shell; ``None`` for an ordinary command. One classifier for every string that
    reaches a process, ``exec`` or a decoder, however it was built."""
    head = text[:20000]
    if _REMOTE_SHELL_RE.search(head):
        return "reverse-shell", "opens a shell to a remote end"
    if SHELL_DOWNLOAD_RE.search(head):
        return "download-exec", "fetches and runs code"
    return None


PIP_URL_RE = re.compile(r"\bpip3?\b.*\binstall\b.*(https?://|git\+|--index-url|--extra-index-url|\s-i\s|\.whl\b)")
"""pip installing from a URL or another index at run time: code nobody reviewed."""
PERSIST_CMD_RE = re.compile(
    r"crontab|systemctl\b.*\benable|schtasks|launchctl\s+(load|bootstrap|submit)|reg(\.exe)?\s+add|update-rc\.d|chkconfig"
    r"|(^|[|;&]\s*)at\s+(now|midnight|noon|teatime|tomorrow|\d)|(^|[|;&]\s*)at\s+-f\s|git\s+config\b.*core\.(hooksPath|pager|fsmonitor)",
    re.I,
)

ANTI_ANALYSIS_RE = re.compile(
    r"^(CI|GITHUB_ACTIONS|GITLAB_CI|TRAVIS|JENKINS_URL|BUILDKITE|CIRCLECI|TF_BUILD|CODEBUILD_BUILD_ID|"
    r"SANDBOX|VIRUSTOTAL|CUCKOO|ANALYSIS|DEBUG(GER)?|PYCHARM_HOSTED|VBOX|VMWARE|QEMU|DOCKER|KUBERNETES_SERVICE_HOST)$"
    r"|sandbox|virtualbox|vmware|qemu|cuckoo|malware|analysis|debugger|wireshark|procmon|ida64|x64dbg|ollydbg",
    re.IGNORECASE,
)

TIME_NAMES = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "datetime.now",
        "datetime.today",
        "datetime.utcnow",
        "date.today",
        "time.time",
        "time.localtime",
        "time.gmtime",
        "time.strftime",
    }
)

SENSITIVE_CALLS = {
    "keyring.get_password": "the system keyring",
    "keyring.get_credential": "the system keyring",
    "win32cred.CredRead": "the Windows credential store",
    "win32cred.CredEnumerate": "the Windows credential store",
    "secretstorage.get_all_collections": "the desktop secret store",
    "secretstorage.get_default_collection": "the desktop secret store",
    "pynput.keyboard.Listener": "keystrokes",
    "keyboard.on_press": "keystrokes",
    "keyboard.on_release": "keystrokes",
    "keyboard.hook": "keystrokes",
    "keyboard.read_key": "keystrokes",
    "keyboard.read_event": "keystrokes",
    "keyboard.record": "keystrokes",
    "pyxhook.HookManager": "keystrokes",
    "pyHook.HookManager": "keystrokes",
    "pyWinhook.HookManager": "keystrokes",
    "pynput.keyboard.Events": "keystrokes",
    "evdev.InputDevice": "keystrokes",
    "Xlib.ext.record.create_context": "keystrokes",
    "PIL.ImageGrab.grab": "screenshots",
    "PIL.ImageGrab.grabclipboard": "the clipboard",
    "pyautogui.screenshot": "screenshots",
    "pyscreenshot.grab": "screenshots",
    "mss.mss": "screenshots",
    "mss.mss().grab": "screenshots",
    "mss.mss().shot": "screenshots",
}
"""Calls that read what a user never meant to share: keyrings, keystrokes, the screen."""
CAPTURES = frozenset({"keystrokes", "screenshots"})
"""What :func:`sensitive_call` answers for input capture (the ``input-capture`` rule)."""
SENSITIVE_PREFIXES = {
    "browser_cookie3.": "browser cookies",
    "pycookiecheat.": "browser cookies",
    "browsercookie.": "browser cookies",
}
SENSITIVE_SUFFIXES = {
    "GetAsyncKeyState": "keystrokes",
    "SetWindowsHookExA": "keystrokes",
    "SetWindowsHookExW": "keystrokes",
}


def sensitive_call(name: str) -> str | None:
    """What a call reads that is sensitive (keyring, keystrokes, screenshots, browser cookies), else None."""
    if name in SENSITIVE_CALLS:
        return SENSITIVE_CALLS[name]
    for prefix, what in SENSITIVE_PREFIXES.items():
        if name.startswith(prefix):
            return what
    return SENSITIVE_SUFFIXES.get(name.rsplit(".", 1)[-1])


PATCH_HOOKS = frozenset(
    {
        "sys.excepthook",
        "sys.displayhook",
        "sys.unraisablehook",
        "sys.breakpointhook",
        "threading.excepthook",
        "warnings.showwarning",
        "warnings.formatwarning",
    }
)
"""Attributes a library offers for replacing: assigning them is configuration, not monkeypatching."""

DESTRUCTIVE_CALLS = frozenset(
    {"shutil.rmtree", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.truncate", "shutil.move"}
)
DESTRUCTIVE_METHODS = frozenset({"unlink", "rmdir"})
PRECIOUS_DIR_RE = re.compile(
    r"^(~|/|/home|/Users|/root|/etc|/var|/usr|[A-Za-z]:\\?)/?$"
    r"|(^|[/\\])(Documents|Desktop|Pictures|Downloads|Music|Videos|projects|src|\.ssh|\.gnupg|\.aws|\.config"
    r"|\.local)[/\\]?$",
)
"""Directories whose deletion (or a loop deleting what is under them) is a wiper's work."""
STEGO_RE = re.compile(r"(^|\.)(stegano|stegpy|steganography|stepic|cryptosteganography)\.|(^|\.)lsb\.reveal$", re.I)
"""Steganography decoders: what they return was hidden in an image."""
PYARMOR_NAMES = frozenset({"__pyarmor__", "pyarmor_runtime", "pytransform.pyarmor_runtime", "pytransform.pyarmor"})
DROP_SERVICE_RE = re.compile(
    r"discord(app)?\.com/api/webhooks|api\.telegram\.org/bot|hooks\.slack\.com/|webhook\.site|pipedream\.net"
    r"|requestbin|\bngrok(-free)?\.(io|app|dev)|\binteract\.sh|\boast\.(pro|live|site|online|fun|me)"
    r"|burpcollaborator\.net|pastebin\.com/api|\btransfer\.sh|\bfile\.io\b|\b0x0\.st|anonfiles|termbin\.com"
    r"|api\.github\.com/gists|canarytokens|dnslog\.cn|ceye\.io",
    re.I,
)
"""Drop points and collectors (chat webhooks, request bins, tunnels, paste sites): where stolen data goes."""
CLOUD_UPLOADS = frozenset(
    {
        "put_object",
        "upload_file",
        "upload_fileobj",
        "upload_blob",
        "upload_from_string",
        "upload_from_filename",
        "upload_from_file",
        "send_message",
        "publish",
        "put_record",
        "put_records",
    }
)
CLOUD_PREFIXES = ("boto3.", "botocore.", "aioboto3.", "google.cloud.", "azure.storage.", "azure.servicebus.", "minio.")
"""Cloud SDK calls that hand data to a bucket, queue or topic: network sinks whose host is the SDK's."""
DOWNLOADERS = frozenset({"wget", "curl", "aria2c", "axel", "certutil", "bitsadmin", "tftp", "scp", "rsync"})
"""Executables that fetch files from a remote end."""
REGION_CALLS = frozenset(
    {
        "locale.getlocale",
        "locale.getdefaultlocale",
        "locale.getpreferredencoding",
        "locale.setlocale",
        "time.tzname",
        "time.timezone",
        "time.altzone",
        "time.localtime().tm_zone",
        "tzlocal.get_localzone",
        "tzlocal.get_localzone_name",
    }
)
"""Where the machine is: a guard on these targets a country or language (protestware, geofenced payloads)."""
REGION_FILES = frozenset({"/etc/localtime", "/etc/timezone", "/etc/locale.conf", "/etc/default/locale"})
REGION_ENV = frozenset({"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ"})
HOME_CALLS = frozenset({"pathlib.Path.home", "Path.home", "os.path.expanduser", "os.getenv", "os.environ.get"})
