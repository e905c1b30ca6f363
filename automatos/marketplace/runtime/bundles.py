"""A version's bundle as the runtime needs it: its Python modules, and its text files.

The stored zip (blob backend, ``plugin_versions.blob_key``) is read with the archive limits it
passed on upload, after checking that its sha256 is still the approved one — the runtime never
runs bytes an admin did not approve. Bundles are immutable, so the modules of a version are cached
in-process by sha256 (a bounded LRU, :class:`BundleCache`); text content goes through the KV cache
instead (:mod:`automatos.marketplace.runtime.content`).

A module's name is its dotted path: ``pkg/__init__.py`` → ``pkg``, ``pkg/tools.py`` →
``pkg.tools``, ``helpers.py`` → ``helpers`` — what the sandbox worker imports them as.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from typing import TYPE_CHECKING

from automatos.kernel.errors import ConflictError, NotFoundError

if TYPE_CHECKING:
    from automatos.kernel.backends import BlobBackend
    from automatos.marketplace.archive import ArchiveLimits

__all__ = ["BundleCache", "module_name", "modules_of", "read_bundle"]

MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.(?!__)[A-Za-z_][A-Za-z0-9_]*){0,9}$")
"""Module names the sandbox loads (as its ``PluginJob`` takes them): others are data to it."""


def module_name(path: str) -> str | None:
    """The dotted module name of a ``.py`` path of the bundle (``None`` for any other file)."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    name = ".".join(parts)
    return name if MODULE.match(name) else None


def modules_of(files: dict[str, bytes]) -> dict[str, str]:
    """``{dotted module name: source}`` of every Python module of the bundle."""
    modules: dict[str, str] = {}
    for path, data in files.items():
        name = module_name(path)
        if name is not None:
            modules[name] = data.decode("utf-8", "replace")
    return modules


async def read_bundle(blob: BlobBackend, key: str, sha256: str, limits: ArchiveLimits) -> dict[str, bytes]:
    """The files of the stored bundle ``key`` whose bytes must hash to ``sha256``.

    404 when the blob is missing; 409 when its bytes are no longer the approved ones.
    """
    data = await blob.get(key)
    if data is None:
        raise NotFoundError(f"the stored bundle {key[:200]} is missing", field="version")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ConflictError(
            f"the stored bundle {key[:200]} is not the approved bytes (sha256 differs): it is not run",
            field="version",
        )
    from automatos.marketplace.archive import read_zip

    files: dict[str, bytes] = await asyncio.to_thread(read_zip, data, limits)
    return files


class BundleCache:
    """The modules of recently used versions, by sha256 (bounded, least recently used dropped first)."""

    def __init__(self, max_bundles: int = 64) -> None:
        self.max_bundles = max_bundles
        self._modules: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._loading: dict[str, asyncio.Task[dict[str, str]]] = {}

    async def modules(self, blob: BlobBackend, key: str, sha256: str, limits: ArchiveLimits) -> dict[str, str]:
        cached = self._modules.get(sha256)
        if cached is not None:
            self._modules.move_to_end(sha256)
            return cached
        task = self._loading.get(sha256)
        if task is None:
            task = asyncio.ensure_future(self._load(blob, key, sha256, limits))
            self._loading[sha256] = task
            task.add_done_callback(lambda _t: self._loading.pop(sha256, None))
        return await asyncio.shield(task)

    async def _load(self, blob: BlobBackend, key: str, sha256: str, limits: ArchiveLimits) -> dict[str, str]:
        modules = modules_of(await read_bundle(blob, key, sha256, limits))
        self.put(sha256, modules)
        return modules

    def put(self, sha256: str, modules: dict[str, str]) -> None:
        """Remember the modules of a bundle read elsewhere (its sha256 already checked)."""
        self._modules[sha256] = modules
        self._modules.move_to_end(sha256)
        while len(self._modules) > self.max_bundles:
            self._modules.popitem(last=False)

    def clear(self) -> None:
        self._modules.clear()
