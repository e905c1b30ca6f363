"""JWT bearer tokens verified against a JWKS (Clerk-compatible); first login provisions the user.

Decisions:
- Registered only when ``CLERK_JWKS_URL`` is set. A bearer token that starts with ``atk_`` is an
  API key and not ours (``None``); any other bearer token is ours, and a bad one is a 401 that says
  what failed (malformed, algorithm, unknown ``kid``, signature, expired, issuer, audience…).
- Only RS256 and ES256 are accepted, and the token's ``alg`` must be the one its JWKS key is for,
  so ``none``, HMAC and algorithm-confusion tokens are refused before any verification.
- The JWKS is fetched off the event loop (``urllib`` in a thread: no extra dependency) and trusted
  for ``JWKS_CACHE_SECONDS``. A ``kid`` it does not hold triggers one refetch — key rotation — at
  most once per 30 s, so a flood of made-up ``kid`` values cannot hammer the identity provider.
  When a refetch fails, the keys in hand keep working.
- Claims: ``exp`` and ``sub`` are required; ``exp``/``nbf``/``iat`` are checked with 10 s of
  leeway; ``iss`` must equal ``JWT_ISSUER`` and ``aud`` contain ``JWT_AUDIENCE`` when those are set.
- ``sub`` is ``users.external_id``. On first login the user row and a personal workspace (owner)
  are created in ONE transaction, audited as ``user.provisioned`` and ``workspace.created``: two
  nodes racing on one first login must not be able to leave a user without a workspace, or give it
  two. The transaction is the workspace owner's (``kernel.workspace_owner.provisioning()``, see
  :mod:`automatos.kernel.workspace_owner`; an extension does not import the workspaces package):
  the user row is ours, the workspace is created by the owner's rules, and after the commit the
  owner tells every node (``directory`` message) and extensions (``workspace.created``). The
  unique ``external_id`` decides the race; the loser re-reads. Within one process, concurrent
  first logins of one ``sub`` share one provisioning.
- A user row that an admin created beforehand by e-mail (an invitation) and that has no
  ``external_id`` yet is linked to the first token carrying that e-mail only when the token says
  ``email_verified: true``. Anyone can put any address in an identity provider account, so an
  unverified claim linking to an invitation (even the platform admin's) would hand that account
  over: such a login is refused with a 403 that says why, and nothing is provisioned.
  ``JWT_TRUST_UNVERIFIED_EMAIL=true`` relaxes this for providers that verify addresses but do not
  send the claim (a token saying ``email_verified: false`` is refused even then).
- An unverified address is not recorded on a new user either (it would let a later invitation by
  that address reach this account): the row gets a placeholder address under ``.invalid``
  (``users.email`` is required) and the principal has no e-mail, as without an ``email`` claim.
- ``sub`` → (user id, default workspace, platform-admin flag) is cached in process for 30 s and
  dropped on any ``directory`` message; the default workspace is the oldest one the user owns,
  else the oldest they belong to.
- Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import jwt
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from automatos.kernel.db import models as m
from automatos.kernel.errors import AuthenticationError, ConflictError
from automatos.kernel.hookspecs import hookimpl
from automatos.kernel.permissions import Role
from automatos.kernel.settings import FieldDoc, SettingsGroup, setting
from automatos.kernel.store import KernelStore
from automatos.kernel.types import AuthMethod, Principal

if TYPE_CHECKING:
    from automatos.kernel.core import Kernel
    from automatos.kernel.settings import Settings

__all__ = [
    "ALGORITHMS",
    "JWKSCache",
    "JWTAuth",
    "JwtSettings",
    "UnverifiedEmailError",
    "register_auth_methods",
    "register_settings",
]

log = logging.getLogger("automatos.auth.jwt")

ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
"""Accepted ``alg`` values and the JWK ``kty`` each needs."""
LEEWAY = 10.0
REFETCH_INTERVAL = 30.0
IDENTITY_TTL = 30.0
PLACEHOLDER_DOMAIN = "users.invalid"
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


class UnverifiedEmailError(AuthenticationError):
    """403: a valid token whose unverified e-mail address names an existing account.

    An :class:`AuthenticationError` so the request pipeline answers it before any handler runs (the
    credentials are fine; what they claim is not accepted), with the status of a refusal.
    """

    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class JWKSCache:
    """Signing keys by ``kid``, fetched lazily, refetched on expiry or (rate-limited) on an unknown ``kid``."""

    def __init__(self, url: str, ttl: float, *, timeout: float = 5.0, min_refetch: float = REFETCH_INTERVAL) -> None:
        self.url = url
        self.ttl = ttl
        self.timeout = timeout
        self.min_refetch = min_refetch
        """Seconds between two fetches that a cache expiry did not call for (unknown ``kid``, failures)."""
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched = float("-inf")
        """``time.monotonic()`` of the last successful fetch."""
        self._attempted = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        if now - self._fetched >= self.ttl:
            await self._refresh(force=True)
        elif kid not in self._keys:
            await self._refresh(force=False)
        if not self._keys:
            raise AuthenticationError("cannot verify JWTs: the identity provider's JWKS could not be fetched")
        found = self._keys.get(kid)
        if found is None and kid is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        if found is None:
            if kid is None:
                raise AuthenticationError("JWT has no 'kid' header and the JWKS holds several keys")
            raise AuthenticationError(f"JWT signed with unknown key id {kid!r} (not in the JWKS, even after a refresh)")
        return found

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            pause = self.min_refetch if self._keys else min(self.min_refetch, 1.0)
            if now - self._attempted < pause and (not force or now - self._fetched < self.ttl):
                return  # fetched (or tried) moments ago, possibly by a request we waited for
            self._attempted = now
            try:
                document = await asyncio.to_thread(self._get)
                keys = _parse_jwks(document)
            except Exception as exc:
                if self._keys:
                    log.warning("refreshing the JWKS failed (%s); keeping the keys in hand", type(exc).__name__)
                    return
                raise AuthenticationError(
                    f"cannot verify JWTs: fetching the identity provider's JWKS failed ({type(exc).__name__})"
                ) from None
            self._keys = keys
            self._fetched = time.monotonic()

    def _get(self) -> Any:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())


def _parse_jwks(document: Any) -> dict[str | None, jwt.PyJWK]:
    """Usable RS256/ES256 keys of a JWKS document; others (encryption keys, HMAC…) are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str | None, jwt.PyJWK] = {}
    for raw in document["keys"]:
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(raw)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            continue
        if ALGORITHMS.get(key.algorithm_name) == raw.get("kty"):
            keys[raw.get("kid")] = key
    return keys


