"""The data directory and the SQLite database are private: 0700 and 0600, WAL and SHM included."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from automatos.extensions.storage.local import load_signing_key
from automatos.kernel.datadir import ensure_private_dir, prepare_sqlite_file, sqlite_path
from automatos.kernel.db.session import engine_from_url


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022), under which files default to 0644 and directories to 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
async def test_the_sqlite_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "automatos-data"
    database = data_dir / "automatos.db"
    engine = engine_from_url(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE chat (body TEXT)"))
            await connection.execute(text("INSERT INTO chat VALUES ('a private message')"))
        async with engine.connect() as connection:  # WAL mode keeps -wal and -shm while connected
            assert (await connection.execute(text("SELECT body FROM chat"))).scalar_one() == "a private message"
            modes = await asyncio.to_thread(lambda: {p.name: mode(p) for p in data_dir.iterdir()})
            assert modes == {"automatos.db": 0o600, "automatos.db-wal": 0o600, "automatos.db-shm": 0o600}
    finally:
        await engine.dispose()
    assert mode(data_dir) == 0o700


@pytest.mark.usefixtures("loose_umask")
def test_an_install_made_before_the_rule_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "automatos-data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    database = data_dir / "automatos.db"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.write_bytes(b"")
        os.chmod(path, 0o644)
    ensure_private_dir(data_dir)
    prepare_sqlite_file(database)
    assert mode(data_dir) == 0o700
    assert [mode(p) for p in sorted(data_dir.iterdir())] == [0o600, 0o600, 0o600]


@pytest.mark.usefixtures("loose_umask")
def test_a_shared_directory_is_never_tightened(tmp_path: Path) -> None:
    """A DATABASE_URL file in an existing directory (``/tmp``, a mount) leaves the directory alone."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    prepare_sqlite_file(shared / "x.db")
    assert mode(shared) == 0o1777 and mode(shared / "x.db") == 0o600
    ensure_private_dir(shared)
    assert mode(shared) == 0o1777
    existing = tmp_path / "existing"
    existing.mkdir()
    os.chmod(existing, 0o755)
    prepare_sqlite_file(existing / "y.db")
    assert mode(existing) == 0o755 and mode(existing / "y.db") == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_local_blob_storage_directories_are_private(tmp_path: Path) -> None:
    from automatos.extensions.storage.local import _factory
    from automatos.kernel.backends import BackendContext
    from automatos.kernel.settings import load_settings

    data_dir = tmp_path / "data"
    load_signing_key(data_dir)
    assert mode(data_dir) == 0o700 and mode(data_dir / ".blob-signing-key") == 0o600
    backend = _factory(BackendContext(settings=load_settings({}, data_dir=data_dir)))
    assert mode(backend.root) == 0o700


def test_sqlite_path_reads_only_file_urls() -> None:
    assert sqlite_path("sqlite+aiosqlite:///a/b.db") == Path("a/b.db")
    assert sqlite_path("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_path("sqlite+aiosqlite://") is None
    assert sqlite_path("postgresql+asyncpg://u:p@h/db") is None
