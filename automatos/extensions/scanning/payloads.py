"""What a run of bytes or text is: magic numbers, Python/shell/PowerShell recognition, layered decoding.

The engine behind :mod:`automatos.extensions.scanning.datafiles` (and the Markdown base64 check of
:mod:`automatos.extensions.scanning.injection`): :func:`sniff` names a file's kind by its magic
number, :func:`python_payload` says whether text is Python that imports or calls something,
:func:`decode_blob` peels up to three layers of base64/base32/hex/zlib/gzip/bz2/xz/rot13/reversal
and reports the most dangerous thing underneath. Every step is capped (decoded size, parse size)
so a hostile blob cannot make the scan slow or large.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterator

__all__ = [
    "ARCHIVE_KINDS",
    "CODE_KINDS",
    "EXECUTABLE_KINDS",
    "HEX",
    "MEDIA_KINDS",
    "PY_HINT",
    "SEPARATORS",
    "decode_blob",
    "entropy",
    "python_payload",
    "sniff",
    "text_kind",
]

EXECUTABLE_KINDS = frozenset({"ELF executable", "PE executable", "Mach-O executable", "WebAssembly module"})
ARCHIVE_KINDS = frozenset(
    {"zip archive", "gzip data", "bzip2 data", "xz data", "7z archive", "rar archive", "tar archive"}
)
CODE_KINDS = frozenset({"Python bytecode", "pickle data"})
MEDIA_KINDS = frozenset(
    "PNG image|JPEG image|GIF image|WebP image|BMP image|ICO image|PDF document|WOFF font|WOFF2 font"
    "|TrueType font|OpenType font|gettext catalog".split("|")
)
MAX_DECODED = 4 << 20
MAX_PARSE = 1 << 20
HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_B32 = re.compile(r"[A-Z2-7]+=*")
_B64 = re.compile(r"[A-Za-z0-9+/]+=*")
_B64URL = re.compile(r"[A-Za-z0-9_-]+=*")
SEPARATORS = re.compile(r"\\[nr]|\s")
PY_HINT = re.compile(
    r"\bimport\s+[A-Za-z_]|\bfrom\s+[\w.]+\s+import\b|\b(?:exec|eval|compile|__import__|getattr|system|popen)\s*\("
)
_PY_ANY = re.compile(r"\bimport\s+[A-Za-z_]|[A-Za-z_]\w*\s*\(")
_PY_STRONG = re.compile(r"\bimport\s+(?:os|subprocess|socket|ctypes|pty)\b|\b(?:exec|eval|__import__)\s*\(")
_SHELL = re.compile(
    r"(?:curl|wget)\b[^\n|;]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|\bbash\s+-i\b|/dev/(?:tcp|udp)/"
    r"|\bnc(?:at)?\s+(?:-\w+\s+)*-[ec]\s|\bmkfifo\b[^\n]{0,100}\bnc\b|\bsocat\b[^\n]{0,80}\bexec:"
    r"|base64\s+(?:-d|--decode)[^\n]{0,40}\|\s*(?:ba)?sh\b|\b(?:ba)?sh\s+-c\s+['\"]|\bchmod\s+\+x\s",
    re.IGNORECASE,
)
_POWERSHELL = re.compile(
    r"\b(?:iex|invoke-expression|invoke-webrequest|start-process)\b|-enc(?:odedcommand)?\s+[A-Za-z0-9+/=]{20,}"
    r"|net\.webclient|downloadstring\s*\(|frombase64string\s*\(",
    re.IGNORECASE,
)
_DANGEROUS_MODULES = frozenset(
    "os subprocess socket ctypes pty sys shutil urllib http requests httpx base64 marshal pickle builtins "
    "importlib codecs zlib platform getpass webbrowser ftplib smtplib telnetlib paramiko".split()
)
_DANGEROUS_CALLS = frozenset(
    "exec eval compile __import__ system popen Popen run call check_output check_call spawnl spawnv execv "
    "execve connect urlopen b64decode loads getattr".split()
)


# ---- what bytes are -------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The kind of ``data`` by its magic number (``None`` when unknown or text)."""
    head = data[:16]
    if head.startswith(b"\x7fELF"):
        return "ELF executable"
    if head.startswith(b"MZ") and _is_pe(data):
        return "PE executable"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return "Mach-O executable"
    if head.startswith(b"\x00asm"):
        return "WebAssembly module"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip archive"
    if head.startswith(b"\x1f\x8b"):
        return "gzip data"
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "bzip2 data"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz data"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z archive"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar archive"
    if data[257:262] == b"ustar":
        return "tar archive"
    if len(data) > 16 and data[2:4] == b"\r\n" and 2900 <= int.from_bytes(data[:2], "little") < 4000:
        return "Python bytecode"
    if len(data) > 4 and data[0] == 0x80 and 2 <= data[1] <= 5 and data.rstrip()[-1:] == b".":
        return "pickle data"
    return _sniff_media(head)


