"""What the authenticated-GET benchmarks share: one data directory, one workspace, one owner API key.

:func:`prepare` starts a real kernel on a data directory (migrations, the ``default`` workspace a
first start creates), creates an API key with role ``owner`` through the real service
(:func:`automatos.extensions.auth.api_keys.create_key`, what ``automatos keys create --json`` runs),
reads the workspace's record and writes ``bench-fixture.json`` there. The servers then read it:
``apps.fullstack`` needs only the data directory (its kernel finds the key in the database and the
pepper in ``.api-key-pepper``), ``apps.bare_resource`` and ``apps.fastapi_ref`` take the record
(the same JSON body to answer) and, for the FastAPI reference, the key's hash and principal.

The data directory reaches a server through ``AUTOMATOS_BENCH_DATA_DIR``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from automatos.kernel.settings import Settings, load_settings
from automatos.workspaces.service import WorkspaceRecord, WorkspaceService

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "CACHED_PATH",
    "CORS_ORIGINS",
    "ENV_DATA_DIR",
    "ENV_STRATEGY",
    "HIGH_LIMIT",
    "ROW_PATH",
    "SETTINGS",
    "Fixture",
    "create_fixture",
    "data_dir_from_env",
    "load",
    "prepare",
    "running",
    "settings",
]

ENV_DATA_DIR = "AUTOMATOS_BENCH_DATA_DIR"
ENV_STRATEGY = "AUTOMATOS_BENCH_RATE_STRATEGY"
"""``sliding-window-counter`` (the default) or ``fixed-window``: read by ``apps.fullstack``."""
FIXTURE_FILE = "bench-fixture.json"
HIGH_LIMIT = "1000000000/minute"
"""RATE_LIMIT_DEFAULT for the benchmarks: every request is counted, none is refused."""
CORS_ORIGINS = ("https://app.example.com",)
"""CORS configured in every app that has it (ours and the FastAPI reference), so it is not skipped."""
SETTINGS: dict[str, Any] = {"rate_limit_default": HIGH_LIMIT, "cors_allow_origins": CORS_ORIGINS}
ROW_PATH = "/api/workspaces/{}"
"""The real route: its handler reads the workspace row from the database on every request."""
CACHED_PATH = "/api/bench/workspaces/{}"
"""The same handler with the row taken from process memory after the first request."""


class Fixture(msgspec.Struct, kw_only=True):
    key: str
    """``atk_<prefix>_<secret>``, sent as ``Authorization: Bearer …``."""
    key_id: str
    prefix: str
    key_hash: str
    """HMAC-SHA256 under the data directory's pepper, as stored in ``api_keys.key_hash``."""
    role: str
    workspace_id: str
    record: WorkspaceRecord
    """The JSON body every app answers (``role`` is the caller's)."""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def settings(data_dir: Path) -> Settings:
    """Settings of every benchmark kernel: an empty environment, ``data_dir`` and :data:`SETTINGS`."""
    return load_settings({}, data_dir=data_dir, **SETTINGS)


def data_dir_from_env() -> Path:
    value = os.environ.get(ENV_DATA_DIR)
    if not value:
        raise RuntimeError(f"{ENV_DATA_DIR} is not set: run bench/http_stack.py, or prepare() a data directory")
    return Path(value)


@asynccontextmanager
async def running(data_dir: Path, **overrides: Any) -> AsyncIterator[Kernel]:
    """A started kernel on ``data_dir`` with the benchmark settings (plus ``overrides``), as the app builds it."""
    from dependency_injector import providers

    from automatos.container import Container

    container = Container()
    container.settings.override(providers.Object(load_settings({}, data_dir=data_dir, **{**SETTINGS, **overrides})))
    kernel = container.kernel()
    await kernel.start()
    try:
        yield kernel
    finally:
        await kernel.stop()


async def create_fixture(kernel: Kernel) -> Fixture:
    """An owner key in the ``default`` workspace, made by the real service, and the workspace's record."""
    from automatos.extensions.auth.api_keys import create_key, hash_key, load_pepper

    workspace = await kernel.directory.workspace("default")
    if workspace is None:
        raise RuntimeError("the first start created no 'default' workspace")
    record, key = await create_key(kernel, workspace.id, "bench", "owner", created_by="bench")
    body = await WorkspaceService.of(kernel).get(workspace.id)
    body.role = record.role
    return Fixture(
        key=key,
        key_id=record.id,
        prefix=record.prefix,
        key_hash=hash_key(load_pepper(kernel.settings), key),
        role=record.role,
        workspace_id=workspace.id,
        record=body,
    )


async def prepare(data_dir: Path) -> Fixture:
    """Migrate ``data_dir``, create an owner key in the ``default`` workspace, write the fixture file."""
    async with running(data_dir) as kernel:
        fixture = await create_fixture(kernel)
    (data_dir / FIXTURE_FILE).write_bytes(msgspec.json.encode(fixture))
    return fixture


def load(data_dir: Path | None = None) -> Fixture:
    path = (data_dir or data_dir_from_env()) / FIXTURE_FILE
    return msgspec.json.decode(path.read_bytes(), type=Fixture)
