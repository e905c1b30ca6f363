"""JWT auth against a local JWKS server with keys made here: verification, rotation, provisioning."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func, select

from automatos.extensions.auth.jwt import JWTAuth, UnverifiedEmailError
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import AuthenticationError
from automatos.workspaces.service import WorkspaceService
from tests.api.test_api_keys_api import app_with_keys
from tests.helpers import make_container, running_kernel, serve_app

ISSUER = "https://clerk.example.test"
AUDIENCE = "automatos"


def _ec_jwk(public: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The JWK of a P-256 key as RFC 7518 §6.2.1 has it: x and y always 32 bytes.

    Not ``ECAlgorithm.to_jwk``: up to PyJWT 2.9 (our floor) it drops a coordinate's leading zero
    bytes, and its own reader then refuses that key ("Coords should be 32 bytes"), so about one
    random key in 160 made the ES256 tests fail at the lowest versions.
    """
    numbers = public.public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "alg": "ES256"}


class JWKSServer:
    """Serves ``keys`` as a JWKS on 127.0.0.1 and counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, kid: str, private: Any) -> None:
        if isinstance(private, rsa.RSAPrivateKey):
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
            jwk["alg"] = "RS256"
        else:
            jwk = _ec_jwk(private.public_key())
        self.keys.append({**jwk, "kid": kid, "use": "sig"})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.publish("rsa-1", rsa_key)
    server.publish("ec-1", ec_key)
    try:
        yield server
    finally:
        server.stop()


def settings_for(jwks: JWKSServer, **extra: Any) -> dict[str, Any]:
    return {"clerk_jwks_url": jwks.url, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, **extra}


@pytest.fixture
async def kernel(tmp_path: Path, jwks: JWKSServer) -> AsyncIterator[Kernel]:
    async with running_kernel(tmp_path, **settings_for(jwks)) as k:
        yield k


def method_of(kernel: Kernel) -> JWTAuth:
    return next(m for m in kernel.auth_methods if isinstance(m, JWTAuth))


def claims(sub: str = "user_1", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, **extra}


def sign(payload: dict[str, Any], key: Any, kid: str = "rsa-1", alg: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


async def login(kernel: Kernel, token: str) -> Any:
    result: Any = method_of(kernel).authenticate({"authorization": f"Bearer {token}"})
    assert result is not None
    return await result


async def refusal(kernel: Kernel, token: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        await login(kernel, token)
    return info.value.detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def count(kernel: Kernel, model: Any, *where: Any) -> int:
    async with kernel.store.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_not_registered_without_a_jwks_url(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        assert not any(isinstance(m, JWTAuth) for m in kernel.auth_methods)
        assert "jwt" not in kernel.auth_sources


async def test_rs256_and_es256_tokens_log_in_and_provision_once(
    kernel: Kernel, rsa_key: Any, ec_key: Any, jwks: JWKSServer
) -> None:
    first = await login(kernel, sign(claims(email="Ann.Lee@Example.com", name="Ann", email_verified=True), rsa_key))
    assert (first.kind, first.auth_method, first.email) == ("user", "jwt", "ann.lee@example.com")
    assert not first.is_platform_admin and first.default_workspace_id
    workspace = await kernel.store.get_workspace(first.default_workspace_id)
    assert workspace is not None and workspace.slug == "ann-lee" and workspace.name == "Ann's workspace"
    assert await WorkspaceService.of(kernel).member_role(workspace.id, first.id) == "owner"
    again = await login(kernel, sign(claims(), ec_key, kid="ec-1", alg="ES256"))
    assert again == first
    method_of(kernel).forget()  # even after the process forgets, the database answers the same
    assert await login(kernel, sign(claims(), rsa_key)) == first
    assert await count(kernel, m.User, m.User.external_id == "user_1") == 1
    assert await count(kernel, m.WorkspaceMember, m.WorkspaceMember.user_id == first.id) == 1
    assert await count(kernel, m.AuditLogEntry, m.AuditLogEntry.action == "user.provisioned") == 1
    assert jwks.hits == 1  # the JWKS is cached
    # an API key is not a JWT: the method leaves it alone
    assert method_of(kernel).authenticate({"authorization": "Bearer atk_abc"}) is None
    assert method_of(kernel).authenticate({"x-api-key": "anything"}) is None


async def test_bad_tokens_are_refused_naming_what_failed(kernel: Kernel, rsa_key: Any, ec_key: Any) -> None:
    now = int(time.time())
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    confused = f"{header}.{body}." + b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    unsigned = f"{b64(json.dumps({'alg': 'none', 'kid': 'rsa-1'}).encode())}.{body}."
    cases = {
        "expired": sign(claims(exp=now - 60, iat=now - 120, nbf=now - 120), rsa_key),
        "not valid yet": sign(claims(nbf=now + 600), rsa_key),
        "wrong issuer": sign(claims(iss="https://evil.test"), rsa_key),
        "wrong audience": sign(claims(aud="someone-else"), rsa_key),
        "lacks the 'sub'": sign({k: v for k, v in claims().items() if k != "sub"}, rsa_key),
        "lacks the 'exp'": sign({k: v for k, v in claims().items() if k != "exp"}, rsa_key),
        "lacks the 'iss'": sign({k: v for k, v in claims().items() if k != "iss"}, rsa_key),
        "bad signature": sign(claims(), impostor),
        "unknown key id 'nope'": sign(claims(), rsa_key, kid="nope"),
        "'none' is not accepted": unsigned,
        "'HS256' is not accepted": confused,
        "does not match its key": sign(claims(), ec_key, kid="rsa-1", alg="ES256"),
        "not a JWT": "definitely-not-a-token",
    }
    for words, token in cases.items():
        assert words in await refusal(kernel, token), words
    assert await count(kernel, m.User) == 0  # nothing was provisioned by a bad token


async def test_key_rotation_refetches_the_jwks_at_most_every_30_seconds(
    kernel: Kernel, rsa_key: Any, jwks: JWKSServer
) -> None:
    await login(kernel, sign(claims(), rsa_key))
    assert jwks.hits == 1
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.publish("rsa-2", rotated)
    # within 30 s of the last fetch an unknown kid does not make the server fetch again
    assert "unknown key id 'rsa-2'" in await refusal(kernel, sign(claims(), rotated, kid="rsa-2"))
    assert jwks.hits == 1
    method_of(kernel).jwks._attempted -= 31  # half a minute later
    principal = await login(kernel, sign(claims(), rotated, kid="rsa-2"))
    assert principal.kind == "user" and jwks.hits == 2
    for _ in range(3):  # a flood of made-up kids: at most one fetch per 30 s
        assert "unknown key id" in await refusal(kernel, sign(claims(), rotated, kid="made-up"))
    assert jwks.hits == 2
    method_of(kernel).jwks._attempted -= 31
    assert "even after a refresh" in await refusal(kernel, sign(claims(), rotated, kid="made-up"))
    assert jwks.hits == 3
    assert (await login(kernel, sign(claims(), rsa_key))).id == principal.id  # the old key still works


async def test_the_jwks_expires_after_its_cache_time(tmp_path: Path, rsa_key: Any, jwks: JWKSServer) -> None:
    async with running_kernel(tmp_path, **settings_for(jwks, jwks_cache_seconds=0.2)) as kernel:
        await login(kernel, sign(claims(), rsa_key))
        await asyncio.sleep(0.25)
        method_of(kernel).jwks._attempted -= 31
        await login(kernel, sign(claims(), rsa_key))
        assert jwks.hits == 2
        jwks.stop()  # the identity provider goes away: the keys in hand keep working
        await asyncio.sleep(0.25)
        method_of(kernel).jwks._attempted -= 31
        assert (await login(kernel, sign(claims(), rsa_key))).kind == "user"


async def test_an_unreachable_jwks_is_a_401_that_says_so(tmp_path: Path, rsa_key: Any) -> None:
    async with running_kernel(tmp_path, clerk_jwks_url="http://127.0.0.1:9/jwks.json") as kernel:
        assert "JWKS" in await refusal(kernel, sign(claims(), rsa_key))


async def test_concurrent_first_logins_provision_exactly_once(kernel: Kernel, rsa_key: Any) -> None:
    token = sign(claims("user_race", email="race@example.com"), rsa_key)
    method = method_of(kernel)
    principals = await asyncio.gather(*(login(kernel, token) for _ in range(20)))
    assert len({p.id for p in principals}) == 1 and len({p.default_workspace_id for p in principals}) == 1
    # the in-process share is not what makes it safe: bypass it, the database still decides
    method.forget()
    results = await asyncio.gather(*(method._resolve("user_race_2", claims("user_race_2")) for _ in range(5)))
    assert len({r.user_id for r in results}) == 1
    for sub in ("user_race", "user_race_2"):
        users = await count(kernel, m.User, m.User.external_id == sub)
        assert users == 1
    assert await count(kernel, m.AuditLogEntry, m.AuditLogEntry.action == "user.provisioned") == 2
    assert await count(kernel, m.Workspace) == 3  # default + one personal workspace each


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_first_logins_racing_on_two_nodes_provision_once(
    tmp_path: Path, rsa_key: Any, jwks: JWKSServer, dialect: str, request: pytest.FixtureRequest
) -> None:
    if dialect == "postgres":
        from tests.services import fresh_database

        database = fresh_database(request.getfixturevalue("postgres_url"))
    else:
        database = None
    async with AsyncExitStack() as stack:
        if database is not None:
            url = await stack.enter_async_context(database)
        else:
            url = f"sqlite+aiosqlite:///{(tmp_path / 'shared.db').as_posix()}"
        shared = settings_for(jwks, database_url=url)
        node_a = await stack.enter_async_context(running_kernel(tmp_path / "a", **shared))
        node_b = await stack.enter_async_context(running_kernel(tmp_path / "b", **shared))
        subs = [f"sub_{i}" for i in range(4)]
        tokens = {sub: sign(claims(sub, email=f"{sub}@example.com"), rsa_key) for sub in subs}
        attempts = [(sub, node) for sub in subs for node in (node_a, node_b) for _ in range(3)]
        principals = await asyncio.gather(*(login(node, tokens[sub]) for sub, node in attempts))
        by_sub: dict[str, set[str]] = {}
        for (sub, _), principal in zip(attempts, principals, strict=True):
            by_sub.setdefault(sub, set()).add(principal.id)
        assert all(len(ids) == 1 for ids in by_sub.values()) and len(by_sub) == 4
        assert await count(node_a, m.User) == 4
        assert await count(node_a, m.Workspace) == 1 + 4  # default + one personal workspace each
        assert await count(node_a, m.WorkspaceMember) == 4
        assert await count(node_a, m.AuditLogEntry, m.AuditLogEntry.action == "user.provisioned") == 4


async def test_an_invited_user_is_linked_by_email(kernel: Kernel, rsa_key: Any) -> None:
    ws = await kernel.store.get_workspace("default")
    assert ws is not None
    async with kernel.store.sessionmaker.begin() as session:
        invited = m.User(email="bo@example.com")
        session.add(invited)
        await session.flush()
        session.add(m.WorkspaceMember(workspace_id=ws.id, user_id=invited.id, role="member"))
        invited_id = invited.id
    principal = await login(kernel, sign(claims("user_bo", email="BO@example.com", email_verified=True), rsa_key))
    assert principal.id == invited_id and principal.default_workspace_id != ws.id  # a personal one, owned
    assert await WorkspaceService.of(kernel).member_role(ws.id, invited_id) == "member"
    # another identity presenting the same address is not given that account
    taken = await refusal(kernel, sign(claims("user_bo_2", email="bo@example.com", email_verified=True), rsa_key))
    assert "belongs to another account" in taken
    # nor is an unverified address linked to an invitation
    async with kernel.store.sessionmaker.begin() as session:
        session.add(m.User(email="cy@example.com"))
    unverified = sign(claims("user_cy", email="cy@example.com", email_verified=False), rsa_key)
    assert "not linked" in await refusal(kernel, unverified)


async def _invite_the_platform_admin(kernel: Kernel) -> str:
    ws = await kernel.store.get_workspace("default")
    assert ws is not None
    async with kernel.store.sessionmaker.begin() as session:
        root = m.User(email="root@example.com", is_platform_admin=True)
        session.add(root)
        await session.flush()
        session.add(m.WorkspaceMember(workspace_id=ws.id, user_id=root.id, role="owner"))
        return root.id


async def test_an_address_without_email_verified_does_not_take_over_an_invited_account(
    kernel: Kernel, rsa_key: Any
) -> None:
    root_id = await _invite_the_platform_admin(kernel)
    for extra in ({}, {"email_verified": "true"}, {"email_verified": 1}, {"email_verified": False}):
        token = sign(claims("attacker", email="ROOT@example.com", **extra), rsa_key)
        with pytest.raises(UnverifiedEmailError) as info:
            await login(kernel, token)
        assert info.value.status_code == 403 and info.value.field == "email_verified", extra
        assert "not linked" in info.value.detail
    async with kernel.store.sessionmaker() as session:
        root = await session.get(m.User, root_id)
        assert root is not None and root.external_id is None  # not attached
    assert await count(kernel, m.User, m.User.external_id == "attacker") == 0  # nothing provisioned
    # an unverified address is not recorded on a new account either: a later invitation by that
    # address must not reach whoever typed it
    newcomer = await login(kernel, sign(claims("someone", email="dee@example.com"), rsa_key))
    assert newcomer.email is None
    assert await count(kernel, m.User, m.User.email == "dee@example.com") == 0
    # the owner of the address, verified, gets the invited account
    owner = await login(kernel, sign(claims("real_root", email="root@example.com", email_verified=True), rsa_key))
    assert owner.id == root_id and owner.is_platform_admin


async def test_the_refusal_is_a_403_problem_through_the_app(tmp_path: Path, rsa_key: Any, jwks: JWKSServer) -> None:
    app = app_with_keys(make_container(tmp_path, **settings_for(jwks)))
    async with serve_app(app) as client:
        await _invite_the_platform_admin(app.state["kernel"])
        bearer = {"Authorization": f"Bearer {sign(claims('attacker', email='root@example.com'), rsa_key)}"}
        response = await client.get("/api/api-keys", headers={**bearer, "X-Workspace-ID": "default"})
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == "email_verified"


async def test_trusting_unverified_addresses_is_a_setting(tmp_path: Path, rsa_key: Any, jwks: JWKSServer) -> None:
    async with running_kernel(tmp_path, **settings_for(jwks, jwt_trust_unverified_email=True)) as kernel:
        root_id = await _invite_the_platform_admin(kernel)
        denied = sign(claims("liar", email="root@example.com", email_verified=False), rsa_key)
        with pytest.raises(UnverifiedEmailError):
            await login(kernel, denied)  # a token that says "not verified" is refused even then
        principal = await login(kernel, sign(claims("idp_root", email="root@example.com"), rsa_key))
        assert principal.id == root_id
        newcomer = await login(kernel, sign(claims("someone", email="dee@example.com"), rsa_key))
        assert newcomer.email == "dee@example.com"


async def test_tokens_without_email_get_unique_slugs(kernel: Kernel, rsa_key: Any) -> None:
    a = await login(kernel, sign(claims("user_Zed|01"), rsa_key))
    b = await login(kernel, sign(claims("user_zed-01", email="user.zed-01@one.test"), rsa_key))
    c = await login(kernel, sign(claims("other", email="user_zed-01@two.test"), rsa_key))
    slugs = []
    for p in (a, b, c):
        ws = await kernel.store.get_workspace(p.default_workspace_id)
        assert ws is not None
        slugs.append(ws.slug)
    assert slugs == ["user-zed-01", "user-zed-01-2", "user-zed-01-3"]
    assert a.email is None  # the placeholder address is not the user's


async def test_a_jwt_user_manages_keys_through_the_app(tmp_path: Path, rsa_key: Any, jwks: JWKSServer) -> None:
    app = app_with_keys(make_container(tmp_path, **settings_for(jwks)))
    async with serve_app(app) as client:
        bearer = {"Authorization": f"Bearer {sign(claims('user_app', email='app@example.com'), rsa_key)}"}
        created = await client.post("/api/api-keys", json={"name": "mine", "role": "owner"}, headers=bearer)
        assert created.status_code == 201, created.text  # owner of the personal workspace
        key = {"X-API-Key": created.json()["key"]}
        listed = (await client.get("/api/api-keys", headers=key)).json()["items"]
        assert listed[0]["user_id"] == listed[0]["created_by"]
        expired = sign(claims("user_app", exp=int(time.time()) - 60, iat=int(time.time()) - 120), rsa_key)
        response = await client.get("/api/api-keys", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "expired" in response.json()["detail"]