class _Raced(Exception):
    """Another login changed the rows this one read: roll back and read again."""


@dataclass(frozen=True, slots=True)
class _Identity:
    user_id: str
    email: str | None
    default_workspace_id: str | None
    is_platform_admin: bool


class JwtSettings(SettingsGroup, frozen=True, kw_only=True):
    """Where the identity provider's keys are, and what an accepted token must say."""

    OWNER: ClassVar[str] = "automatos.auth.jwt"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("CLERK_JWKS_URL", "clerk_jwks_url", "URL"),
        setting("JWT_ISSUER", "jwt_issuer", "issuer string"),
        setting("JWT_AUDIENCE", "jwt_audience", "audience string"),
        setting("JWT_TRUST_UNVERIFIED_EMAIL", "jwt_trust_unverified_email", "true|false"),
        setting("JWKS_CACHE_SECONDS", "jwks_cache_seconds", "number > 0", valid=lambda v: v > 0),
    )

    clerk_jwks_url: str | None = None
    """JWKS URL of the identity provider (Clerk-compatible); unset disables JWT auth."""
    jwt_issuer: str | None = None
    """The ``iss`` accepted JWTs must carry (unchecked when unset)."""
    jwt_audience: str | None = None
    """Required ``aud`` of accepted JWTs (unchecked when unset)."""
    jwt_trust_unverified_email: bool = False
    """Link a first JWT login to a user invited by e-mail even when the token lacks
    ``email_verified: true`` (for providers that verify addresses but do not send the claim). Off:
    an unverified address can be typed by anyone, and would take over the invited account."""
    jwks_cache_seconds: float = 600.0
    """How long fetched signing keys are trusted before the JWKS is fetched again."""


