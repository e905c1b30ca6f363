"""Local-directory blob storage: the embedded default, no services needed.

Decisions:
- Blob keys follow one set of rules on every backend (:func:`validate_key`): no absolute paths,
  no ``.``/``..``/empty segments, no backslashes or control characters, at most 1024 UTF-8 bytes.
  A key valid here is valid on S3 and the reverse, so switching backends never strands data.
- Layout under ``root``: every key segment but the last is a directory; the object itself is the
  file ``<last segment>.%obj`` and its content type the sidecar ``<last segment>.%meta`` (JSON).
  ``%`` in a segment is stored as ``%25``, so a directory name never contains ``%o``/``%m``/``%t``
  and never collides with a file: ``a`` and ``a/b`` coexist, as they do on S3.
- Writes go to a temporary file in the same directory, are fsynced and ``os.replace``d into
  place: a reader sees the old bytes or the new, never half. Files are created ``0600``.
- ``list`` walks the directories under the prefix and sorts in code-point order (S3's UTF-8 byte
  order); like S3's listing, it does not carry content types — :meth:`LocalBlobBackend.info` does.
- Pre-signed URLs are relative (``/api/blobs/{key}?expires=…&signature=…``) and signed with
  HMAC-SHA256 over method, key and expiry using a per-installation key in
  ``data_dir/.blob-signing-key`` (created ``0600`` on first use, never logged); the API serves
  them after :meth:`LocalBlobBackend.verify_signature`.
- Blocking file IO runs in worker threads (``asyncio.to_thread``) so the event loop never waits on
  the disk.
- :meth:`LocalBlobBackend.open_read` opens the file once and reads it in chunks with ``pread`` as the
  client takes them: the size comes from that open file (``fstat``), so a concurrent ``put`` —
  which replaces the file, never rewrites it — cannot make the body disagree with its
  ``Content-Length``, and a download holds one chunk in memory, not the blob.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import quote

from automatos.kernel.backends import (
    CHUNK_SIZE,
    BackendContext,
    BlobBackend,
    BlobInfo,
    BlobStream,
    ByteRange,
    resolve_range,
)
from automatos.kernel.datadir import ensure_private_dir
from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.types import BackendFactory

__all__ = [
    "MAX_PRESIGN_SECONDS",
    "SIGNING_KEY_FILE",
    "LocalBlobBackend",
    "check_content_type",
    "check_listing",
    "check_presign",
    "load_signing_key",
    "register_blob_backends",
    "validate_key",
    "validate_prefix",
]

log = logging.getLogger(__name__)

SIGNING_KEY_FILE: Final = ".blob-signing-key"
MAX_PRESIGN_SECONDS: Final = 7 * 24 * 3600
"""S3 (SigV4) refuses longer pre-signed URLs; both backends share the limit."""
_MAX_KEY_BYTES: Final = 1024
_MAX_SEGMENT_BYTES: Final = 220  # leaves room for the suffixes within a 255-byte file name
_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f\\]")
_DIGITS: Final = re.compile(r"[0-9]{1,12}")
_OBJ: Final = ".%obj"
_META: Final = ".%meta"
_TMP: Final = ".%tmp-"
_METHODS: Final = frozenset({"GET", "PUT"})


def validate_key(key: str) -> str:
    """Return ``key`` if every backend can store it safely, else raise ``ValidationError(field="key")``."""
    if not isinstance(key, str) or not key:
        raise ValidationError("a blob key must be a non-empty string", field="key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError("a blob key must be valid UTF-8", field="key") from None
    if size > _MAX_KEY_BYTES:
        raise ValidationError(f"a blob key is at most {_MAX_KEY_BYTES} bytes, this one {size}", field="key")
    if _FORBIDDEN.search(key):
        raise ValidationError("a blob key may not contain backslashes or control characters", field="key")
    if key.startswith("/"):
        raise ValidationError("a blob key is relative: it may not start with '/'", field="key")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValidationError("a blob key may not have empty, '.' or '..' segments", field="key")
    return key


def validate_prefix(prefix: str) -> str:
    """Like :func:`validate_key` for the complete segments of a listing prefix; ``""`` lists all."""
    if not isinstance(prefix, str):
        raise ValidationError("a prefix must be a string", field="prefix")
    if not prefix:
        return prefix
    if _FORBIDDEN.search(prefix) or prefix.startswith("/"):
        raise ValidationError(
            "a prefix may not start with '/' or contain backslashes or control characters", field="prefix"
        )
    if any(segment in ("", ".", "..") for segment in prefix.split("/")[:-1]):
        raise ValidationError("a prefix may not have empty, '.' or '..' segments", field="prefix")
    return prefix


def check_listing(prefix: str, limit: int) -> bool:
    """Validate ``list()`` arguments (shared by every blob backend); ``False`` when nothing is asked for."""
    validate_prefix(prefix)
    if limit < 0:
        raise ValidationError("limit may not be negative", field="limit")
    return limit > 0


def check_content_type(content_type: str | None) -> None:
    """The content type is sent back as a header: refuse anything that could split it."""
    if content_type is not None and (not content_type or _FORBIDDEN.search(content_type)):
        raise ValidationError("content_type must be a non-empty header value", field="content_type")


def check_presign(method: str, expires_in: float) -> str:
    """Validate a pre-signing request; return the method in upper case."""
    upper = method.upper() if isinstance(method, str) else ""
    if upper not in _METHODS:
        raise ValidationError(f"method must be GET or PUT, got {method!r}", field="method")
    if not 0 < expires_in <= MAX_PRESIGN_SECONDS:
        raise ValidationError(f"expires_in must be between 1 and {MAX_PRESIGN_SECONDS} seconds", field="expires_in")
    return upper


def load_signing_key(data_dir: Path) -> bytes:
    """The installation's URL-signing key, created (0600, 32 random bytes) by the first process to need it."""
    path = data_dir / SIGNING_KEY_FILE
    ensure_private_dir(data_dir)  # 0700: the data directory holds the database and the blobs
    if not path.exists():
        tmp = data_dir / f"{SIGNING_KEY_FILE}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic and never replaces a key another process created first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    elif path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; restrict it with chmod 600", path)
    key = path.read_bytes()
    if len(key) < 32:
        raise SettingsError(f"{path} holds {len(key)} bytes, a signing key needs 32: delete it to make a new one")
    return key


