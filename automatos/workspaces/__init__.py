"""Workspaces, their members and roles, the membership directory cache, archived workspaces and the
audit trail.

- :mod:`.service`: :class:`~automatos.workspaces.service.WorkspaceService`, the one owner of every
  workspace and membership write; it publishes its own invalidations after each commit;
- :mod:`.directory`: the per-process cache of who belongs where (``kernel.directory``);
- :mod:`.archive`: reads of archived workspaces;
- :mod:`.records`: the records the API answers with and the shared rules (slug, role, e-mail).

The kernel holds the service through :mod:`automatos.kernel.workspace_owner` (it imports no
feature package); the composition root (:mod:`automatos.container`) builds it.
"""
