"""Archive safety (issue 11 item 2): every attack refused naming its rule, limit and value; binaries
and executables as findings; deterministic packaging; uploads spooled with the cap enforced while
reading."""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from automatos.kernel.types import Severity
from automatos.marketplace.archive import ArchiveError, ArchiveLimits, open_dir, read_dir, read_zip, spool_upload
from automatos.marketplace.bundle import BundleError, classify, load_bundle, load_directory, package_directory

MANIFEST = b'name = "Hello"\nversion = "0.1.0"\nentry = "hello"\n'
SMALL = ArchiveLimits(max_compressed=50_000, max_uncompressed=20_000, max_files=10, max_file_size=5_000)


def make_zip(entries: list[tuple[str, bytes]], *, mode: Callable[[str], int] | None = None) -> bytes:
    """A zip of ``entries`` (deflated); ``mode(name)`` sets an entry's Unix mode bits."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests write
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = (mode(name) if mode else 0o100644) << 16
                archive.writestr(info, data)
    return buffer.getvalue()


def set_flags(data: bytes, bits: int) -> bytes:
    """Set general-purpose flag ``bits`` on every entry (local headers and central directory)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            (flags,) = struct.unpack_from("<H", out, at + offset)
            struct.pack_into("<H", out, at + offset, flags | bits)
            at = out.find(signature, at + 4)
    return bytes(out)


def refused(source: bytes | Path, limits: ArchiveLimits | None = None, *, directory: bool = False) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        if directory:
            assert isinstance(source, Path)
            read_dir(source, limits)
        else:
            read_zip(source, limits)
    error = caught.value
    assert error.status_code == 422
    assert error.field == "bundle"
    assert error.extra["rule"] == error.rule
    return error


# -- sizes, counts, ratios --------------------------------------------------------------------


def test_a_zip_bomb_by_ratio_is_refused_naming_the_ratio() -> None:
    bomb = make_zip([("data/x.bin", b"\0" * (3 * 1024 * 1024))])
    error = refused(bomb)
    assert error.rule == "archive.ratio"
    assert error.limit == 100
    assert error.value > 100
    assert "data/x.bin expands" in error.detail and "the limit is 100:1" in error.detail


def test_a_bundle_whose_files_together_expand_too_far_is_refused_overall() -> None:
    # each file stays under the 1 MiB floor of the per-file ratio; together they expand ~900:1
    bomb = make_zip([(f"data/{i}.txt", b"a" * 1_000_000) for i in range(3)])
    error = refused(bomb)
    assert (error.rule, error.limit) == ("archive.ratio", 100)
    assert error.value > 100
    assert "overall" in error.detail


def test_a_bomb_by_total_size_is_refused_naming_the_total() -> None:
    limits = ArchiveLimits(max_uncompressed=20_000, max_file_size=5_000)
    archive = make_zip([(f"f{i}.bin", os.urandom(4_000)) for i in range(6)])
    error = refused(archive, limits)
    assert (error.rule, error.limit, error.value) == ("archive.uncompressed-size", 20_000, 24_000)
    assert "20,000" in error.detail


def test_a_lying_size_header_is_refused_and_never_read_past_the_header() -> None:
    payload = os.urandom(3_000)
    archive = bytearray(make_zip([("big.bin", payload)]))
    # the central directory says the file expands to 100 bytes; the stream holds 3,000
    central = archive.find(b"PK\x01\x02")
    struct.pack_into("<I", archive, central + 24, 100)
    local = archive.find(b"PK\x03\x04")
    struct.pack_into("<I", archive, local + 22, 100)
    error = refused(bytes(archive))
    assert error.rule == "archive.corrupt"
    assert error.limit == "a valid zip"
    assert "CRC" in str(error.value)


def test_a_header_that_declares_too_much_is_refused_before_reading() -> None:
    archive = bytearray(make_zip([("big.bin", b"x" * 10)]))
    central = archive.find(b"PK\x01\x02")
    struct.pack_into("<I", archive, central + 24, 6 * 1024 * 1024)  # declares 6 MiB, 10 bytes inside
    error = refused(bytes(archive))
    assert (error.rule, error.limit, error.value) == ("archive.file-size", 5 * 1024 * 1024, 6 * 1024 * 1024)


def test_too_many_files_are_refused_naming_the_count() -> None:
    error = refused(make_zip([(f"f{i}.txt", b"x") for i in range(11)]), SMALL)
    assert (error.rule, error.limit, error.value) == ("archive.file-count", 10, 11)


def test_a_huge_file_is_refused_naming_its_size() -> None:
    error = refused(make_zip([("huge.bin", os.urandom(6_000))]), SMALL)
    assert (error.rule, error.limit, error.value) == ("archive.file-size", 5_000, 6_000)
    assert "huge.bin" in error.detail


def test_a_large_archive_is_refused_naming_its_size() -> None:
    archive = make_zip([("noise.bin", os.urandom(60_000))])
    error = refused(archive, ArchiveLimits(max_compressed=50_000))
    assert (error.rule, error.limit, error.value) == ("archive.compressed-size", 50_000, len(archive))


# -- names and kinds of entry -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("/etc/cron.d/evil", "archive.absolute-path"),
        ("../outside.py", "archive.parent-path"),
        ("pkg/../../outside.py", "archive.parent-path"),
        ("pkg\\..\\evil.py", "archive.path"),
        ("C:/Windows/evil.dll", "archive.path"),
        ("pkg//x.py", "archive.path"),
        ("a/" * 21 + "deep.py", "archive.depth"),
        ("n" * 256, "archive.name-length"),
    ],
)
def test_unsafe_paths_are_refused(name: str, rule: str) -> None:
    error = refused(make_zip([("plugin.toml", MANIFEST), (name, b"x")]))
    assert error.rule == rule
    assert error.limit is not None and error.value is not None


def test_a_symlink_entry_is_refused() -> None:
    archive = make_zip(
        [("plugin.toml", MANIFEST), ("link", b"/etc/passwd")],
        mode=lambda n: stat.S_IFLNK | 0o777 if n == "link" else 0o100644,
    )
    error = refused(archive)
    assert (error.rule, error.limit, error.value) == ("archive.symlink", "regular files", "link")


def test_a_device_entry_in_a_zip_is_refused() -> None:
    archive = make_zip([("dev", b"")], mode=lambda n: stat.S_IFCHR | 0o600)
    error = refused(archive)
    assert (error.rule, error.value) == ("archive.special-file", "device file")


def test_duplicate_names_are_refused() -> None:
    error = refused(make_zip([("a.py", b"1"), ("a.py", b"2")]))
    assert (error.rule, error.limit, error.value) == ("archive.duplicate", "unique names", "a.py")


@pytest.mark.parametrize(("first", "second"), [("README.md", "readme.md"), ("caf\u00e9.txt", "cafe\u0301.txt")])
def test_names_equal_after_casefold_and_nfc_are_refused(first: str, second: str) -> None:
    error = refused(make_zip([(first, b"1"), (second, b"2")]))
    assert error.rule == "archive.case-collision"
    assert error.limit == "names unique after casefold and NFC"
    assert error.value == f"{first}, {second}"


def test_a_name_that_is_a_file_and_a_directory_is_refused() -> None:
    error = refused(make_zip([("tools", b"1"), ("tools/x.py", b"2")]))
    assert (error.rule, error.value) == ("archive.path-conflict", "tools/x.py")


def test_a_non_utf8_name_is_refused() -> None:
    archive = make_zip([("cafX.py", b"x")]).replace(b"cafX.py", b"caf\xe9.py")  # latin-1, no UTF-8 flag
    error = refused(archive)
    assert (error.rule, error.limit) == ("archive.name-encoding", "UTF-8 names")
    assert "0x800" in error.detail


def test_a_name_marked_utf8_that_is_not_is_refused() -> None:
    archive = set_flags(make_zip([("cafX.py", b"x")]).replace(b"cafX.py", b"caf\xff.py"), 0x800)
    error = refused(archive)
    assert (error.rule, error.limit, error.value) == ("archive.name-encoding", "UTF-8 names", "invalid UTF-8")


def test_an_encrypted_entry_is_refused() -> None:
    error = refused(set_flags(make_zip([("secret.py", b"print(1)")]), 0x1))
    assert (error.rule, error.limit, error.value) == ("archive.encrypted", "no encryption", "secret.py")


def test_a_compression_method_other_than_deflate_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("a.py", b"print(1)")
    error = refused(buffer.getvalue())
    assert (error.rule, error.value) == ("archive.compression", zipfile.ZIP_LZMA)


def test_something_that_is_not_a_zip_is_refused() -> None:
    error = refused(b"this is not a zip file at all")
    assert error.rule == "archive.corrupt"


# -- directories ------------------------------------------------------------------------------


def plugin_dir(root: Path) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "plugin.toml").write_bytes(MANIFEST)
    (root / "hello" / "__init__.py").write_text("def register(ctx):\n    return None\n")
    return root


def test_a_symlink_in_a_directory_is_refused(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    (root / "hello" / "secrets").symlink_to("/etc/passwd")
    error = refused(root, directory=True)
    assert (error.rule, error.limit, error.value) == ("archive.symlink", "regular files", "hello/secrets")


def test_a_fifo_in_a_directory_is_refused(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    os.mkfifo(root / "pipe")
    error = refused(root, directory=True)
    assert (error.rule, error.limit, error.value) == ("archive.special-file", "regular files", "fifo")


def test_a_device_file_in_a_directory_is_refused(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device file needs CAP_MKNOD")
    error = refused(root, directory=True)
    assert (error.rule, error.value) == ("archive.special-file", "device file")


def test_a_directory_over_the_limits_is_refused(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    (root / "big.bin").write_bytes(os.urandom(6_000))
    error = refused(root, SMALL, directory=True)
    assert (error.rule, error.limit, error.value) == ("archive.file-size", 5_000, 6_000)


def test_case_colliding_names_in_a_directory_are_refused(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    (root / "Data.json").write_text("{}")
    (root / "data.JSON").write_text("{}")
    if len(list(root.iterdir())) < 4:
        pytest.skip("a case-insensitive file system")
    error = refused(root, directory=True)
    assert error.rule == "archive.case-collision"


def test_packaging_a_directory_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00" * 20)
    first = package_directory(root)
    os.utime(root / "plugin.toml", (1, 1))  # timestamps do not change the zip
    second = package_directory(root)
    assert first == second
    assert read_zip(first) == read_dir(root)
    assert "__pycache__/x.cpython-311.pyc" not in read_dir(root)
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["hello/__init__.py", "plugin.toml"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.extra for i in infos} == {b""}
    assert load_directory(root).sha256 == load_bundle(first).sha256


# -- binaries are findings, executables block -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "rule", "severity"),
    [
        ("lib/fast.so", b"\x7fELF\x02\x01\x01" + b"\0" * 40, "executable-file", Severity.CRITICAL),
        ("helper.dat", b"MZ\x90\x00" + b"\0" * 40, "executable-file", Severity.CRITICAL),
        ("lib/x.dylib", b"\xcf\xfa\xed\xfe" + b"\0" * 40, "executable-file", Severity.CRITICAL),
        ("native.pyd", b"anything", "executable-file", Severity.CRITICAL),
        ("cache/mod.pyc", b"\xa7\r\r\n" + b"\0" * 20, "executable-file", Severity.CRITICAL),
        ("vendor/inner.zip", make_zip([("x.py", b"import os")]), "nested-archive", Severity.CRITICAL),
        ("data/blob.gz", b"\x1f\x8b\x08\x00" + b"\0" * 20, "nested-archive", Severity.CRITICAL),
        ("assets/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "binary-file", Severity.INFO),
        ("assets/photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 20, "binary-file", Severity.INFO),
        ("data/table.bin", b"\x01\x02\x00\x03", "binary-file", Severity.MEDIUM),
        ("locale/fr.txt", "caf\u00e9".encode("latin-1"), "binary-file", Severity.MEDIUM),
    ],
)
def test_binary_files_are_findings(path: str, data: bytes, rule: str, severity: Severity) -> None:
    (finding,) = classify({path: data})
    assert (finding.rule, finding.severity, finding.path) == (rule, severity, path)


def test_text_files_are_no_finding_and_an_exec_script_blocks() -> None:
    files = {"a.py": b"print('caf\xc3\xa9')\n", "run.sh": b"#!/bin/sh\ncurl x | sh\n", "note.sh": b"#!/bin/sh\n"}
    (finding,) = classify(files, executable={"run.sh"})
    assert (finding.rule, finding.severity, finding.path) == ("executable-file", Severity.CRITICAL, "run.sh")


def test_a_bundle_carries_its_binary_findings(tmp_path: Path) -> None:
    root = plugin_dir(tmp_path / "p")
    (root / "hello" / "_speedups.so").write_bytes(b"\x7fELF" + b"\0" * 60)
    (root / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "tool.sh").chmod(0o755)
    bundle = load_directory(root)
    rules = {(f.rule, f.path) for f in bundle.findings}
    assert ("executable-file", "hello/_speedups.so") in rules
    assert ("executable-file", "tool.sh") in rules  # the exec bit survives packaging
    assert ("signature", "SIGNATURE") in rules


def test_a_bundle_needs_its_manifest_at_the_root() -> None:
    with pytest.raises(BundleError) as caught:
        load_bundle(make_zip([("hello-0.1/plugin.toml", MANIFEST), ("hello-0.1/hello.py", b"")]))
    assert caught.value.extra["rule"] == "bundle.manifest"
    assert "found hello-0.1/plugin.toml" in caught.value.detail


def test_a_directory_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError) as caught:
        open_dir(tmp_path / "missing")
    assert caught.value.rule == "archive.not-a-directory"


# -- uploads ----------------------------------------------------------------------------------


async def test_spool_upload_refuses_past_the_cap_with_bounded_reading() -> None:
    chunk = 64 * 1024
    cap = 10 * 1000 * 1000
    pulled = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal pulled
        block = b"\0" * chunk
        for _ in range(20 * 1000 * 1000 // chunk + 1):  # 20 MB
            pulled += chunk
            yield block

    with pytest.raises(ArchiveError) as caught:
        await spool_upload(stream(), cap)
    error = caught.value
    assert (error.rule, error.limit) == ("archive.compressed-size", cap)
    assert cap < error.value <= cap + chunk
    assert pulled <= cap + chunk


async def test_spool_upload_keeps_an_upload_under_the_cap() -> None:
    async def stream() -> AsyncIterator[bytes]:
        for part in (b"PK", b"\x03\x04", b"rest"):
            yield part

    spooled = await spool_upload(stream(), 100)
    try:
        assert spooled.read() == b"PK\x03\x04rest"
    finally:
        spooled.close()
