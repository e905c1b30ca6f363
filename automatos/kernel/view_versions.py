"""Bumping a workspace's ``extensions_version`` for data its view is built from, and publishing it.

:func:`join_views` joins an extras loader to the views at start. Every writer of rows a
:class:`~automatos.kernel.views.WorkspaceViews` extras loader reads (the
marketplace's enabled plugins, the tools' MCP servers, Composio connections, agents' apps and the
workspace's tool switches) calls :func:`bump` in its transaction (after
:func:`~automatos.kernel.store.lock_workspace`) and, after the commit, :func:`publish_versions`: this
node's view is rebuilt at once and every other node follows through the ``extensions`` bus message
(the re-check loop is the backstop), exactly like :meth:`Kernel.set_extension
<automatos.kernel.core.Kernel.set_extension>`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import update

from automatos.kernel.db import models as m
from automatos.kernel.errors import NotFoundError, echo

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel
    from automatos.kernel.views import ExtrasLoader

log = logging.getLogger("automatos.workspace")

__all__ = ["bump", "join_views", "publish_versions"]


async def bump(session: AsyncSession, workspace_id: str) -> int:
    """Bump the workspace's ``extensions_version`` in this transaction; 404 when it does not exist."""
    version = await session.scalar(
        update(m.Workspace)
        .where(m.Workspace.id == workspace_id)
        .values(extensions_version=m.Workspace.extensions_version + 1)
        .returning(m.Workspace.extensions_version)
    )
    if version is None:
        raise NotFoundError(f"workspace {echo(workspace_id)} does not exist", field="workspace_id")
    return int(version)


async def publish_versions(kernel: Kernel, bumped: Sequence[tuple[str, int]]) -> None:
    """After the commit: rebuild this node's views at once, then tell every node (``extensions``)."""
    for workspace_id, version in bumped:
        task = kernel.views.invalidate(workspace_id, version)
        if task is not None:
            await task
        await kernel.bus.publish("extensions", workspace_id=workspace_id, version=version)


async def join_views(kernel: Kernel, loader: ExtrasLoader, what: str) -> None:
    """Join ``loader``'s extras to every view built from now on, and rebuild the views built before
    (a failed rebuild is logged: that view is built again on its next use). ``what`` names the
    extras in the log."""
    kernel.views.add_extras(loader)
    rebuilt = await asyncio.gather(*kernel.views.invalidate_all(), return_exceptions=True)
    for failure in [r for r in rebuilt if isinstance(r, BaseException)]:
        log.error("rebuilding a view with %s failed (%s); it is rebuilt on next use", what, failure)
