"""Agents, personas and skills through the API: CRUD, validation, permissions and tenancy.

Alice owns workspace A, Bob owns workspace B, Vera is a viewer in A, Root is a platform admin who
belongs to no workspace. The platform's personas and skills are inserted here directly: the seed
is not these tests' business (it is applied at start-up, so assertions on lists look only at
the rows the tests made).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from automatos.agents import models as am
from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import AppClient, make_container, serve_app

ROOT = {"X-Test-User": "root;admin"}
PLATFORM_PERSONAS = {"helper", "pirate"}
"""The platform personas inserted here; the seed (applied at start-up) may add others."""
UNLIMITED = "100000/minute"  # these tests make more calls than the default limit allows one client


@dataclass
class World:
    client: AppClient
    kernel: Kernel
    a: str
    b: str

    def alice(self) -> dict[str, str]:
        return {"X-Test-User": "alice", "X-Workspace-ID": self.a}

    def bob(self) -> dict[str, str]:
        return {"X-Test-User": "bob", "X-Workspace-ID": self.b}

    def vera(self) -> dict[str, str]:
        return {"X-Test-User": "vera", "X-Workspace-ID": self.a}


async def _world(client: AppClient) -> World:
    kernel: Kernel = client.app.state["kernel"]
    async with kernel.store.sessionmaker.begin() as session:
        for user in ("alice", "bob", "vera", "root"):
            session.add(
                m.User(id=user, email=f"{user}@example.com", display_name=user, is_platform_admin=user == "root")
            )
        session.add(am.Persona(slug="helper", name="Helper", system_prompt="Be helpful.", traits=["kind"]))
        session.add(am.Persona(slug="pirate", name="Pirate", system_prompt="Arr."))
        session.add(am.Skill(slug="summarize", name="Summarize", instructions="Summarize well."))
        session.add(am.Skill(slug="translate", name="Translate", instructions="Translate well."))
    ids: dict[str, str] = {}
    for owner, slug in (("alice", "alpha"), ("bob", "bravo")):
        response = await client.post(
            "/api/workspaces", json={"slug": slug, "name": slug}, headers={"X-Test-User": owner}
        )
        assert response.status_code == 201, response.text
        ids[owner] = response.json()["id"]
    added = await client.post(
        f"/api/workspaces/{ids['alice']}/members",
        json={"email": "vera@example.com", "role": "viewer"},
        headers={"X-Test-User": "alice"},
    )
    assert added.status_code == 201, added.text
    return World(client=client, kernel=kernel, a=ids["alice"], b=ids["bob"])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    app = create_app(make_container(tmp_path, rate_limit_default=UNLIMITED))
    async with serve_app(app) as client:
        yield await _world(client)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def _agent(w: World, headers: dict[str, str], slug: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = _ok(
        await w.client.post("/api/agents", json={"name": slug.title(), "slug": slug, **fields}, headers=headers), 201
    )
    return body


async def _agent_crud(w: World) -> None:
    c = w.client
    own_skill = _ok(
        await c.post("/api/skills", json={"name": "Cite", "slug": "cite", "tags": ["sources"]}, headers=w.alice()),
        201,
    )
    created = await _agent(
        w,
        w.alice(),
        "support",
        description="Answers customers",
        instructions="Be brief.",
        persona_id="helper",
        skill_ids=["summarize", own_skill["id"], "summarize"],
        model_settings={"provider": "offline", "model": "offline-echo", "temperature": 0.2, "max_tokens": 256},
        tools=["search"],
        plugins=["hello"],
    )
    assert created["persona"]["slug"] == "helper" and created["persona_id"] == created["persona"]["id"]
    assert [s["slug"] for s in created["skills"]] == ["summarize", "cite"]  # by slug or id; duplicates dropped
    assert created["model_settings"] == {
        "provider": "offline",
        "model": "offline-echo",
        "temperature": 0.2,
        "max_tokens": 256,
    }
    assert created["status"] == "active" and created["created_by"] == "alice" and created["workspace_id"] == w.a
    assert created["tools"] == ["search"] and created["plugins"] == ["hello"]

    by_id = _ok(await c.get(f"/api/agents/{created['id']}", headers=w.alice()))
    by_slug = _ok(await c.get("/api/agents/support", headers=w.alice()))
    assert by_id == by_slug == created

    patched = _ok(
        await c.patch(
            "/api/agents/support",
            json={"name": "Support desk", "persona_id": None, "model_settings": {"provider": "offline"}},
            headers=w.alice(),
        )
    )
    assert patched["name"] == "Support desk" and patched["persona"] is None and patched["persona_id"] is None
    assert patched["model_settings"] == {"provider": "offline"}
    assert patched["description"] == "Answers customers" and len(patched["skills"]) == 2  # untouched
    renamed = _ok(await c.patch("/api/agents/support", json={"slug": "desk", "status": "paused"}, headers=w.alice()))
    assert renamed["slug"] == "desk" and renamed["status"] == "paused"

    assert (await c.delete("/api/agents/desk", headers=w.alice())).status_code == 204
    assert (await c.delete("/api/agents/desk", headers=w.alice())).status_code == 204  # twice: a no-op
    assert _ok(await c.get("/api/agents", headers=w.alice()))["total"] == 0
    archived = _ok(await c.get("/api/agents?status=archived", headers=w.alice()))
    assert [a["slug"] for a in archived["items"]] == ["desk"]
    assert _ok(await c.get("/api/agents/desk", headers=w.alice()))["status"] == "archived"
    restored = _ok(await c.patch("/api/agents/desk", json={"status": "active"}, headers=w.alice()))
    assert restored["status"] == "active"
    assert _ok(await c.get("/api/agents", headers=w.alice()))["total"] == 1

    audit = _ok(await c.get(f"/api/workspaces/{w.a}/audit?action=agent.*", headers={"X-Test-User": "alice"}))
    actions = [e["action"] for e in reversed(audit["items"])]
    assert actions == ["agent.created", "agent.updated", "agent.updated", "agent.archived", "agent.updated"]
    assert all(e["actor_id"] == "alice" and e["request_id"] for e in audit["items"])
    assert audit["items"][-1]["data"] == {"slug": "support"}
    assert set(audit["items"][-2]["data"]["fields"]) == {"name", "persona_id", "model_settings"}


async def test_agent_crud(world: World) -> None:
    await _agent_crud(world)


@pytest.mark.postgres
async def test_agent_crud_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    from tests.services import fresh_database

    async with fresh_database(postgres_url) as url:
        app = create_app(make_container(tmp_path, database_url=url, rate_limit_default=UNLIMITED))
        async with serve_app(app) as client:
            w = await _world(client)
            await _agent_crud(w)
            await _validation(w)
            await _isolation(w)


async def test_pagination_and_filters(world: World) -> None:
    w, c = world, world.client
    for slug in ("one", "two", "three", "four", "five"):
        await _agent(w, w.alice(), slug, persona_id="pirate" if slug in ("two", "four") else None)
    await _agent(w, w.alice(), "sleepy", status="paused")
    page = _ok(await c.get("/api/agents?offset=1&limit=2", headers=w.alice()))
    assert [a["slug"] for a in page["items"]] == ["two", "three"]  # oldest first
    assert page["total"] == 6 and page["offset"] == 1 and page["limit"] == 2
    assert [a["slug"] for a in _ok(await c.get("/api/agents?q=F", headers=w.alice()))["items"]] == ["four", "five"]
    assert [a["slug"] for a in _ok(await c.get("/api/agents?status=paused", headers=w.alice()))["items"]] == ["sleepy"]
    pirates = _ok(await c.get("/api/agents?persona_id=pirate", headers=w.alice()))
    assert [a["slug"] for a in pirates["items"]] == ["two", "four"]
    pirate_id = pirates["items"][0]["persona_id"]
    assert _ok(await c.get(f"/api/agents?persona_id={pirate_id}", headers=w.alice()))["total"] == 2
    assert _ok(await c.get("/api/agents?persona_id=nobody", headers=w.alice()))["total"] == 0
    assert _ok(await c.get("/api/agents?q=100%25", headers=w.alice()))["total"] == 0  # LIKE wildcards are literal
    far = _ok(await c.get(f"/api/agents?offset={10**9}", headers=w.alice()))
    assert far["items"] == [] and far["total"] == 6
    assert _problem(await c.get(f"/api/agents?offset={10**22}", headers=w.alice()), 422)["field"] == "offset"
    _problem(await c.get("/api/agents?status=gone", headers=w.alice()), 422)
    _problem(await c.get("/api/agents?limit=0", headers=w.alice()), 422)


async def _validation(w: World) -> None:
    c = w.client
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model_settings": {"temperature": 3}}, "model_settings.temperature"),
        ({"model_settings": {"max_tokens": 0}}, "model_settings.max_tokens"),
        ({"model_settings": {"provider": "no-such-llm"}}, "model_settings.provider"),
        ({"model_settings": {"provider": "offline", "colour": "red"}}, "model_settings.colour"),
        ({"favourite": 1}, "favourite"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "-dash"}, "slug"),
        ({"slug": "0b3d6c2e-5f4a-4b8c-9d1e-2f3a4b5c6d7e"}, "slug"),
        ({"name": "   "}, "name"),
        ({"persona_id": "no-such-persona"}, "persona_id"),
        ({"skill_ids": ["summarize", "no-such-skill"]}, "skill_ids"),
        ({"status": "archived"}, "status"),
    ]
    for fields, field in cases:
        body = {"name": "Bad", "slug": "bad", **fields}
        problem = _problem(await c.post("/api/agents", json=body, headers=w.alice()), 422)
        assert problem["field"] == field, (fields, problem)
    detail = _problem(
        await c.post(
            "/api/agents",
            json={"name": "x", "slug": "x", "model_settings": {"provider": "no-such-llm"}},
            headers=w.alice(),
        ),
        422,
    )["detail"]
    assert "no-such-llm" in detail and "offline" in detail
    # a model the catalog does not list is accepted (catalogs lag); the provider must exist
    await _agent(w, w.alice(), "fresh-model", model_settings={"provider": "offline", "model": "tomorrows-model"})
    problem = _problem(
        await c.post("/api/agents", json={"name": "Again", "slug": "fresh-model"}, headers=w.alice()), 409
    )
    assert problem["field"] == "slug" and "fresh-model" in problem["detail"]
    await _agent(w, w.alice(), "other")
    _problem(await c.patch("/api/agents/other", json={"slug": "fresh-model"}, headers=w.alice()), 409)
    for patch, field in (
        ({"model_settings": {"temperature": 2.5}}, "model_settings.temperature"),
        ({"model_settings": {"provider": "nope"}}, "model_settings.provider"),
        ({"persona_id": "nope"}, "persona_id"),
        ({"skill_ids": ["nope"]}, "skill_ids"),
        ({"unknown": True}, "unknown"),
    ):
        assert _problem(await c.patch("/api/agents/other", json=patch, headers=w.alice()), 422)["field"] == field
    for method in ("GET", "PATCH", "DELETE"):
        problem = _problem(
            await c.request(method, "/api/agents/ghost", json={} if method == "PATCH" else None, headers=w.alice()), 404
        )
        assert problem["field"] == "agent" and "ghost" in problem["detail"]
    problem = _problem(await c.get("/api/agents", headers={"X-Test-User": "alice"}), 422)
    assert problem["field"] == "X-Workspace-ID"
    _problem(await c.get("/api/agents", headers={"X-Workspace-ID": w.a}), 401)
    _problem(await c.get("/api/agents/nul%00byte", headers=w.alice()), 404)


async def test_validation_names_the_field(world: World) -> None:
    await _validation(world)


async def test_viewer_reads_but_cannot_write(world: World) -> None:
    w, c = world, world.client
    await _agent(w, w.alice(), "bot")
    assert _ok(await c.get("/api/agents", headers=w.vera()))["total"] == 1
    assert _ok(await c.get("/api/agents/bot", headers=w.vera()))["slug"] == "bot"
    assert _ok(await c.get("/api/personas", headers=w.vera()))["total"] >= 2
    for method, path, body in (
        ("POST", "/api/agents", {"name": "x", "slug": "x"}),
        ("PATCH", "/api/agents/bot", {"name": "y"}),
        ("DELETE", "/api/agents/bot", None),
        ("POST", "/api/personas", {"name": "x", "slug": "x"}),
        ("POST", "/api/skills", {"name": "x", "slug": "x"}),
    ):
        problem = _problem(await c.request(method, path, json=body, headers=w.vera()), 403)
        assert "agents.manage" in problem["detail"], (method, path)


async def _isolation(w: World) -> None:
    c = w.client
    secret = await _agent(w, w.bob(), "b-secret-agent", instructions="b-secret")
    persona = _ok(await c.post("/api/personas", json={"name": "b-secret", "slug": "b-secret-p"}, headers=w.bob()), 201)
    skill = _ok(await c.post("/api/skills", json={"name": "b-secret", "slug": "b-secret-s"}, headers=w.bob()), 201)
    await _agent(w, w.alice(), "mine")

    def clean(response: Any, status: int = 404, echoed: str = "") -> None:
        """The expected status, and nothing of B's in the body but the reference Alice sent herself."""
        assert response.status_code == status, response.text
        text = response.text.replace(echoed, "") if echoed else response.text
        for value in ("b-secret", secret["id"], persona["id"], skill["id"]):
            assert value not in text, response.text

    for ref in (secret["id"], "b-secret-agent"):
        clean(await c.get(f"/api/agents/{ref}", headers=w.alice()), echoed=ref)
        clean(await c.patch(f"/api/agents/{ref}", json={"name": "pwned"}, headers=w.alice()), echoed=ref)
        clean(await c.delete(f"/api/agents/{ref}", headers=w.alice()), echoed=ref)
    for kind, row in (("personas", persona), ("skills", skill)):
        for ref in (row["id"], row["slug"]):
            clean(await c.get(f"/api/{kind}/{ref}", headers=w.alice()), echoed=ref)
            clean(await c.patch(f"/api/{kind}/{ref}", json={"name": "pwned"}, headers=w.alice()), echoed=ref)
            clean(await c.delete(f"/api/{kind}/{ref}", headers=w.alice()), echoed=ref)
    listed = [
        await c.get("/api/agents?status=archived", headers=w.alice()),
        await c.get("/api/agents?q=secret", headers=w.alice()),
        await c.get("/api/personas?scope=workspace", headers=w.alice()),
        await c.get("/api/skills", headers=w.alice()),
        await c.get(f"/api/agents?persona_id={persona['id']}", headers=w.alice()),
    ]
    for response in listed:
        clean(response, 200)
    assert [a["slug"] for a in _ok(await c.get("/api/agents", headers=w.alice()))["items"]][-1] == "mine"
    # B's persona and skill cannot be given to A's agent
    problem = _problem(
        await c.post("/api/agents", json={"name": "x", "slug": "x", "persona_id": persona["id"]}, headers=w.alice()),
        422,
    )
    assert problem["field"] == "persona_id"
    problem = _problem(
        await c.post("/api/agents", json={"name": "x", "slug": "x", "skill_ids": [skill["slug"]]}, headers=w.alice()),
        422,
    )
    assert problem["field"] == "skill_ids"
    # the same slug lives in both workspaces independently
    await _agent(w, w.alice(), "b-secret-agent-twin")
    assert _ok(await c.get("/api/agents/b-secret-agent", headers=w.bob()))["instructions"] == "b-secret"
    # the platform's rows are visible in both
    for headers in (w.alice(), w.bob()):
        platform = _ok(await c.get("/api/personas?scope=platform", headers=headers))
        assert {p["slug"] for p in platform["items"]} >= PLATFORM_PERSONAS
        assert _ok(await c.get("/api/skills/summarize", headers=headers))["scope"] == "platform"
    # B's rows untouched
    assert _ok(await c.get(f"/api/personas/{persona['id']}", headers=w.bob()))["name"] == "b-secret"
    assert _ok(await c.get(f"/api/agents/{secret['id']}", headers=w.bob()))["status"] == "active"


