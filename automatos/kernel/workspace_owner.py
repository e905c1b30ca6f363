"""What the kernel and extensions may ask of the owner of workspace writes, without importing it.

One service performs every workspace and membership write and publishes its own invalidations
after the transaction commits: :class:`automatos.workspaces.service.WorkspaceService`. The kernel
may not import a feature package (imports run one way: ``api``/``cli`` → features → kernel), so it
holds that service through the protocols below. The composition root hands it to the kernel when
it builds one (``KernelContainer.workspaces``, provided by :class:`automatos.container.Container`);
the kernel then calls :meth:`WorkspaceOwner.attach`, and the owner registers what it needs through
the kernel's generic hook points (:meth:`~automatos.kernel.core.Kernel.subscribe` for its bus
channel, :meth:`~automatos.kernel.core.Kernel.on_start` for the default workspace).

What others reach through the kernel:

- ``kernel.directory`` (:class:`WorkspaceDirectory`): the owner's cache of who belongs where, read
  on every authenticated request (the request context, the API-key extension);
- ``kernel.workspace_owner.provisioning()`` (:class:`Provisioning`): one transaction in which an
  extension writes rows of its own (the JWT extension: the user row on first login) and creates
  a workspace by the owner's rules; the owner publishes once the transaction has committed, and
  nothing when it rolls back.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel
    from automatos.kernel.types import Workspace

__all__ = ["Provisioning", "WorkspaceDirectory", "WorkspaceOwner"]


class WorkspaceDirectory(Protocol):
    """Who belongs where, answered from a cache that every workspace or membership write clears."""

    async def workspace(self, ref: str) -> Workspace | None:
        """The active workspace ``ref`` (an id or a slug) names, or ``None``."""
        ...

    async def role(self, workspace_id: str, user_id: str) -> str | None:
        """The user's role in the workspace, or ``None`` when they are not a member."""
        ...


class Provisioning(Protocol):
    """One open transaction of the owner's (see :meth:`WorkspaceOwner.provisioning`)."""

    @property
    def session(self) -> AsyncSession:
        """The transaction's session: the caller's own rows go in with the workspace, or neither does."""
        ...

    async def create_workspace(self, slug: str, name: str, *, owner_id: str) -> Workspace:
        """Create a workspace whose owner is ``owner_id`` (a user row of this session), audited.

        The owner's rules apply (the slug's form, a slug nobody holds: ``ConflictError`` naming
        ``slug``); extensions hear ``workspace.created`` after the commit.
        """
        ...


class WorkspaceOwner(Protocol):
    """The one owner of workspace and membership writes, as the kernel holds it."""

    @property
    def directory(self) -> WorkspaceDirectory: ...

    def attach(self, kernel: Kernel) -> None:
        """Called once by the kernel being built: keep it, subscribe, register start steps."""
        ...

    def provisioning(self) -> AbstractAsyncContextManager[Provisioning]:
        """A transaction for a caller's rows plus new workspaces; invalidations are published after
        it commits, none when the body raises."""
        ...
