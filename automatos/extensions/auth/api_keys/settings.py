"""The API-key extension's settings, and the pepper every stored key hash is keyed with.

``key_hash`` is HMAC-SHA256 of the whole key under a *pepper*, a secret that never enters the
database (``AUTOMATOS_API_KEY_PEPPER``, else ``<data_dir>/.api-key-pepper`` created 0600 on first
use): a stolen database alone cannot be used to test guesses.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from automatos.kernel.secrets import read_or_create_key_file
from automatos.kernel.settings import FieldDoc, Secret, SettingsGroup, setting
from automatos.kernel.settings_registry import Declared

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = [
    "MAX_LIFETIME_DAYS",
    "MAX_PER_WORKSPACE",
    "MAX_REQUESTS_PER_MINUTE",
    "PEPPER_FILE",
    "ApiKeySettings",
    "hash_key",
    "load_pepper",
]

PEPPER_FILE = ".api-key-pepper"

# The caps on what a new key may be given (platform settings, the one settings registry). The rate
# cap is an integer (requests per minute) rather than a ``limits`` string, so the registry's own
# type and range checks cover it.
MAX_LIFETIME_DAYS = Declared(
    key="api_keys.max_lifetime_days",
    scope="platform",
    kind="integer",
    default=3650,
    description="Latest expiry a new API key may be given, in days from its creation.",
    minimum=1,
    maximum=36_500,
)
MAX_REQUESTS_PER_MINUTE = Declared(
    key="api_keys.max_requests_per_minute",
    scope="platform",
    kind="integer",
    default=6000,
    description="Fastest rate_limit a new API key may be given, in requests per minute.",
    minimum=1,
    maximum=100_000_000,
)
MAX_PER_WORKSPACE = Declared(
    key="api_keys.max_per_workspace",
    scope="platform",
    kind="integer",
    default=1000,
    description="Most active (not revoked, not expired) API keys one workspace may hold.",
    minimum=1,
    maximum=1_000_000,
)

_PEPPERS: dict[str, bytes] = {}


class ApiKeySettings(SettingsGroup, frozen=True, kw_only=True):
    """How keys are hashed and how long a verified key is trusted from memory."""

    OWNER: ClassVar[str] = "automatos.auth.api_keys"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("API_KEY_CACHE_SECONDS", "api_key_cache_seconds", "number > 0", valid=lambda v: v > 0),
        setting("AUTOMATOS_API_KEY_PEPPER", "api_key_pepper", "string (secret)"),
    )

    api_key_cache_seconds: float = 60.0
    """How long a node trusts a verified API key without asking the database (revocation is pushed
    to every node at once through the kernel bus; this bounds the damage of a lost message)."""
    api_key_pepper: Secret | None = None
    """Secret mixed into every stored API-key hash. Unset: generated once into
    ``<data_dir>/.api-key-pepper`` (mode 0600). Nodes that do not share a data directory must share
    this value; changing it invalidates every key."""


def load_pepper(settings: Settings) -> bytes:
    """The deployment's pepper: the setting when given, else the data directory's file (made once)."""
    pepper_setting = settings.group(ApiKeySettings).api_key_pepper
    if pepper_setting:
        return pepper_setting.reveal().encode()
    path = (settings.data_dir / PEPPER_FILE).resolve()
    pepper = _PEPPERS.get(str(path))
    if pepper is None:
        pepper = _PEPPERS[str(path)] = _read_or_create(path)
    return pepper


def _read_or_create(path: Path) -> bytes:
    return read_or_create_key_file(path, "API-key pepper")


def hash_key(pepper: bytes, key: str) -> str:
    """Hex HMAC-SHA256 of ``key``: what ``api_keys.key_hash`` stores."""
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