def _sniff_media(head: bytes) -> str | None:
    signatures = (
        (b"\x89PNG\r\n\x1a\n", "PNG image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"GIF87a", "GIF image"),
        (b"GIF89a", "GIF image"),
        (b"BM", "BMP image"),
        (b"\x00\x00\x01\x00", "ICO image"),
        (b"%PDF", "PDF document"),
        (b"wOFF", "WOFF font"),
        (b"wOF2", "WOFF2 font"),
        (b"\x00\x01\x00\x00", "TrueType font"),
        (b"OTTO", "OpenType font"),
        (b"\xde\x12\x04\x95", "gettext catalog"),
        (b"\x95\x04\x12\xde", "gettext catalog"),
    )
    for magic, kind in signatures:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP image"
    return None


def _is_pe(data: bytes) -> bool:
    if len(data) >= 0x40:
        offset = int.from_bytes(data[0x3C:0x40], "little")
        if data[offset : offset + 4] == b"PE\x00\x00":
            return True
    return b"This program cannot be run in DOS mode" in data[:256]


# ---- Python, shell and PowerShell in text -------------------------------------------------------


def python_payload(text: str, *, dangerous_only: bool) -> str | None:
    """What the Python in ``text`` does (``None`` when it is not Python that imports or calls).

    ``dangerous_only``: only Python importing system/network modules or calling ``exec``-like
    functions counts (for plain text, where prose must not look like code).
    """
    if len(text) < 6 or not (PY_HINT if dangerous_only else _PY_ANY).search(text[:MAX_PARSE]):
        return None
    if len(text) > MAX_PARSE:  # too long to parse: only the unmistakable
        match = _PY_STRONG.search(text[:MAX_PARSE])
        return f"Python-like code ({match.group(0)!r}, too long to parse)" if match else None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    imports: list[str] = []
    calls: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            calls.append(name)
    risky = sorted({m for m in imports if m.split(".")[0] in _DANGEROUS_MODULES})
    risky_calls = sorted({c for c in calls if c in _DANGEROUS_CALLS})
    if dangerous_only and not ((risky and calls) or risky_calls):
        return None
    if not imports and not calls:
        return None
    parts = []
    if imports:
        parts.append("imports " + ", ".join((risky or sorted(set(imports)))[:4]))
    if risky_calls or calls:
        parts.append("calls " + ", ".join((risky_calls or sorted(set(calls) - {""}) or ["a function"])[:4]))
    return "Python code that " + " and ".join(parts)


def text_kind(text: str) -> tuple[str, str] | None:
    """``(category, description)`` for code-like text: Python, shell or PowerShell."""
    found = python_payload(text, dangerous_only=False)
    if found:
        return "code", found
    match = _SHELL.search(text)
    if match:
        return "code", f"shell ({match.group(0)[:40].strip()!r})"
    match = _POWERSHELL.search(text)
    if match:
        return "code", f"PowerShell ({match.group(0)[:40].strip()!r})"
    return None


# ---- decoding -------------------------------------------------------------------------------


def _as_text(data: bytes) -> str | None:
    if len(data) >= 4 and data[1::2].count(0) > len(data) // 4:
        try:
            return data.decode("utf-16-le")  # PowerShell's -EncodedCommand is UTF-16LE
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text[:2048] if ch.isprintable() or ch in "\t\r\n")
    return text if printable >= 0.9 * min(len(text), 2048) else None


