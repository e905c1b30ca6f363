"""API keys: per-workspace credentials, stored only as hashes, verified from memory.

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
- Minting is bounded (:class:`KeyCaps`, read from platform settings by the API): a key's
  ``expires_at`` lies in the future and within the maximum lifetime, its ``rate_limit`` is no faster
  than the maximum, and a workspace holds at most so many active keys (counted under the
  workspace's lock, :func:`~automatos.kernel.store.lock_workspace`, so concurrent creations
  cannot overshoot). A time that cannot be expressed in UTC (year 9999 west of Greenwich) is a
  422, not an ``OverflowError``.
- Keys have a rank, the rank of the principal behind them: a key acting for a platform admin
  ranks above everyone; one acting for a user ranks as the higher of its role and the user's
  current role in the workspace; a key of the workspace itself (no user) ranks as its role. Listing
  and revoking take a ``ceiling`` (:data:`NO_CEILING` for owners and platform admins), so a
  workspace admin neither sees nor revokes an owner's or a platform admin's key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from automatos.kernel.db import models as m
from automatos.kernel.db.base import utcnow
from automatos.kernel.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.permissions import Permission, Role, role_at_least
from automatos.kernel.secrets import read_or_create_key_file
from automatos.kernel.settings import FieldDoc, Secret, SettingsGroup, setting
from automatos.kernel.store import KernelStore, lock_workspace
from automatos.kernel.types import AuthMethod, Principal

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.settings import Settings

__all__ = [
    "INVALID_KEY",
    "KEY_PREFIX",
    "NO_CEILING",
    "PEPPER_FILE",
    "REVOKED_MESSAGE",
    "ApiKeyAuth",
    "ApiKeyRecord",
    "ApiKeySettings",
    "InvalidAPIKey",
    "KeyCaps",
    "create_key",
    "get_key",
    "hash_key",
    "known_user",
    "list_keys",
    "load_pepper",
    "register_auth_methods",
    "register_settings",
    "revoke_key",
    "visible_keys",
]

log = logging.getLogger("automatos.auth.api_keys")

KEY_PREFIX = "atk_"
PEPPER_FILE = ".api-key-pepper"
REVOKED_MESSAGE = "api_key.revoked"
TOUCH_INTERVAL = 60.0
"""Seconds between two writes of one key's ``last_used_at``."""
UNKNOWN_TTL = 5.0
"""Seconds an unknown prefix is answered from memory."""

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_KEY = re.compile(r"atk_([a-z2-7]{12})_([A-Za-z0-9_-]{32,128})")
_sha256 = hashlib.sha256
_REF = re.compile(r"[A-Za-z0-9-]{1,64}")
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


# --- Hashing and the pepper ---------------------------------------------------------------------

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


def _new_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- The auth method ----------------------------------------------------------------------------


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
            m.WorkspaceMember.workspace_id == m.ApiKey.workspace_id, m.WorkspaceMember.user_id == m.ApiKey.user_id
        )
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(m.ApiKey, m.User.is_active, m.User.is_platform_admin, m.User.email, m.WorkspaceMember.role)
                    .outerjoin(m.User, m.User.id == m.ApiKey.user_id)
                    .outerjoin(m.WorkspaceMember, member)
                    .where(m.ApiKey.prefix == prefix)
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
                    update(m.ApiKey)
                    .where(
                        m.ApiKey.id == key_id,
                        or_(m.ApiKey.last_used_at.is_(None), m.ApiKey.last_used_at < now - timedelta(seconds=60)),
                    )
                    .values(last_used_at=now)
                )
        except Exception as exc:  # bookkeeping only: never fail a request over it
            log.warning("recording the last use of API key %s failed: %s", key_id, type(exc).__name__)

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


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(ApiKeySettings)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None], settings: Settings, kernel: Kernel) -> None:
    method = ApiKeyAuth(kernel, load_pepper(settings), ttl=settings.group(ApiKeySettings).api_key_cache_seconds)
    kernel.bus.on(REVOKED_MESSAGE, method.on_revoked)
    kernel.bus.on("directory", method.on_directory)
    register(method)


