"""A plugin bundle read and checked: its files, its manifest, its sha256, its signature, the findings
that come from reading it (binaries, executables, nested archives, the signature).

- :func:`load_bundle` reads a zip (bytes, a path, a binary stream), :func:`load_directory` a source
  tree (the CLI): every limit and name rule of :mod:`automatos.marketplace.archive`, then
  ``plugin.toml`` at the root (:mod:`automatos.marketplace.manifest`), then ``entry`` and the
  ``[provides]`` paths against the files. Refusals are :class:`BundleError` subclasses (422, naming
  the rule, the limit and the value).
- :func:`package_directory` makes the deterministic zip of a source tree: sorted names, timestamps
  1980-01-01, modes 0644 (0755 for files with an exec bit), no extra fields; the same tree gives
  the same bytes, hence the same sha256. A directory's bundle sha256 is the sha256 of that zip.
- :meth:`Bundle.target` is what the scan rules see (:class:`~automatos.kernel.scanning.ScanTarget`).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity
from automatos.marketplace.archive import (
    ArchiveContents,
    ArchiveError,
    ArchiveLimits,
    BundleError,
    open_dir,
    open_zip,
)
from automatos.marketplace.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestError,
    line_of,
    load_toml,
    parse_manifest,
)
from automatos.marketplace.signing import SignatureCheck, check_signature, signature_finding, verify

if TYPE_CHECKING:
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = [
    "Bundle",
    "BundleError",
    "classify",
    "load_bundle",
    "load_directory",
    "package_directory",
    "read_bundle",
    "read_directory",
]

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Bundle:
    """One plugin bundle, read and checked; ``files`` sorted by path, ``SIGNATURE`` included."""

    files: dict[str, bytes]
    manifest: Manifest
    manifest_data: dict[str, Any]
    """``plugin.toml`` as parsed by tomllib (what the author wrote, no defaults filled in)."""
    sha256: str
    """Of the archive bytes as uploaded; for a directory, of :func:`package_directory`'s zip."""
    size: int
    """Bytes of the archive."""
    signature: SignatureCheck
    findings: list[ScanFinding] = field(default_factory=list)
    """What reading found: binary and executable files, nested archives, the signature's state."""
    executable: frozenset[str] = frozenset()
    """Paths that carry an exec bit."""

    @property
    def slug(self) -> str:
        return self.manifest.slug or ""

    @property
    def version(self) -> str:
        return self.manifest.version

    def target(self) -> ScanTarget:
        """What the scan rules see: every file, the raw manifest, the entry module."""
        return ScanTarget(files=dict(self.files), manifest=self.manifest_data, entry=self.manifest.entry)


def load_bundle(
    source: bytes | Path | BinaryIO,
    limits: ArchiveLimits | None = None,
    *,
    settings: MarketplaceSettings | None = None,
) -> Bundle:
    """Read and check a zip bundle.

    ``settings`` gives the limits (unless ``limits`` does) and the signature policy: with them, a
    bundle that must be signed and is not is refused (:class:`~automatos.marketplace.signing.SignatureError`),
    otherwise its signature state is a finding. Without them, the signature is checked against no
    trusted key (a signed bundle is ``unknown-key``) and never refused.
    """
    if limits is None and settings is not None:
        limits = settings.archive_limits()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, Path):
        data = _read_capped(source, limits or ArchiveLimits())
    else:
        data = source.read((limits or ArchiveLimits()).max_compressed + 1)
    contents = open_zip(data, limits)
    return _bundle(contents, hashlib.sha256(data).hexdigest(), len(data), settings)


def load_directory(
    path: Path | str, limits: ArchiveLimits | None = None, *, settings: MarketplaceSettings | None = None
) -> Bundle:
    """Read and check a plugin's source tree as the bundle :func:`package_directory` makes of it."""
    if limits is None and settings is not None:
        limits = settings.archive_limits()
    return load_bundle(package_directory(path, limits), limits, settings=settings)


read_bundle = load_bundle
read_directory = load_directory


def _read_capped(path: Path, limits: ArchiveLimits) -> bytes:
    size = path.stat().st_size
    if size > limits.max_compressed:
        raise ArchiveError(
            f"the bundle is {size:,} bytes; the limit is {limits.max_compressed:,} bytes",
            "archive.compressed-size",
            limits.max_compressed,
            size,
        )
    return path.read_bytes()


def _bundle(contents: ArchiveContents, sha256: str, size: int, settings: MarketplaceSettings | None) -> Bundle:
    files = contents.files
    text = _manifest_text(files)
    manifest = parse_manifest(text)
    _check_paths(manifest, files, text)
    bundle = Bundle(
        files=files,
        manifest=manifest,
        manifest_data=_raw_manifest(text),
        sha256=sha256,
        size=size,
        signature=verify(files, ()),
        findings=classify(files, contents.executable),
        executable=contents.executable,
    )
    finding = check_signature(bundle, settings) if settings is not None else signature_finding(bundle.signature)
    if finding is not None:
        bundle.findings.append(finding)
    return bundle


def _raw_manifest(text: str) -> dict[str, Any]:
    return load_toml(text)


