"""The kernel's database layer: declarative base, engines and sessions, kernel tables, migrations."""

from __future__ import annotations

from automatos.kernel.db.base import (
    NAMING_CONVENTION,
    Base,
    EmbeddingType,
    JSONType,
    UTCDateTime,
    created_at_column,
    new_id,
    updated_at_column,
    utcnow,
    uuid_pk,
)
from automatos.kernel.db.migrate import current, head, upgrade, upgrade_sync
from automatos.kernel.db.models import (
    MEMBER_ROLES,
    AuditLogEntry,
    SystemSetting,
    User,
    VectorItem,
    Workspace,
    WorkspaceExtension,
    WorkspaceMember,
)
from automatos.kernel.db.session import create_engine, engine_from_url, make_sessionmaker

__all__ = [
    "MEMBER_ROLES",
    "NAMING_CONVENTION",
    "AuditLogEntry",
    "Base",
    "EmbeddingType",
    "JSONType",
    "SystemSetting",
    "UTCDateTime",
    "User",
    "VectorItem",
    "Workspace",
    "WorkspaceExtension",
    "WorkspaceMember",
    "create_engine",
    "created_at_column",
    "current",
    "engine_from_url",
    "head",
    "make_sessionmaker",
    "new_id",
    "updated_at_column",
    "upgrade",
    "upgrade_sync",
    "utcnow",
    "uuid_pk",
]