# --- Managing keys ------------------------------------------------------------------------------


class ApiKeyRecord(msgspec.Struct, kw_only=True):
    """A key as its workspace sees it: everything but the secret and its hash."""

    id: str
    workspace_id: str
    user_id: str | None
    name: str
    prefix: str
    role: str
    scopes: list[str]
    rate_limit: str | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _record(row: m.ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        role=row.role,
        scopes=list(row.scopes or []),
        rate_limit=row.rate_limit,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class KeyCaps(msgspec.Struct, frozen=True, kw_only=True):
    """Bounds on what a new key may be given; ``None``: unbounded (the CLI, run by the operator)."""

    max_lifetime: timedelta | None = None
    """Latest ``expires_at`` allowed, from now."""
    max_rate_limit: str | None = None
    """Fastest ``rate_limit`` allowed, ``limits`` notation; also what ``None`` in the message names."""
    max_per_workspace: int | None = None
    """Most active (not revoked, not expired) keys one workspace may hold."""
    setting_names: dict[str, str] = {}
    """cap -> the platform setting it comes from, for error messages."""


NO_CEILING: Role | None = None
"""``ceiling`` for callers who see and revoke every key of the workspace (owners, platform admins)."""

def _per_second(text: str) -> float:
    """How many requests per second ``text`` allows (strict grammar, :mod:`automatos.kernel.rate_limits`)."""
    from automatos.kernel.rate_limits import per_second

    return per_second(text)


def _check_rate(rate_limit: str, caps: KeyCaps) -> None:
    if caps.max_rate_limit is None:
        return
    if _per_second(rate_limit) > _per_second(caps.max_rate_limit):
        setting = caps.setting_names.get("max_rate_limit", "the platform's maximum")
        raise ValidationError(
            f"rate_limit {rate_limit!r} is faster than this platform allows ({caps.max_rate_limit}, {setting})",
            field="rate_limit",
            extra={"maximum": caps.max_rate_limit},
        )


def _check_expiry(expires_at: datetime, caps: KeyCaps) -> datetime:
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    try:
        expires_at = expires_at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is in the year 10000 in UTC
        raise ValidationError("expires_at is out of range", field="expires_at") from None
    now = utcnow()
    if expires_at <= now:
        raise ValidationError("expires_at must be in the future", field="expires_at")
    if caps.max_lifetime is not None and expires_at - now > caps.max_lifetime:
        setting = caps.setting_names.get("max_lifetime", "the platform's maximum")
        days = caps.max_lifetime.days
        raise ValidationError(
            f"expires_at must be within {days} days from now ({setting})",
            field="expires_at",
            extra={"maximum_days": days},
        )
    return expires_at


def _validated(
    name: str,
    role: str,
    scopes: Iterable[str],
    rate_limit: str | None,
    expires_at: datetime | None,
    caps: KeyCaps,
) -> tuple[str, list[str], datetime | None]:
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValidationError("name must be 1-200 printable characters", field="name")
    try:
        Role(role)
    except ValueError:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None
    known = {p.value for p in Permission}
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ValidationError(
            f"unknown scope {unknown[0]!r}; scopes are permission names: {', '.join(sorted(known))}", field="scopes"
        )
    if rate_limit is not None:
        from automatos.kernel.rate_limits import parse_rate_limit

        try:  # the grammar the middleware reads keys' limits with: what is stored is what is enforced
            parse_rate_limit(rate_limit)
        except ValueError as exc:
            raise ValidationError(f"rate_limit {exc}", field="rate_limit") from None
        _check_rate(rate_limit, caps)
    if expires_at is not None:
        expires_at = _check_expiry(expires_at, caps)
    return name, wanted, expires_at


async def known_user(kernel: Kernel, user_id: str) -> bool:
    """Whether ``user_id`` is a row of ``users`` (principals of other auth methods may not be)."""
    async with kernel.store.sessionmaker() as session:
        return await session.scalar(select(m.User.id).where(m.User.id == user_id)) is not None


async def create_key(
    kernel: Kernel,
    workspace_id: str,
    name: str,
    role: str = Role.MEMBER.value,
    scopes: Iterable[str] = (),
    rate_limit: str | None = None,
    expires_at: datetime | None = None,
    user_id: str | None = None,
    created_by: str | None = None,
    *,
    request_id: str | None = None,
    caps: KeyCaps | None = None,
) -> tuple[ApiKeyRecord, str]:
    """Create a key in ``workspace_id``; returns its record and the key itself, which is not kept.

    The caller has checked that its principal may grant ``role`` and ``scopes``; ``caps`` bound the
    expiry, the rate limit and the number of active keys (409 when the workspace is full).
    """
    caps = caps or KeyCaps()
    name, wanted, expires_at = _validated(name, role, scopes, rate_limit, expires_at, caps)
    pepper = load_pepper(kernel.settings)
    for _attempt in range(3):
        prefix, key = _new_key()
        try:
            async with kernel.store.sessionmaker.begin() as session:
                if caps.max_per_workspace is not None:
                    await lock_workspace(session, workspace_id)
                if await session.scalar(select(m.Workspace.id).where(m.Workspace.id == workspace_id)) is None:
                    raise NotFoundError(f"workspace {workspace_id!r} does not exist", field="workspace_id")
                if caps.max_per_workspace is not None:
                    await _check_room(session, workspace_id, caps.max_per_workspace, caps)
                row = m.ApiKey(
                    workspace_id=workspace_id,
                    user_id=user_id,
                    name=name,
                    prefix=prefix,
                    key_hash=hash_key(pepper, key),
                    role=role,
                    scopes=wanted,
                    rate_limit=rate_limit,
                    created_by=created_by,
                    expires_at=expires_at,
                )
                session.add(row)
                await session.flush()
                data = {"prefix": prefix, "name": name, "role": role, "scopes": wanted, "user_id": user_id}
                KernelStore._audit(
                    session, workspace_id, created_by, "key.created", "api_key", row.id, data, request_id
                )
                return _record(row), key
        except IntegrityError:
            # a prefix collision (60 random bits: practically never) or a user row gone meanwhile
            if user_id is not None and not await known_user(kernel, user_id):
                raise NotFoundError(f"user {user_id!r} does not exist", field="user_id") from None
    # not chained: the driver's error carries the INSERT, and its parameters hold key_hash
    raise ConflictError("the key could not be stored after three attempts; try again", field="name")


async def _check_room(session: Any, workspace_id: str, maximum: int, caps: KeyCaps) -> None:
    active = await session.scalar(
        select(func.count()).where(
            m.ApiKey.workspace_id == workspace_id,
            m.ApiKey.revoked_at.is_(None),
            or_(m.ApiKey.expires_at.is_(None), m.ApiKey.expires_at > utcnow()),
        )
    )
    if int(active or 0) >= maximum:
        setting = caps.setting_names.get("max_per_workspace", "the platform's maximum")
        raise ConflictError(
            f"this workspace already holds {active} active API keys, the most allowed ({setting}): "
            "revoke one first",
            field="workspace_id",
            extra={"maximum": maximum},
        )


def _roles_up_to(ceiling: Role) -> list[str]:
    return [r.value for r in Role if role_at_least(ceiling.value, r)]


def _within(query: Any, ceiling: Role | None) -> Any:
    """``query`` on ``api_keys`` narrowed to the keys whose rank is at most ``ceiling``."""
    if ceiling is None:  # NO_CEILING
        return query
    allowed = _roles_up_to(ceiling)
    member = and_(
        m.WorkspaceMember.workspace_id == m.ApiKey.workspace_id, m.WorkspaceMember.user_id == m.ApiKey.user_id
    )
    return (
        query.outerjoin(m.User, m.User.id == m.ApiKey.user_id)
        .outerjoin(m.WorkspaceMember, member)
        .where(
            m.ApiKey.role.in_(allowed),
            or_(
                m.ApiKey.user_id.is_(None),
                and_(
                    m.User.is_platform_admin == false(),
                    or_(m.WorkspaceMember.role.is_(None), m.WorkspaceMember.role.in_(allowed)),
                ),
            ),
        )
    )


async def visible_keys(kernel: Kernel, workspace_id: str, key_ids: Iterable[str], ceiling: Role | None) -> set[str]:
    """Which of ``key_ids`` a caller with ``ceiling`` may see: :func:`list_keys`' rule, for other
    views of keys (the workspace's audit log). A key that no longer exists is not visible."""
    wanted = list(set(key_ids))
    if ceiling is None:
        return set(wanted)
    if not wanted:
        return set()
    query = _within(select(m.ApiKey.id).where(m.ApiKey.workspace_id == workspace_id, m.ApiKey.id.in_(wanted)), ceiling)
    async with kernel.store.sessionmaker() as session:
        return set((await session.scalars(query)).all())


async def list_keys(
    kernel: Kernel,
    workspace_id: str,
    offset: int = 0,
    limit: int = 100,
    *,
    include_revoked: bool = False,
    ceiling: Role | None = NO_CEILING,
) -> tuple[list[ApiKeyRecord], int]:
    """A page of the workspace's keys, newest first, and how many there are in all.

    With a ``ceiling``, only the keys ranked at most that role (see the module's docstring).
    """
    query = _within(select(m.ApiKey).where(m.ApiKey.workspace_id == workspace_id), ceiling)
    if not include_revoked:
        query = query.where(m.ApiKey.revoked_at.is_(None))
    async with kernel.store.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(m.ApiKey.created_at.desc(), m.ApiKey.id).offset(offset).limit(limit)
        )
        return [_record(r) for r in rows], int(total or 0)


async def get_key(kernel: Kernel, workspace_id: str, key_ref: str) -> ApiKeyRecord:
    """One key of the workspace by id or prefix; 404 when it is not there."""
    async with kernel.store.sessionmaker() as session:
        row = await session.scalar(_one(workspace_id, key_ref))
        if row is None:
            raise NotFoundError(f"API key {key_ref!r} does not exist in this workspace", field="key_id")
        return _record(row)


def _one(workspace_id: str, key_ref: str) -> Any:
    if not _REF.fullmatch(key_ref):  # not an id or a prefix: no row can match (and no NUL reaches SQL)
        raise NotFoundError(f"API key {key_ref[:64]!r} does not exist in this workspace", field="key_id")
    return select(m.ApiKey).where(
        m.ApiKey.workspace_id == workspace_id, or_(m.ApiKey.id == key_ref, m.ApiKey.prefix == key_ref)
    )


async def revoke_key(
    kernel: Kernel,
    workspace_id: str,
    key_id: str,
    actor: str | None = None,
    *,
    request_id: str | None = None,
    ceiling: Role | None = NO_CEILING,
) -> ApiKeyRecord:
    """Revoke a key of ``workspace_id`` (by id or prefix) on every node; revoking twice is a no-op.

    With a ``ceiling``, a key ranked above it is refused (403): an admin cannot revoke an owner's
    or a platform admin's key.
    """
    async with kernel.store.sessionmaker.begin() as session:
        row = await session.scalar(_one(workspace_id, key_id))
        if row is None:
            raise NotFoundError(f"API key {key_id!r} does not exist in this workspace", field="key_id")
        if ceiling is not None and await session.scalar(_within(_one(workspace_id, key_id), ceiling)) is None:
            raise PermissionDeniedError(
                f"API key {key_id!r} belongs to a principal above your role ({ceiling.value}) here: "
                "only owners and platform admins may revoke it",
                field="key_id",
            )
        if row.revoked_at is not None:
            return _record(row)
        row.revoked_at = utcnow()
        data = {"prefix": row.prefix, "name": row.name}
        KernelStore._audit(session, workspace_id, actor, "key.revoked", "api_key", row.id, data, request_id)
        record = _record(row)
    for method in kernel.auth_methods:
        if isinstance(method, ApiKeyAuth):
            method.drop(record.prefix)
    await kernel.bus.publish(REVOKED_MESSAGE, prefix=record.prefix, workspace_id=workspace_id)
    return record