def _escape(segment: str) -> str:
    return segment.replace("%", "%25")


def _unescape(name: str) -> str:
    return name.replace("%25", "%")


class LocalBlobBackend(BlobBackend):
    """Blobs as files under ``root``; pre-signed URLs served by the API."""

    name = "local"

    def __init__(self, root: Path, signing_key: bytes, *, url_prefix: str = "/api/blobs") -> None:
        if len(signing_key) < 16:
            raise ValueError("the blob signing key must be at least 16 bytes")
        self.root = Path(root)
        self._signing_key = signing_key
        self._url_prefix = url_prefix.rstrip("/")

    def __repr__(self) -> str:
        return f"LocalBlobBackend(root={str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        """The object file and its content-type sidecar for a validated ``key``."""
        *dirs, leaf = (_escape(segment) for segment in validate_key(key).split("/"))
        if any(len(part.encode("utf-8")) > _MAX_SEGMENT_BYTES for part in (*dirs, leaf)):
            raise ValidationError(f"local storage keeps key segments under {_MAX_SEGMENT_BYTES} bytes", field="key")
        parent = self.root.joinpath(*dirs)
        return parent / (leaf + _OBJ), parent / (leaf + _META)

    # -- blocking parts, run in threads ----------------------------------------------------------

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        tmp = path.with_name(f"{path.name}{_TMP}{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _put_sync(self, data_path: Path, meta_path: Path, data: bytes, content_type: str | None) -> None:
        for attempt in range(5):
            try:
                data_path.parent.mkdir(parents=True, exist_ok=True)
                if content_type is not None:
                    self._write_atomic(meta_path, json.dumps({"content_type": content_type}).encode())
                self._write_atomic(data_path, data)
                if content_type is None:
                    meta_path.unlink(missing_ok=True)
                return
            except FileNotFoundError:
                if attempt == 4:  # a concurrent delete kept pruning the directory we were writing in
                    raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def _delete_sync(self, data_path: Path, meta_path: Path) -> bool:
        try:
            data_path.unlink()
        except FileNotFoundError:
            return False
        meta_path.unlink(missing_ok=True)
        directory = data_path.parent
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()  # prune empty directories so the tree mirrors the live keys
            except OSError:
                break
            directory = directory.parent
        return True

    def _info_sync(self, key: str, data_path: Path, meta_path: Path) -> BlobInfo | None:
        try:
            size = data_path.stat().st_size
        except FileNotFoundError:
            return None
        content_type = None
        raw = self._read(meta_path)
        if raw is not None:
            try:
                content_type = json.loads(raw).get("content_type")
            except (ValueError, AttributeError):
                log.warning("ignoring an unreadable content-type sidecar for blob %r", key)
        return BlobInfo(key=key, size=size, content_type=content_type)

    def _open_sync(self, key: str, data_path: Path, meta_path: Path) -> tuple[BinaryIO, BlobInfo] | None:
        try:
            file = open(data_path, "rb", buffering=0)  # closed by the BlobStream
        except FileNotFoundError:
            return None
        try:
            size = os.fstat(file.fileno()).st_size
            described = self._info_sync(key, data_path, meta_path)
        except BaseException:
            file.close()
            raise
        return file, BlobInfo(key=key, size=size, content_type=described.content_type if described else None)

    def _list_sync(self, prefix: str, limit: int) -> list[BlobInfo]:
        head, slash, partial = prefix.rpartition("/")
        start = self.root.joinpath(*(_escape(s) for s in head.split("/"))) if slash else self.root
        found: list[BlobInfo] = []

        def walk(directory: Path, key_base: str, top: bool) -> None:
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                return
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    segment = _unescape(entry.name)
                    if not top or segment.startswith(partial):
                        walk(Path(entry.path), f"{key_base}{segment}/", False)
                elif entry.name.endswith(_OBJ):
                    key = key_base + _unescape(entry.name[: -len(_OBJ)])
                    if key.startswith(prefix):
                        try:
                            found.append(BlobInfo(key=key, size=entry.stat(follow_symlinks=False).st_size))
                        except FileNotFoundError:  # deleted while we looked
                            continue

        walk(start, f"{head}{slash}", True)
        found.sort(key=lambda info: info.key)
        return found[:limit]

    # -- BlobBackend -----------------------------------------------------------------------------

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        data_path, meta_path = self._paths(key)
        check_content_type(content_type)
        payload = bytes(data)
        await asyncio.to_thread(self._put_sync, data_path, meta_path, payload, content_type)
        return BlobInfo(key=key, size=len(payload), content_type=content_type)

    async def get(self, key: str) -> bytes | None:
        data_path, _ = self._paths(key)
        return await asyncio.to_thread(self._read, data_path)

    async def open_read(
        self, key: str, *, byte_range: ByteRange | None = None, chunk_size: int = CHUNK_SIZE
    ) -> BlobStream | None:
        """Stream ``key`` from its file, one ``chunk_size`` read at a time, as the consumer asks."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        data_path, meta_path = self._paths(key)
        opened = await asyncio.to_thread(self._open_sync, key, data_path, meta_path)
        if opened is None:
            return None
        file, info = opened
        try:
            start, length = resolve_range(info.size, byte_range)
        except BaseException:
            file.close()
            raise

        async def chunks() -> AsyncGenerator[bytes, None]:
            offset, end = start, start + length
            try:
                while offset < end:
                    data = await asyncio.to_thread(os.pread, file.fileno(), min(chunk_size, end - offset), offset)
                    if not data:  # cannot happen to a replaced file; guards against truncation in place
                        raise OSError(f"blob {key!r} ended at byte {offset}, {end - offset} bytes early")
                    offset += len(data)
                    yield data
            finally:
                file.close()

        return BlobStream(info, chunks(), start=start, length=length, close=file.close)

    async def delete(self, key: str) -> bool:
        data_path, meta_path = self._paths(key)
        return await asyncio.to_thread(self._delete_sync, data_path, meta_path)

    async def exists(self, key: str) -> bool:
        data_path, _ = self._paths(key)
        return await asyncio.to_thread(data_path.is_file)

    async def info(self, key: str) -> BlobInfo | None:
        """Size and content type of ``key`` (what the API needs to serve it), or ``None``."""
        data_path, meta_path = self._paths(key)
        return await asyncio.to_thread(self._info_sync, key, data_path, meta_path)

    async def list(self, prefix: str = "", *, limit: int = 1000) -> list[BlobInfo]:
        if not check_listing(prefix, limit):
            return []
        return await asyncio.to_thread(self._list_sync, prefix, limit)

    async def presigned_url(self, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        validate_key(key)
        verb = check_presign(method, expires_in)
        expires = math.ceil(time.time() + expires_in)
        signature = self._sign(verb, key, expires)
        return f"{self._url_prefix}/{quote(key, safe='/')}?expires={expires}&signature={signature}"

    def _sign(self, method: str, key: str, expires: int) -> str:
        # Keys hold no control characters, so the newline-joined message is unambiguous.
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def verify_signature(
        self, key: str, expires: int | str, signature: str, method: str = "GET", *, now: float | None = None
    ) -> bool:
        """Whether a pre-signed URL's ``expires``/``signature`` grant ``method`` on ``key`` right now."""
        try:
            validate_key(key)
        except ValidationError:
            return False
        if not isinstance(method, str) or method.upper() not in _METHODS:
            return False
        if isinstance(expires, str):
            if not _DIGITS.fullmatch(expires):
                return False
            expires = int(expires)
        if not isinstance(expires, int) or (time.time() if now is None else now) > expires:
            return False
        expected = self._sign(method.upper(), key, expires).encode()
        given = signature.encode("utf-8", "replace") if isinstance(signature, str) else b""
        return hmac.compare_digest(expected, given)

    async def check(self) -> None:
        def probe() -> None:
            ensure_private_dir(self.root)
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise PermissionError(f"blob storage directory {self.root} is not writable")

        await asyncio.to_thread(probe)


def _factory(ctx: BackendContext) -> LocalBlobBackend:
    data_dir = Path(ctx.settings.data_dir)
    key = load_signing_key(data_dir)
    return LocalBlobBackend(ensure_private_dir(data_dir / "blobs"), key)


@hookimpl
def register_blob_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """Files under ``AUTOMATOS_DATA_DIR/blobs``: the default when no ``S3_BUCKET`` is set."""
    register("local", _factory)
