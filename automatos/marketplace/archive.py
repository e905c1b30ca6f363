"""Reading a plugin bundle safely: a zip (an upload) or a directory (the CLI), within limits.

Nothing is extracted to disk: every file is read into memory entry by entry, with a running count,
so an archive whose headers lie about sizes cannot exceed :class:`ArchiveLimits`. Each refusal is an
:class:`ArchiveError` naming its rule (``archive.ratio``, ``archive.symlink`` …), the limit and the
value found. Refused outright: sizes, counts and ratios past the limits; absolute paths, ``..``,
backslashes and drive letters; symlinks, devices, fifos and sockets; duplicate names and names
equal once case-folded and NFC-normalised; names that are not UTF-8; encrypted entries; compression
other than stored or deflated.

What is read but looks wrong is a finding instead (:func:`automatos.marketplace.bundle.classify`), so
the admin sees it and the score carries it: a binary file (``binary-file``: medium, a recognised
image: info), an executable or shared object (``executable-file``: critical — it blocks), an archive
inside the bundle (``nested-archive``: critical — its content cannot be reviewed, so it blocks; it
is never opened).

:func:`spool_upload` spools a streamed upload to a temporary file and stops reading as soon as the
compressed-size cap is passed, so an upload never holds more than one chunk past the cap.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from automatos.kernel.errors import ValidationError

__all__ = [
    "IGNORED_NAMES",
    "ArchiveContents",
    "ArchiveError",
    "ArchiveLimits",
    "BundleError",
    "open_dir",
    "open_zip",
    "read_dir",
    "read_zip",
    "spool_upload",
]

MiB = 1024 * 1024
CHUNK = 64 * 1024
RATIO_FLOOR = MiB
"""Compression ratios are checked for files (and archives) that expand past 1 MiB: below it the
per-file and total caps already bound what a file can cost, and small repetitive text compresses
well for honest reasons."""
IGNORED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
"""Directory entries a plugin's source tree may hold that never go into its bundle (``read_dir`` and
``package_directory`` skip them alike). A zip is read whole: nothing in an upload is skipped."""


class BundleError(ValidationError):
    """A bundle refused: ``rule`` names what was broken, ``limit`` and ``value`` what allowed and found."""

    def __init__(
        self,
        detail: str,
        rule: str,
        limit: Any = None,
        value: Any = None,
        path: str | None = None,
        *,
        field: str = "bundle",
    ) -> None:
        extra = {"rule": rule, "limit": limit, "value": value}
        if path is not None:
            extra["path"] = path
        super().__init__(detail, field=field, extra=extra)
        self.rule = rule
        self.limit = limit
        self.value = value
        self.path = path


class ArchiveError(BundleError):
    """The archive or directory itself is refused (size, count, ratio, a name, a kind of entry)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What a bundle may hold; the sizes come from :class:`~automatos.marketplace.settings.MarketplaceSettings`."""

    max_compressed: int = 10 * MiB
    max_uncompressed: int = 50 * MiB
    max_files: int = 2000
    max_file_size: int = 5 * MiB
    max_ratio: int = 100
    max_name_bytes: int = 255
    max_depth: int = 20


@dataclass
class ArchiveContents:
    """The files of an archive or directory (path -> bytes, sorted) and which carry an exec bit."""

    files: dict[str, bytes]
    executable: frozenset[str] = field(default_factory=frozenset)


def _n(value: int) -> str:
    return f"{value:,}"


_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str, limits: ArchiveLimits) -> str:
    """Refuse an unsafe path; return it without a trailing ``/``."""
    shown = name.encode("unicode_escape").decode("ascii")[:200]
    if "\\" in name or _DRIVE.match(name):
        raise ArchiveError(
            f"path {shown} uses a backslash or a drive letter; bundle paths are POSIX",
            "archive.path",
            "relative POSIX path",
            shown,
            shown,
        )
    if name.startswith("/"):
        raise ArchiveError(
            f"path {shown} is absolute; bundle paths are relative",
            "archive.absolute-path",
            "relative path",
            shown,
            shown,
        )
    if _CONTROL.search(name):
        raise ArchiveError(f"path {shown} holds a control character", "archive.path", "printable path", shown, shown)
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise ArchiveError(
            f"path {shown} climbs out of the bundle (..)", "archive.parent-path", "no .. component", shown, shown
        )
    if any(p in ("", ".") for p in parts):
        raise ArchiveError(
            f"path {shown} has an empty or '.' component", "archive.path", "no empty or . component", shown, shown
        )
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > limits.max_name_bytes:
        raise ArchiveError(
            f"path {shown[:60]}… is {_n(size)} bytes long; the limit is {_n(limits.max_name_bytes)}",
            "archive.name-length",
            limits.max_name_bytes,
            size,
            shown,
        )
    if len(parts) > limits.max_depth:
        raise ArchiveError(
            f"path {shown} is {len(parts)} levels deep; the limit is {limits.max_depth}",
            "archive.depth",
            limits.max_depth,
            len(parts),
            shown,
        )
    return name.rstrip("/")


class _Names:
    """Duplicate, case-colliding and file-versus-directory names across one archive."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.folded: dict[str, str] = {}
        self.dirs: set[str] = set()

    def add(self, path: str) -> None:
        if path in self.exact:
            raise ArchiveError(f"path {path} appears twice", "archive.duplicate", "unique names", path, path)
        key = unicodedata.normalize("NFC", path).casefold()
        other = self.folded.get(key)
        if other is not None:
            raise ArchiveError(
                f"paths {other} and {path} differ only in case or Unicode form",
                "archive.case-collision",
                "names unique after casefold and NFC",
                f"{other}, {path}",
                path,
            )
        parents = path.split("/")[:-1]
        prefixes = {"/".join(parents[: i + 1]) for i in range(len(parents))}
        clash = (prefixes & self.exact) or ({path} & self.dirs)
        if clash:
            raise ArchiveError(
                f"path {path} is both a file and a directory",
                "archive.path-conflict",
                "a name is a file or a directory",
                path,
                path,
            )
        self.exact.add(path)
        self.folded[key] = path
        self.dirs |= prefixes