class JWTAuth:
    """``Authorization: Bearer <jwt>`` → the user, provisioned on first login."""

    name = "jwt"
    priority = 20

    def __init__(self, kernel: Kernel, settings: Settings) -> None:
        own = settings.group(JwtSettings)
        assert own.clerk_jwks_url
        self._kernel = kernel
        self._sessions = kernel.store.sessionmaker
        self.jwks = JWKSCache(own.clerk_jwks_url, own.jwks_cache_seconds)
        self.issuer = own.jwt_issuer or None
        self.audience = own.jwt_audience or None
        self.trust_unverified_email = own.jwt_trust_unverified_email
        self._identities: dict[str, tuple[float, _Identity]] = {}
        self._inflight: dict[str, asyncio.Task[_Identity]] = {}

    def authenticate(self, headers: Mapping[str, str]) -> Awaitable[Principal] | None:
        auth = headers.get("authorization")
        if not auth:
            return None
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or token.startswith("atk_"):
            return None
        return self.verify(token)

    async def verify(self, token: str) -> Principal:
        claims = await self.claims(token)
        identity = await self.identity(claims)
        return Principal(
            id=identity.user_id,
            kind="user",
            auth_method=self.name,
            email=identity.email,
            default_workspace_id=identity.default_workspace_id,
            is_platform_admin=identity.is_platform_admin,
        )

    # -- the token -------------------------------------------------------------------------------

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``, or :class:`AuthenticationError` naming what failed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise AuthenticationError("malformed bearer token: not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthenticationError(f"JWT algorithm {alg!r} is not accepted: RS256 or ES256 only")
        kid = header.get("kid")
        key = await self.jwks.key(kid if isinstance(kid, str) else None)
        if key.algorithm_name != alg:
            raise AuthenticationError(f"JWT algorithm {alg} does not match its key {kid!r} ({key.algorithm_name})")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("JWT expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("JWT is not valid yet (nbf or iat is in the future)") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError(f"JWT has the wrong issuer: expected {self.issuer!r}") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError(f"JWT has the wrong audience: expected {self.audience!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"JWT lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("JWT has a bad signature") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"JWT rejected: {exc}") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthenticationError("JWT 'sub' claim must be a non-empty string")
        return claims

    # -- the user --------------------------------------------------------------------------------

    async def identity(self, claims: Mapping[str, Any]) -> _Identity:
        sub: str = claims["sub"]
        hit = self._identities.get(sub)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        task = self._inflight.get(sub)
        if task is None:  # concurrent first requests of one user share one lookup/provisioning
            task = asyncio.ensure_future(self._resolve(sub, claims))
            self._inflight[sub] = task
            task.add_done_callback(lambda _t: self._inflight.pop(sub, None))
        identity = await asyncio.shield(task)
        self._identities[sub] = (time.monotonic() + IDENTITY_TTL, identity)
        if len(self._identities) > 100_000:
            self._identities.pop(next(iter(self._identities)))
        return identity

    def forget(self, message: dict[str, Any] | None = None) -> None:
        """Membership or workspaces changed somewhere: read identities again."""
        self._identities.clear()

    async def _resolve(self, sub: str, claims: Mapping[str, Any]) -> _Identity:
        for attempt in range(6):
            found = await self._lookup(sub)
            if found is not None:
                return found
            try:
                return await self._provision(sub, claims, attempt)
            except (IntegrityError, OperationalError, ConflictError, _Raced) as exc:
                # another node provisioned this sub (re-read finds it), or took the slug (a unique
                # violation, or the workspace owner's check) or the SQLite write lock first (try again)
                log.info("first login of a user raced (%s); re-reading", type(exc).__name__)
                await asyncio.sleep(0.02 * (attempt + 1))
        raise AuthenticationError("could not provision the user on first login; try again")

    async def _lookup(self, sub: str) -> _Identity | None:
        async with self._sessions() as session:
            user = await session.scalar(select(m.User).where(m.User.external_id == sub))
            if user is None:
                return None
            if not user.is_active:
                raise AuthenticationError("this user is deactivated")
            workspace_id = await session.scalar(
                select(m.WorkspaceMember.workspace_id)
                .join(m.Workspace, m.Workspace.id == m.WorkspaceMember.workspace_id)
                .where(m.WorkspaceMember.user_id == user.id, m.Workspace.status == "active")
                .order_by(case((m.WorkspaceMember.role == Role.OWNER.value, 0), else_=1), m.Workspace.created_at)
                .limit(1)
            )
            return _Identity(
                user_id=user.id,
                email=None if user.email.endswith("@" + PLACEHOLDER_DOMAIN) else user.email,
                default_workspace_id=workspace_id,
                is_platform_admin=user.is_platform_admin,
            )

    async def _provision(self, sub: str, claims: Mapping[str, Any], attempt: int) -> _Identity:
        raw_email = claims.get("email")
        email = raw_email.strip().lower() if isinstance(raw_email, str) and "@" in raw_email else None
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        verified = claims.get("email_verified")
        trusted = verified is True or (self.trust_unverified_email and verified is not False)
        # the workspace owner's transaction: the user row and the workspace commit together, and the
        # owner publishes the new workspace (directory message, workspace.created) after the commit
        async with self._kernel.workspace_owner.provisioning() as transaction:
            session = transaction.session
            user, linked = await self._user_row(session, sub, email, name, trusted=trusted)
            slug = await _free_slug(session, _slug_base(email, sub), random_suffix=attempt > 0)
            owner = name or (email.split("@")[0] if email else "Personal")
            workspace = await transaction.create_workspace(slug, f"{owner}'s workspace"[:255], owner_id=user.id)
            data = {"workspace_id": workspace.id, "linked_by_email": linked, "auth_method": self.name}
            KernelStore._audit(session, workspace.id, user.id, "user.provisioned", "user", user.id, data)
            await session.flush()
            identity = _Identity(
                user_id=user.id,
                email=None if user.email.endswith("@" + PLACEHOLDER_DOMAIN) else user.email,
                default_workspace_id=workspace.id,
                is_platform_admin=user.is_platform_admin,
            )
        log.info("provisioned user %s with personal workspace %s", identity.user_id, slug)
        return identity

    @staticmethod
    async def _user_row(
        session: AsyncSession, sub: str, email: str | None, name: str | None, *, trusted: bool
    ) -> tuple[m.User, bool]:
        """The new user row, or an invited one (same e-mail, no identity yet) now linked to ``sub``.

        ``trusted``: the token's e-mail is verified (or the deployment trusts unverified ones).
        """
        if email is not None:
            existing = await session.scalar(select(m.User).where(m.User.email == email))
            if existing is not None:
                if existing.external_id == sub:
                    raise _Raced  # another node provisioned this very identity since our lookup
                if existing.external_id is not None:
                    raise AuthenticationError(
                        "the e-mail address of this token belongs to another account; an admin must resolve it"
                    )
                if not trusted:
                    raise UnverifiedEmailError(
                        f"an account was invited as {email}, but this token does not say the address is "
                        "verified (email_verified: true), so it is not linked to that account; verify the "
                        "address with the identity provider and sign in again",
                        field="email_verified",
                    )
                # guarded so two nodes linking the same invitation cannot both succeed
                result: Any = await session.execute(
                    update(m.User)
                    .where(m.User.id == existing.id, m.User.external_id.is_(None))
                    .values(external_id=sub)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    raise _Raced("another login linked the invited user first")
                await session.refresh(existing)
                return existing, True
        placeholder = f"{hashlib.sha256(sub.encode()).hexdigest()[:32]}@{PLACEHOLDER_DOMAIN}"
        address = email if email is not None and trusted else placeholder
        user = m.User(email=address, external_id=sub, display_name=(name or "")[:255])
        session.add(user)
        await session.flush()
        return user, False


def _slug_base(email: str | None, sub: str) -> str:
    source = email.split("@")[0] if email else sub
    base = _SLUG_JUNK.sub("-", source.lower()).strip("-")[:40].strip("-")
    return base or "user"


async def _free_slug(session: AsyncSession, base: str, *, random_suffix: bool) -> str:
    """``base``, else ``base-2``, ``base-3``…; after a lost race a random suffix instead."""
    if random_suffix:
        import secrets

        return f"{base}-{secrets.token_hex(3)}"
    taken = set(
        await session.scalars(
            select(m.Workspace.slug).where((m.Workspace.slug == base) | m.Workspace.slug.startswith(f"{base}-"))
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


@hookimpl
def register_settings(register: Callable[[type[SettingsGroup]], None]) -> None:
    register(JwtSettings)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None], settings: Settings, kernel: Kernel) -> None:
    if not settings.group(JwtSettings).clerk_jwks_url:
        return
    method = JWTAuth(kernel, settings)
    kernel.bus.on("directory", method.forget)
    register(method)
