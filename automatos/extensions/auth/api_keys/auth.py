"""The API-key auth method: ``Authorization: Bearer atk_…`` or ``X-API-Key: atk_…`` → a principal.

Decisions:
- Format ``atk_<prefix>_<secret>``: a 12-character base32 prefix (60 random bits, the row's public
  name, shown in lists and logs) and a 43-character URL-safe secret (256 bits). The prefix finds
  the row; the whole key is checked against ``key_hash``.
- ``key_hash`` is HMAC-SHA256 of the whole key under a *pepper*, a secret that never enters the
  database (``AUTOMATOS_API_KEY_PEPPER``, else ``<data_dir>/.api-key-pepper`` created 0600 on first
  use). A stolen database alone cannot be used to test guesses. Keys are random, so no slow hash is
  needed, and one HMAC keeps a warm verification to a few microseconds. Digests are compared with
  :func:`hmac.compare_digest`.
- Warm cache: a verified key is kept in process by prefix for ``API_KEY_CACHE_SECONDS`` (principal,
  expiry, and the plain SHA-256 of the key that passed the HMAC when the row was read). A hit
  hashes the presented key with SHA-256 (~0.7 µs) and compares it, in constant time, with that
  digest, and needs no await, so ``authenticate`` returns the principal directly; only a miss
  returns a coroutine. Why not the HMAC on every hit: OpenSSL sets up an HMAC context per call
  (~5 µs measured here, the one-shot ``hmac.digest`` no faster), a tenth of the whole middleware's
  cost. Why not the raw key in memory (the cheapest compare): a process dump or a stray repr would
  then hold live credentials; a SHA-256 of a 256-bit random secret cannot be turned back into the
  key, and the pepper's protection of the database is unchanged (only the HMAC is stored there).
  Unknown prefixes are remembered for a few seconds so a flood of made-up keys does not become a
  flood of queries, and concurrent misses of one prefix share one query.
- Revocation writes ``revoked_at`` and publishes ``api_key.revoked`` on the kernel bus: every
  node drops the prefix at once (this node before it publishes). A lookup that was already in
  flight when the message came is not cached and is refused. Expiry is checked on every hit.
- A key may act for a user (``user_id``): then the user must still be an active member of the
  key's workspace, and the key's role is capped by the member's current role. Membership changes
  (``directory`` messages on the bus) drop that workspace's cached keys. A key without a user acts
  for itself: principal id ``key:<key id>``. A platform admin's key carries the admin flag only
  when it is an unscoped owner key (what ``automatos admin create`` makes): a narrowed key made
  for a bot must not be able to change platform settings.
- ``last_used_at`` is written in the background (``kernel.spawn``), at most once a minute per key
  across all nodes (the UPDATE carries the condition), never on the request path.
- Nothing here logs a key, a secret, a hash or the pepper; prefixes are public and may be logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import and_, or_, select, update

from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.extensions.auth.api_keys.settings import hash_key
from automatos.kernel.credentials import CredentialInfo
from automatos.kernel.db import models as m
from automatos.kernel.db.base import utcnow
from automatos.kernel.errors import AuthenticationError
from automatos.kernel.permissions import Role, role_at_least
from automatos.kernel.types import Principal

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "INVALID_KEY",
    "KEY_PREFIX",
    "REVOKED_MESSAGE",
    "ApiKeyAuth",
    "InvalidAPIKey",
]

log = logging.getLogger("automatos.auth.api_keys")

KEY_PREFIX = "atk_"
REVOKED_MESSAGE = "api_key.revoked"
TOUCH_INTERVAL = 60.0
"""Seconds between two writes of one key's ``last_used_at``."""
UNKNOWN_TTL = 5.0
"""Seconds an unknown prefix is answered from memory."""

_KEY = re.compile(r"atk_([a-z2-7]{12})_([A-Za-z0-9_-]{32,128})")
_sha256 = hashlib.sha256
_MALFORMED = "malformed API key: expected atk_<12-character prefix>_<secret>"
INVALID_KEY = "invalid API key"
"""What a caller who has not proven a key's secret is told, whatever the reason: whether a prefix
exists must not be learnable by guessing. (Revoked, expired… are said only after the secret matched.)"""


class InvalidAPIKey(AuthenticationError):
    """A key whose secret was not proven: the response says :data:`INVALID_KEY`; ``str()`` and the
    log say why (``reason``), for the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVALID_KEY)
        self.reason = reason
        self.args = (reason,)
        log.info("refused an API key: %s", reason)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class _Entry:
    verified: bytes = field(repr=False)
    """SHA-256 of the key that passed the HMAC check when the row was read (never the key itself)."""
    principal: Principal | None
    """``None`` for a key that is refused for good (revoked, expired): ``refusal`` says why."""
    refusal: str | None
    key_id: str
    workspace_id: str
    expires: float | None
    """The key's expiry as a Unix timestamp."""
    fresh_until: float
    """``time.monotonic()`` after which the row is read again."""
    touched: float
    """``time.monotonic()`` of the last ``last_used_at`` write from this node."""


