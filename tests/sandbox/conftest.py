"""Shared fixtures of the sandbox tests: a real :class:`WorkerPool` (worker processes started clean)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from automatos.sandbox import WorkerPool


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    """Two warm workers for the module (the event loop is the session's, see pyproject)."""
    async with WorkerPool(2) as pool:
        yield pool
