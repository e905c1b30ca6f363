"""The API-key auth method and key management, on a real kernel (SQLite; Redis for two nodes)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from automatos.extensions.auth.api_keys import (
    PEPPER_FILE,
    ApiKeyAuth,
    create_key,
    hash_key,
    list_keys,
    load_pepper,
    revoke_key,
)
from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.extensions.auth.api_keys.settings import _read_or_create
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import AuthenticationError, NotFoundError, ValidationError
from automatos.kernel.types import Workspace
from automatos.workspaces.service import WorkspaceService
from tests.helpers import running_kernel
from tests.workspaces.helpers import new_workspace

KEY_FORMAT = re.compile(r"atk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}")
PEPPER = "p" * 40


def method_of(kernel: Kernel) -> ApiKeyAuth:
    return next(m for m in kernel.auth_methods if isinstance(m, ApiKeyAuth))


async def default_ws(kernel: Kernel) -> Workspace:
    ws = await kernel.store.get_workspace("default")
    assert ws is not None
    return ws


async def verify(kernel: Kernel, headers: dict[str, str]) -> Any:
    result: Any = method_of(kernel).authenticate(headers)
    if hasattr(result, "__await__"):
        result = await result
    return result


async def refused(kernel: Kernel, key: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        await verify(kernel, {"x-api-key": key})
    return str(info.value)  # the reason (InvalidAPIKey keeps it out of the response: see test_probe_fixes)


async def settle(kernel: Kernel) -> None:
    """Let background tasks (last-used writes) finish."""
    for _ in range(50):
        if not kernel._tasks:
            return
        await asyncio.sleep(0.01)


async def add_user(kernel: Kernel, workspace_id: str, role: str | None, **fields: Any) -> str:
    async with kernel.store.sessionmaker.begin() as session:
        user = m.User(email=f"{time.monotonic_ns()}@example.com", **fields)
        session.add(user)
        await session.flush()
        if role is not None:
            session.add(m.WorkspaceMember(workspace_id=workspace_id, user_id=user.id, role=role))
        user_id: str = user.id
    return user_id


async def test_keys_are_stored_only_as_peppered_hashes(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "ci", "admin", ["keys.read"], created_by="tester")
        assert KEY_FORMAT.fullmatch(key) and key.split("_")[1] == record.prefix
        pepper_file = tmp_path / PEPPER_FILE
        assert stat.S_IMODE(pepper_file.stat().st_mode) == 0o600
        pepper = pepper_file.read_bytes().strip()
        secret = key.split("_", 2)[2]
        async with kernel.store.sessionmaker() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.id == record.id))
            assert row is not None
            assert row.key_hash == hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
            dump: list[str] = []
            for table in m.Base.metadata.tables:
                dump.extend(str(r) for r in (await session.execute(text(f"SELECT * FROM {table}"))).all())
        everything = "\n".join(dump)
        assert record.prefix in everything  # the public part is there...
        assert key not in everything and secret not in everything  # ...the key and its secret nowhere
        assert pepper.decode() not in everything
        raw = await asyncio.to_thread(lambda: b"".join(p.read_bytes() for p in tmp_path.glob("automatos.db*")))
        assert secret.encode() not in raw and key.encode() not in raw
        assert await verify(kernel, {"x-api-key": key}) is not None


async def test_pepper_setting_overrides_the_file(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, api_key_pepper=PEPPER) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "ci")
        async with kernel.store.sessionmaker() as session:
            stored = await session.scalar(select(ApiKey.key_hash).where(ApiKey.id == record.id))
        assert stored == hash_key(PEPPER.encode(), key)
        assert not (tmp_path / PEPPER_FILE).exists()
        assert PEPPER not in repr(kernel.settings)


def test_concurrent_processes_agree_on_one_pepper(tmp_path: Path) -> None:
    path = tmp_path / "nested" / PEPPER_FILE
    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(_read_or_create(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 8 and len(set(found)) == 1 and len(found[0]) == 64


async def test_both_headers_and_other_schemes(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        _, key = await create_key(kernel, ws.id, "ci", "viewer")
        by_bearer = await verify(kernel, {"authorization": f"Bearer {key}"})
        by_header = await verify(kernel, {"x-api-key": key})
        assert by_bearer == by_header and by_bearer.workspace_id == ws.id
        assert await verify(kernel, {"authorization": f"bearer  {key} "}) == by_bearer
        # a bearer token that is not an API key belongs to someone else (JWT): not ours
        assert await verify(kernel, {"authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}) is None
        assert await verify(kernel, {"authorization": f"Basic {key}"}) is None
        assert await verify(kernel, {}) is None


async def test_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "ci")
        assert "malformed" in await refused(kernel, "hunter2")
        assert "malformed" in await refused(kernel, key[:20])
        unknown = "atk_" + "a" * 12 + "_" + "b" * 43
        assert "not known" in await refused(kernel, unknown)
        assert "not known" in await refused(kernel, unknown)  # answered from memory the second time
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        assert "secret does not match" in await refused(kernel, wrong)  # cold
        await verify(kernel, {"x-api-key": key})
        assert "secret does not match" in await refused(kernel, wrong)  # warm
        await revoke_key(kernel, ws.id, record.id, "tester")
        assert "was revoked" in await refused(kernel, key)
        # a revoked key stays refused for a fresh node too, with the time it was revoked
        method_of(kernel)._cache.clear()
        assert re.search(r"was revoked at \d{4}-", await refused(kernel, key))
        assert "was revoked" in await refused(kernel, key)


async def test_expired_keys_are_refused_even_from_a_warm_cache(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        soon = datetime.now(UTC) + timedelta(seconds=0.6)
        record, key = await create_key(kernel, ws.id, "short-lived", expires_at=soon)
        assert record.expires_at is not None
        assert await verify(kernel, {"x-api-key": key}) is not None  # cached now
        await asyncio.sleep(0.7)
        assert "expired at" in await refused(kernel, key)
        # and a key that expired before any node saw it
        _, old = await create_key(kernel, ws.id, "old", expires_at=datetime.now(UTC) + timedelta(hours=1))
        async with kernel.store.sessionmaker.begin() as session:
            await session.execute(
                update(ApiKey).where(ApiKey.name == "old").values(expires_at=datetime.now(UTC) - timedelta(1))
            )
        assert "expired at" in await refused(kernel, old)


async def test_principal_of_a_workspace_key_and_of_a_user_key(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "bot", "member", ["agents.use"], "5/second")
        p = await verify(kernel, {"x-api-key": key})
        assert (p.id, p.kind, p.auth_method) == (f"key:{record.id}", "api_key", "api_key")
        assert len(p.id) <= 36  # fits the 36-character actor columns
        assert (p.workspace_id, p.role, p.scopes, p.rate_limit) == (
            ws.id,
            "member",
            frozenset({"agents.use"}),
            "5/second",
        )
        assert not p.is_platform_admin and p.email is None
        admin = await add_user(kernel, ws.id, "owner", is_platform_admin=True)
        _, admin_key = await create_key(kernel, ws.id, "mine", "owner", user_id=admin)
        q = await verify(kernel, {"x-api-key": admin_key})
        # a platform admin's key is not bound: it acts as the admin (memberships, audited override)
        assert (q.id, q.role, q.workspace_id, q.is_platform_admin) == (admin, None, None, True)
        assert q.email and "@" in q.email
        # narrowed keys of the same admin do not carry the platform-wide flag
        _, viewer_key = await create_key(kernel, ws.id, "bot", "viewer", user_id=admin)
        _, scoped_key = await create_key(kernel, ws.id, "bot", "owner", ["agents.use"], user_id=admin)
        for narrowed in (viewer_key, scoped_key):
            assert not (await verify(kernel, {"x-api-key": narrowed})).is_platform_admin


async def test_a_user_key_follows_its_users_membership(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        user = await add_user(kernel, ws.id, "admin")
        _, key = await create_key(kernel, ws.id, "mine", "admin", user_id=user)
        assert (await verify(kernel, {"x-api-key": key})).role == "admin"
        workspaces = WorkspaceService.of(kernel)  # its writes publish the change the key cache follows
        await workspaces.set_role(ws.id, user, "viewer", actor_id="tester")
        await asyncio.sleep(0.05)
        assert (await verify(kernel, {"x-api-key": key})).role == "viewer"  # capped by the demotion
        await workspaces.remove_member(ws.id, user, actor_id="tester")
        await asyncio.sleep(0.05)
        assert "no longer a member" in await refused(kernel, key)
        async with kernel.store.sessionmaker.begin() as session:
            email = await session.scalar(select(m.User.email).where(m.User.id == user))
            await session.execute(update(m.User).where(m.User.id == user).values(is_active=False))
        await workspaces.add_member(ws.id, str(email), "member", actor_id="tester")
        await asyncio.sleep(0.05)
        assert "deactivated" in await refused(kernel, key)


async def test_warm_verification_needs_no_database_and_is_synchronous(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        _, key = await create_key(kernel, ws.id, "ci")
        method = method_of(kernel)
        first = await verify(kernel, {"x-api-key": key})

        async def no_database(prefix: str) -> Any:
            raise AssertionError("the warm path must not query")

        method._query = no_database  # type: ignore[method-assign]
        result = method.authenticate({"x-api-key": key})
        assert result == first  # a Principal, not an awaitable
        started = time.perf_counter()
        for _ in range(2000):
            method.authenticate({"x-api-key": key})
        assert (time.perf_counter() - started) / 2000 < 200e-6  # generous here; bench/ measures it


async def test_concurrent_misses_share_one_query(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        _, key = await create_key(kernel, ws.id, "ci")
        method = method_of(kernel)
        calls = 0
        real = method._query

        async def counting(prefix: str) -> Any:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.02)
            return await real(prefix)

        method._query = counting  # type: ignore[method-assign]
        principals = await asyncio.gather(*(verify(kernel, {"x-api-key": key}) for _ in range(20)))
        assert calls == 1 and len({p.id for p in principals}) == 1


async def test_a_revocation_during_a_lookup_is_not_cached(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "ci")
        method = method_of(kernel)
        real = method._query
        gate = asyncio.Event()

        async def slow(prefix: str) -> Any:
            row = await real(prefix)  # read before the revocation lands
            await gate.wait()
            return row

        method._query = slow  # type: ignore[method-assign]
        pending = asyncio.ensure_future(verify(kernel, {"x-api-key": key}))
        await asyncio.sleep(0.02)
        await revoke_key(kernel, ws.id, record.id, "tester")
        gate.set()
        with pytest.raises(AuthenticationError, match="revoked"):
            await pending
        assert record.prefix not in method._cache


async def test_last_used_is_written_in_the_background_at_most_once_a_minute(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await default_ws(kernel)
        record, key = await create_key(kernel, ws.id, "ci")
        assert record.last_used_at is None
        await verify(kernel, {"x-api-key": key})
        await settle(kernel)
        (first,), _ = await list_keys(kernel, ws.id)
        assert first.last_used_at is not None
        for _ in range(5):
            await verify(kernel, {"x-api-key": key})
        assert not kernel._tasks  # nothing spawned within the minute
        method = method_of(kernel)
        method._cache[record.prefix].touched -= 61  # a minute later on this node...
        await verify(kernel, {"x-api-key": key})
        await settle(kernel)
        (again,), _ = await list_keys(kernel, ws.id)
        assert again.last_used_at == first.last_used_at  # ...the row was written < 60 s ago: left alone


async def test_management_validates_and_is_scoped_to_the_workspace(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        a = await default_ws(kernel)
        b = await new_workspace(kernel, "bee", "B")
        ra, _ = await create_key(kernel, a.id, "a-key")
        rb, kb = await create_key(kernel, b.id, "b-key")
        items, total = await list_keys(kernel, a.id)
        assert [r.name for r in items] == ["a-key"] and total == 1
        assert all(not hasattr(r, "key_hash") for r in items)
        with pytest.raises(NotFoundError):
            await revoke_key(kernel, a.id, rb.id, "tester")  # B's key, asked for through A
        with pytest.raises(NotFoundError):
            await revoke_key(kernel, a.id, rb.prefix, "tester")
        assert await verify(kernel, {"x-api-key": kb}) is not None
        await revoke_key(kernel, b.id, rb.prefix, "tester")  # by prefix, in its own workspace
        await revoke_key(kernel, b.id, rb.id, "tester")  # twice: a no-op
        assert (await list_keys(kernel, b.id))[1] == 0
        assert (await list_keys(kernel, b.id, include_revoked=True))[1] == 1
        cases: list[tuple[dict[str, Any], str]] = [
            ({"name": " "}, "name"),
            ({"role": "root"}, "role"),
            ({"scopes": ["keys.read", "everything"]}, "scopes"),
            ({"rate_limit": "lots"}, "rate_limit"),
            ({"expires_at": datetime(2000, 1, 1)}, "expires_at"),
        ]
        for kwargs, field in cases:
            args: dict[str, Any] = {"name": "x", **kwargs}
            with pytest.raises(ValidationError) as info:
                await create_key(kernel, a.id, **args)
            assert info.value.field == field
        async with kernel.store.sessionmaker() as session:
            actions = (
                await session.execute(
                    select(m.AuditLogEntry.action, m.AuditLogEntry.workspace_id, m.AuditLogEntry.data).where(
                        m.AuditLogEntry.target_type == "api_key"
                    )
                )
            ).all()
        assert sorted((act, w) for act, w, _ in actions) == sorted(
            [("key.created", a.id), ("key.created", b.id), ("key.revoked", b.id)]
        )
        assert all("hash" not in str(d) and "atk_" not in str(d) for _, _, d in actions)
        assert ra.id != rb.id


async def test_keys_work_unchanged_after_a_restart(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        _, key = await create_key(kernel, (await default_ws(kernel)).id, "ci")
    async with running_kernel(tmp_path) as kernel:
        assert await verify(kernel, {"x-api-key": key}) is not None
        assert load_pepper(kernel.settings) == (tmp_path / PEPPER_FILE).read_bytes().strip()


@pytest.mark.redis
async def test_a_revoked_key_is_refused_at_once_on_another_node(tmp_path: Path, redis_url: str) -> None:
    shared = {
        "database_url": f"sqlite+aiosqlite:///{(tmp_path / 'shared.db').as_posix()}",
        "redis_url": redis_url,
        "api_key_pepper": PEPPER,
    }
    async with (
        running_kernel(tmp_path / "a", **shared) as node_a,
        running_kernel(tmp_path / "b", **shared) as node_b,
    ):
        ws = await default_ws(node_a)
        record, key = await create_key(node_a, ws.id, "shared")
        assert await verify(node_b, {"x-api-key": key}) is not None  # warm on B for 60 s
        assert record.prefix in method_of(node_b)._cache
        await revoke_key(node_a, ws.id, record.id, "tester")
        assert "revoked" in await refused(node_a, key)
        started = time.monotonic()
        for _ in range(400):
            if record.prefix not in method_of(node_b)._cache:
                break
            await asyncio.sleep(0.005)
        assert time.monotonic() - started < 1.0, "the revocation did not reach the other node"
        assert "revoked" in await refused(node_b, key)


@pytest.mark.postgres
async def test_the_whole_cycle_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    from tests.services import fresh_database

    async with fresh_database(postgres_url) as url, running_kernel(tmp_path, database_url=url) as kernel:
        ws = await default_ws(kernel)
        _, key = await create_key(kernel, ws.id, "owner", "owner", ["keys.manage", "keys.read"], "9/second")
        p = await verify(kernel, {"authorization": f"Bearer {key}"})
        assert p.scopes == frozenset({"keys.manage", "keys.read"}) and p.rate_limit == "9/second"
        # a key without a user acts as "key:<id>": it fits every actor column
        child, child_key = await create_key(kernel, ws.id, "child", "viewer", ["keys.read"], created_by=p.id)
        await revoke_key(kernel, ws.id, child.id, p.id)
        assert "revoked" in await refused(kernel, child_key)
        await settle(kernel)
        items, total = await list_keys(kernel, ws.id, include_revoked=True)
        assert total == 2 and {i.name: i.created_by for i in items}["child"] == p.id
        assert {i.name: i.last_used_at is not None for i in items} == {"owner": True, "child": False}
        with pytest.raises(NotFoundError):
            await revoke_key(kernel, ws.id, "nul\x00byte", p.id)
