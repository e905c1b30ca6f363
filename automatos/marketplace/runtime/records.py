"""What the runtime's service answers and takes: msgspec structs, the API's bodies.

- :class:`CatalogueEntry` (with :class:`CatalogueVersion`): an approved, active plugin as any
  workspace member sees it in ``GET /api/marketplace/plugins``.
- :class:`EnableRequest`, :class:`UpgradeRequest`, :class:`ConfigRequest`: a workspace admin's bodies.
- :class:`WorkspacePluginRecord`: a plugin enabled in a workspace — its configuration only as the
  list of keys set, never a value.
- :class:`AgentPluginsRequest`, :class:`AgentPluginsRecord`: an agent's ordered plugins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "AgentPluginsRecord",
    "AgentPluginsRequest",
    "CatalogueEntry",
    "CatalogueVersion",
    "ConfigRequest",
    "EnableRequest",
    "UpgradeRequest",
    "WorkspacePluginRecord",
]

Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Version = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Config = Annotated[
    dict[str, str],
    msgspec.Meta(
        description="Values of the environment names the plugin declared (`[permissions] env`), "
        "each a string of at most 4 KB. Stored encrypted; never answered."
    ),
]


class CatalogueVersion(msgspec.Struct, kw_only=True):
    version: str
    sha256: str
    approved_at: datetime | None
    granted_permissions: dict[str, Any]
    """What the approval granted (a subset of ``permissions``)."""


class CatalogueEntry(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    description: str
    category: str | None
    author: str | None
    latest_version: str | None
    permissions: dict[str, Any]
    """What the latest approved version's manifest declares (``[permissions]``)."""
    versions: list[CatalogueVersion]
    """Approved versions, newest first."""


class EnableRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    version: Version | None = None
    """An approved version; default: the newest approved."""
    config: Config | None = None


class UpgradeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version | None = None
    """An approved version; default: the newest approved."""


class ConfigRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    config: Config
    """Replaces the whole configuration (keys left out are unset)."""


class WorkspacePluginRecord(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    version: str
    status: Literal["active", "quarantined"]
    status_reason: str | None
    """Why it is quarantined here (for the workspace's admins)."""
    plugin_status: str
    """The platform's switch: ``deactivated`` plugins do nothing in any workspace."""
    config_keys: list[str]
    """Which configuration keys are set (their values are never answered)."""
    tools: int
    """How many tools its cached declarations give (0 until ``register`` ran)."""
    enabled_by: str | None
    created_at: datetime
    updated_at: datetime


class AgentPluginsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    plugins: Annotated[list[Slug], msgspec.Meta(max_length=100)]
    """Slugs of plugins enabled in the workspace, in the order the agent takes their content."""


class AgentPluginsRecord(msgspec.Struct, kw_only=True):
    agent_id: str
    plugins: list[str]
