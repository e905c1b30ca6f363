"""The marketplace's settings: bundle limits, signatures, the dependency allow-list, the LLM review.

:class:`MarketplaceSettings` is read from the environment like every settings struct (a malformed
variable stops start-up naming it) and handed to the kernel by the composition root
(``automatos/container.py``, ``package_parts``), so the README's settings table lists it. Read it
with ``settings.group(MarketplaceSettings)``.

``PLUGINS_REQUIRE_SIGNATURE`` follows ``AUTOMATOS_ENV`` when it is not set: on in ``production``,
off in ``development`` (the embedded default). Set it to say otherwise either way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import FieldDoc, Settings, SettingsGroup, setting
from automatos.marketplace.archive import ArchiveLimits, MiB
from automatos.marketplace.signing import parse_public_key

__all__ = ["DEFAULT_ALLOWED_DEPENDENCIES", "MarketplaceSettings"]

DEFAULT_ALLOWED_DEPENDENCIES: tuple[str, ...] = (
    "requests",
    "httpx",
    "pydantic",
    "pyyaml",
    "jinja2",
    "python-dateutil",
    "markdown",
    "beautifulsoup4",
    "tenacity",
    "attrs",
    "pytz",
    "tzdata",
)
"""Distributions a plugin may depend on unless the deployment says otherwise: small, widely used,
pure Python or with wheels everywhere."""


class MarketplaceSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "marketplace package"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("PLUGINS_MAX_BUNDLE_BYTES", "plugins_max_bundle_bytes", "integer ≥ 1024", valid=lambda v: v >= 1024),
        setting(
            "PLUGINS_MAX_UNPACKED_BYTES", "plugins_max_unpacked_bytes", "integer ≥ 1024", valid=lambda v: v >= 1024
        ),
        setting("PLUGINS_MAX_FILES", "plugins_max_files", "integer 1-100000", valid=lambda v: 1 <= v <= 100_000),
        setting("PLUGINS_MAX_FILE_BYTES", "plugins_max_file_bytes", "integer ≥ 1024", valid=lambda v: v >= 1024),
        setting("PLUGINS_MAX_RATIO", "plugins_max_ratio", "integer 2-10000", valid=lambda v: 2 <= v <= 10_000),
        setting("PLUGINS_REQUIRE_SIGNATURE", "plugins_require_signature", "true|false"),
        setting("PLUGINS_TRUSTED_KEYS", "plugins_trusted_keys", "comma-separated ed25519:<base64> keys"),
        setting("PLUGINS_ALLOWED_DEPENDENCIES", "plugins_allowed_dependencies", "comma-separated distribution names"),
        setting("PLUGINS_LLM_REVIEW", "plugins_llm_review", "true|false"),
        setting("PLUGINS_REVIEW_MODEL", "plugins_review_model", "model id, or empty"),
        setting(
            "PLUGINS_REVIEW_TOKEN_BUDGET",
            "plugins_review_token_budget",
            "integer 500-200000",
            valid=lambda v: 500 <= v <= 200_000,
        ),
        setting("PLUGINS_SCAN_MODE", "plugins_scan_mode", "local|queue", valid=lambda v: v in ("local", "queue")),
        setting("PLUGINS_SCAN_QUEUE_NAME", "plugins_scan_queue_name", "queue name"),
        setting(
            "PLUGINS_SCAN_TIMEOUT_SECONDS",
            "plugins_scan_timeout_seconds",
            "number 1-3600",
            valid=lambda v: 1 <= v <= 3600,
        ),
        setting(
            "PLUGINS_SCAN_MEMORY_MB",
            "plugins_scan_memory_mb",
            "integer 256-65536",
            valid=lambda v: 256 <= v <= 65536,
        ),
        setting(
            "PLUGINS_QUARANTINE_AFTER",
            "plugins_quarantine_after",
            "integer 1-1000",
            valid=lambda v: 1 <= v <= 1000,
        ),
    )

    plugins_max_bundle_bytes: int = 10 * MiB
    """Largest plugin bundle (zip) accepted, in bytes; an upload is refused as soon as it passes it."""
    plugins_max_unpacked_bytes: int = 50 * MiB
    """Most bytes all files of a bundle may expand to, counted while reading (headers are not trusted)."""
    plugins_max_files: int = 2000
    """Most files in a bundle."""
    plugins_max_file_bytes: int = 5 * MiB
    """Largest single file in a bundle, expanded."""
    plugins_max_ratio: int = 100
    """Highest compression ratio of a file and of the whole bundle (checked past 1 MiB expanded): zip bombs."""
    plugins_require_signature: bool = False
    """Refuse bundles without a valid signature by a key of ``PLUGINS_TRUSTED_KEYS``. Unset, it is on
    when ``AUTOMATOS_ENV=production`` and off otherwise; off, a missing or bad signature is a finding."""
    plugins_trusted_keys: tuple[str, ...] = ()
    """Publisher keys whose signatures this deployment trusts, each ``ed25519:<base64 of 32 bytes>``
    (``automatos plugin keygen`` prints one)."""
    plugins_allowed_dependencies: tuple[str, ...] = DEFAULT_ALLOWED_DEPENDENCIES
    """Distributions a plugin's ``dependencies`` may name; any other is a scan finding."""
    plugins_llm_review: bool = True
    """Ask the platform's LLM provider to review each scanned bundle (it may raise a verdict, never unblock)."""
    plugins_review_model: str = ""
    """Model of the LLM review; empty: the platform's default model."""
    plugins_review_token_budget: int = 8000
    """Most tokens of manifest, findings and code excerpts sent to the LLM review."""
    plugins_scan_mode: str = "local"
    """``local``: each API node scans in a spawned process of its own. ``queue``: scans are
    ``marketplace.scan`` jobs on the Redis job queue (``REDIS_URL``), served by ``automatos worker``."""
    plugins_scan_queue_name: str = "automatos-marketplace"
    """Name of the Redis job queue of plugin scans (``PLUGINS_SCAN_MODE=queue``)."""
    plugins_scan_timeout_seconds: float = 120.0
    """Longest one scan may take (in its child process); past it the scan is ``failed`` (verdict
    ``review``). A version left ``pending``/``scanning`` longer than this (plus a margin) by a
    node or worker that went away is scanned again."""
    plugins_scan_memory_mb: int = 2048
    """Address-space cap of the scan process, in MiB (Linux ``RLIMIT_AS``): a bundle that makes the
    scanner allocate past it is ``failed`` (verdict ``review``), never an out-of-memory machine."""
    plugins_quarantine_after: int = 5
    """Consecutive failed calls of an enabled plugin after which it is quarantined in that workspace
    (a success resets the count; a workspace admin restores it)."""

    @property
    def scan_memory_bytes(self) -> int:
        return self.plugins_scan_memory_mb * MiB

    @classmethod
    def validate(cls, values: dict[str, Any], settings: Settings | None) -> None:
        super().validate(values, settings)
        if "plugins_require_signature" not in values and settings is not None:
            values["plugins_require_signature"] = settings.environment == "production"
        for key in values.get("plugins_trusted_keys", ()):
            try:
                parse_public_key(key)
            except ValueError as exc:
                raise SettingsError(f"PLUGINS_TRUSTED_KEYS item {key[:40]!r} is malformed: {exc}") from None
        if values.get("plugins_scan_mode") == "queue" and settings is not None and not settings.redis_url:
            raise SettingsError("PLUGINS_SCAN_MODE=queue needs REDIS_URL (the job queue lives in Redis)")

    def archive_limits(self) -> ArchiveLimits:
        """The :class:`ArchiveLimits` these settings give."""
        return ArchiveLimits(
            max_compressed=self.plugins_max_bundle_bytes,
            max_uncompressed=self.plugins_max_unpacked_bytes,
            max_files=self.plugins_max_files,
            max_file_size=self.plugins_max_file_bytes,
            max_ratio=self.plugins_max_ratio,
        )
