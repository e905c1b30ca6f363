"""Roles and permissions: one table, checked on every handler.

Roles nest: a viewer reads; a member also uses and builds agents (chat), invokes the workspace's
tools and runs code in the sandbox; an admin also manages the workspace's members, keys, extensions
and settings; an owner also archives the workspace and manages owners. A principal bound to one
workspace (an API key) holds the role the key was created with, narrowed further by the key's
scopes when it has any. Platform admins may act in any workspace, but only with an explicit override
(``X-Admin-Override: true``) that is written to the audit log.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["ROLE_PERMISSIONS", "Permission", "Role", "allowed", "highest_role", "role_at_least"]


class Role(enum.StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class Permission(enum.StrEnum):
    WORKSPACE_READ = "workspace.read"
    WORKSPACE_UPDATE = "workspace.update"
    WORKSPACE_ARCHIVE = "workspace.archive"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    OWNERS_MANAGE = "owners.manage"
    KEYS_READ = "keys.read"
    KEYS_MANAGE = "keys.manage"
    EXTENSIONS_READ = "extensions.read"
    EXTENSIONS_MANAGE = "extensions.manage"
    AUDIT_READ = "audit.read"
    AGENTS_READ = "agents.read"
    AGENTS_USE = "agents.use"
    AGENTS_MANAGE = "agents.manage"
    USAGE_READ = "usage.read"
    SANDBOX_RUN = "sandbox.run"
    TOOLS_USE = "tools.use"


_ORDER = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]

_VIEWER = {
    Permission.WORKSPACE_READ,
    Permission.MEMBERS_READ,
    Permission.EXTENSIONS_READ,
    Permission.AGENTS_READ,
}
_MEMBER = _VIEWER | {Permission.AGENTS_USE, Permission.AGENTS_MANAGE, Permission.SANDBOX_RUN, Permission.TOOLS_USE}
_ADMIN = _MEMBER | {
    Permission.WORKSPACE_UPDATE,
    Permission.MEMBERS_MANAGE,
    Permission.KEYS_READ,
    Permission.KEYS_MANAGE,
    Permission.EXTENSIONS_MANAGE,
    Permission.AUDIT_READ,
    Permission.USAGE_READ,
}
_OWNER = _ADMIN | {Permission.WORKSPACE_ARCHIVE, Permission.OWNERS_MANAGE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.MEMBER: frozenset(_MEMBER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_OWNER),
}


def allowed(role: str | None, permission: Permission, scopes: frozenset[str] = frozenset()) -> bool:
    """Whether ``role`` (narrowed by ``scopes`` when non-empty) grants ``permission``."""
    if role is None:
        return False
    try:
        granted = ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
    return permission in granted and (not scopes or permission.value in scopes)


def role_at_least(role: str | None, minimum: Role) -> bool:
    if role is None:
        return False
    try:
        return _ORDER.index(Role(role)) >= _ORDER.index(minimum)
    except ValueError:
        return False


def highest_role(roles: Iterable[str]) -> Role | None:
    """The highest of ``roles`` (unknown names ignored); ``None`` when there is none."""
    known = [Role(r) for r in roles if r in _VALUES]
    return max(known, key=_ORDER.index, default=None)


_VALUES = frozenset(r.value for r in Role)
