"""S3 (or any S3-compatible store: MinIO, Ceph, moto) blob storage through boto3.

Decisions:
- boto3's client is synchronous and thread-safe; every call runs in a worker thread
  (``asyncio.to_thread``) so the event loop never waits on the network. One client per backend,
  its connection pool sized for the default thread pool.
- Custom endpoints get path-style addressing (what MinIO and moto expect); AWS keeps virtual-host
  style. Credentials come from settings when given, else from boto3's usual chain (environment,
  instance profile…); they are never logged.
- Keys obey the same rules as local storage (:func:`~automatos.extensions.storage.local.validate_key`)
  so data can move between backends.
- ``delete`` reports whether the key existed with a ``HEAD`` first (S3's DELETE does not say); two
  concurrent deletes of one key may both report ``True``.
- Pre-signed URLs are SigV4 and may be signed for a different public endpoint
  (``S3_PRESIGN_ENDPOINT_URL``) than the one the API reaches, e.g. ``http://minio:9000`` inside
  Docker vs. ``https://files.example.com`` for browsers. Signing needs no network.
- :meth:`S3BlobBackend.ensure_bucket` creates a missing bucket; ``check`` only probes it.
- :meth:`S3BlobBackend.open_read` is one ``GetObject`` (with S3's own ``Range`` when a range is
  asked for); its body is read a chunk at a time in a worker thread as the consumer asks, so a
  download holds one chunk in memory. Size, range and type come from that one response, so they
  always describe the bytes that follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from automatos.extensions.storage.local import (
    check_content_type,
    check_listing,
    check_presign,
    validate_key,
)
from automatos.kernel.backends import (
    CHUNK_SIZE,
    BackendContext,
    BlobBackend,
    BlobInfo,
    BlobStream,
    ByteRange,
    RangeNotSatisfiableError,
    resolve_range,
)
from automatos.kernel.errors import SettingsError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.settings import FieldDoc, Secret, SettingsGroup, setting
from automatos.kernel.types import BackendFactory

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = ["S3BlobBackend", "S3Settings", "register_blob_backends", "register_settings"]

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING


def _stored_type(stored: object) -> str | None:
    # S3 answers binary/octet-stream for objects stored without a type; report what was stored.
    return None if stored in (None, "", "binary/octet-stream") else str(stored)


def _range_header(byte_range: ByteRange) -> str:
    first, last = byte_range
    return f"bytes={'' if first is None else first}-{'' if last is None else last}"


class S3Settings(SettingsGroup, frozen=True, kw_only=True):
    """The bucket and credentials of the ``s3`` blob backend (AWS or any S3-compatible store)."""

    OWNER: ClassVar[str] = "automatos.storage.s3"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("S3_BUCKET", "s3_bucket", "bucket name"),
        setting("S3_ENDPOINT_URL", "s3_endpoint_url", "URL"),
        setting("S3_PRESIGN_ENDPOINT_URL", "s3_presign_endpoint_url", "URL"),
        setting("AWS_ACCESS_KEY_ID", "aws_access_key_id", "string (secret)"),
        setting("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "string (secret)"),
        setting("AWS_REGION", "aws_region", "AWS region name"),
    )

    s3_bucket: str | None = None
    """Bucket for blobs; setting it selects the ``s3`` blob backend (when ``BLOB_BACKEND`` is empty)."""
    s3_endpoint_url: str | None = None
    """S3-compatible endpoint (MinIO, moto…); empty for AWS."""
    s3_presign_endpoint_url: str | None = None
    """Public endpoint used in pre-signed URLs when it differs from the one the API reaches."""
    aws_access_key_id: Secret | None = None
    """S3 credentials (never logged)."""
    aws_secret_access_key: Secret | None = None
    """S3 credentials (never logged)."""
    aws_region: str = "us-east-1"
    """S3 region."""


class S3BlobBackend(BlobBackend):
    """Blobs as S3 objects in one bucket."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        presign_endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        max_pool_connections: int = 32,
        page_size: int = 1000,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.page_size = page_size
        """Objects asked for per LIST request (S3's maximum is 1000)."""
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"} if endpoint_url or presign_endpoint_url else {},
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            connect_timeout=5,
            read_timeout=60,
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._presigner: Any = (
            session.client("s3", endpoint_url=presign_endpoint_url, config=config)
            if presign_endpoint_url
            else self._client
        )

    def __repr__(self) -> str:
        return f"S3BlobBackend(bucket={self.bucket!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobBackend:
        own = settings.group(S3Settings)
        if not own.s3_bucket:
            raise SettingsError("BLOB_BACKEND=s3 needs S3_BUCKET (bucket name)")
        key_id, secret = own.aws_access_key_id, own.aws_secret_access_key
        return cls(
            own.s3_bucket,
            endpoint_url=own.s3_endpoint_url or None,
            presign_endpoint_url=own.s3_presign_endpoint_url or None,
            region=own.aws_region,
            access_key_id=key_id.reveal() if key_id else None,
            secret_access_key=secret.reveal() if secret else None,
        )

    # -- blocking parts, run in threads ----------------------------------------------------------

    def _get_sync(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        with contextlib.closing(response["Body"]) as body:
            return bytes(body.read())

    def _open_sync(self, key: str, byte_range: ByteRange | None) -> tuple[Any, BlobInfo, int, int] | None:
        """``(body, info, start, length)`` of one ``GetObject``, or ``None`` when the key is absent."""
        options: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            first, last = byte_range
            if (
                (first is None and (last is None or last <= 0))
                or (first is not None and first < 0)
                or (first is not None and last is not None and last < first)
            ):
                head = self._head_sync(key)
                if head is None:
                    return None
                raise RangeNotSatisfiableError(int(head.get("ContentLength", 0)))
            options["Range"] = _range_header(byte_range)
        try:
            response = self._client.get_object(**options)
        except ClientError as exc:
            if _missing(exc):
                return None
            if str(exc.response.get("Error", {}).get("Code", "")) == "InvalidRange":
                head = self._head_sync(key)
                if head is None:
                    return None
                raise RangeNotSatisfiableError(int(head.get("ContentLength", 0))) from None
            raise
        body = response["Body"]
        length = int(response.get("ContentLength", 0))
        matched = _CONTENT_RANGE.fullmatch(str(response.get("ContentRange") or ""))
        start, size = (int(matched.group(1)), int(matched.group(3))) if matched else (0, length)
        info = BlobInfo(key=key, size=size, content_type=_stored_type(response.get("ContentType")))
        if byte_range is not None and not matched:
            # the store sent the whole object (some do for an empty one): apply the range here
            try:
                start, length = resolve_range(size, byte_range)
                skip = start
                while skip > 0:
                    skip -= len(body.read(min(skip, CHUNK_SIZE))) or skip
            except BaseException:
                body.close()
                raise
        return body, info, start, length

    def _head_sync(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self._client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def _delete_sync(self, key: str) -> bool:
        existed = self._head_sync(key) is not None
        if existed:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        return existed

    def _list_sync(self, prefix: str, limit: int) -> list[BlobInfo]:
        found: list[BlobInfo] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": min(limit, self.page_size)}
        )
        for page in pages:
            for item in page.get("Contents", ()):
                found.append(BlobInfo(key=item["Key"], size=int(item["Size"])))
                if len(found) >= limit:
                    return found
        return found

    def _ensure_bucket_sync(self) -> bool:
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if not _missing(exc):
                raise
        options: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # us-east-1 refuses an explicit location constraint
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**options)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise
        return True

    # -- BlobBackend -----------------------------------------------------------------------------

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        validate_key(key)
        check_content_type(content_type)
        payload = bytes(data)
        options: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": payload}
        if content_type is not None:
            options["ContentType"] = content_type
        await asyncio.to_thread(self._client.put_object, **options)
        return BlobInfo(key=key, size=len(payload), content_type=content_type)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get_sync, validate_key(key))

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self._delete_sync, validate_key(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._head_sync, validate_key(key)) is not None

    async def info(self, key: str) -> BlobInfo | None:
        """Size and content type of ``key``, from a ``HEAD``; ``None`` when absent."""
        head = await asyncio.to_thread(self._head_sync, validate_key(key))
        if head is None:
            return None
        size = int(head.get("ContentLength", 0))
        return BlobInfo(key=key, size=size, content_type=_stored_type(head.get("ContentType")))

    async def open_read(
        self, key: str, *, byte_range: ByteRange | None = None, chunk_size: int = CHUNK_SIZE
    ) -> BlobStream | None:
        """Stream ``key`` from one ``GetObject``, reading its body a chunk at a time in a worker thread."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        opened = await asyncio.to_thread(self._open_sync, validate_key(key), byte_range)
        if opened is None:
            return None
        body, info, start, length = opened

        async def chunks() -> AsyncGenerator[bytes, None]:
            remaining = length
            try:
                while remaining > 0:
                    data = await asyncio.to_thread(body.read, min(chunk_size, remaining))
                    if not data:
                        raise OSError(f"blob {key!r} ended {remaining} bytes early")
                    remaining -= len(data)
                    yield bytes(data)
            finally:
                body.close()

        return BlobStream(info, chunks(), start=start, length=length, close=body.close)

    async def list(self, prefix: str = "", *, limit: int = 1000) -> list[BlobInfo]:
        if not check_listing(prefix, limit):
            return []
        return await asyncio.to_thread(self._list_sync, prefix, limit)

    async def presigned_url(self, key: str, *, expires_in: int = 3600, method: str = "GET") -> str:
        validate_key(key)
        verb = check_presign(method, expires_in)
        operation = "get_object" if verb == "GET" else "put_object"
        url = await asyncio.to_thread(
            self._presigner.generate_presigned_url,
            operation,
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(expires_in),
            HttpMethod=verb,
        )
        return str(url)

    async def ensure_bucket(self) -> bool:
        """Create the bucket if it does not exist; ``True`` when this call created it."""
        return await asyncio.to_thread(self._ensure_bucket_sync)

    async def open(self) -> None:
        """Create the bucket on first start, so a fresh deployment needs no manual step."""
        await self.ensure_bucket()

    async def check(self) -> None:
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)

    async def close(self) -> None:
        for client in {id(self._client): self._client, id(self._presigner): self._presigner}.values():
            with contextlib.suppress(Exception):
                client.close()


def _factory(ctx: BackendContext) -> S3BlobBackend:
    return S3BlobBackend.from_settings(ctx.settings)


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(S3Settings)


@hookimpl
def register_blob_backends(register: Callable[[str, BackendFactory], None]) -> None:
    """S3 or an S3-compatible store: chosen by default when ``S3_BUCKET`` is set."""
    register("s3", _factory)