async def test_workspaces_cannot_reach_each_others_rows(world: World) -> None:
    await _isolation(world)


async def test_personas_and_skills(world: World) -> None:
    w, c = world, world.client
    listed = _ok(await c.get("/api/personas", headers=w.alice()))
    assert [(p["slug"], p["scope"]) for p in listed["items"] if p["slug"] in PLATFORM_PERSONAS] == [
        ("helper", "platform"),
        ("pirate", "platform"),
    ]
    own = _ok(
        await c.post(
            "/api/personas",
            json={"name": "Our helper", "slug": "helper", "system_prompt": "Ours.", "traits": ["terse"]},
            headers=w.alice(),
        ),
        201,
    )
    assert own["scope"] == "workspace" and own["traits"] == ["terse"]
    # the workspace's own row wins by slug; the platform's is still reachable by id
    assert _ok(await c.get("/api/personas/helper", headers=w.alice()))["id"] == own["id"]
    platform_helper = _ok(await c.get("/api/personas/helper", headers=w.bob()))
    assert platform_helper["scope"] == "platform"
    assert _ok(await c.get(f"/api/personas/{platform_helper['id']}", headers=w.alice()))["scope"] == "platform"
    agent = await _agent(w, w.alice(), "bot", persona_id="helper")
    assert agent["persona_id"] == own["id"]
    scopes = {
        scope: [p["slug"] for p in _ok(await c.get(f"/api/personas?scope={scope}", headers=w.alice()))["items"]]
        for scope in ("platform", "workspace")
    }
    assert [slug for slug in scopes["platform"] if slug in PLATFORM_PERSONAS] == ["helper", "pirate"]
    assert scopes["workspace"] == ["helper"]
    _problem(await c.post("/api/personas", json={"name": "Dup", "slug": "helper"}, headers=w.alice()), 409)
    _problem(await c.post("/api/personas", json={"name": "Bad", "slug": "Bad!"}, headers=w.alice()), 422)
    _problem(await c.get("/api/personas/nobody", headers=w.alice()), 404)

    # a platform row is read-only to a workspace
    for method, body in (("PATCH", {"name": "Mine now"}), ("DELETE", None)):
        problem = _problem(await c.request(method, "/api/personas/pirate", json=body, headers=w.alice()), 403)
        assert "platform" in problem["detail"] and problem["field"] == "persona"
        problem = _problem(await c.request(method, "/api/skills/summarize", json=body, headers=w.alice()), 403)
        assert "platform" in problem["detail"] and problem["field"] == "skill"
    # ... and ?scope=platform is for platform admins only
    for method, path, body in (
        ("POST", "/api/personas?scope=platform", {"name": "x", "slug": "x"}),
        ("PATCH", "/api/personas/pirate?scope=platform", {"name": "y"}),
        ("DELETE", "/api/skills/summarize?scope=platform", None),
    ):
        problem = _problem(await c.request(method, path, json=body, headers=w.alice()), 403)
        assert "platform admins" in problem["detail"]

    # own rows: update, archive (hidden from lists, refused to new agents), restore
    updated = _ok(await c.patch("/api/personas/helper", json={"description": "Ours"}, headers=w.alice()))
    assert updated["id"] == own["id"] and updated["description"] == "Ours" and updated["name"] == "Our helper"
    assert (await c.delete("/api/personas/helper", headers=w.alice())).status_code == 204
    helpers = _ok(await c.get("/api/personas?q=help", headers=w.alice()))["items"]
    assert [p["scope"] for p in helpers if p["slug"] == "helper"] == ["platform"]
    assert _ok(await c.get("/api/personas?status=archived", headers=w.alice()))["items"][0]["id"] == own["id"]
    assert _ok(await c.get(f"/api/personas/{own['id']}", headers=w.alice()))["status"] == "archived"
    # by slug, an archived own row still wins for reading; a new agent gets the active platform row
    assert _ok(await c.get("/api/personas/helper", headers=w.alice()))["id"] == own["id"]
    second = await _agent(w, w.alice(), "bot2", persona_id="helper")
    assert second["persona_id"] == platform_helper["id"]
    assert _ok(await c.get("/api/agents/bot", headers=w.alice()))["persona"]["id"] == own["id"]  # kept

    # skills the same way
    skill = _ok(await c.post("/api/skills", json={"name": "Cite", "slug": "cite"}, headers=w.alice()), 201)
    assert skill["scope"] == "workspace"
    skills = _ok(await c.get("/api/skills?scope=workspace", headers=w.alice()))
    assert [s["slug"] for s in skills["items"]] == ["cite"]
    assert _ok(await c.patch("/api/skills/cite", json={"tags": ["a", "b"]}, headers=w.alice()))["tags"] == ["a", "b"]
    assert (await c.delete("/api/skills/cite", headers=w.alice())).status_code == 204
    problem = _problem(
        await c.post("/api/agents", json={"name": "x", "slug": "x", "skill_ids": ["cite"]}, headers=w.alice()), 422
    )
    assert problem["field"] == "skill_ids"
    assert _ok(await c.patch("/api/skills/cite", json={"status": "active"}, headers=w.alice()))["status"] == "active"

    audit = _ok(await c.get(f"/api/workspaces/{w.a}/audit?action=persona.*", headers={"X-Test-User": "alice"}))
    assert [e["action"] for e in reversed(audit["items"])] == ["persona.created", "persona.updated", "persona.archived"]


async def test_platform_admins_manage_platform_rows(world: World) -> None:
    w, c = world, world.client
    # a platform admin in no workspace reads the platform's rows
    platform_only = _ok(await c.get("/api/personas", headers=ROOT))["items"]
    assert {p["slug"] for p in platform_only} >= PLATFORM_PERSONAS and {p["scope"] for p in platform_only} == {
        "platform"
    }
    created = _ok(
        await c.post("/api/personas?scope=platform", json={"name": "Poet", "slug": "poet"}, headers=ROOT), 201
    )
    assert created["scope"] == "platform"
    _problem(await c.post("/api/personas?scope=platform", json={"name": "Poet", "slug": "poet"}, headers=ROOT), 409)
    for headers in (w.alice(), w.bob()):
        assert _ok(await c.get("/api/personas/poet", headers=headers))["scope"] == "platform"
    patched = _ok(await c.patch("/api/personas/poet?scope=platform", json={"traits": ["rhymes"]}, headers=ROOT))
    assert patched["traits"] == ["rhymes"]
    # a workspace's own row of the same slug is not what ?scope=platform changes
    own = _ok(await c.post("/api/skills", json={"name": "Our summary", "slug": "summarize"}, headers=w.alice()), 201)
    admin_in_a = {"X-Test-User": "root;admin", "X-Workspace-ID": w.a, "X-Admin-Override": "true"}
    platform_skill = _ok(
        await c.patch("/api/skills/summarize?scope=platform", json={"name": "Summary"}, headers=admin_in_a)
    )
    assert platform_skill["scope"] == "platform" and platform_skill["id"] != own["id"]
    assert _ok(await c.get("/api/skills/summarize", headers=w.alice()))["name"] == "Our summary"
    assert (await c.delete("/api/personas/poet?scope=platform", headers=ROOT)).status_code == 204
    assert "poet" not in {p["slug"] for p in _ok(await c.get("/api/personas", headers=w.alice()))["items"]}
    _problem(await c.delete("/api/personas/nobody?scope=platform", headers=ROOT), 404)
    # a workspace-scoped write needs a workspace
    problem = _problem(await c.post("/api/personas", json={"name": "x", "slug": "x"}, headers=ROOT), 422)
    assert problem["field"] == "X-Workspace-ID"
    # platform changes are audited without a workspace
    async with w.kernel.store.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(m.AuditLogEntry)
                .where(
                    m.AuditLogEntry.workspace_id.is_(None),
                    m.AuditLogEntry.target_type.in_(["persona", "skill"]),
                    m.AuditLogEntry.actor_id == "root",
                )
                .order_by(m.AuditLogEntry.created_at)
            )
        ).all()
    assert [(r.action, r.actor_id) for r in rows] == [
        ("persona.created", "root"),
        ("persona.updated", "root"),
        ("skill.updated", "root"),
        ("persona.archived", "root"),
    ]
    assert all(r.request_id for r in rows)


