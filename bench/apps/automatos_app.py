"""The real app, built by :func:`automatos.api.app.create_app`, on a throw-away data directory.

Settings come from an empty environment plus ``data_dir`` (so a stray ``DATABASE_URL`` or
``REDIS_URL`` in the shell does not change what is measured): SQLite file, in-process cache and
pub/sub, local blobs, every installed extension discovered as in production.

Serve: ``.venv/bin/python -m uvicorn --app-dir bench --factory apps.automatos_app:create``
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dependency_injector import providers
from litestar import Litestar

from automatos.api.app import create_app
from automatos.container import Container
from automatos.kernel.settings import load_settings

__all__ = ["create"]


def create(data_dir: Path | None = None, **settings: Any) -> Litestar:
    """A fresh container and app; without ``data_dir`` a temporary one, removed at exit."""
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="automatos-bench-"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    container = Container()
    container.settings.override(providers.Object(load_settings({}, data_dir=data_dir, **settings)))
    return create_app(container)