class _Budget:
    """The running totals of one read: files, bytes expanded."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.files = 0
        self.total = 0

    def count_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ArchiveError(
                f"the bundle holds more than {_n(self.limits.max_files)} files; the limit is "
                f"{_n(self.limits.max_files)}",
                "archive.file-count",
                self.limits.max_files,
                self.files,
            )

    def add(self, path: str, size: int, amount: int) -> None:
        """``size`` bytes of ``path`` read so far, ``amount`` of them just now."""
        self.total += amount
        if size > self.limits.max_file_size:
            raise ArchiveError(
                f"file {path} is larger than {_n(self.limits.max_file_size)} bytes (read {_n(size)}); "
                f"the limit is {_n(self.limits.max_file_size)} bytes",
                "archive.file-size",
                self.limits.max_file_size,
                size,
                path,
            )
        if self.total > self.limits.max_uncompressed:
            raise ArchiveError(
                f"the bundle expands past {_n(self.limits.max_uncompressed)} bytes (read {_n(self.total)}); "
                f"the limit is {_n(self.limits.max_uncompressed)} bytes",
                "archive.uncompressed-size",
                self.limits.max_uncompressed,
                self.total,
                path,
            )


def _ratio(path: str, expanded: int, compressed: int, limits: ArchiveLimits) -> None:
    if expanded <= RATIO_FLOOR:
        return
    ratio = expanded / max(compressed, 1)
    if ratio > limits.max_ratio:
        raise ArchiveError(
            f"file {path} expands {ratio:,.0f}:1; the limit is {limits.max_ratio}:1",
            "archive.ratio",
            limits.max_ratio,
            round(ratio),
            path,
        )


def _size_of(source: bytes | Path | BinaryIO) -> int:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, Path):
        return source.stat().st_size
    position = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(position)
    return end - position


def open_zip(source: bytes | Path | BinaryIO, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """Read every file of a zip within ``limits``; refuse it with an :class:`ArchiveError` otherwise."""
    limits = limits or ArchiveLimits()
    compressed = _size_of(source)
    if compressed > limits.max_compressed:
        raise ArchiveError(
            f"the bundle is {_n(compressed)} bytes; the limit is {_n(limits.max_compressed)} bytes",
            "archive.compressed-size",
            limits.max_compressed,
            compressed,
        )
    stream: Any = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        with zipfile.ZipFile(stream) as archive:
            return _read_entries(archive, compressed, limits)
    except UnicodeDecodeError:
        raise ArchiveError(
            "a file name is marked UTF-8 but is not valid UTF-8",
            "archive.name-encoding",
            "UTF-8 names",
            "invalid UTF-8",
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise ArchiveError(
            f"the bundle is not a readable zip: {exc}", "archive.corrupt", "a valid zip", str(exc)
        ) from None


def read_zip(source: bytes | Path | BinaryIO, limits: ArchiveLimits | None = None) -> dict[str, bytes]:
    """The files of a zip (path -> bytes, sorted by path); see :func:`open_zip`."""
    return open_zip(source, limits).files


def _read_entries(archive: zipfile.ZipFile, compressed: int, limits: ArchiveLimits) -> ArchiveContents:
    budget = _Budget(limits)
    names = _Names()
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise ArchiveError(
            f"the bundle holds {_n(len(infos))} entries; the limit is {_n(limits.max_files)} files",
            "archive.file-count",
            limits.max_files,
            len(infos),
        )
    declared = 0
    for info in infos:
        _check_entry(info, limits)
        declared += info.file_size
    if declared > limits.max_uncompressed:
        raise ArchiveError(
            f"the bundle declares {_n(declared)} bytes expanded; the limit is {_n(limits.max_uncompressed)} bytes",
            "archive.uncompressed-size",
            limits.max_uncompressed,
            declared,
        )
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for info in infos:
        path = check_name(info.filename, limits)
        if info.is_dir():
            continue
        names.add(path)
        budget.count_file()
        chunks: list[bytes] = []
        size = 0
        with archive.open(info) as entry:
            while chunk := entry.read(CHUNK):
                size += len(chunk)
                budget.add(path, size, len(chunk))
                chunks.append(chunk)
        _ratio(path, size, info.compress_size, limits)
        files[path] = b"".join(chunks)
        mode = info.external_attr >> 16
        if mode & 0o111 and not stat.S_ISDIR(mode):
            executable.add(path)
    if budget.total > RATIO_FLOOR and budget.total / max(compressed, 1) > limits.max_ratio:
        ratio = budget.total / max(compressed, 1)
        raise ArchiveError(
            f"the bundle expands {ratio:,.0f}:1 overall; the limit is {limits.max_ratio}:1",
            "archive.ratio",
            limits.max_ratio,
            round(ratio),
        )
    return ArchiveContents(dict(sorted(files.items())), frozenset(executable))


def _check_entry(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    """What the central directory alone shows: names, kinds of entry, encryption, declared sizes."""
    name = info.filename
    if not info.flag_bits & 0x800 and any(ord(c) > 127 for c in name):
        shown = name.encode("unicode_escape").decode("ascii")[:200]
        raise ArchiveError(
            f"file name {shown} is not marked UTF-8 (zip flag 0x800) and is not ASCII",
            "archive.name-encoding",
            "UTF-8 names",
            shown,
            shown,
        )
    path = check_name(name, limits)
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ArchiveError(f"entry {path} is a symbolic link", "archive.symlink", "regular files", path, path)
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # no type bits: a plain file
        kind = _kind(mode)
        raise ArchiveError(f"entry {path} is a {kind}", "archive.special-file", "regular files", kind, path)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"entry {path} is encrypted", "archive.encrypted", "no encryption", path, path)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(
            f"entry {path} uses compression method {info.compress_type}; only stored (0) and deflated (8) are read",
            "archive.compression",
            "stored or deflated",
            info.compress_type,
            path,
        )
    if info.file_size > limits.max_file_size:
        raise ArchiveError(
            f"file {path} declares {_n(info.file_size)} bytes; the limit is {_n(limits.max_file_size)} bytes",
            "archive.file-size",
            limits.max_file_size,
            info.file_size,
            path,
        )
    _ratio(path, info.file_size, info.compress_size, limits)


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return f"special file (mode {oct(mode)})"


def open_dir(path: Path | str, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """Read every file under ``path`` within ``limits`` (symlinks and special files refused, the
    :data:`IGNORED_NAMES` directories skipped)."""
    limits = limits or ArchiveLimits()
    root = Path(path)
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a directory", "archive.not-a-directory", "a directory", str(root))
    budget = _Budget(limits)
    names = _Names()
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for relative, full in _walk(root, ""):
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:
            shown = relative.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise ArchiveError(
                f"file name {shown} is not UTF-8", "archive.name-encoding", "UTF-8 names", shown
            ) from None
        check_name(relative, limits)
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            raise ArchiveError(f"{relative} is a symbolic link", "archive.symlink", "regular files", relative, relative)
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            kind = _kind(info.st_mode)
            raise ArchiveError(f"{relative} is a {kind}", "archive.special-file", "regular files", kind, relative)
        names.add(relative)
        budget.count_file()
        budget.add(relative, info.st_size, 0)
        data = _read_file(full, relative, budget)
        files[relative] = data
        if info.st_mode & 0o111:
            executable.add(relative)
    return ArchiveContents(dict(sorted(files.items())), frozenset(executable))


def read_dir(path: Path | str, limits: ArchiveLimits | None = None) -> dict[str, bytes]:
    """The files under a directory (path -> bytes, sorted by path); see :func:`open_dir`."""
    return open_dir(path, limits).files


def _walk(root: Path, prefix: str) -> Iterable[tuple[str, str]]:
    """(relative path, full path) of every entry, directories before their content, sorted."""
    with os.scandir(root) as entries:
        found = sorted(entries, key=lambda e: e.name)
    for entry in found:
        if entry.name in IGNORED_NAMES and entry.is_dir(follow_symlinks=False):
            continue
        relative = f"{prefix}{entry.name}"
        yield relative, entry.path
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), relative + "/")


def _read_file(full: str, relative: str, budget: _Budget) -> bytes:
    chunks: list[bytes] = []
    size = 0
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(full, flags)  # a file swapped for a symlink after lstat is not followed
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            budget.add(relative, size, len(chunk))
            chunks.append(chunk)
    return b"".join(chunks)


async def spool_upload(
    chunks: AsyncIterable[bytes], limit: int, *, in_memory: int = MiB
) -> tempfile.SpooledTemporaryFile[bytes]:
    """Spool a streamed upload (at most ``in_memory`` bytes kept in memory, the rest on disk) and
    refuse it as soon as it passes ``limit`` bytes: no more than one chunk past the cap is read.

    Returns the spooled file positioned at its start; the caller closes it.
    """
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=in_memory)
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise ArchiveError(
                    f"the upload is larger than {_n(limit)} bytes (read {_n(total)}); the limit is {_n(limit)} bytes",
                    "archive.compressed-size",
                    limit,
                    total,
                )
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool
