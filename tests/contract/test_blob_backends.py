"""One contract for every blob backend: local files and S3 (moto's server, a fresh bucket per test).

Backends come from the extensions' ``register_blob_backends`` hook implementations through a real
pluggy manager, so the hook path is exercised too.
"""

from __future__ import annotations

import os
import stat
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from automatos.extensions.storage import local as local_module
from automatos.extensions.storage import s3 as s3_module
from automatos.extensions.storage.local import SIGNING_KEY_FILE, LocalBlobBackend
from automatos.extensions.storage.s3 import S3BlobBackend
from automatos.kernel.backends import (
    BackendContext,
    BlobBackend,
    BlobInfo,
    BlobStream,
    ByteRange,
    RangeNotSatisfiableError,
)
from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.settings import Secret, Settings, load_settings
from tests.helpers import backend_factories
from tests.services import unique_name

__all__: list[str] = []

Blob = LocalBlobBackend | S3BlobBackend


FACTORIES = backend_factories("blob", local_module, s3_module)


def _s3_settings(endpoint: str, **extra: object) -> Settings:
    return load_settings(
        {},
        s3_bucket=unique_name("contract-"),
        s3_endpoint_url=endpoint,
        aws_access_key_id=Secret("testing"),
        aws_secret_access_key=Secret("testing"),
        **extra,
    )


def _build(name: str, settings: Settings) -> Blob:
    backend = FACTORIES[name](BackendContext(settings=settings))
    assert isinstance(backend, BlobBackend) and backend.name == name
    assert isinstance(backend, LocalBlobBackend | S3BlobBackend)
    return backend


@pytest.fixture(params=["local", "s3"])
async def blob(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Blob]:
    if request.param == "local":
        backend = _build("local", Settings(data_dir=tmp_path))
    else:
        backend = _build("s3", _s3_settings(request.getfixturevalue("s3_endpoint_url")))
        assert isinstance(backend, S3BlobBackend)
        assert await backend.ensure_bucket() is True
    try:
        yield backend
    finally:
        await backend.close()


def _fetch(url: str, *, data: bytes | None = None, method: str = "GET") -> tuple[bytes, str | None]:
    # An explicit type: urllib's default (form-encoded) makes moto's server parse the body away.
    headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), response.headers.get("Content-Type")


def test_hooks_register_both_backends() -> None:
    assert set(FACTORIES) == {"local", "s3"}


def test_s3_factory_needs_a_bucket() -> None:
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        _build("s3", Settings())


async def test_check_passes(blob: Blob) -> None:
    await blob.check()


async def test_round_trip(blob: Blob) -> None:
    info = await blob.put("docs/readme.txt", b"hello", content_type="text/plain")
    assert info == BlobInfo(key="docs/readme.txt", size=5, content_type="text/plain")
    assert await blob.get("docs/readme.txt") == b"hello"
    assert await blob.exists("docs/readme.txt") is True
    assert await blob.info("docs/readme.txt") == info


async def test_binary_empty_and_unusual_keys(blob: Blob) -> None:
    payload = bytes(range(256)) * 64
    keys = ["bin/all-bytes", "pct/100%.txt", "pct/%25/x", "ünï/cödé ☃.txt", "a.%obj", "dots/..x/.hidden"]
    for key in keys:
        await blob.put(key, payload)
        assert await blob.get(key) == payload, key
    await blob.put("empty", b"")
    assert await blob.get("empty") == b""
    assert await blob.exists("empty") is True
    assert sorted(info.key for info in await blob.list()) == sorted([*keys, "empty"])


async def test_overwrite_replaces_bytes_and_content_type(blob: Blob) -> None:
    await blob.put("k", b"first version", content_type="text/plain")
    info = await blob.put("k", b"second")
    assert info == BlobInfo(key="k", size=6, content_type=None)
    assert await blob.get("k") == b"second"
    assert await blob.info("k") == BlobInfo(key="k", size=6, content_type=None)
    await blob.put("k", b"{}", content_type="application/json")
    assert await blob.info("k") == BlobInfo(key="k", size=2, content_type="application/json")
    assert [info.key for info in await blob.list()] == ["k"]


async def test_missing_keys(blob: Blob) -> None:
    assert await blob.get("nope") is None
    assert await blob.exists("nope") is False
    assert await blob.info("nope") is None
    assert await blob.delete("nope") is False
    assert await blob.list("nope") == []


async def test_delete_reports_and_keeps_neighbours(blob: Blob) -> None:
    for key in ("a", "a/b", "a/c", "a/b/deep"):
        await blob.put(key, key.encode())
    assert await blob.delete("a/b") is True
    assert await blob.delete("a/b") is False
    assert await blob.get("a/b") is None
    assert await blob.exists("a/b") is False
    assert [info.key for info in await blob.list()] == ["a", "a/b/deep", "a/c"]
    assert await blob.delete("a/b/deep") is True
    assert await blob.get("a") == b"a"
    assert await blob.get("a/c") == b"a/c"


async def test_a_key_and_its_children_coexist(blob: Blob) -> None:
    await blob.put("report", b"parent")
    await blob.put("report/page-1", b"child")
    assert await blob.get("report") == b"parent"
    assert await blob.get("report/page-1") == b"child"
    assert await blob.list("report") == [
        BlobInfo(key="report", size=6),
        BlobInfo(key="report/page-1", size=5),
    ]


async def test_list_filters_by_prefix_sorts_and_limits(blob: Blob) -> None:
    keys = ["logs/2024/b.txt", "other/1", "logs.txt", "logs/2023/z.txt", "logsx/1", "logs/2024/a.txt"]
    for i, key in enumerate(keys):
        await blob.put(key, b"x" * i, content_type="text/plain")
    everything = await blob.list()
    assert [info.key for info in everything] == sorted(keys)
    assert {info.key: info.size for info in everything} == {key: i for i, key in enumerate(keys)}
    assert [i.key for i in await blob.list("logs/")] == ["logs/2023/z.txt", "logs/2024/a.txt", "logs/2024/b.txt"]
    assert [i.key for i in await blob.list("logs")] == [
        "logs.txt",
        "logs/2023/z.txt",
        "logs/2024/a.txt",
        "logs/2024/b.txt",
        "logsx/1",
    ]
    assert [i.key for i in await blob.list("logs/2024/a")] == ["logs/2024/a.txt"]
    assert [i.key for i in await blob.list("logs/", limit=2)] == ["logs/2023/z.txt", "logs/2024/a.txt"]
    assert [i.key for i in await blob.list(limit=1)] == ["logs.txt"]
    assert await blob.list(limit=0) == []
    assert await blob.list("logs/2025/") == []


async def test_list_pages_past_one_batch(blob: Blob) -> None:
    if isinstance(blob, S3BlobBackend):
        blob.page_size = 10  # three LIST requests instead of a thousand objects
    for i in range(25):
        await blob.put(f"many/{i:03d}", b"")
    listed = await blob.list("many/", limit=23)
    assert [info.key for info in listed] == [f"many/{i:03d}" for i in range(23)]


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../b",
    "a/./b",
    "a//b",
    "trailing/",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    "x" * 1025,
]


async def test_bad_keys_are_rejected(blob: Blob) -> None:
    for key in BAD_KEYS:
        for method, args in (
            ("put", (key, b"x")),
            ("get", (key,)),
            ("delete", (key,)),
            ("exists", (key,)),
            ("info", (key,)),
            ("presigned_url", (key,)),
        ):
            with pytest.raises(ValidationError) as info:
                await getattr(blob, method)(*args)
            assert info.value.field == "key", (method, key)
    assert await blob.list() == []


async def test_bad_arguments_are_rejected(blob: Blob) -> None:
    cases = [
        ("prefix", lambda: blob.list("../")),
        ("prefix", lambda: blob.list("/abs")),
        ("limit", lambda: blob.list(limit=-1)),
        ("content_type", lambda: blob.put("k", b"x", content_type="text/plain\r\nX-Evil: 1")),
        ("method", lambda: blob.presigned_url("k", method="DELETE")),
        ("expires_in", lambda: blob.presigned_url("k", expires_in=0)),
        ("expires_in", lambda: blob.presigned_url("k", expires_in=8 * 24 * 3600)),
    ]
    for field, call in cases:
        with pytest.raises(ValidationError) as info:
            await call()
        assert info.value.field == field
    assert await blob.exists("k") is False


async def test_presigned_urls_grant_exactly_what_they_say(blob: Blob) -> None:
    key = "reports/q1 100%.csv"
    await blob.put(key, b"a,b\n1,2\n", content_type="text/csv")
    get_url = await blob.presigned_url(key, expires_in=60)
    put_url = await blob.presigned_url("uploads/new.bin", expires_in=60, method="PUT")
    if isinstance(blob, S3BlobBackend):
        body, content_type = _fetch(get_url)
        assert body == b"a,b\n1,2\n" and content_type == "text/csv"
        _fetch(put_url, data=b"uploaded", method="PUT")
        assert await blob.get("uploads/new.bin") == b"uploaded"
        missing = await blob.presigned_url("not/there")
        with pytest.raises(urllib.error.HTTPError) as error:
            _fetch(missing)
        assert error.value.code == 404
        return
    parts = urlsplit(get_url)
    assert not parts.scheme and not parts.netloc and parts.path.startswith("/api/blobs/")
    assert unquote(parts.path.removeprefix("/api/blobs/")) == key
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    expires, signature = query["expires"], query["signature"]
    assert blob.verify_signature(key, expires, signature) is True
    assert blob.verify_signature(key, int(expires), signature, "get") is True
    assert blob.verify_signature(key, expires, signature, "PUT") is False  # a GET grant is not a PUT one
    assert blob.verify_signature("reports/other.csv", expires, signature) is False
    assert blob.verify_signature(key, str(int(expires) + 1), signature) is False  # extended expiry
    tampered = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert blob.verify_signature(key, expires, tampered) is False
    assert blob.verify_signature(key, expires, signature[:-1]) is False
    assert blob.verify_signature(key, expires, "ü" * 64) is False
    assert blob.verify_signature(key, "1_0", signature) is False
    assert blob.verify_signature(key, expires, signature, now=int(expires)) is True
    assert blob.verify_signature(key, expires, signature, now=int(expires) + 1) is False  # expired
    put_query = {name: values[0] for name, values in parse_qs(urlsplit(put_url).query).items()}
    assert blob.verify_signature("uploads/new.bin", put_query["expires"], put_query["signature"], "PUT")
    assert not blob.verify_signature("uploads/new.bin", put_query["expires"], put_query["signature"])


# -- streamed reads -------------------------------------------------------------------------------


@pytest.fixture(params=["native", "fallback"])
def open_read(request: pytest.FixtureRequest, blob: Blob) -> Any:
    """The backend's own ``open_read``, and the ABC's default (built on ``get``) held to the same contract."""
    if request.param == "native":
        return blob.open_read
    return lambda key, **kw: BlobBackend.open_read(blob, key, **kw)


async def _drain(stream: BlobStream) -> list[bytes]:
    async with stream:
        return [chunk async for chunk in stream]


async def test_open_read_streams_in_chunks(blob: Blob, open_read: Any) -> None:
    payload = bytes(range(256)) * 800  # 204,800 bytes: three full chunks of 64 KiB and a tail
    await blob.put("big/object.bin", payload, content_type="application/x-test")
    stream = await open_read("big/object.bin", chunk_size=64 * 1024)
    assert stream is not None
    assert stream.info == BlobInfo(key="big/object.bin", size=len(payload), content_type="application/x-test")
    assert (stream.start, stream.length) == (0, len(payload))
    chunks = await _drain(stream)
    assert b"".join(chunks) == payload
    assert all(0 < len(chunk) <= 64 * 1024 for chunk in chunks) and len(chunks) >= 4
    await blob.put("plain", b"no type")
    plain = await open_read("plain")
    assert plain is not None and plain.info == BlobInfo(key="plain", size=7, content_type=None)
    assert b"".join(await _drain(plain)) == b"no type"
    empty_blob = await blob.put("empty", b"")
    empty = await open_read("empty")
    assert empty is not None and empty.info == empty_blob and empty.length == 0
    assert await _drain(empty) == []


RANGES: list[tuple[ByteRange, int, int]] = [
    ((0, 9), 0, 10),
    ((10, None), 10, 90),
    ((None, 5), 95, 5),
    ((95, 10**9), 95, 5),  # a last position past the end is clipped
    ((None, 10**9), 0, 100),  # a suffix longer than the blob is all of it
    ((99, 99), 99, 1),
]


async def test_open_read_serves_byte_ranges(blob: Blob, open_read: Any) -> None:
    payload = bytes(range(100))
    await blob.put("r", payload, content_type="text/plain")
    for byte_range, start, length in RANGES:
        stream = await open_read("r", byte_range=byte_range, chunk_size=7)
        assert stream is not None, byte_range
        assert (stream.start, stream.length, stream.info.size) == (start, length, 100), byte_range
        assert stream.info.content_type == "text/plain"
        assert b"".join(await _drain(stream)) == payload[start : start + length], byte_range


async def test_open_read_refuses_ranges_outside_the_blob(blob: Blob, open_read: Any) -> None:
    await blob.put("r", b"0123456789")
    await blob.put("empty", b"")
    for key, byte_range, size in [
        ("r", (10, None), 10),
        ("r", (50, 60), 10),
        ("r", (None, 0), 10),
        ("r", (5, 2), 10),
        ("empty", (0, None), 0),
        ("empty", (None, 3), 0),
    ]:
        with pytest.raises(RangeNotSatisfiableError) as info:
            await open_read(key, byte_range=byte_range)
        assert (info.value.size, info.value.status_code, info.value.field) == (size, 416, "Range"), (key, byte_range)
    assert await open_read("missing", byte_range=(0, 1)) is None
    assert await open_read("missing") is None
    with pytest.raises(ValidationError) as bad:
        await open_read("../escape")
    assert bad.value.field == "key"


async def test_a_stream_keeps_what_it_opened(blob: Blob) -> None:
    await blob.put("k", b"a" * 200_000)
    stream = await blob.open_read("k", chunk_size=1000)
    assert stream is not None
    first = await stream.__aiter__().__anext__()
    await blob.put("k", b"b" * 10)  # replaced while a download is under way
    rest = b"".join(await _drain(stream))
    assert first + rest == b"a" * 200_000
    closed = await blob.open_read("k")
    assert closed is not None
    await closed.aclose()  # released without reading a byte
    await closed.aclose()  # idempotent
    assert [chunk async for chunk in closed] == []


# -- local specifics -----------------------------------------------------------------------------


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


async def test_local_signing_key_is_private_and_shared_by_processes(tmp_path: Path) -> None:
    first = _build("local", Settings(data_dir=tmp_path))
    key_file = tmp_path / SIGNING_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    second = _build("local", Settings(data_dir=tmp_path))  # another process on the same data dir
    assert isinstance(first, LocalBlobBackend) and isinstance(second, LocalBlobBackend)
    query = parse_qs(urlsplit(await first.presigned_url("k")).query)
    assert second.verify_signature("k", query["expires"][0], query["signature"][0])
    other = _build("local", Settings(data_dir=tmp_path / "elsewhere"))
    assert isinstance(other, LocalBlobBackend)
    assert not other.verify_signature("k", query["expires"][0], query["signature"][0])
    assert SIGNING_KEY_FILE not in repr(first) and str(key_file.read_bytes()) not in repr(first)


async def test_local_files_stay_under_the_root_and_leave_no_temporaries(tmp_path: Path) -> None:
    backend = _build("local", Settings(data_dir=tmp_path / "data"))
    assert isinstance(backend, LocalBlobBackend)
    for i in range(5):
        await backend.put("x/y/z", f"version {i}".encode(), content_type="text/plain")
    await backend.put("x/plain", b"p")
    assert _files(tmp_path) == [
        "data/.blob-signing-key",
        "data/blobs/x/plain.%obj",
        "data/blobs/x/y/z.%meta",
        "data/blobs/x/y/z.%obj",
    ]
    assert stat.S_IMODE(os.stat(tmp_path / "data/blobs/x/plain.%obj").st_mode) == 0o600
    await backend.delete("x/y/z")
    assert not (tmp_path / "data/blobs/x/y").exists()  # emptied directories are pruned
    assert (tmp_path / "data/blobs/x").is_dir()


# -- S3 specifics --------------------------------------------------------------------------------


async def test_s3_bucket_lifecycle(s3_endpoint_url: str) -> None:
    backend = _build("s3", _s3_settings(s3_endpoint_url))
    assert isinstance(backend, S3BlobBackend)
    try:
        with pytest.raises(Exception):  # noqa: B017 - botocore's ClientError for the missing bucket
            await backend.check()
        assert await backend.ensure_bucket() is True
        assert await backend.ensure_bucket() is False
        await backend.check()
    finally:
        await backend.close()


async def test_s3_presigns_for_the_public_endpoint(s3_endpoint_url: str) -> None:
    settings = _s3_settings(s3_endpoint_url, s3_presign_endpoint_url="https://files.example.test")
    backend = _build("s3", settings)
    try:
        url = await backend.presigned_url("a/b.txt", expires_in=120)
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("https", "files.example.test")
        assert parts.path == f"/{settings.group(s3_module.S3Settings).s3_bucket}/a/b.txt"
        assert "X-Amz-Signature=" in parts.query and "X-Amz-Expires=120" in parts.query
    finally:
        await backend.close()
