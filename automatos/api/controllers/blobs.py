"""Pre-signed blob URLs of the local backend: ``GET``/``PUT /api/blobs/{key}?expires=…&signature=…``.

S3 signs its own URLs and serves them itself; the local backend signs with an HMAC key kept in the
data directory, and this controller is the server side of those URLs. No credentials are needed:
the signature is the grant, limited to one key, one method and a deadline.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.params import FromPath, QueryParameter

from automatos.api.context import kernel_of
from automatos.kernel.errors import NotFoundError, PermissionDeniedError
from automatos.kernel.runtime import Kernel

__all__ = ["BlobsController"]

Expires = Annotated[str, QueryParameter(description="Unix time after which the URL is refused.")]
Signature = Annotated[str, QueryParameter(description="HMAC-SHA256 of method, key and expiry.")]


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

    @get("/{key:path}", summary="Download through a pre-signed URL")
    async def download(
        self, request: Request[Any, Any, Any], key: FromPath[str], expires: Expires, signature: Signature
    ) -> Response[bytes]:
        kernel = kernel_of(request)
        key = key.lstrip("/")
        backend = _verified(kernel, key, expires, signature, "GET")
        data = await backend.get(key)
        if data is None:
            raise NotFoundError(f"no blob {key!r}", field="key")
        info = await backend.info(key)
        media_type = (info.content_type if info is not None else None) or "application/octet-stream"
        return Response(data, media_type=media_type)

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
