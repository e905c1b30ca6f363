"""The stack this platform replaces: FastAPI + Pydantic + SlowAPI, equivalent middleware and auth.

Written the way such services are usually written, with the faster of the idiomatic choices:

- request id and security headers: one pure-ASGI middleware (the pattern of ``asgi-correlation-id``
  and what Starlette recommends over ``BaseHTTPMiddleware``): keeps a valid ``X-Request-ID`` or makes
  a uuid4, sets it in a context variable for the logs, adds it and the same security headers as
  ours (nosniff, frame deny, referrer policy, permissions policy, CSP) to every response.
  ``AUTOMATOS_BENCH_FASTAPI_MIDDLEWARE=http`` swaps it for the FastAPI-tutorial form,
  ``@app.middleware("http")`` (a ``BaseHTTPMiddleware``), for comparison;
- Starlette's ``CORSMiddleware`` with the same origins and exposed headers as ours;
- SlowAPI: ``Limiter(key_func=…, default_limits=[…])`` with in-memory storage, applied to every
  route by ``SlowAPIASGIMiddleware`` (its pure-ASGI middleware), keyed by the API key's public prefix
  (else the peer address), limit as high as ours so nothing is refused;
- API-key auth as a FastAPI security dependency (``HTTPBearer`` / ``APIKeyHeader``): the key's
  prefix finds an entry in an in-memory dict (the equivalent of our warm cache), the whole key is
  checked with HMAC-SHA256 under the same pepper and ``hmac.compare_digest``; then a dependency
  resolves the workspace from a dict (404 unknown, 403 another workspace's key or a role without
  ``workspace.read``) — the equivalent of our directory cache;
- Pydantic response model; the same paths and the same JSON body as ``apps.fullstack``:
  ``GET /api/workspaces/{id}`` reads the row with the same SQLAlchemy query on the same SQLite file
  (an ``AsyncSession`` dependency), ``GET /api/bench/workspaces/{id}`` answers from the dict.

No ``from __future__ import annotations`` here: FastAPI resolves the dependencies of handlers defined
inside ``create()`` from their evaluated annotations.

Serve: ``AUTOMATOS_BENCH_DATA_DIR=… .venv/bin/python -m uvicorn --app-dir bench --factory apps.fastapi_ref:create``
"""

import contextvars
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Request, Response, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIASGIMiddleware
from slowapi.util import get_remote_address
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps import fixture
from automatos.kernel.db import models as m
from automatos.kernel.db.session import engine_from_url, make_sessionmaker

__all__ = ["create"]

ENV_MIDDLEWARE = "AUTOMATOS_BENCH_FASTAPI_MIDDLEWARE"
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._:-]{1,128}").fullmatch
_KEY = re.compile(r"atk_([a-z2-7]{12})_([A-Za-z0-9_-]{32,128})").fullmatch
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
READERS = {"owner", "admin", "member", "viewer"}
"""Roles holding ``workspace.read``."""


class Principal(BaseModel):
    id: str
    workspace_id: str
    role: str
    scopes: frozenset[str] = frozenset()


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    name: str
    status: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    role: str | None = None


class RequestIdMiddleware:
    """Pure ASGI: request id in, request id and security headers out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.static = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if request_id is None or _REQUEST_ID_OK(request_id) is None:
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        extra = [*self.static, (b"x-request-id", request_id.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(token)


async def request_id_http_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """The FastAPI-tutorial form of the same middleware (``@app.middleware("http")``)."""
    request_id = request.headers.get("x-request-id")
    if request_id is None or _REQUEST_ID_OK(request_id) is None:
        request_id = uuid.uuid4().hex
    request.state.request_id = request_id
    token = REQUEST_ID.set(request_id)
    try:
        response = await call_next(request)
    finally:
        REQUEST_ID.reset(token)
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-ID"] = request_id
    return response


def rate_limit_key(request: Request) -> str:
    """The API key's public prefix when one is sent, else the peer address."""
    key = request.headers.get("x-api-key")
    if key is None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:]
    return key[:16] if key else get_remote_address(request)


def create(data_dir: Path | None = None) -> FastAPI:
    data_dir = data_dir or fixture.data_dir_from_env()
    fx = fixture.load(data_dir)
    settings = fixture.settings(data_dir)
    pepper = (data_dir / ".api-key-pepper").read_bytes().strip()
    keys: dict[str, tuple[str, Principal]] = {
        fx.prefix: (fx.key_hash, Principal(id=f"key:{fx.key_id}", workspace_id=fx.workspace_id, role=fx.role))
    }
    workspaces: dict[str, WorkspaceOut] = {fx.workspace_id: WorkspaceOut.model_validate(msgspec.to_builtins(fx.record))}
    engine = engine_from_url(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)

    def unauthorized(detail: str) -> HTTPException:
        return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="automatos"'})

    async def current_principal(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(HTTPBearer(auto_error=False))],
        api_key: Annotated[str | None, Security(APIKeyHeader(name="X-API-Key", auto_error=False))],
    ) -> Principal:
        key = api_key or (bearer.credentials if bearer else None)
        if not key:
            raise unauthorized("credentials are required")
        match = _KEY(key)
        if match is None:
            raise unauthorized("malformed API key")
        entry = keys.get(match.group(1))
        if entry is None:
            raise unauthorized("unknown API key")
        digest = hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(digest, entry[0]):
            raise unauthorized("unknown API key")
        return entry[1]

    async def workspace_for(
        workspace_id: str, principal: Annotated[Principal, Depends(current_principal)]
    ) -> tuple[WorkspaceOut, str]:
        workspace = workspaces.get(workspace_id)
        if workspace is None:
            raise HTTPException(404, f"workspace {workspace_id!r} does not exist")
        if principal.workspace_id != workspace.id:
            raise HTTPException(403, "this credential belongs to another workspace")
        if principal.role not in READERS or (principal.scopes and "workspace.read" not in principal.scopes):
            raise HTTPException(403, "permission workspace.read is required")
        return workspace, principal.role

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as s:
            yield s

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    limiter = Limiter(key_func=rate_limit_key, default_limits=[fixture.HIGH_LIMIT], storage_uri="memory://")
    app = FastAPI(lifespan=lifespan)
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    app.add_middleware(SlowAPIASGIMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(fixture.CORS_ORIGINS),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Workspace-ID", "X-Request-ID"],
        expose_headers=["X-Routing-Agent-ID", "X-Routing-Confidence", "X-Request-ID"],
        max_age=600,
    )
    if os.environ.get(ENV_MIDDLEWARE) == "http":
        app.middleware("http")(request_id_http_middleware)
    else:
        app.add_middleware(RequestIdMiddleware)

    @app.get("/api/bench/workspaces/{workspace_id}", response_model=WorkspaceOut)
    async def cached_workspace(scoped: Annotated[tuple[WorkspaceOut, str], Depends(workspace_for)]) -> WorkspaceOut:
        workspace, role = scoped
        return workspace.model_copy(update={"role": role})

    @app.get("/api/workspaces/{workspace_id}", response_model=WorkspaceOut)
    async def get_workspace(
        scoped: Annotated[tuple[WorkspaceOut, str], Depends(workspace_for)],
        db: Annotated[AsyncSession, Depends(session)],
    ) -> WorkspaceOut:
        workspace, role = scoped
        row = await db.scalar(select(m.Workspace).where(m.Workspace.id == workspace.id, m.Workspace.status == "active"))
        if row is None:
            raise HTTPException(404, f"workspace {workspace.id!r} does not exist")
        out = WorkspaceOut.model_validate(row)
        out.role = role
        return out

    return app
