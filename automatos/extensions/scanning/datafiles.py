"""Scan rules over every file that is not Python source: payloads hidden in data.

Attackers park the second stage where code scanners do not look: a base64 string in a JSON
config, a YAML block that is really a script, a PNG with Python appended after its ``IEND``
chunk, an ELF binary named ``logo.png``. This module looks at every non-Python file of the target
once (the analysis is cached in ``target.cache``) and reports:

- ``data-encoded-payload`` (critical): a long run of base64/base32/hex text that decodes — through
  up to three layers of base64/base32/hex/zlib/gzip/bz2/xz/rot13/reversal — to Python code,
  shell, PowerShell or an executable (an embedded archive is high);
- ``data-hidden-code`` (critical): Python that imports ``os``/``subprocess``/``socket``-like
  modules or calls ``exec``-like functions, hidden in a data file (a JSON value, a YAML block, a
  text file, an image's text chunks or the bytes after its end marker — a polyglot);
- ``data-disguised-file`` (critical for an executable, high for an archive or bytecode): a file
  whose extension lies about its content (a ``.png`` that is a zip or an ELF);
- ``data-shell-payload`` (critical for a reverse shell, high for download-and-run): shell in a
  non-documentation text file;
- ``data-opaque-blob`` (medium; low for an embedded image or font): a high-entropy blob in text
  data that decodes to nothing reviewable.

A data file that the code reads and executes is the code rules' flow; this module flags the
payload itself. Work is capped (decoded sizes, candidates per file) so a 10 MB bundle stays fast.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator

from automatos.extensions.scanning.content import (
    PYTHON_SUFFIXES,
    ContentRule,
    cached,
    is_doc,
    line_of,
    suffix,
)
from automatos.extensions.scanning.payloads import (
    ARCHIVE_KINDS,
    CODE_KINDS,
    EXECUTABLE_KINDS,
    HEX,
    MAX_DECODED,
    MEDIA_KINDS,
    PY_HINT,
    SEPARATORS,
    decode_blob,
    entropy,
    python_payload,
    sniff,
)
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["MEDIA_EXTENSIONS", "RULES", "TEXT_EXTENSIONS", "analyse"]

MEDIA_EXTENSIONS = {
    ".png": "PNG image",
    ".jpg": "JPEG image",
    ".jpeg": "JPEG image",
    ".gif": "GIF image",
    ".webp": "WebP image",
    ".bmp": "BMP image",
    ".ico": "ICO image",
    ".pdf": "PDF document",
    ".woff": "WOFF font",
    ".woff2": "WOFF2 font",
    ".ttf": "TrueType font",
    ".otf": "OpenType font",
    ".mo": "gettext catalog",
}
TEXT_EXTENSIONS = frozenset(
    ".json .yaml .yml .toml .txt .csv .tsv .po .pot .ini .cfg .conf .xml .html .htm .svg .css .js .md .rst "
    ".jinja .j2 .tmpl .prompt .sql .lock .ipynb".split()
)
_SKIP_SUFFIXES = (*PYTHON_SUFFIXES, ".pth")  # the code rules' files

MIN_DECODE = 24
"""Shortest encoded run worth decoding (a one-line payload is ~60 base64 characters)."""
MIN_OPAQUE = 200
"""Shortest undecodable run reported as an opaque blob."""
MAX_CANDIDATES = 64
MAX_FINDINGS_PER_FILE = 5
CACHE_KEY = "content.datafiles"

_BLOB = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,3}(?:(?:\\[nr]|[ \t\r\n]){1,4}[A-Za-z0-9+/_-]{24,}={0,3})*")
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)?[^,\s\"']{0,60};base64,[\"']?$", re.IGNORECASE)
_PY_ANCHOR = re.compile(r"^([ \t]*)(?:import\s+\w|from\s+[\w.]+\s+import\b|exec\s*\(|eval\s*\(|__import__\s*\()", re.M)
_REVERSE_SHELL = re.compile(
    r"/dev/(?:tcp|udp)/|\bbash\s+-i\b|\bnc(?:at)?\s+(?:-\w+\s+)*-[ec]\s|\bmkfifo\b[^\n]{0,100}\bnc\b"
    r"|\bsocat\b[^\n]{0,80}\bexec:",
    re.IGNORECASE,
)
_DOWNLOAD_RUN = re.compile(
    r"(?:curl|wget)\b[^\n|;]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|base64\s+(?:-d|--decode)[^\n]{0,40}\|\s*(?:ba)?sh\b",
    re.IGNORECASE,
)
# ---- the analysis ---------------------------------------------------------------------------


class _FileScan:
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[ScanFinding] = []
        self.opaque: list[tuple[Severity, int, str]] = []

    def add(self, rule: str, severity: Severity, message: str, line: int = 0) -> None:
        if sum(1 for f in self.findings if f.rule == rule) < MAX_FINDINGS_PER_FILE:
            self.findings.append(ScanFinding(rule=rule, severity=severity, message=message, path=self.path, line=line))

    def blobs(self, text: str, *, where: str = "", report_opaque: bool = True) -> None:
        """Every long encoded-looking run of ``text``: decode it, judge what it hides."""
        for count, match in enumerate(_BLOB.finditer(text)):
            if count >= MAX_CANDIDATES:
                break
            raw = match.group(0)
            compact = SEPARATORS.sub("", raw)
            if len(compact) < MIN_DECODE:
                continue
            line = line_of(text, match.start())
            found = decode_blob(compact[: MAX_DECODED * 2])
            label = f"{where}an encoded string of {len(compact)} characters"
            if found and found[0] in ("code", "executable"):
                chain = " → ".join(found[2]) or "as is"
                self.add("data-encoded-payload", Severity.CRITICAL, f"{label} decodes ({chain}) to {found[1]}", line)
            elif found and found[0] == "archive":
                self.add("data-encoded-payload", Severity.HIGH, f"{label} decodes to {found[1]}", line)
            elif not report_opaque or len(compact) < MIN_OPAQUE:
                continue
            elif (found and found[0] == "media") or _DATA_URI.search(text[max(0, match.start() - 80) : match.start()]):
                self.opaque.append((Severity.LOW, line, "embedded image or font data"))
            elif HEX.fullmatch(compact) and len(compact) != len(raw):
                continue  # a list of hashes or ids, one a line: not a wrapped blob
            elif found is None and entropy(compact) >= (3.0 if HEX.fullmatch(compact) else 4.2):
                self.opaque.append((Severity.MEDIUM, line, "high-entropy data that decodes to nothing reviewable"))

    def hidden_python(self, text: str, where: str, base_line: int = 1) -> bool:
        """Dangerous Python in ``text`` (whole, or a block starting at an ``import`` line)."""
        if not any(word in text for word in _PY_WORDS):  # str.find is ~50x faster than the regexes
            return False
        found = python_payload(text, dangerous_only=True)
        if found:
            self.add("data-hidden-code", Severity.CRITICAL, f"{where}{found}", base_line)
            return True
        lines = text.split("\n")
        for count, match in enumerate(_PY_ANCHOR.finditer(text)):
            if count >= 20:
                break
            start = line_of(text, match.start()) - 1
            indent = len(match.group(1))
            end = start + 1
            while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) >= indent):
                end += 1
            block = "\n".join(line[indent:] for line in lines[start:end])
            found = python_payload(block, dangerous_only=True)
            if found:
                self.add("data-hidden-code", Severity.CRITICAL, f"{where}{found}", base_line + start)
                return True
        return False

    def finish(self) -> list[ScanFinding]:
        if self.opaque:
            severity = max((s for s, _, _ in self.opaque), key=lambda s: _SEVERITY_ORDER[s])
            line = next(line for s, line, _ in self.opaque if s == severity)
            what = next(m for s, _, m in self.opaque if s == severity)
            more = f" ({len(self.opaque)} blobs)" if len(self.opaque) > 1 else ""
            self.findings.append(
                ScanFinding(rule="data-opaque-blob", severity=severity, message=what + more, path=self.path, line=line)
            )
        return self.findings


_SEVERITY_ORDER = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


def _scan_text(scan: _FileScan, text: str) -> None:
    path = scan.path
    ext = suffix(path)
    doc = is_doc(path)
    scan.blobs(text)
    if not doc and ext != ".ipynb":
        if ext == ".json" or (not ext and text.lstrip()[:1] in "{["):
            _scan_json(scan, text)
        else:
            scan.hidden_python(text, "")
        match = _REVERSE_SHELL.search(text) if any(w in text for w in _REVERSE_WORDS) else None
        if match:
            scan.add(
                "data-shell-payload",
                Severity.CRITICAL,
                f"reverse shell: {match.group(0)[:60]!r}",
                line_of(text, match.start()),
            )
        else:
            match = _DOWNLOAD_RUN.search(text) if any(w in text for w in ("curl", "wget", "base64")) else None
            if match:
                scan.add(
                    "data-shell-payload",
                    Severity.HIGH,
                    f"downloads and runs: {match.group(0)[:60]!r}",
                    line_of(text, match.start()),
                )


def _scan_json(scan: _FileScan, text: str) -> None:
    try:
        value, end = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        scan.hidden_python(text, "")
        return
    trailer = text.lstrip()[end:]
    if trailer.strip():
        line = line_of(text, len(text) - len(trailer))
        if not scan.hidden_python(trailer.strip("\n"), "after the JSON document: ", line):
            scan.blobs(trailer, where="after the JSON document: ")
    for value_text in _json_strings(value):
        if len(value_text) >= 20 and PY_HINT.search(value_text):
            needle = json.dumps(value_text)[1:30]
            at = text.find(needle)
            scan.hidden_python(value_text, "a JSON string holds ", line_of(text, at) if at >= 0 else 0)


def _json_strings(value: object) -> Iterator[str]:
    stack = [value]
    seen = 0
    while stack and seen < 100_000:
        item = stack.pop()
        seen += 1
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, str) and len(k) >= 20)
        elif isinstance(item, list):
            stack.extend(item)


def _trailer(data: bytes, kind: str) -> tuple[int, bytes]:
    """Bytes after an image's or document's end marker (offset, bytes)."""
    end = len(data)
    if kind == "PNG image":
        at = data.find(b"IEND")
        end = at + 8 if at >= 0 else len(data)
    elif kind == "JPEG image" and not data.endswith(b"\xff\xd9"):
        at = data.rfind(b"\xff\xd9")
        end = at + 2 if at >= 0 else len(data)
    elif kind == "GIF image" and not data.endswith(b";"):
        at = data.rfind(b"\x00;")
        end = at + 2 if at >= 0 else len(data)
    elif kind == "PDF document":
        at = data.rfind(b"%%EOF")
        end = at + 5 if at >= 0 else len(data)
    return end, data[end:]


def _png_text_chunks(data: bytes) -> Iterator[bytes]:
    offset = 8
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"tEXt":
            yield body
        elif kind in (b"zTXt", b"iTXt"):
            key, _, rest = body.partition(b"\x00")
            compressed = rest[:1] == b"\x00" if kind == b"zTXt" else rest[:1] == b"\x01"
            payload = rest[1:] if kind == b"zTXt" else rest[2:].split(b"\x00", 2)[-1]
            if compressed:
                try:
                    payload = zlib.decompressobj().decompress(payload, MAX_DECODED)
                except zlib.error:
                    continue
            yield key + b"\x00" + payload
        elif kind == b"IEND":
            return
        offset += 12 + length


def _scan_binary(scan: _FileScan, data: bytes, kind: str | None) -> None:
    ext = suffix(scan.path)
    expected = MEDIA_EXTENSIONS.get(ext)
    claims = expected or ("text" if ext in TEXT_EXTENSIONS else None)
    if claims and kind in EXECUTABLE_KINDS:
        scan.add("data-disguised-file", Severity.CRITICAL, f"named {ext} but is an {kind}")
        return
    if claims and (kind in ARCHIVE_KINDS or kind in CODE_KINDS) and not (ext == ".svgz" and kind == "gzip data"):
        scan.add("data-disguised-file", Severity.HIGH, f"named {ext} but is {kind}")
        return
    if kind in MEDIA_KINDS:
        end, trailer = _trailer(data, kind or "")
        body = trailer.strip(b"\x00\r\n\t ")
        if len(body) >= 16:
            _scan_trailer(scan, body, kind or "")
        if kind == "PNG image":
            for chunk in _png_text_chunks(data[:end]):
                _scan_strings(scan, chunk, "a PNG text chunk holds ")
    if kind not in ARCHIVE_KINDS:
        # media keep text in their headers (EXIF, comments); the pixels are noise: read only the head
        _scan_strings(scan, data[: MAX_MEDIA_HEAD if kind in MEDIA_KINDS else MAX_DECODED], "")


def _scan_trailer(scan: _FileScan, body: bytes, kind: str) -> None:
    where = f"after the end of the {kind}: "
    inner = sniff(body)
    if inner in EXECUTABLE_KINDS:
        scan.add("data-hidden-code", Severity.CRITICAL, f"{where}an appended {inner}")
    elif inner == "zip archive":
        severity = Severity.CRITICAL if b".py" in body else Severity.HIGH
        scan.add("data-hidden-code", severity, f"{where}an appended zip archive (a polyglot Python can run)")
    else:
        text = body.decode("latin-1")
        found = python_payload(text.strip(), dangerous_only=False)
        if found:
            scan.add("data-hidden-code", Severity.CRITICAL, f"{where}{found} (a polyglot)")
        elif len(body) >= 64:
            before = len(scan.findings)
            scan.blobs(text, where=where, report_opaque=False)
            if len(scan.findings) == before:
                scan.opaque.append((Severity.LOW, 0, f"{len(body)} bytes after the end of the {kind}"))


_PY_WORDS = ("import", "exec", "eval", "compile", "getattr")
"""A dangerous Python payload contains one of these (``python_payload(dangerous_only=True)``)."""
_REVERSE_WORDS = ("/dev/", "bash", "mkfifo", "socat", "nc ", "ncat")
MAX_MEDIA_HEAD = 256 << 10
_STRINGS = re.compile(rb"[\t\n\r\x20-\x7e]{40,}")


def _scan_strings(scan: _FileScan, data: bytes, where: str) -> None:
    """The printable runs of a binary file (like ``strings``): hidden code and encoded payloads."""
    for count, match in enumerate(_STRINGS.finditer(data)):
        if count >= MAX_CANDIDATES:
            break
        text = match.group(0).decode("ascii")
        if not scan.hidden_python(text, where):
            scan.blobs(text, where=where, report_opaque=False)


def analyse(target: ScanTarget) -> list[ScanFinding]:
    findings: list[ScanFinding] = []
    for path, data in target.files.items():
        if path.endswith(_SKIP_SUFFIXES) or not data:
            continue
        scan = _FileScan(path)
        kind = sniff(data)
        strong = kind in EXECUTABLE_KINDS or kind in ARCHIVE_KINDS or kind in CODE_KINDS
        text = None if strong else target.text(path)  # a text file may start like a weak magic ("BM")
        if text is None and data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError:
                text = None
        if text is not None:
            kind = None
            _scan_text(scan, text)
        else:
            _scan_binary(scan, data, kind)
        findings.extend(scan.finish())
    return findings


def _analysis(target: ScanTarget) -> list[ScanFinding]:
    return cached(target, CACHE_KEY, analyse)


RULES: tuple[ContentRule, ...] = (
    ContentRule("data-encoded-payload", Severity.CRITICAL, "encoded data that decodes to code", _analysis),
    ContentRule("data-hidden-code", Severity.CRITICAL, "Python hidden in a data file or image", _analysis),
    ContentRule("data-disguised-file", Severity.CRITICAL, "a file whose extension lies about it", _analysis),
    ContentRule("data-shell-payload", Severity.CRITICAL, "reverse shell or download-and-run in text", _analysis),
    ContentRule("data-opaque-blob", Severity.MEDIUM, "high-entropy data nobody can review", _analysis),
)
