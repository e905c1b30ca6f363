"""The marketplace's routes: submissions (``/api/marketplace/submissions``) and the admin's review
(``/api/admin/plugins``, platform admins only).

Uploads are ``multipart/form-data`` with the bundle in the field ``bundle``. The body is streamed:
:func:`_bundle_part` feeds ``request.stream()`` to a push parser and hands the ``bundle`` part's
bytes, as they arrive, to :func:`automatos.marketplace.archive.spool_upload`, which spools them to
a temporary file and refuses the upload (422 naming ``archive.compressed-size``, the limit and the
bytes read) as soon as it passes the cap — a 50 MB upload is refused after the cap plus one chunk
has been read, and memory holds at most one chunk and the spool's in-memory part. A
``Content-Length`` already past the cap (plus room for the multipart framing) is refused before
anything is read. Litestar's own body limit is lifted on these two routes: the marketplace's cap is
the one that applies, and it names itself.

Everything else is the service's (:mod:`automatos.marketplace.service`): validation, storage, scans,
the review's rules and audit. A submission is visible to its submitter and platform admins only (404
to anyone else). With ``FEATURE_MARKETPLACE`` off the submission routes answer 503
(``marketplace-unavailable``, after authentication); the admin's routes keep working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from automatos.api.dependencies import request_context, require_platform_admin, services
from automatos.api.pagination import DEFAULT_LIMIT, Limit, Offset, Page
from automatos.kernel.errors import AuthenticationError, ValidationError
from automatos.kernel.types import Principal, RequestContext
from automatos.marketplace.records import (
    ApproveRequest,
    DeactivateRequest,
    FileEntry,
    FileSource,
    PluginRecord,
    RejectRequest,
    SubmissionRecord,
    VersionDiff,
    VersionSummary,
)
from automatos.marketplace.service import MarketplaceService

__all__ = ["AdminPluginsController", "SubmissionsController"]

FRAMING = 64 * 1024
"""Room for the multipart framing (boundaries, part headers) on top of the bundle's cap."""

StatusFilter = Annotated[
    Literal["pending", "scanning", "scanned", "approved", "rejected", "failed"] | None,
    QueryParameter(description="Only versions with this status."),
]
VerdictFilter = Annotated[
    Literal["safe", "review", "blocked"] | None, QueryParameter(description="Only versions with this verdict.")
]
SlugFilter = Annotated[str | None, QueryParameter(max_length=100, description="Only this plugin's versions.")]
PluginStatusFilter = Annotated[
    Literal["active", "deactivated"] | None, QueryParameter(description="Only plugins with this status.")
]

UPLOAD_BODY = RequestBody(
    required=True,
    description="The bundle: a zip with plugin.toml at its root, in the multipart field `bundle`.",
    content={
        "multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["bundle"],
                properties={"bundle": Schema(type=OpenAPIType.STRING, format="binary")},  # type: ignore[arg-type]
            )
        )
    },
)


SAME_BUNDLE = {
    200: ResponseSpec(
        data_container=SubmissionRecord, description="The same bytes were submitted before: the existing submission."
    )
}


@dataclass
class UploadOperation(Operation):
    """The OpenAPI operation of an upload: its body is the multipart form the handler reads itself."""

    def __post_init__(self) -> None:
        self.request_body = UPLOAD_BODY


