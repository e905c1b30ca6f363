"""Building kernels and apps for tests: real settings, real database, the test extension loaded."""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers

from automatos.container import Container
from automatos.kernel.core import Kernel
from automatos.kernel.parts import MigrationSource
from automatos.kernel.registry import Candidate
from automatos.kernel.settings import load_settings

__all__ = [
    "EVERYTHING",
    "AppClient",
    "backend_factories",
    "candidate",
    "container_of",
    "database_settings",
    "database_url",
    "make_container",
    "migrations",
    "running_kernel",
    "serve_app",
    "serve_http",
]


def candidate(module: str, name: str | None = None, *, builtin: bool = False, loader: Any = None) -> Candidate:
    """A candidate that imports ``module`` in-process, as if it were an installed entry point."""
    return Candidate(
        name=name or module,
        module=module,
        distribution="automatos-tests",
        version="0",
        builtin=builtin,
        loader=loader or (lambda: importlib.import_module(module)),
    )


EVERYTHING = candidate("tests.plugins.everything", "tests.everything")


def make_container(data_dir: Path, *, plugins: tuple[Candidate, ...] = (EVERYTHING,), **settings: Any) -> Container:
    container = Container()
    container.settings.override(providers.Object(load_settings({}, data_dir=data_dir, **settings)))
    container.extra_plugins.override(providers.Object(plugins))
    return container


@functools.cache
def migrations() -> tuple[MigrationSource, ...]:
    """Every revision directory besides the kernel's, as the default deployment has them (the agents
    package's through the composition root, the built-in extensions' through ``register_migrations``)."""
    container = Container()
    container.settings.override(providers.Object(load_settings({})))
    return tuple(container.parts().migrations)


@asynccontextmanager
async def running_kernel(data_dir: Path, **kwargs: Any) -> AsyncIterator[Kernel]:
    kernel: Kernel = make_container(data_dir, **kwargs).kernel()
    await kernel.start()
    try:
        yield kernel
    finally:
        await kernel.stop()


def backend_factories(family: str, *modules: object) -> dict[str, Any]:
    """Call ``register_<family>_backends`` of ``modules`` through a PluginManager, as the kernel does."""
    import pluggy

    from automatos.kernel import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module in modules:
        pm.register(module)
    found: dict[str, Any] = {}

    def register(name: str, factory: Any) -> None:
        assert name not in found, f"{name!r} registered twice"
        found[name] = factory

    getattr(pm.hook, f"register_{family}_backends")(register=register)
    return found


class AppClient(httpx.AsyncClient):
    """An HTTP client bound to an app running in this test's own event loop (``.app`` is the app).

    Litestar's ``AsyncTestClient`` runs the app's lifespan in a separate thread and event loop, so a
    test that also drives the kernel directly would touch one kernel from two loops (and a teardown
    could wait forever on a task of the other loop). Here lifespan, requests and the test share one
    loop.
    """

    app: Any


def container_of(client: AppClient) -> Container:
    """The composition root the client's app was built from (``container_of(client).pipeline()``…)."""
    container: Container = client.app.state["container"]
    return container


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[AppClient]:
    # The lifespan is entered and left by one task of its own: it holds an anyio task group, which
    # must be exited by the task that entered it (fixture setup and teardown are different tasks).
    started, stop = asyncio.Event(), asyncio.Event()
    failure: list[BaseException] = []

    async def run_lifespan() -> None:
        try:
            async with app.lifespan():
                started.set()
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise

    task = asyncio.ensure_future(run_lifespan())
    await started.wait()
    if failure:
        await asyncio.gather(task, return_exceptions=True)
        raise failure[0]
    try:
        transport = httpx.ASGITransport(app=app)
        async with AppClient(transport=transport, base_url="http://testserver.local") as client:
            client.app = app
            yield client
    finally:
        stop.set()
        await task


@asynccontextmanager
async def serve_http(app: Any, **options: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in this test's event loop; yields the base URL.

    For what an in-memory transport cannot show: a response read as it streams, a client that
    disconnects part-way, an SDK that opens its own connections. ``options`` go to
    ``uvicorn.Config`` over the defaults here (e.g. :func:`automatos.api.server.uvicorn_options`).
    """
    import uvicorn

    from tests.services import free_port

    port = free_port()
    defaults: dict[str, Any] = {"host": "127.0.0.1", "log_config": None, "lifespan": "on", "proxy_headers": False}
    config = uvicorn.Config(app, **{**defaults, **options, "port": port})
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, *, name: str = "test.db", prefix: str = "automatos_db_"
) -> AsyncIterator[str]:
    """The database a ``params=["sqlite", "postgres"]`` fixture asked for: a SQLite file ``name`` in
    ``tmp_path``, or a fresh PostgreSQL database (``prefix`` + random) on the embedded server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{(tmp_path / name).as_posix()}"
        return
    from tests.services import fresh_database

    async with fresh_database(request.getfixturevalue("postgres_url"), prefix=prefix) as url:
        yield url


@asynccontextmanager
async def database_settings(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """Settings for :func:`make_container` on the database a ``params=["sqlite", "postgres"]``
    fixture asked for: none for SQLite (the container's own file), a fresh PostgreSQL database else."""
    if request.param == "sqlite":
        yield {}
        return
    from tests.services import fresh_database

    async with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield {"database_url": url}


def as_user(user: str, workspace: str | None = None) -> dict[str, str]:
    """Headers of a request by ``user`` (the test auth method), in ``workspace`` when given."""
    headers = {"X-Test-User": user}
    if workspace:
        headers["X-Workspace-ID"] = workspace
    return headers


async def two_workspaces(client: AppClient) -> dict[str, str]:
    """Users alice, bob, mia, vera; alice owns ``alpha`` (mia a member, vera a viewer), bob owns
    ``bravo``. Returns ``{"alpha": id, "bravo": id}``."""
    from automatos.kernel.db import models as m

    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker.begin() as session:
        for user in ("alice", "bob", "mia", "vera"):
            session.add(m.User(id=user, email=f"{user}@example.test", display_name=user))
    ids: dict[str, str] = {}
    for user, slug in (("alice", "alpha"), ("bob", "bravo")):
        made = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers=as_user(user))
        assert made.status_code == 201, made.text
        ids[slug] = made.json()["id"]
    for email, role in (("mia@example.test", "member"), ("vera@example.test", "viewer")):
        added = await client.post(
            f"/api/workspaces/{ids['alpha']}/members", json={"email": email, "role": role}, headers=as_user("alice")
        )
        assert added.status_code in (200, 201), added.text
    return ids


def sse(text: str) -> list[tuple[str, Any]]:
    """A Server-Sent Events body as ``(event, data)`` pairs, the data decoded from JSON."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events
