"""Who belongs where, cached: workspaces by id or slug, and a user's role in a workspace.

Every authenticated request needs both, so they are answered from process memory. The
:class:`~automatos.workspaces.service.WorkspaceService` owns this cache: after every workspace or
membership write commits it drops this node's entries and publishes
``{"kind": "directory", "workspace_id": …}`` on the kernel bus, whose handler here
(:meth:`Directory.on_message`, subscribed through ``kernel.subscribe``) drops them on every other
node at once; entries also expire after ``ttl`` seconds in case a message is lost. Negative
answers are cached too (briefly), so a flood of requests for an unknown workspace does not become
a flood of queries. The kernel and extensions read it as ``kernel.directory``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from automatos.kernel.types import Workspace

__all__ = ["Directory"]

_MISSING = object()


class Directory:
    def __init__(
        self,
        find_workspace: Callable[[str], Awaitable[Workspace | None]],
        find_role: Callable[[str, str], Awaitable[str | None]],
        *,
        ttl: float = 30.0,
        negative_ttl: float = 2.0,
        max_entries: int = 50_000,
    ):
        self.find_workspace = find_workspace
        """An active workspace by id or slug, from the database."""
        self.find_role = find_role
        """A member's role (workspace id, user id), from the database."""
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._workspaces: dict[str, tuple[float, Workspace | None]] = {}
        self._roles: dict[tuple[str, str], tuple[float, str | None]] = {}

    def _trim(self, cache: dict[object, object]) -> None:
        while len(cache) > self.max_entries:
            cache.pop(next(iter(cache)))

    async def workspace(self, ref: str) -> Workspace | None:
        """An active workspace by id or slug."""
        now = time.monotonic()
        hit = self._workspaces.get(ref)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self.find_workspace(ref)
        expires = now + (self.ttl if found is not None else self.negative_ttl)
        self._workspaces[ref] = (expires, found)
        if found is not None:
            self._workspaces[found.id] = (expires, found)
            self._workspaces[found.slug] = (expires, found)
        self._trim(self._workspaces)  # type: ignore[arg-type]
        return found

    async def role(self, workspace_id: str, user_id: str) -> str | None:
        now = time.monotonic()
        key = (workspace_id, user_id)
        hit = self._roles.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        role = await self.find_role(workspace_id, user_id)
        self._roles[key] = (now + (self.ttl if role is not None else self.negative_ttl), role)
        self._trim(self._roles)  # type: ignore[arg-type]
        return role

    def invalidate(self, workspace_id: str | None = None) -> None:
        """Forget what is known of ``workspace_id`` (everything when ``None``)."""
        if workspace_id is None:
            self._workspaces.clear()
            self._roles.clear()
            return
        for ref, (_, ws) in list(self._workspaces.items()):
            if ref == workspace_id or (ws is not None and ws.id == workspace_id):
                self._workspaces.pop(ref, None)
        for key in [k for k in self._roles if k[0] == workspace_id]:
            self._roles.pop(key, None)
        # a slug may have been cached as unknown before the workspace was created or renamed
        for ref, (_, ws) in list(self._workspaces.items()):
            if ws is None:
                self._workspaces.pop(ref, None)

    def on_message(self, message: dict[str, Any]) -> None:
        """The ``directory`` bus message: another node (or this one) changed ``workspace_id``."""
        workspace_id = message.get("workspace_id")
        self.invalidate(workspace_id if isinstance(workspace_id, str) else None)
