"""Secrets at rest: a workspace's extension configuration (provider keys…) encrypted with Fernet.

Decisions:
- **What is stored.** A non-empty configuration is stored as ``{"$encrypted": "<Fernet token>"}``:
  the whole JSON object is encrypted, so neither the values nor the key names (``api_key``,
  ``base_url``…) are in the database. An empty configuration stays ``{}`` (it holds nothing, and
  the API already says whether a workspace configured an extension).
- **The key.** ``AUTOMATOS_SECRET_KEY`` when set: a Fernet key (44 URL-safe base64 characters) is
  used as is, any other string of at least 32 characters is stretched with HKDF-SHA256 (it must
  already be random: HKDF is not a password hash). Unset: the file ``<data_dir>/.secret-key``,
  created once (64 random hex characters, mode 0600) by the first process that needs it, exactly
  like the API-key pepper (:func:`read_or_create_key_file` is shared with it). Nodes that do not
  share a data directory must share ``AUTOMATOS_SECRET_KEY``.
- **Rotation.** ``AUTOMATOS_SECRET_KEY_PREVIOUS`` (comma-separated, optional) lists retired keys:
  a :class:`~cryptography.fernet.MultiFernet` decrypts with any of them and always encrypts with
  the current key. A row is re-encrypted under the current key whenever it is written (even when
  only ``enabled`` changes), so a retired key may be dropped once every row was written since.
- **Legacy rows.** A stored configuration without ``$encrypted`` (written before encryption
  existed) is returned as it is, and encrypted on its next write.
- **A token no key opens** raises :class:`SecretKeyError` (a :class:`SettingsError`: the fault is
  the deployment's key, not the request), whose message names ``AUTOMATOS_SECRET_KEY`` and never
  holds the token. The kernel logs it and treats that configuration as empty (see
  :meth:`automatos.kernel.store.KernelStore.extension_state`).
- The key file is read (or created) on first use, not at construction. The settings' keys are
  added to the log redaction list one by one (the list masks the whole ``…_PREVIOUS`` value; each
  retired key is masked on its own too).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from automatos.kernel.errors import SettingsError
from automatos.kernel.logging import add_secret

if TYPE_CHECKING:
    from automatos.kernel.settings import Settings

__all__ = [
    "ENCRYPTED",
    "KEY_FILE",
    "MIN_KEY_LENGTH",
    "SecretBox",
    "SecretKeyError",
    "fernet_key",
    "is_encrypted",
    "read_or_create_key_file",
]

log = logging.getLogger("automatos.secrets")

ENCRYPTED = "$encrypted"
"""The one key of a stored, encrypted configuration."""
KEY_FILE = ".secret-key"
MIN_KEY_LENGTH = 32
_HKDF_INFO = b"automatos secret box v1"
_ENV = "AUTOMATOS_SECRET_KEY"
_ENV_PREVIOUS = "AUTOMATOS_SECRET_KEY_PREVIOUS"


class SecretKeyError(SettingsError):
    """Stored secrets cannot be opened with the configured key(s); names the setting, never the token."""


# --- key material ---------------------------------------------------------------------------------


def read_or_create_key_file(path: Path, what: str) -> bytes:
    """The secret in ``path``, created (64 hex characters, mode 0600) by the first process to need it.

    Concurrent processes agree on one value: the file is created with ``O_EXCL`` and written in one
    small write; a reader that finds it still empty waits for the writer. ``what`` names the secret
    in the error raised when the file holds fewer than 32 characters.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        try:
            raw = path.read_bytes().strip()
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another process creates it: read what it wrote
            try:
                os.write(fd, secrets.token_hex(32).encode())  # one small write: readers see all or nothing
            finally:
                os.close(fd)
            continue
        if len(raw) >= 32:
            if path.stat().st_mode & 0o077:
                log.warning("%s is readable by other users; it should be mode 0600", path)
            return raw
        time.sleep(0.01)  # being written by another process
    raise SettingsError(f"{path} holds no usable {what} (expected at least 32 characters)")


