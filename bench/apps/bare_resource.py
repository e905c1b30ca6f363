"""The floor for the authenticated GET: the same handlers on bare Litestar, no middleware, no auth.

Same paths and the same JSON body as ``apps.fullstack`` (the workspace record with the caller's
role, from the fixture written by :func:`apps.fixture.prepare`):

- ``GET /api/workspaces/{id}`` reads the row through the same query
  (:meth:`automatos.workspaces.service.WorkspaceService.get`, same SQLite file, same engine setup);
- ``GET /api/bench/workspaces/{id}`` answers from memory.

Serve: ``AUTOMATOS_BENCH_DATA_DIR=… .venv/bin/python -m uvicorn --app-dir bench --factory apps.bare_resource:create``
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

from apps import fixture
from automatos.kernel.db.session import engine_from_url, make_sessionmaker
from automatos.workspaces.service import WorkspaceRecord, WorkspaceService

__all__ = ["create"]


def create(data_dir: Path | None = None) -> Litestar:
    data_dir = data_dir or fixture.data_dir_from_env()
    fx = fixture.load(data_dir)
    engine = engine_from_url(fixture.settings(data_dir).resolved_database_url)
    service = WorkspaceService(make_sessionmaker(engine))
    rows = {fx.workspace_id: fx.record}
    role = fx.role

    @get("/api/bench/workspaces/{workspace_id:str}")
    async def cached_workspace(workspace_id: str) -> WorkspaceRecord:
        row = rows.get(workspace_id)
        if row is None:
            raise NotFoundException(f"workspace {workspace_id!r} does not exist")
        return msgspec.structs.replace(row, role=role)

    @get("/api/workspaces/{workspace_id:str}")
    async def get_workspace(workspace_id: str) -> WorkspaceRecord:
        record = await service.get(workspace_id)
        record.role = role
        return record

    return Litestar(
        route_handlers=[cached_workspace, get_workspace],
        on_shutdown=[engine.dispose],
        debug=False,
        logging_config=None,  # as the real app (create_app): no logging set-up of its own
    )
