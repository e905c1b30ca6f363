"""Pre-signed blob URLs of the local backend: ``GET``/``PUT /api/blobs/{key}?expires=…&signature=…``.

S3 signs its own URLs and serves them itself; the local backend signs with an HMAC key kept in the
data directory, and this controller is the server side of those URLs. No credentials are needed:
the signature is the grant, limited to one key, one method and a deadline.

Downloads stream: the blob is read from its file (or from S3) a chunk at a time while the client
takes it (:meth:`~automatos.kernel.backends.BlobBackend.open_read`), with ``Content-Length`` from the
opened object, so serving a blob holds about 64 KiB of memory whatever its size. A single
``Range: bytes=first-last`` (or ``first-`` or ``-suffix``) is answered 206 with ``Content-Range``;
a range outside the blob is a 416 problem+json carrying ``Content-Range: bytes */size``; several
ranges, other units or a malformed header are ignored and the whole blob is sent (RFC 9110 allows
it), as is any request with ``If-Range`` (the backends have no validator to compare it with).
``HEAD`` with a GET grant answers the size and type alone (one ``info``, no read).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, head, put
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from automatos.api.dependencies import kernel_of
from automatos.api.problems import problem
from automatos.kernel.backends import BlobStream, ByteRange, RangeNotSatisfiableError
from automatos.kernel.core import Kernel
from automatos.kernel.errors import NotFoundError, PermissionDeniedError

__all__ = ["BlobsController"]

Expires = Annotated[str, QueryParameter(description="Unix time after which the URL is refused.")]
Signature = Annotated[str, QueryParameter(description="HMAC-SHA256 of method, key and expiry.")]
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def parse_range(header: str | None) -> ByteRange | None:
    """One ``bytes=`` range of a ``Range`` header, or ``None`` to send the whole blob (RFC 9110 §14.2)."""
    matched = _RANGE.fullmatch(header.strip()) if header else None
    if matched is None:
        return None
    first, last = (int(text) if text else None for text in matched.groups())
    if (first is None and last is None) or (first is not None and last is not None and last < first):
        return None  # an invalid range-spec: ignored, like a missing header
    return first, last


async def _body(stream: BlobStream) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()


def _verified(kernel: Kernel, key: str, expires: str, signature: str, method: str) -> Any:
    backend = kernel.backends.blob
    verify = getattr(backend, "verify_signature", None)
    if verify is None:
        raise NotFoundError("this deployment's blob backend serves its own pre-signed URLs", field="key")
    if not verify(key, expires, signature, method):
        raise PermissionDeniedError("the signature is invalid or has expired", field="signature")
    return backend


class BlobsController(Controller):
    path = "/api/blobs"
    tags = ["blobs"]

    @get("/{key:path}", summary="Download through a pre-signed URL (streamed; one byte range allowed)")
    async def download(
        self, request: Request[Any, Any, Any], key: FromPath[str], expires: Expires, signature: Signature
    ) -> Response[Any]:
        kernel = kernel_of(request)
        key = key.lstrip("/")
        backend = _verified(kernel, key, expires, signature, "GET")
        headers = request.headers
        byte_range = parse_range(headers.get("range")) if "if-range" not in headers else None
        try:
            stream = await backend.open_read(key, byte_range=byte_range)
        except RangeNotSatisfiableError as exc:
            return problem(
                416,
                exc.title,
                exc.detail,
                slug=exc.type_slug,
                field="Range",
                size=exc.size,
                headers={"Content-Range": f"bytes */{exc.size}", "Accept-Ranges": "bytes"},
            )
        if stream is None:
            raise NotFoundError(f"no blob {key!r}", field="key")
        out = {"Content-Length": str(stream.length), "Accept-Ranges": "bytes"}
        status = 200
        if byte_range is not None:
            status = 206
            last = stream.start + stream.length - 1
            out["Content-Range"] = f"bytes {stream.start}-{last}/{stream.info.size}"
        return Stream(
            _body(stream),
            status_code=status,
            media_type=stream.info.content_type or "application/octet-stream",
            headers=out,
            background=BackgroundTask(stream.aclose),  # also when the body was never iterated
        )

    # Not in the OpenAPI document: a HEAD answer has no body, so its errors cannot be the problem+json
    # every documented operation promises; it is the GET's headers, nothing more.
    @head("/{key:path}", summary="Size and type of a blob through a pre-signed GET URL", include_in_schema=False)
    async def describe(
        self, request: Request[Any, Any, Any], key: FromPath[str], expires: Expires, signature: Signature
    ) -> Response[None]:
        kernel = kernel_of(request)
        key = key.lstrip("/")
        backend = _verified(kernel, key, expires, signature, "GET")  # HEAD is what a GET grant allows
        info = await backend.info(key)
        if info is None:
            raise NotFoundError(f"no blob {key!r}", field="key")
        return Response(
            b"",  # type: ignore[arg-type]  # bytes go out as they are; None is rendered for the media type
            media_type=info.content_type or "application/octet-stream",
            headers={"content-length": str(info.size), "accept-ranges": "bytes"},
        )

    @put("/{key:path}", summary="Upload through a pre-signed URL", status_code=201)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        key: FromPath[str],
        expires: Expires,
        signature: Signature,
    ) -> dict[str, Any]:
        kernel = kernel_of(request)
        key = key.lstrip("/")
        backend = _verified(kernel, key, expires, signature, "PUT")
        body = await request.body()
        info = await backend.put(key, body, content_type=request.headers.get("content-type"))
        return {"key": info.key, "size": info.size, "content_type": info.content_type}