async def test_an_archived_agent_keeps_its_slug_says_so_and_is_restored(world: World) -> None:
    c, w = world.client, world
    made = _ok(await c.post("/api/agents", json={"name": "Desk", "slug": "desk"}, headers=w.alice()), 201)
    assert (await c.delete("/api/agents/desk", headers=w.alice())).status_code == 204
    # readable when asked for: by id or slug, and in lists with include_archived
    assert _ok(await c.get(f"/api/agents/{made['id']}", headers=w.alice()))["status"] == "archived"
    assert _ok(await c.get("/api/agents", headers=w.alice()))["total"] == 0
    listed = _ok(await c.get("/api/agents?include_archived=true", headers=w.alice()))
    assert [(a["slug"], a["status"]) for a in listed["items"]] == [("desk", "archived")]
    # its slug is not free, and the answer says why and how to get it back (before: "already exists")
    taken = _problem(await c.post("/api/agents", json={"name": "New", "slug": "desk"}, headers=w.alice()), 409)
    assert taken["field"] == "slug" and "archived" in taken["detail"] and "restore" in taken["detail"]
    _ok(await c.post("/api/agents", json={"name": "Other", "slug": "other"}, headers=w.alice()), 201)
    renamed = _problem(await c.patch("/api/agents/other", json={"slug": "desk"}, headers=w.alice()), 409)
    assert "archived" in renamed["detail"]
    # restore: agents.manage (a viewer may not), then it is active again; restoring twice is a 409
    _problem(await c.post(f"/api/agents/{made['id']}/restore", headers=w.vera()), 403)
    restored = _ok(await c.post(f"/api/agents/{made['id']}/restore", headers=w.alice()))
    assert restored["status"] == "active" and restored["slug"] == "desk"
    again = _problem(await c.post("/api/agents/desk/restore", headers=w.alice()), 409)
    assert again["field"] == "agent"
    _problem(await c.post("/api/agents/desk/restore", headers=w.bob()), 404)  # another workspace's
    audit = _ok(await c.get(f"/api/workspaces/{w.a}/audit?action=agent.restored", headers={"X-Test-User": "alice"}))
    assert [e["target_id"] for e in audit["items"]] == [made["id"]]


async def test_paused_agents_show_their_status(world: World) -> None:
    c, w = world.client, world
    _ok(await c.post("/api/agents", json={"name": "Nap", "slug": "nap", "status": "paused"}, headers=w.alice()), 201)
    assert _ok(await c.get("/api/agents/nap", headers=w.alice()))["status"] == "paused"
    listed = _ok(await c.get("/api/agents", headers=w.alice()))
    assert [(a["slug"], a["status"]) for a in listed["items"]] == [("nap", "paused")]
    paused = _ok(await c.get("/api/agents?status=paused", headers=w.alice()))
    assert paused["total"] == 1
