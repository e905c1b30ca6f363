"""Session fixtures: real PostgreSQL+pgvector, Redis-compatible server and S3 endpoint, started lazily."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from automatos.kernel.db import pool
from tests.services import PostgresServer, RedisServer, Service, start_postgres, start_redis, start_s3

# Tests never talk to real clouds: fake credentials, and moto or the given endpoint only.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# A task that asks for a second database connection while it holds one fails its test, wherever it
# happens (in production it is a warning): under load such code deadlocks the pool.
pool.STRICT_CHECKOUTS = True


def _serve(start: type | object) -> Iterator[str]:
    service: Service = start()  # type: ignore[operator]
    try:
        yield service.url
    finally:
        service.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy async URL of a PostgreSQL server where ``CREATE EXTENSION vector`` works."""
    yield from _serve(start_postgres)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    yield from _serve(start_redis)


@pytest.fixture(scope="session")
def s3_endpoint_url() -> Iterator[str]:
    yield from _serve(start_s3)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A Redis-compatible server of the test's own, to kill and bring back."""
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of the module's own: stopping it must not take the suite's down."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _event_loop_policy_kept() -> Iterator[None]:
    """Every test starts and ends with asyncio's default event-loop policy.

    Older uvicorn (0.30, our floor) installs uvloop's policy globally when a server runs with
    ``Server.run()`` (in a thread, often from a module-scoped fixture, so before a test starts);
    the session's loop stays asyncio's, whose subprocess support then asks uvloop's policy for a
    child watcher and gets NotImplementedError (seen at the lowest supported versions: the sandbox
    pool of later tests could not start). Production is unaffected: ``automatos serve`` runs on
    the loop uvicorn makes.
    """
    _default_policy()
    yield
    _default_policy()


def _default_policy() -> None:
    if type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def pytest_configure(config: pytest.Config) -> None:
    """A test that times out also shows what every asyncio task of its loop was waiting on.

    pytest-timeout dumps thread stacks only; for an async test that hangs, the main thread is just
    "in select()". Its dump function is wrapped (a private name of the plugin, checked here) so the
    next hang in CI names the task and the line it is stuck on.
    """
    import pytest_timeout

    dump = getattr(pytest_timeout, "dump_stacks", None)
    if dump is None or getattr(dump, "with_tasks", False):
        return

    def dump_stacks(terminal: object) -> None:
        dump(terminal)
        _dump_tasks(terminal)

    dump_stacks.with_tasks = True  # type: ignore[attr-defined]
    pytest_timeout.dump_stacks = dump_stacks


def _dump_tasks(terminal: object) -> None:
    import io

    loop = asyncio.events._get_running_loop()
    if loop is None:
        return
    write = terminal.write  # type: ignore[attr-defined]
    for task in asyncio.all_tasks(loop):
        out = io.StringIO()
        task.print_stack(limit=30, file=out)
        write(f"~~~~~~ asyncio task {task.get_name()} ~~~~~~\n{out.getvalue()}")
