"""The last-owner rule holds under concurrent requests, on SQLite and on PostgreSQL.

Two owners stepping down (demoting or removing themselves) at the same moment each used to count
two owners before either change committed, and both succeeded: the workspace was left with no owner.
Each owner acts on their own membership, so the permission check passes for both and the only
thing that can refuse one of them is the rule itself (409).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, database_settings, make_container, serve_app

ROUNDS = 20


def as_user(user_id: str) -> dict[str, str]:
    return {"X-Test-User": user_id}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def client(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[AppClient]:
    async with AsyncExitStack() as stack:
        settings = await stack.enter_async_context(database_settings(request))
        app = create_app(make_container(tmp_path, **settings))
        test_client = await stack.enter_async_context(serve_app(app))
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            for user in ("alice", "bob"):
                session.add(m.User(id=user, email=f"{user}@example.com", display_name=user))
        yield test_client


async def _owners(client: AppClient, workspace_id: str) -> list[str]:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker() as session:
        rows = await session.scalars(
            select(m.WorkspaceMember.user_id).where(
                m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.role == "owner"
            )
        )
        return sorted(rows)


async def _two_owner_workspace(client: AppClient, slug: str) -> tuple[str, str]:
    created = await client.post("/api/workspaces", json={"slug": slug, "name": slug}, headers=as_user("alice"))
    assert created.status_code == 201, created.text
    workspace_id: str = created.json()["id"]
    base = f"/api/workspaces/{workspace_id}/members"
    added = await client.post(base, json={"email": "bob@example.com", "role": "owner"}, headers=as_user("alice"))
    assert added.status_code == 201, added.text
    return workspace_id, base


async def test_concurrent_demotions_of_the_last_two_owners_leave_one(client: AppClient) -> None:
    workspace_id, base = await _two_owner_workspace(client, "demote")
    for _ in range(ROUNDS):
        responses = await asyncio.gather(
            client.patch(f"{base}/alice", json={"role": "member"}, headers=as_user("alice")),
            client.patch(f"{base}/bob", json={"role": "member"}, headers=as_user("bob")),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 409)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["field"] == "role"
        owners = await _owners(client, workspace_id)
        assert len(owners) == 1
        demoted = "bob" if owners == ["alice"] else "alice"
        restored = await client.patch(f"{base}/{demoted}", json={"role": "owner"}, headers=as_user(owners[0]))
        assert restored.status_code == 200, restored.text


async def test_concurrent_removals_of_the_last_two_owners_leave_one(client: AppClient) -> None:
    for round_ in range(ROUNDS):
        workspace_id, base = await _two_owner_workspace(client, f"remove-{round_}")
        responses = await asyncio.gather(
            client.delete(f"{base}/alice", headers=as_user("alice")),
            client.delete(f"{base}/bob", headers=as_user("bob")),
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [204, 409], [r.text for r in responses]
        assert next(r for r in responses if r.status_code == 409).json()["field"] == "user_id"
        assert len(await _owners(client, workspace_id)) == 1
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker() as session:
            members = await session.scalar(select(func.count()).where(m.WorkspaceMember.workspace_id == workspace_id))
        assert members == 1
