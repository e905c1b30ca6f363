"""Plugins' skills and prompts, read from the blob store through the KV cache.

A content file of a version is cached in the kernel's KV backend under
``plugin-content:<version sha256>:<path>`` for :data:`CONTENT_TTL` seconds (an hour): bundles are
immutable, so a key never goes stale; an upgrade drops the old version's keys
(:meth:`ContentCache.drop`) so they do not linger. A miss reads the stored bundle (its sha256
checked) and fills the keys of every path asked. The KV backend failing does not fail the
content: the cache fails open — the miss path reads the blob store, logged once per outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from automatos.marketplace.runtime.bundles import read_bundle

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.marketplace.archive import ArchiveLimits
    from automatos.marketplace.runtime.declarations import VersionRef

__all__ = ["CONTENT_TTL", "ContentCache", "content_key"]

log = logging.getLogger("automatos.marketplace.runtime")

CONTENT_TTL = 3600.0
MAX_TEXT_BYTES = 256 * 1024
"""Longest content file given to a system prompt (longer ones are cut, with a note)."""


def content_key(sha256: str, path: str) -> str:
    return f"plugin-content:{sha256}:{path}"


class ContentCache:
    """Text of content files per version and path; see the module docstring."""

    def __init__(self, kernel: Kernel, limits: Callable[[], ArchiveLimits]) -> None:
        self.kernel = kernel
        self.limits = limits
        self.kv_failing = False
        self.hits = 0
        self.misses = 0

    async def texts(self, ref: VersionRef, paths: Sequence[str]) -> dict[str, str]:
        """``{path: text}`` for ``paths`` of the version (paths that are not files are left out)."""
        found: dict[str, str] = {}
        missing: list[str] = []
        kv = self.kernel.backends.kv
        for path in paths:
            try:
                cached = await kv.get(content_key(ref.sha256, path))
            except Exception as exc:
                self._kv_failed(exc)
                cached = None
            else:
                self.kv_failing = False
            if cached is None:
                missing.append(path)
            else:
                found[path] = cached.decode("utf-8", "replace")
        if missing:
            self.misses += 1
            files = await read_bundle(self.kernel.backends.blob, ref.blob_key, ref.sha256, self.limits())
            for path in missing:
                data = files.get(path)
                if data is None:
                    continue
                text = _text(data)
                found[path] = text
                if self.kv_failing:
                    continue
                try:
                    await kv.set(content_key(ref.sha256, path), text.encode("utf-8"), ttl=CONTENT_TTL)
                except Exception as exc:
                    self._kv_failed(exc)
        else:
            self.hits += 1
        return {path: found[path] for path in paths if path in found}

    async def drop(self, ref: VersionRef, paths: Sequence[str]) -> None:
        """Forget the cached content of a version (after an upgrade away from it)."""
        for path in paths:
            try:
                await self.kernel.backends.kv.delete(content_key(ref.sha256, path))
            except Exception as exc:
                self._kv_failed(exc)
                return

    def _kv_failed(self, exc: Exception) -> None:
        if not self.kv_failing:
            log.warning("plugin content: the KV cache failed (%s); reading the blob store", type(exc).__name__)
        self.kv_failing = True


def _text(data: bytes) -> str:
    text = data[:MAX_TEXT_BYTES].decode("utf-8", "replace")
    if len(data) > MAX_TEXT_BYTES:
        text += f"\n[… cut at {MAX_TEXT_BYTES} bytes]"
    return text