def _manifest_text(files: dict[str, bytes]) -> str:
    data = files.get(MANIFEST_NAME)
    if data is None:
        nested = sorted(p for p in files if p.endswith("/" + MANIFEST_NAME))
        hint = f" (found {nested[0]}: {MANIFEST_NAME} must be at the root, not in a folder)" if nested else ""
        raise BundleError(
            f"the bundle has no {MANIFEST_NAME} at its root{hint}",
            "bundle.manifest",
            f"{MANIFEST_NAME} at the root",
            nested[0] if nested else None,
            MANIFEST_NAME,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError("the file is not UTF-8", line=line, field_path="") from None


def _check_paths(manifest: Manifest, files: dict[str, bytes], text: str) -> None:
    """``entry`` must be a module of the bundle; every ``[provides]`` path a file of it."""
    if not any(candidate in files for candidate in manifest.entry_files()):
        first, second = manifest.entry_files()
        raise ManifestError(
            f"module {manifest.entry} is not in the bundle (expected {first} or {second})",
            line=line_of(text, ["entry"]),
            field_path="entry",
            rule="manifest.entry",
        )
    for kind, index, path in manifest.provides.paths():
        if path not in files:
            raise ManifestError(
                f"{path} is not in the bundle",
                line=line_of(text, ["provides", kind, index]),
                field_path=f"provides.{kind}[{index}]",
                rule="manifest.provides",
            )


def package_directory(path: Path | str, limits: ArchiveLimits | None = None) -> bytes:
    """The deterministic zip of a plugin's source tree (same tree, same bytes)."""
    contents = open_dir(path, limits)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in contents.files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3
            info.external_attr = (0o100755 if name in contents.executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x01\x00", "ICO"),
)
_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF executable or shared object"),
    (b"MZ", "a Windows (PE) executable or DLL"),
    (b"\xfe\xed\xfa\xce", "a Mach-O binary"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O binary"),
    (b"\xce\xfa\xed\xfe", "a Mach-O binary"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O binary"),
    (b"\xca\xfe\xba\xbe", "a universal Mach-O binary or Java class"),
    (b"\x00asm", "a WebAssembly module"),
)
_EXECUTABLE_SUFFIXES = (".so", ".dll", ".dylib", ".pyd", ".exe", ".pyc", ".pyo", ".class", ".wasm")
_ARCHIVE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_ARCHIVE_SUFFIXES = (
    ".zip", ".whl", ".egg", ".jar", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".apk",
)  # fmt: skip


EXE = "executable-file"
NESTED = "nested-archive"
UNOPENED = "it is not opened or reviewed"


def _finding(rule: str, severity: Severity, message: str, path: str) -> ScanFinding:
    return ScanFinding(rule=rule, severity=severity, message=message, path=path)


def _is_python_bytecode(data: bytes) -> bool:
    return len(data) >= 16 and data[2:4] == b"\r\n"  # two bytes of version, then \r\n, as every .pyc begins


def classify(files: dict[str, bytes], executable: Iterable[str] = ()) -> list[ScanFinding]:
    """Findings for the files that are not reviewable text: binaries, executables, nested archives."""
    marked = set(executable)
    findings: list[ScanFinding] = []
    for path, data in files.items():
        found = _classify_one(path, data, path in marked)
        if found is not None:
            findings.append(found)
    return findings


def _classify_one(path: str, data: bytes, exec_bit: bool) -> ScanFinding | None:
    lower = path.lower()
    head = data[:512]
    for magic, what in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return _finding(EXE, Severity.CRITICAL, f"{what}: native code cannot be reviewed", path)
    if lower.endswith(_EXECUTABLE_SUFFIXES) or (lower.endswith((".pyc", ".pyo")) and _is_python_bytecode(data)):
        return _finding(
            "executable-file", Severity.CRITICAL, "a compiled or native file: its code cannot be reviewed", path
        )
    if exec_bit and head.startswith(b"#!"):
        interpreter = head[2:].split(b"\n", 1)[0].strip().decode("utf-8", "replace")[:80]
        return _finding(
            "executable-file", Severity.CRITICAL, f"an executable script (#!{interpreter}) with its exec bit set", path
        )
    for magic, kind in _ARCHIVE_MAGIC:
        if head.startswith(magic):
            return _finding(
                "nested-archive",
                Severity.CRITICAL,
                f"a {kind} archive inside the bundle: it is not opened or reviewed",
                path,
            )
    if lower.endswith(_ARCHIVE_SUFFIXES) or (len(data) > 262 and data[257:262] == b"ustar"):
        return _finding(
            "nested-archive", Severity.CRITICAL, "an archive inside the bundle: it is not opened or reviewed", path
        )
    for magic, kind in _IMAGES:
        if head.startswith(magic):
            return _finding("binary-file", Severity.INFO, f"a {kind} image", path)
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _finding("binary-file", Severity.INFO, "a WebP image", path)
    if b"\x00" in data:
        return _finding("binary-file", Severity.MEDIUM, "a binary file (NUL bytes): it cannot be read as text", path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _finding("binary-file", Severity.MEDIUM, "a binary file (not UTF-8): it cannot be read as text", path)
    return None