def fernet_key(material: str | bytes, env: str = _ENV) -> bytes:
    """A Fernet key from ``material``: itself when it is one, else HKDF-SHA256 of a 32+ character string.

    Raises :class:`SettingsError` naming ``env`` (never the value) when ``material`` is too short.
    """
    raw = material.strip().encode() if isinstance(material, str) else material.strip()
    try:
        Fernet(raw)
        return raw
    except (ValueError, binascii.Error):
        pass
    if len(raw) < MIN_KEY_LENGTH:
        raise SettingsError(
            f"{env} is too short: expected a Fernet key or a random string of at least {MIN_KEY_LENGTH} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
    return base64.urlsafe_b64encode(derived)


def is_encrypted(stored: Mapping[str, Any]) -> bool:
    """Whether ``stored`` is an encrypted configuration (``{"$encrypted": "<token>"}``)."""
    return len(stored) == 1 and isinstance(stored.get(ENCRYPTED), str)


# --- the box --------------------------------------------------------------------------------------


class SecretBox:
    """Encrypts and decrypts configurations with the current key; decrypts with retired ones too.

    ``current`` is the key material (a Fernet key or a 32+ character string); when it is ``None``
    the key is read from ``key_file`` (created on first use). ``previous`` are retired keys, newest
    first, used only to decrypt.
    """

    def __init__(
        self,
        current: str | bytes | None = None,
        previous: Iterable[str | bytes] = (),
        *,
        key_file: Path | None = None,
    ) -> None:
        if current is None and key_file is None:
            raise ValueError("SecretBox needs a key or a key file")
        self._current = fernet_key(current) if current is not None else None
        self._previous = [fernet_key(p, _ENV_PREVIOUS) for p in previous]
        self._key_file = key_file
        self._box: MultiFernet | None = None
        for material in (current, *previous):
            if material is not None:
                add_secret(material.decode() if isinstance(material, bytes) else material)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The deployment's box: ``AUTOMATOS_SECRET_KEY`` (+ ``…_PREVIOUS``), else ``<data_dir>/.secret-key``."""
        current = settings.secret_key.reveal() if settings.secret_key else None
        previous = settings.secret_key_previous.reveal().split(",") if settings.secret_key_previous else []
        return cls(
            current,
            [p.strip() for p in previous if p.strip()],
            key_file=(settings.data_dir / KEY_FILE).resolve(),
        )

    @property
    def source(self) -> str:
        """Where the current key comes from, for messages: the setting or the file (never the key)."""
        if self._current is not None:
            return _ENV
        return f"the key file {self._key_file} ({_ENV} is unset)"

    def _multi(self) -> MultiFernet:
        if self._box is None:
            current = self._current
            if current is None:
                assert self._key_file is not None
                material = read_or_create_key_file(self._key_file, "secret key")
                current = fernet_key(material, str(self._key_file))
            self._box = MultiFernet([Fernet(current), *(Fernet(k) for k in self._previous)])
        return self._box

    # -- bytes -----------------------------------------------------------------------------------

    def encrypt(self, data: bytes) -> str:
        """A Fernet token of ``data`` under the current key."""
        return self._multi().encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        """``token`` opened with the current or a previous key; :class:`SecretKeyError` when none can."""
        try:
            return self._multi().decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise self._cannot_open() from None

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the current key (:class:`SecretKeyError` when no key opens it)."""
        try:
            return self._multi().rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise self._cannot_open() from None

    def _cannot_open(self) -> SecretKeyError:
        retired = f" or {_ENV_PREVIOUS}" if self._previous else ""
        return SecretKeyError(
            f"stored secrets cannot be decrypted with {self.source}{retired}: they were encrypted with another "
            f"key. Set {_ENV} to the key they were written with (or list it in {_ENV_PREVIOUS})"
        )

    # -- configurations --------------------------------------------------------------------------

    def encrypt_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """What the database stores for ``config``: ``{"$encrypted": token}``, or ``{}`` when it is empty."""
        if not config:
            return {}
        return {ENCRYPTED: self.encrypt(msgspec.json.encode(dict(config)))}

    def decrypt_config(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration ``stored`` holds; a plaintext (legacy) one is returned as it is.

        Raises :class:`SecretKeyError` when no key opens the token.
        """
        if not is_encrypted(stored):
            return dict(stored)
        plain = self.decrypt(stored[ENCRYPTED])
        try:
            config = msgspec.json.decode(plain)
        except msgspec.DecodeError:
            config = None
        if not isinstance(config, dict):
            raise SecretKeyError("a stored configuration decrypted to something that is not a JSON object")
        return config

    def reencrypt_config(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """``stored`` under the current key: a legacy plaintext configuration is encrypted, a token rotated.

        Raises :class:`SecretKeyError` when no key opens the token.
        """
        if is_encrypted(stored):
            return {ENCRYPTED: self.rotate(stored[ENCRYPTED])}
        return self.encrypt_config(stored)
