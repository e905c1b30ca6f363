"""Workspaces for tests, made the one way the platform makes them: through the WorkspaceService."""

from __future__ import annotations

from automatos.kernel.core import Kernel
from automatos.kernel.types import Workspace
from automatos.workspaces.service import WorkspaceService

__all__ = ["new_workspace"]


async def new_workspace(kernel: Kernel, slug: str, name: str, *, owner_id: str | None = None) -> Workspace:
    """Create ``slug`` through the kernel's workspace service (published like any write) and return
    the kernel's view of it (what ``set_extension`` and ``view_for`` take)."""
    record = await WorkspaceService.of(kernel).create(slug, name, owner_id=owner_id)
    workspace = await kernel.store.get_workspace(record.id)
    assert workspace is not None
    return workspace
