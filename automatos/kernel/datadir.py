"""The data directory and the SQLite file: private to the user who runs Automatos.

The embedded default keeps everything a tenant owns under ``AUTOMATOS_DATA_DIR``: the SQLite
database (chat text, audit, hashed keys), its ``-wal`` and ``-shm`` companions (recent writes in
clear), blobs, and the installation's secret files. None of it is for other local users.

Decisions:
- The data directory is created ``0700`` and tightened to ``0700`` when it already exists with
  group or world bits (an install made before this rule), as long as the current user owns it: a
  directory someone else owns (a shared mount) is left alone and a warning says so, and a shared
  directory (sticky bit, like ``/tmp``), the current directory, the home directory and ``/`` are
  never changed: ``AUTOMATOS_DATA_DIR=.`` must not lock a project directory.
- A ``DATABASE_URL`` SQLite file outside the data directory gets its directory created ``0700``
  when missing; an existing directory there is not ours to tighten.
- The SQLite file is created ``0600`` *before* SQLite opens it: SQLite creates ``-wal``/``-shm``
  with the permissions of the database file, so they are private from their first byte. Existing
  files (and their companions) are ``chmod``-ed to ``0600`` too. A umask of 077 is held around the
  creation so not even a brief window exists.
- :func:`sqlite_path` is the one reading of a SQLite URL (in-memory and ``file:`` URI forms have
  no path), shared by the engine and the CLI's "which database is this" message.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["DIR_MODE", "FILE_MODE", "ensure_private_dir", "prepare_sqlite_file", "sqlite_path"]

log = logging.getLogger(__name__)

DIR_MODE = 0o700
"""Mode of the data directory and the blob storage directory."""
FILE_MODE = 0o600
"""Mode of the SQLite database and its ``-wal``/``-shm`` files."""
_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path | None:
    """The database file a SQLite URL names, or ``None`` (not SQLite, in-memory, ``file:`` URI)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _tighten(path: Path, mode: int) -> None:
    """``chmod`` ``path`` to ``mode`` if it is looser and ours; warn when it is someone else's."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(info.st_mode) & ~mode == 0:
        return
    if stat.S_ISDIR(info.st_mode) and (info.st_mode & stat.S_ISVTX or _is_special_dir(path)):
        return
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        log.warning("%s is readable by other users and not ours to change; restrict it (chmod %o)", path, mode)
        return
    os.chmod(path, mode)


def _is_special_dir(path: Path) -> bool:
    resolved = path.resolve()
    return resolved in (Path.cwd().resolve(), Path.home().resolve(), Path(resolved.anchor))


def ensure_private_dir(path: Path, *, tighten_existing: bool = True) -> Path:
    """Create ``path`` (and its parents) with the directory itself ``0700``; tighten it if looser."""
    if not path.is_dir():
        old = os.umask(0o077)
        try:
            path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        finally:
            os.umask(old)
        _tighten(path, DIR_MODE)
    elif tighten_existing:
        _tighten(path, DIR_MODE)
    return path


def prepare_sqlite_file(path: Path) -> None:
    """Make the database's directory private and the file (and its companions) ``0600``.

    Creates an empty file when none exists: SQLite treats an empty file as a new database and
    gives the ``-wal``/``-shm`` files it creates the same mode.
    """
    ensure_private_dir(path.parent, tighten_existing=False)
    if not path.exists():
        old = os.umask(0o077)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
            os.close(fd)
        finally:
            os.umask(old)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in _COMPANIONS)):
        _tighten(candidate, FILE_MODE)