def _principal(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise AuthenticationError("credentials are required")
    return ctx.principal


def _service(request: Request[Any, Any, Any]) -> MarketplaceService:
    return services(request).marketplace()


def _cap(service: MarketplaceService) -> int:
    return int(service.limits().max_compressed)


async def _bundle_part(request: Request[Any, Any, Any], cap: int) -> AsyncIterator[bytes]:
    """The bytes of the ``bundle`` part of a streamed ``multipart/form-data`` body, as they arrive.

    The whole body is read (other parts are dropped) so that a second ``bundle`` part is refused
    rather than silently ignored; the body as a whole may not pass the cap plus :data:`FRAMING`, so
    a large part under another name costs no more than a large bundle.
    """
    content_type, options = request.content_type
    boundary = options.get("boundary")
    if content_type != "multipart/form-data" or not boundary:
        raise ValidationError("send the bundle as multipart/form-data in the field 'bundle'", field="bundle")
    parser = PushMultipartParser(boundary, max_segment_count=16)
    bundles = 0
    complete = False
    received = 0
    try:
        current: MultipartSegment | None = None
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap + FRAMING:
                raise _too_large(cap, received)
            for part in parser.parse(chunk):
                if isinstance(part, MultipartSegment):
                    current = part
                    if part.name == "bundle":
                        bundles += 1
                        if bundles > 1:
                            raise ValidationError(
                                "the multipart body holds the field 'bundle' more than once; send one bundle",
                                field="bundle",
                            )
                elif part:
                    if current is not None and current.name == "bundle":
                        yield bytes(part)
                else:
                    if current is not None and current.name == "bundle":
                        complete = True
                    current = None
    except (ParserError, ParserLimitReached) as exc:
        raise ValidationError(f"the multipart body is malformed: {exc}", field="bundle") from None
    finally:
        parser.close(check_complete=False)
    if complete:
        return
    if bundles:
        raise ValidationError("the multipart body ended inside the field 'bundle'", field="bundle")
    raise ValidationError("the multipart body has no field 'bundle'", field="bundle")


def _too_large(cap: int, value: int) -> ValidationError:
    from automatos.marketplace.archive import ArchiveError

    return ArchiveError(
        f"the upload is larger than {cap:,} bytes (read {value:,}); the limit is {cap:,} bytes",
        "archive.compressed-size",
        cap,
        value,
    )


async def _upload(request: Request[Any, Any, Any]) -> Response[SubmissionRecord]:
    from automatos.marketplace.archive import ArchiveError, spool_upload

    _, ctx = await request_context(request)
    principal = _principal(ctx)
    service = _service(request)
    cap = _cap(service)
    announced = request.headers.get("content-length")
    if announced is not None and announced.isascii() and announced.isdigit() and int(announced) > cap + FRAMING:
        raise ArchiveError(
            f"the upload is {int(announced):,} bytes; the limit is {cap:,} bytes",
            "archive.compressed-size",
            cap,
            int(announced),
        )
    spool = await spool_upload(_bundle_part(request, cap), cap)
    try:
        if spool.seek(0, 2) == 0:
            raise ValidationError("the field 'bundle' is empty", field="bundle")
        submitted = await service.submit(spool, principal=principal, request_id=ctx.request_id)
    finally:
        spool.close()
    return Response(submitted.record, status_code=201 if submitted.created else 200)


def _page(found: tuple[list[Any], int], offset: int, limit: int) -> Page[Any]:
    return Page(items=found[0], total=found[1], offset=offset, limit=limit)


class SubmissionsController(Controller):
    path = "/api/marketplace/submissions"
    tags = ["marketplace"]

    @post(
        "/",
        summary="Submit a plugin bundle (multipart field 'bundle'); its scan runs in the background",
        request_max_body_size=None,
        operation_class=UploadOperation,
        status_code=201,
        responses=SAME_BUNDLE,
    )
    async def submit(self, request: Request[Any, Any, Any]) -> Response[SubmissionRecord]:
        _, ctx = await request_context(request)
        _principal(ctx)
        _service(request).require_enabled()
        return await _upload(request)

    @get("/", summary="Your submissions, newest first")
    async def list_submissions(
        self, request: Request[Any, Any, Any], offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
    ) -> Page[VersionSummary]:
        _, ctx = await request_context(request)
        principal = _principal(ctx)
        _service(request).require_enabled()
        found = await _service(request).submissions(principal, offset=offset, limit=limit)
        return _page(found, offset, limit)

    @get("/{submission_id:str}", summary="One of your submissions: status, verdict and findings")
    async def get_submission(self, request: Request[Any, Any, Any], submission_id: FromPath[str]) -> SubmissionRecord:
        _, ctx = await request_context(request)
        principal = _principal(ctx)
        _service(request).require_enabled()
        return await _service(request).submission(submission_id, principal)


class AdminPluginsController(Controller):
    path = "/api/admin/plugins"
    tags = ["marketplace admin"]

    @post(
        "/",
        summary="Submit a plugin bundle as a platform admin (multipart field 'bundle')",
        request_max_body_size=None,
        operation_class=UploadOperation,
        status_code=201,
        responses=SAME_BUNDLE,
    )
    async def admin_submit(self, request: Request[Any, Any, Any]) -> Response[SubmissionRecord]:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await _upload(request)

    @get("/", summary="The marketplace's plugins, by slug")
    async def list_plugins(
        self,
        request: Request[Any, Any, Any],
        status: PluginStatusFilter = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[PluginRecord]:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return _page(await _service(request).plugins(status=status, offset=offset, limit=limit), offset, limit)

    @get("/versions", summary="Versions to review, oldest first, by status, verdict and plugin")
    async def list_versions(
        self,
        request: Request[Any, Any, Any],
        status: StatusFilter = None,
        verdict: VerdictFilter = None,
        slug: SlugFilter = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[VersionSummary]:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        found = await _service(request).versions(status=status, verdict=verdict, slug=slug, offset=offset, limit=limit)
        return _page(found, offset, limit)

    @get("/versions/{version_id:str}", summary="A version: manifest, status, verdict, findings with file and line")
    async def get_version(self, request: Request[Any, Any, Any], version_id: FromPath[str]) -> SubmissionRecord:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await _service(request).version(version_id)

    @get("/versions/{version_id:str}/files", summary="Every file of a version: path, size, sha256, binary or not")
    async def list_files(
        self,
        request: Request[Any, Any, Any],
        version_id: FromPath[str],
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[FileEntry]:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        files = await _service(request).files(version_id)
        return Page(items=files[offset : offset + limit], total=len(files), offset=offset, limit=limit)

    @get(
        "/versions/{version_id:str}/files/{file_path:path}",
        summary="A file of a version as numbered lines (a binary file: its size and sha256 only)",
    )
    async def get_file(
        self, request: Request[Any, Any, Any], version_id: FromPath[str], file_path: FromPath[str]
    ) -> FileSource:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await _service(request).file(version_id, file_path.lstrip("/"))

    @get("/versions/{version_id:str}/diff", summary="The version against the plugin's last approved version")
    async def get_diff(self, request: Request[Any, Any, Any], version_id: FromPath[str]) -> VersionDiff:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await _service(request).diff(version_id)

    @post("/versions/{version_id:str}/approve", summary="Approve a version (bound to its sha256)", status_code=200)
    async def approve(
        self, request: Request[Any, Any, Any], version_id: FromPath[str], data: JSONBody[ApproveRequest]
    ) -> SubmissionRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        return await _service(request).approve(version_id, data, actor_id=admin.id, request_id=ctx.request_id)

    @post("/versions/{version_id:str}/reject", summary="Reject a version, with a reason", status_code=200)
    async def reject(
        self, request: Request[Any, Any, Any], version_id: FromPath[str], data: JSONBody[RejectRequest]
    ) -> SubmissionRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        return await _service(request).reject(version_id, data.reason, actor_id=admin.id, request_id=ctx.request_id)

    @post(
        "/versions/{version_id:str}/rescan", summary="Scan a version again (its findings are replaced)", status_code=202
    )
    async def rescan(self, request: Request[Any, Any, Any], version_id: FromPath[str]) -> SubmissionRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        return await _service(request).rescan(version_id, actor_id=admin.id, request_id=ctx.request_id)

    @get("/{plugin_ref:str}", summary="A plugin (by id or slug)")
    async def get_plugin(self, request: Request[Any, Any, Any], plugin_ref: FromPath[str]) -> PluginRecord:
        _, ctx = await request_context(request)
        require_platform_admin(ctx)
        return await _service(request).plugin(plugin_ref)

    @post(
        "/{plugin_ref:str}/deactivate", summary="The kill switch: deactivate a plugin (every version)", status_code=200
    )
    async def deactivate(
        self, request: Request[Any, Any, Any], plugin_ref: FromPath[str], data: JSONBody[DeactivateRequest]
    ) -> PluginRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        return await _service(request).set_plugin_status(
            plugin_ref, "deactivated", data.reason, actor_id=admin.id, request_id=ctx.request_id
        )

    @post("/{plugin_ref:str}/activate", summary="Activate a deactivated plugin again", status_code=200)
    async def activate(self, request: Request[Any, Any, Any], plugin_ref: FromPath[str]) -> PluginRecord:
        _, ctx = await request_context(request)
        admin = require_platform_admin(ctx)
        return await _service(request).set_plugin_status(
            plugin_ref, "active", None, actor_id=admin.id, request_id=ctx.request_id
        )
