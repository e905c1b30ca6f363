"""The real app, full middleware stack and auth, plus one benchmark route.

``create()`` builds :func:`automatos.api.app.create_app` on the data directory named by
``AUTOMATOS_BENCH_DATA_DIR`` (prepared by :func:`apps.fixture.prepare`: migrated, an owner API key
in the ``default`` workspace) with ``RATE_LIMIT_DEFAULT`` so high that nothing is refused and CORS
configured. ``AUTOMATOS_BENCH_RATE_STRATEGY`` picks the limiter strategy
(``sliding-window-counter``, the default, or ``fixed-window``; see
:data:`automatos.api.middleware.STRATEGIES`).

Two authenticated, workspace-resolved GETs of one workspace, both through the one request
middleware (request id, CORS, API-key auth, rate limit, security headers, statistics) and the
``ctx`` dependency:

- ``GET /api/workspaces/{id}``: the real handler (``WorkspacesController.get_workspace``), which
  reads the row from the database on every request;
- ``GET /api/bench/workspaces/{id}``: the same handler, line for line, except that the row comes
  from process memory after the first request: the stack's own cost, without a database read.

Serve: ``AUTOMATOS_BENCH_DATA_DIR=… .venv/bin/python -m uvicorn --app-dir bench --factory apps.fullstack:create``
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.params import FromPath

from apps import automatos_app, fixture
from automatos.api.dependencies import in_workspace, request_context, services
from automatos.api.middleware import DEFAULT_STRATEGY, STRATEGIES
from automatos.container import Container
from automatos.kernel.permissions import Permission
from automatos.workspaces.service import WorkspaceRecord

__all__ = ["ENV_OVERRIDES", "cached_workspace", "create"]

ENV_OVERRIDES = "AUTOMATOS_BENCH_OVERRIDES"
"""A JSON object of settings (field names) applied on top of :data:`apps.fixture.SETTINGS`."""

_rows: dict[str, WorkspaceRecord] = {}


@get("/api/bench/workspaces/{workspace_id:str}", include_in_schema=False)
async def cached_workspace(request: Request[Any, Any, Any], workspace_id: FromPath[str]) -> WorkspaceRecord:
    """``WorkspacesController.get_workspace`` with the row read once, then kept in memory."""
    kernel, ctx = await request_context(request)
    scoped = await in_workspace(kernel, ctx, workspace_id, Permission.WORKSPACE_READ)
    row = _rows.get(scoped.workspace.id)
    if row is None:
        row = _rows[scoped.workspace.id] = await services(request).workspaces().get(scoped.workspace.id)
    return msgspec.structs.replace(row, role=next(iter(scoped.ctx.roles), None))


def create(data_dir: Path | None = None, strategy: str | None = None) -> Litestar:
    data_dir = data_dir or fixture.data_dir_from_env()
    strategy = strategy or os.environ.get(fixture.ENV_STRATEGY) or DEFAULT_STRATEGY
    # what-if runs (bench/http_stack.py --variant): settings on top of the benchmark's, as JSON
    overrides = json.loads(os.environ.get(ENV_OVERRIDES) or "{}")
    app = automatos_app.create(data_dir, **{**fixture.SETTINGS, **overrides})
    container: Container = app.state["container"]
    # The app's middleware (added by KernelPlugin) uses the container's one RequestPipeline: asking for
    # another strategy switches that pipeline, before any request has built its limiter.
    pipeline = container.pipeline()
    pipeline.use_strategy(strategy)
    if pipeline.strategy is not STRATEGIES[strategy]:
        raise RuntimeError(f"the rate-limit strategy did not switch to {strategy!r}")
    app.register(cached_workspace)
    return app