@dataclass(slots=True, frozen=True)
class _Row:
    id: str
    workspace_id: str
    user_id: str | None
    key_hash: str
    role: str
    scopes: tuple[str, ...]
    rate_limit: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    user_active: bool | None
    user_admin: bool | None
    user_email: str | None
    member_role: str | None


class ApiKeyAuth:
    """``Authorization: Bearer atk_…`` or ``X-API-Key: atk_…`` → a workspace-bound principal."""

    name = "api_key"
    priority = 10
    credential_type = "api_key"
    """Its keys' ``target_type`` in the audit log (:class:`~automatos.kernel.credentials.CredentialIssuer`)."""

    def __init__(self, kernel: Kernel, pepper: bytes, *, ttl: float, max_entries: int = 100_000) -> None:
        self._kernel = kernel
        self._sessions = kernel.store.sessionmaker
        self._pepper = pepper
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._unknown: dict[str, float] = {}
        self._dropped: dict[str, float] = {}
        """prefix -> ``time.monotonic()`` of its revocation, to refuse lookups already in flight."""
        self._inflight: dict[str, tuple[float, asyncio.Task[_Row | None]]] = {}

    # -- request path ----------------------------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> Principal | Awaitable[Principal] | None:
        key = headers.get("x-api-key")
        if key is None:
            auth = headers.get("authorization")
            if not auth:
                return None
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX):
                return None  # someone else's token (a JWT)
            key = token
        return self.verify(key.strip())

    def verify(self, key: str) -> Principal | Awaitable[Principal]:
        """The principal of ``key``; synchronous on a warm cache, a coroutine otherwise."""
        match = _KEY.fullmatch(key)
        if match is None:
            raise AuthenticationError(_MALFORMED)
        prefix = match.group(1)
        now = time.monotonic()
        entry = self._cache.get(prefix)
        if entry is not None and entry.fresh_until > now:
            return self._accept(prefix, entry, key, now)
        unknown = self._unknown.get(prefix)
        if unknown is not None and unknown > now:
            raise InvalidAPIKey(f"API key {prefix} is not known: no key has this prefix")
        return self._load(prefix, key)

    def _accept(self, prefix: str, entry: _Entry, key: str, now: float) -> Principal:
        if not hmac.compare_digest(_sha256(key.encode()).digest(), entry.verified):
            raise InvalidAPIKey(f"API key {prefix} is not valid: the secret does not match")
        if entry.principal is None:
            raise AuthenticationError(entry.refusal or f"API key {prefix} is refused")
        if entry.expires is not None and time.time() >= entry.expires:
            self._cache.pop(prefix, None)
            raise AuthenticationError(f"API key {prefix} expired at {_iso(datetime.fromtimestamp(entry.expires, UTC))}")
        if now - entry.touched >= TOUCH_INTERVAL:
            entry.touched = now
            self._kernel.spawn(self._touch(entry.key_id))
        return entry.principal

    async def _load(self, prefix: str, key: str) -> Principal:
        started, row = await self._fetch(prefix)
        if row is None:
            self._remember_unknown(prefix)
            raise InvalidAPIKey(f"API key {prefix} is not known: no key has this prefix")
        if not hmac.compare_digest(hash_key(self._pepper, key), row.key_hash):
            raise InvalidAPIKey(f"API key {prefix} is not valid: the secret does not match")
        if self._dropped.get(prefix, float("-inf")) >= started:
            raise AuthenticationError(f"API key {prefix} was revoked")
        refusal = None
        if row.revoked_at is not None:
            refusal = f"API key {prefix} was revoked at {_iso(row.revoked_at)}"
        elif row.expires_at is not None and row.expires_at <= utcnow():
            refusal = f"API key {prefix} expired at {_iso(row.expires_at)}"
        if refusal is not None:  # for good: later attempts are answered from memory
            self._remember(prefix, self._entry(row, key, None, refusal))
            raise AuthenticationError(refusal)
        role = row.role
        if row.user_id is not None:
            if not row.user_active:
                raise AuthenticationError(f"API key {prefix} belongs to a deactivated user")
            if row.member_role is None:
                raise AuthenticationError(f"API key {prefix}: its user is no longer a member of the key's workspace")
            if not role_at_least(row.member_role, Role(role)):
                role = row.member_role  # the user was demoted since: the key follows
        # a narrowed key (scopes, or a role below owner) must not carry platform-wide power
        platform_admin = bool(row.user_admin) and not row.scopes and role == Role.OWNER.value
        principal = Principal(
            id=row.user_id or f"key:{row.id}",
            kind="api_key",
            auth_method=self.name,
            email=row.user_email,
            default_workspace_id=row.workspace_id,
            is_platform_admin=platform_admin,
            scopes=frozenset(row.scopes),
            # a platform admin's key acts as the admin everywhere (memberships, audited override);
            # every other key is bound to its workspace with the key's role
            workspace_id=None if platform_admin else row.workspace_id,
            role=None if platform_admin else role,
            rate_limit=row.rate_limit,
            credential_id=row.id,
        )
        self._remember(prefix, self._entry(row, key, principal, None))
        self._kernel.spawn(self._touch(row.id))
        return principal

    def _entry(self, row: _Row, key: str, principal: Principal | None, refusal: str | None) -> _Entry:
        """The cache entry of ``row``, read for ``key`` (which has just passed the HMAC check)."""
        now = time.monotonic()
        return _Entry(
            verified=_sha256(key.encode()).digest(),
            principal=principal,
            refusal=refusal,
            key_id=row.id,
            workspace_id=row.workspace_id,
            expires=row.expires_at.timestamp() if row.expires_at is not None else None,
            fresh_until=now + self.ttl,
            touched=now,
        )

    async def _fetch(self, prefix: str) -> tuple[float, _Row | None]:
        """One query per prefix at a time, however many requests miss together."""
        pending = self._inflight.get(prefix)
        if pending is None:
            task = asyncio.ensure_future(self._query(prefix))
            pending = self._inflight[prefix] = (time.monotonic(), task)
            task.add_done_callback(lambda _t: self._inflight.pop(prefix, None))
        started, task = pending
        return started, await asyncio.shield(task)

    async def _query(self, prefix: str) -> _Row | None:
        member = and_(
            m.WorkspaceMember.workspace_id == ApiKey.workspace_id, m.WorkspaceMember.user_id == ApiKey.user_id
        )
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(ApiKey, m.User.is_active, m.User.is_platform_admin, m.User.email, m.WorkspaceMember.role)
                    .outerjoin(m.User, m.User.id == ApiKey.user_id)
                    .outerjoin(m.WorkspaceMember, member)
                    .where(ApiKey.prefix == prefix)
                )
            ).first()
        if found is None:
            return None
        key, active, admin, email, member_role = found
        return _Row(
            id=key.id,
            workspace_id=key.workspace_id,
            user_id=key.user_id,
            key_hash=key.key_hash,
            role=key.role,
            scopes=tuple(key.scopes or ()),
            rate_limit=key.rate_limit,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            user_active=active,
            user_admin=admin,
            user_email=email,
            member_role=member_role,
        )

    def _remember(self, prefix: str, entry: _Entry) -> None:
        self._cache.pop(prefix, None)
        self._cache[prefix] = entry
        while len(self._cache) > self.max_entries:  # oldest insertion first
            self._cache.pop(next(iter(self._cache)))

    def _remember_unknown(self, prefix: str) -> None:
        now = time.monotonic()
        self._unknown[prefix] = now + UNKNOWN_TTL
        if len(self._unknown) > self.max_entries:
            self._unknown = {p: t for p, t in self._unknown.items() if t > now}
            while len(self._unknown) > self.max_entries:
                self._unknown.pop(next(iter(self._unknown)))

    async def _touch(self, key_id: str) -> None:
        now = utcnow()
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(ApiKey)
                    .where(
                        ApiKey.id == key_id,
                        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - timedelta(seconds=60)),
                    )
                    .values(last_used_at=now)
                )
        except Exception as exc:  # bookkeeping only: never fail a request over it
            log.warning("recording the last use of API key %s failed: %s", key_id, type(exc).__name__)

    # -- what other views ask (automatos.kernel.credentials.CredentialIssuer) --------------------

    async def describe_credential(self, credential_id: str) -> CredentialInfo | None:
        """The key ``credential_id`` (what ``GET /api/me`` shows of the key a request used)."""
        async with self._sessions() as session:
            row = await session.get(ApiKey, credential_id)
        return None if row is None else msgspec.convert(row, CredentialInfo, from_attributes=True)

    async def visible_credentials(
        self, workspace_id: str, credential_ids: Iterable[str], ceiling: Role | None
    ) -> set[str]:
        """:func:`~automatos.extensions.auth.api_keys.service.visible_keys` (the audit log's rule)."""
        from automatos.extensions.auth.api_keys.service import visible_keys  # the service imports this module

        return await visible_keys(self._kernel, workspace_id, credential_ids, ceiling)

    # -- invalidation ----------------------------------------------------------------------------

    def drop(self, prefix: str) -> None:
        """Forget ``prefix`` now, and refuse any lookup of it that is already in flight."""
        now = time.monotonic()
        self._cache.pop(prefix, None)
        self._dropped[prefix] = now
        if len(self._dropped) > 1000:
            self._dropped = {p: t for p, t in self._dropped.items() if now - t < 60}

    def drop_workspace(self, workspace_id: str | None) -> None:
        if workspace_id is None:
            self._cache.clear()
            return
        for prefix in [p for p, e in self._cache.items() if e.workspace_id == workspace_id]:
            self._cache.pop(prefix, None)

    def on_revoked(self, message: dict[str, Any]) -> None:
        prefix = message.get("prefix")
        if isinstance(prefix, str):
            self.drop(prefix)

    def on_directory(self, message: dict[str, Any]) -> None:
        workspace_id = message.get("workspace_id")
        self.drop_workspace(workspace_id if isinstance(workspace_id, str) else None)
