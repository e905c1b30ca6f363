"""What the marketplace's service answers and takes: msgspec structs, the API's bodies.

- :class:`SubmissionRecord`: a version as its submitter (and an admin) sees it: status, verdict,
  score and the scan's findings.
- :class:`VersionSummary`: one line of the admin's review list.
- :class:`PluginRecord`: a plugin and its kill switch.
- :class:`FileEntry`, :class:`FileSource`, :class:`VersionDiff`: what the admin reads to review.
- :class:`ApproveRequest`, :class:`RejectRequest`, :class:`DeactivateRequest`: the admin's actions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "ApproveRequest",
    "DeactivateRequest",
    "FileDiff",
    "FileEntry",
    "FileSource",
    "FindingRecord",
    "PluginRecord",
    "RejectRequest",
    "SubmissionRecord",
    "VersionDiff",
    "VersionStatus",
    "VersionSummary",
]

VersionStatus = Literal["pending", "scanning", "scanned", "approved", "rejected", "failed"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class FindingRecord(msgspec.Struct, kw_only=True):
    rule: str
    severity: str
    file: str
    line: int
    message: str
    reachable: bool = True
    declared: bool = False


class VersionSummary(msgspec.Struct, kw_only=True):
    id: str
    plugin_id: str
    slug: str
    name: str
    version: str
    sha256: str
    size: int
    status: VersionStatus
    verdict: str | None
    risk_score: int | None
    submitted_by: str | None
    created_at: datetime
    scanned_at: datetime | None


class SubmissionRecord(VersionSummary, kw_only=True):
    manifest: dict[str, Any]
    findings: list[FindingRecord]
    scan_error: str | None = None
    plugin_status: str = "active"
    approved_by: str | None = None
    approved_sha256: str | None = None
    approved_at: datetime | None = None
    granted_permissions: dict[str, Any] | None = None
    override: bool = False
    override_reason: str | None = None
    rejected_reason: str | None = None


class PluginRecord(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str
    owner_id: str | None
    status: Literal["active", "deactivated"]
    status_reason: str | None
    latest_version_id: str | None
    latest_version: str | None
    created_at: datetime
    updated_at: datetime


class FileEntry(msgspec.Struct, kw_only=True):
    path: str
    size: int
    sha256: str
    binary: bool


class FileSource(msgspec.Struct, kw_only=True):
    """A text file as numbered lines, or a binary file described (never its bytes)."""

    path: str
    size: int
    sha256: str
    binary: bool
    lines: list[str] = msgspec.field(default_factory=list)
    """``"   12  text"``: the line number, right-aligned, two spaces, the line."""


class FileDiff(msgspec.Struct, kw_only=True):
    path: str
    diff: str
    """A unified diff (``---``/``+++`` headers, three lines of context); for binary files a one-line note."""


class VersionDiff(msgspec.Struct, kw_only=True):
    version_id: str
    base_version_id: str | None
    """The plugin's last approved version, or ``None`` (then every file is ``added``)."""
    base_version: str | None
    added: list[str]
    removed: list[str]
    changed: list[FileDiff]


class ApproveRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sha256: Annotated[
        str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="The version's sha256: what is approved.")
    ]
    granted_permissions: dict[str, list[str]] | None = None
    """What the plugin may use, a subset of its manifest's ``[permissions]``; ``None``: all it declared."""
    override: bool = False
    """Required (with ``reason``) to approve a version whose verdict is ``blocked``."""
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class RejectRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason


class DeactivateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason
