"""The API-key extension's public service: create, list, read and revoke a workspace's keys.

What its routes (``/api/api-keys``, :mod:`.routes`) and ``automatos keys`` call; functions of the
kernel (a key's state is its row, and the auth method's per-process cache, which :func:`revoke_key`
empties on every node).

Decisions:
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

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from automatos.extensions.auth.api_keys.auth import KEY_PREFIX, REVOKED_MESSAGE, ApiKeyAuth
from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.extensions.auth.api_keys.settings import (
    MAX_LIFETIME_DAYS,
    MAX_PER_WORKSPACE,
    MAX_REQUESTS_PER_MINUTE,
    hash_key,
    load_pepper,
)
from automatos.kernel.db import models as m
from automatos.kernel.db.base import utcnow
from automatos.kernel.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from automatos.kernel.permissions import Permission, Role, role_at_least
from automatos.kernel.store import KernelStore, lock_workspace

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel

__all__ = [
    "NO_CEILING",
    "ApiKeyRecord",
    "KeyCaps",
    "create_key",
    "get_key",
    "key_caps",
    "known_user",
    "list_keys",
    "revoke_key",
    "visible_keys",
]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_REF = re.compile(r"[A-Za-z0-9-]{1,64}")


def _new_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


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


def _record(row: ApiKey) -> ApiKeyRecord:
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


async def key_caps(kernel: Kernel) -> KeyCaps:
    """What a new key may be given through the API, from the platform settings (the settings
    registry's cached values; the declared default when a value is missing or does not fit)."""
    registry = kernel.settings_registry
    return KeyCaps(
        max_lifetime=timedelta(days=await registry.value(MAX_LIFETIME_DAYS.key)),
        max_rate_limit=f"{await registry.value(MAX_REQUESTS_PER_MINUTE.key)}/minute",
        max_per_workspace=await registry.value(MAX_PER_WORKSPACE.key),
        setting_names={
            "max_lifetime": MAX_LIFETIME_DAYS.key,
            "max_rate_limit": MAX_REQUESTS_PER_MINUTE.key,
            "max_per_workspace": MAX_PER_WORKSPACE.key,
        },
    )


def _per_second(text: str) -> float:
    """How many requests per second ``text`` allows (strict grammar, :mod:`automatos.kernel.rate_limit_syntax`)."""
    from automatos.kernel.rate_limit_syntax import per_second

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
        from automatos.kernel.rate_limit_syntax import parse_rate_limit

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
                row = ApiKey(
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
            ApiKey.workspace_id == workspace_id,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
        )
    )
    if int(active or 0) >= maximum:
        setting = caps.setting_names.get("max_per_workspace", "the platform's maximum")
        raise ConflictError(
            f"this workspace already holds {active} active API keys, the most allowed ({setting}): revoke one first",
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
    member = and_(m.WorkspaceMember.workspace_id == ApiKey.workspace_id, m.WorkspaceMember.user_id == ApiKey.user_id)
    return (
        query.outerjoin(m.User, m.User.id == ApiKey.user_id)
        .outerjoin(m.WorkspaceMember, member)
        .where(
            ApiKey.role.in_(allowed),
            or_(
                ApiKey.user_id.is_(None),
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
    query = _within(select(ApiKey.id).where(ApiKey.workspace_id == workspace_id, ApiKey.id.in_(wanted)), ceiling)
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
    query = _within(select(ApiKey).where(ApiKey.workspace_id == workspace_id), ceiling)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    async with kernel.store.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(query.order_by(ApiKey.created_at.desc(), ApiKey.id).offset(offset).limit(limit))
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
    return select(ApiKey).where(
        ApiKey.workspace_id == workspace_id, or_(ApiKey.id == key_ref, ApiKey.prefix == key_ref)
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