def _decode_text(text: str) -> Iterator[tuple[str, bytes]]:
    """Each way ``text`` decodes as hex, base32 or base64 (std or URL-safe)."""
    compact = SEPARATORS.sub("", text)
    if len(compact) < 16:
        return
    if HEX.fullmatch(compact):
        yield "hex", bytes.fromhex(compact)
    stripped = compact.rstrip("=")
    if _B32.fullmatch(compact):
        try:
            yield "base32", base64.b32decode(stripped + "=" * (-len(stripped) % 8))
        except (binascii.Error, ValueError):
            pass
    for name, pattern, alt in (("base64", _B64, None), ("base64url", _B64URL, b"-_")):
        if pattern.fullmatch(compact) and len(stripped) % 4 != 1:
            try:
                yield name, base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=alt, validate=True)
            except (binascii.Error, ValueError):
                pass


def _decompress(data: bytes) -> tuple[str, bytes] | None:
    try:
        if data[:1] == b"\x78" and len(data) > 2 and (data[0] * 256 + data[1]) % 31 == 0:
            return "zlib", zlib.decompressobj().decompress(data, MAX_DECODED)
        if data.startswith(b"\x1f\x8b"):
            return "gzip", zlib.decompressobj(31).decompress(data, MAX_DECODED)
        if data.startswith(b"BZh"):
            return "bz2", bz2.BZ2Decompressor().decompress(data, MAX_DECODED)
        if data.startswith(b"\xfd7zXZ\x00"):
            return "xz", lzma.LZMADecompressor().decompress(data, MAX_DECODED)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
        return None
    return None


_RANK = {"code": 4, "executable": 4, "archive": 3, "media": 1, "text": 0}


def decode_blob(blob: str, *, depth: int = 3) -> tuple[str, str, list[str]] | None:
    """Decode ``blob`` up to ``depth`` layers; the most dangerous thing found.

    Returns ``(category, description, chain)`` with category ``code`` (Python, shell,
    PowerShell), ``executable``, ``archive``, ``media`` (an image or font) or ``text`` (readable,
    not code) — or ``None`` when nothing decodes to anything recognisable.
    """
    best: tuple[str, str, list[str]] | None = None
    frontier: list[tuple[list[str], str]] = [([], blob)]
    for _layer in range(depth):
        children: list[tuple[list[str], bytes]] = []
        for chain, text in frontier:
            variants = [(chain, text)]
            if not chain or chain[-1] not in ("rot13", "reversed"):
                variants += [([*chain, "rot13"], codecs.encode(text, "rot13")), ([*chain, "reversed"], text[::-1])]
            for vchain, vtext in variants:
                if vchain is not chain and len(vtext) <= MAX_PARSE and any(c in vtext[:4096] for c in " (\n"):
                    kind = text_kind(vtext)
                    if kind:
                        return kind[0], kind[1], vchain
                for how, data in _decode_text(vtext):
                    children.append(([*vchain, how], data[:MAX_DECODED]))
        frontier = []
        for chain, data in children:
            unpacked = _decompress(data)
            if unpacked:
                chain, data = [*chain, unpacked[0]], unpacked[1]
            found = _classify(data)
            if found is None:
                continue
            category, what, readable = found
            if _RANK[category] >= 4:
                return category, what, chain
            if best is None or _RANK[category] > _RANK[best[0]]:
                best = (category, what, chain)
            if readable is not None:
                frontier.append((chain, readable))
        if not frontier:
            break
    return best


def _classify(data: bytes) -> tuple[str, str, str | None] | None:
    kind = sniff(data)
    if kind in EXECUTABLE_KINDS:
        return "executable", kind or "", None
    if kind in ARCHIVE_KINDS or kind in CODE_KINDS:
        return "archive", kind or "", None
    if kind in MEDIA_KINDS:
        return "media", kind or "", None
    text = _as_text(data)
    if text is None:
        return None
    found = text_kind(text)
    if found:
        return found[0], found[1], None
    return "text", "text", text


def entropy(text: str) -> float:
    sample = text[:4096]
    total = len(sample)
    return -sum(n / total * math.log2(n / total) for n in Counter(sample).values()) if total else 0.0
