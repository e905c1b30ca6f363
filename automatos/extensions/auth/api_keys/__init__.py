"""API keys: per-workspace credentials, stored only as hashes, verified from memory.

An extension (entry point ``automatos.auth.api_keys``, essential: it cannot be denied or disabled)
that owns all of its parts:

- :mod:`.settings` — :class:`ApiKeySettings` (``API_KEY_CACHE_SECONDS``,
  ``AUTOMATOS_API_KEY_PEPPER``), the pepper and the key hash, and the declared platform settings
  that cap new keys (``api_keys.max_lifetime_days``…); all given to the kernel by
  ``register_settings``.
- :mod:`.models` and ``migrations/`` — the ``api_keys`` table and its revision (``0002``, in the
  one revision graph), given to the migration runner by ``register_migrations``.
- :mod:`.auth` — the auth method (``register_auth_methods``): format, hashing, the warm cache,
  revocation on every node; it also answers the kernel's
  :class:`~automatos.kernel.credentials.CredentialIssuer` questions (``/api/me``, the audit log).
- :mod:`.service` — the public service: create, list, read, revoke, key caps. Its routes and
  ``automatos keys`` call it; nothing else of the extension is public.
- :mod:`.routes` — ``/api/api-keys``, mounted by ``register_routes``.

The names below are re-exported for callers that imported them from this module before it became
a package (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automatos.extensions.auth.api_keys.auth import (
    INVALID_KEY,
    KEY_PREFIX,
    REVOKED_MESSAGE,
    ApiKeyAuth,
    InvalidAPIKey,
)
from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.extensions.auth.api_keys.service import (
    NO_CEILING,
    ApiKeyRecord,
    KeyCaps,
    create_key,
    get_key,
    key_caps,
    known_user,
    list_keys,
    revoke_key,
    visible_keys,
)
from automatos.extensions.auth.api_keys.settings import (
    MAX_LIFETIME_DAYS,
    MAX_PER_WORKSPACE,
    MAX_REQUESTS_PER_MINUTE,
    PEPPER_FILE,
    ApiKeySettings,
    hash_key,
    load_pepper,
)
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.parts import MigrationSource

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.settings import Settings
    from automatos.kernel.types import AuthMethod

__all__ = [
    "INVALID_KEY",
    "KEY_PREFIX",
    "MIGRATIONS",
    "NO_CEILING",
    "PEPPER_FILE",
    "REVOKED_MESSAGE",
    "ApiKey",
    "ApiKeyAuth",
    "ApiKeyRecord",
    "ApiKeySettings",
    "InvalidAPIKey",
    "KeyCaps",
    "create_key",
    "get_key",
    "hash_key",
    "key_caps",
    "known_user",
    "list_keys",
    "load_pepper",
    "register_auth_methods",
    "register_migrations",
    "register_routes",
    "register_settings",
    "revoke_key",
    "visible_keys",
]

MIGRATIONS = MigrationSource(
    name="automatos.auth.api_keys", versions=Path(__file__).parent / "migrations", metadata=ApiKey.metadata
)
"""The ``api_keys`` table's revisions (``0002``: its place in the historical chain is unchanged) and
its model's ``MetaData`` (the kernel's ``Base``'s, which the table shares)."""


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    register(ApiKeySettings)
    for declared in (MAX_LIFETIME_DAYS, MAX_REQUESTS_PER_MINUTE, MAX_PER_WORKSPACE):
        register(declared)


@hookimpl
def register_migrations(register: Callable[[MigrationSource], None]) -> None:
    register(MIGRATIONS)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None], settings: Settings, kernel: Kernel) -> None:
    method = ApiKeyAuth(kernel, load_pepper(settings), ttl=settings.group(ApiKeySettings).api_key_cache_seconds)
    kernel.bus.on(REVOKED_MESSAGE, method.on_revoked)
    kernel.bus.on("directory", method.on_directory)
    register(method)


@hookimpl
def register_routes(register: Callable[[Any], None]) -> None:
    from automatos.extensions.auth.api_keys.routes import ApiKeysController  # Litestar only when serving

    register(ApiKeysController)
