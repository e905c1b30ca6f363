"""Workspaces, their members and roles, the membership directory cache, archived workspaces and the
audit trail: the one owner of every workspace and membership write (see :mod:`.service`)."""
