"""``/api/routing/rules`` end to end, and the rules the router reads (``RulesService.rules_for``).

Alice owns alpha (Mia is a member there, Vera a viewer); Bob owns bravo. Alpha has the agents
``billing`` and ``support`` and a paused ``dormant``; bravo has ``b-agent``. Covers CRUD, the 422s
naming the field (a regex that does not compile, one that could backtrack — per engine — an unknown,
foreign or paused agent, no condition, odd keywords, out-of-range priority), roles, tenancy, the
audit trail, and the cache of another node dropped by the kernel bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from automatos.agents.service import AgentCreate
from automatos.api.app import create_app
from automatos.container import Container
from automatos.kernel import patterns
from automatos.kernel.db import models as m
from automatos.routing.rules import RuleCreate, RulesService, RuleUpdate
from automatos.workspaces.service import WorkspaceService
from tests.helpers import AppClient, as_user, container_of, make_container, serve_app, two_workspaces

RULES = "/api/routing/rules"


def problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    if field is not None:
        assert body.get("field") == field, body
    return body


class Site:
    def __init__(self, client: AppClient, ids: dict[str, str]) -> None:
        self.client, self.ids = client, ids

    @property
    def service(self) -> RulesService:
        return container_of(self.client).routing_rules()

    def headers(self, user: str, workspace: str = "alpha") -> dict[str, str]:
        return as_user(user, self.ids[workspace])

    async def create(self, body: dict[str, Any], user: str = "alice", workspace: str = "alpha") -> httpx.Response:
        return await self.client.post(RULES, json=body, headers=self.headers(user, workspace))


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    container = make_container(tmp_path_factory.mktemp("rules-api"), rate_limit_default="100000/minute")
    async with serve_app(create_app(container)) as client:
        ids = await two_workspaces(client)
        for slug, workspace, status in (
            ("billing", "alpha", "active"),
            ("support", "alpha", "active"),
            ("dormant", "alpha", "paused"),
            ("b-agent", "bravo", "active"),
        ):
            owner = "alice" if workspace == "alpha" else "bob"
            made = await client.post(
                "/api/agents",
                json={"name": slug, "slug": slug, "status": status},
                headers=as_user(owner, ids[workspace]),
            )
            assert made.status_code == 201, made.text
            ids[slug] = made.json()["id"]
        yield Site(client, ids)


# --- CRUD ---------------------------------------------------------------------------------------


async def test_create_read_update_delete(site: Site) -> None:
    made = await site.create(
        {
            "name": "Refunds",
            "agent_id": "billing",  # a slug: stored as the id
            "priority": 7,
            "keywords": ["Refund", "money back", "Refund"],
            "intent_keywords": ["invoices"],
            "regex": r"(?i)\border\s*#?\d{5}\b",
            "source": "email:*",
        }
    )
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["agent_id"] == site.ids["billing"] and rule["priority"] == 7 and rule["active"] is True
    assert rule["keywords"] == ["Refund", "money back"] and rule["created_by"] == "alice"
    rule_id = rule["id"]

    got = await site.client.get(f"{RULES}/{rule_id}", headers=site.headers("mia"))
    assert got.status_code == 200 and got.json()["name"] == "Refunds"

    changed = await site.client.patch(
        f"{RULES}/{rule_id}", json={"priority": 8, "source": None, "active": False}, headers=site.headers("alice")
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["priority"], changed.json()["source"], changed.json()["active"]) == (8, None, False)

    inactive = (await site.client.get(RULES, params={"active": "false"}, headers=site.headers("mia"))).json()
    assert rule_id in [r["id"] for r in inactive["items"]]
    active = (await site.client.get(RULES, params={"active": "true"}, headers=site.headers("mia"))).json()
    assert rule_id not in [r["id"] for r in active["items"]]

    deleted = await site.client.delete(f"{RULES}/{rule_id}", headers=site.headers("alice"))
    assert deleted.status_code == 204
    problem(await site.client.get(f"{RULES}/{rule_id}", headers=site.headers("mia")), 404, "rule_id")

    async with site.service.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(m.AuditLogEntry.action)
                .where(m.AuditLogEntry.target_id == rule_id)
                .order_by(m.AuditLogEntry.created_at)
            )
        )
    assert actions == ["routing_rule.created", "routing_rule.updated", "routing_rule.deleted"]


async def test_list_is_by_priority_paged_and_filtered_by_agent(site: Site) -> None:
    made = []
    for priority, agent in ((1, "billing"), (30, "support"), (20, "billing")):
        response = await site.create({"name": f"p{priority}", "agent_id": agent, "priority": priority, "channel": "c"})
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    listed = (await site.client.get(RULES, params={"limit": 2}, headers=site.headers("mia"))).json()
    mine = [r for r in listed["items"] if r["id"] in made]
    assert [r["priority"] for r in mine] == [30, 20] and listed["limit"] == 2 and listed["total"] >= 3
    billing = (
        await site.client.get(RULES, params={"agent_id": site.ids["billing"]}, headers=site.headers("mia"))
    ).json()
    assert {r["agent_id"] for r in billing["items"]} == {site.ids["billing"]}
    for rule_id in made:
        assert (await site.client.delete(f"{RULES}/{rule_id}", headers=site.headers("alice"))).status_code == 204


# --- bad input ----------------------------------------------------------------------------------


async def test_bad_input_is_a_422_naming_the_field(site: Site) -> None:
    base = {"name": "r", "agent_id": "billing", "keywords": ["x"]}
    problem(await site.create({**base, "regex": "(unclosed"}), 422, "regex")
    problem(await site.create({**base, "agent_id": "nobody"}), 422, "agent_id")
    problem(await site.create({**base, "agent_id": site.ids["b-agent"]}), 422, "agent_id")  # bravo's
    paused = problem(await site.create({**base, "agent_id": "dormant"}), 422, "agent_id")
    assert "paused" in paused["detail"]
    problem(await site.create({"name": "r", "agent_id": "billing"}), 422, "keywords")
    problem(await site.create({"name": "r", "agent_id": "billing", "source": "  ", "keywords": []}), 422, "keywords")
    problem(await site.create({**base, "keywords": ["!!!"]}), 422, "keywords")
    problem(await site.create({**base, "keywords": ["k"] * 101}), 422)
    problem(await site.create({**base, "keywords": ["k" * 101]}), 422)
    problem(await site.create({**base, "priority": 10_001}), 422)
    problem(await site.create({**base, "name": "   "}), 422, "name")
    problem(await site.create({**base, "colour": "red"}), 422)
    rule_id = (await site.create(base)).json()["id"]
    path = f"{RULES}/{rule_id}"
    problem(await site.client.patch(path, json={"keywords": []}, headers=site.headers("alice")), 422, "keywords")
    problem(await site.client.patch(path, json={"regex": "("}, headers=site.headers("alice")), 422, "regex")
    problem(await site.client.patch(path, json={"agent_id": "nobody"}, headers=site.headers("alice")), 422, "agent_id")
    unchanged = (await site.client.get(path, headers=site.headers("alice"))).json()
    assert unchanged["keywords"] == ["x"] and unchanged["regex"] is None
    await site.client.delete(path, headers=site.headers("alice"))


@pytest.mark.parametrize(
    ("engine", "pattern", "reason"),
    [
        ("re2", r"(a)\1", "RE2"),  # a backreference: RE2 has none
        ("re2", r"(?=x)y", "RE2"),  # a lookaround
        ("re", "^(a+)+$", "a repeat inside a repeat"),  # exponential backtracking in Python's re
        ("re", "(ab|cd)*x", "an alternation inside a repeat"),
        ("re", r"(a)\1", "a backreference"),
        ("re", r"\s*x\s*y", "unbounded repeats"),  # quadratic twice over, not anchored
    ],
)
async def test_a_pattern_that_could_backtrack_is_refused(
    site: Site, monkeypatch: pytest.MonkeyPatch, engine: str, pattern: str, reason: str
) -> None:
    if engine == "re2" and patterns.re2 is None:
        pytest.skip("google-re2 is not installed")
    monkeypatch.setattr(patterns, "ENGINE", engine)
    body = problem(await site.create({"name": "r", "agent_id": "billing", "regex": pattern}), 422, "regex")
    assert reason in body["detail"]


async def test_re2_runs_what_would_backtrack_in_re(site: Site) -> None:
    if patterns.re2 is None:
        pytest.skip("google-re2 is not installed")
    made = await site.create({"name": "nested", "agent_id": "billing", "regex": "^(a+)+$"})
    assert made.status_code == 201, made.text
    await site.client.delete(f"{RULES}/{made.json()['id']}", headers=site.headers("alice"))


# --- roles and tenancy --------------------------------------------------------------------------


async def test_members_read_admins_write(site: Site) -> None:
    body = {"name": "r", "agent_id": "billing", "keywords": ["x"]}
    problem(await site.create(body, user="mia"), 403)
    problem(await site.client.get(RULES, headers=site.headers("vera")), 403)
    made = (await site.create(body)).json()
    path = f"{RULES}/{made['id']}"
    problem(await site.client.patch(path, json={"priority": 1}, headers=site.headers("mia")), 403)
    problem(await site.client.delete(path, headers=site.headers("mia")), 403)
    assert (await site.client.get(path, headers=site.headers("mia"))).status_code == 200
    await site.client.delete(path, headers=site.headers("alice"))


async def test_another_workspace_rule_does_not_exist_here(site: Site) -> None:
    made = (await site.create({"name": "alpha secret", "agent_id": "billing", "keywords": ["x"]})).json()
    path = f"{RULES}/{made['id']}"
    as_bob = site.headers("bob", "bravo")
    for response in (
        await site.client.get(path, headers=as_bob),
        await site.client.patch(path, json={"priority": 3}, headers=as_bob),
        await site.client.delete(path, headers=as_bob),
    ):
        body = problem(response, 404, "rule_id")
        assert "alpha secret" not in response.text and body["status"] == 404
    listed = (await site.client.get(RULES, headers=as_bob)).json()
    assert made["id"] not in [r["id"] for r in listed["items"]]
    # alice naming bravo in the header: not a member there
    problem(await site.client.get(path, headers=site.headers("alice", "bravo")), 403)
    still = (await site.client.get(path, headers=site.headers("alice"))).json()
    assert still["priority"] == 0
    await site.client.delete(path, headers=site.headers("alice"))


# --- what the router reads ----------------------------------------------------------------------


async def test_rules_for_answers_active_rules_of_active_agents_by_priority(site: Site) -> None:
    service = site.service
    alpha = site.ids["alpha"]
    made: list[str] = []
    for body in (
        {"name": "low", "agent_id": "support", "priority": 1, "keywords": ["Crash", "Le Café"]},
        {"name": "high", "agent_id": "billing", "priority": 9, "intent_keywords": ["Invoices"]},
        {"name": "off", "agent_id": "billing", "priority": 5, "channel": "x", "active": False},
    ):
        response = await site.create(body)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    rules = await service.rules_for(alpha)
    assert [r.id for r in rules] == [made[1], made[0]]
    assert rules[1].keywords == ("crash", "le café") and rules[0].intent_keywords == ("invoices",)
    assert await service.rules_for(alpha) is rules  # cached

    # pausing the agent leaves its rules out (the router's agents are the active ones)
    paused = await site.client.patch(
        f"/api/agents/{site.ids['support']}", json={"status": "paused"}, headers=site.headers("alice")
    )
    assert paused.status_code == 200
    service.forget(alpha)
    assert [r.id for r in await service.rules_for(alpha)] == [made[1]]
    await site.client.patch(
        f"/api/agents/{site.ids['support']}", json={"status": "active"}, headers=site.headers("alice")
    )
    for rule_id in made:
        await site.client.delete(f"{RULES}/{rule_id}", headers=site.headers("alice"))
    assert await service.rules_for(alpha) == []  # each write dropped this node's copy


# --- another node -------------------------------------------------------------------------------


async def _wait_for(predicate: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Poll until ``predicate()`` is true; a liveness deadline, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.02)


async def _node(stack: AsyncExitStack, data_dir: Path, db: str, **settings: Any) -> Container:
    container = make_container(data_dir, database_url=db, **settings)
    kernel = container.kernel()
    await kernel.start()
    stack.push_async_callback(kernel.stop)
    return container


async def _rule_changes_reach(a: Container, b: Container) -> None:
    kernel = a.kernel()
    workspace = await WorkspaceService.of(kernel).create("acme", "Acme", owner_id=None)
    agent = await a.agents().create_agent(
        workspace.id, AgentCreate(name="Billing", slug="billing"), providers=set(), actor_id="test"
    )
    rules_a, rules_b = a.routing_rules(), b.routing_rules()
    rules_b.recheck_seconds = 3600.0  # only a message can make node B read again
    assert await rules_b.rules_for(workspace.id) == []
    made = await rules_a.create_rule(
        workspace.id, RuleCreate(name="r", agent_id="billing", keywords=["refund"]), actor_id="test"
    )

    async def b_sees(expected: list[str]) -> bool:
        return [r.id for r in await rules_b.rules_for(workspace.id)] == expected

    await _wait_for(lambda: b_sees([made.id]))
    await rules_a.update_rule(workspace.id, made.id, RuleUpdate(active=False), actor_id="test")
    await _wait_for(lambda: b_sees([]))
    await rules_a.update_rule(workspace.id, made.id, RuleUpdate(active=True), actor_id="test")
    await _wait_for(lambda: b_sees([made.id]))
    await rules_a.delete_rule(workspace.id, made.id, actor_id="test")
    await _wait_for(lambda: b_sees([]))
    assert agent.id == made.agent_id


async def test_another_node_drops_its_rules_through_the_journal(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with AsyncExitStack() as stack:
        a = await _node(stack, tmp_path / "a", db, bus_poll_seconds=0.05)
        b = await _node(stack, tmp_path / "b", db, bus_poll_seconds=0.05)
        await _rule_changes_reach(a, b)


@pytest.mark.redis
async def test_another_node_drops_its_rules_through_redis(tmp_path: Path, redis_url: str) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with AsyncExitStack() as stack:  # the journal's poll slowed to an hour: pub/sub alone
        a = await _node(stack, tmp_path / "a", db, redis_url=redis_url, bus_poll_seconds=3600.0)
        b = await _node(stack, tmp_path / "b", db, redis_url=redis_url, bus_poll_seconds=3600.0)
        assert b.kernel().backends.pubsub.name == "redis"
        await _rule_changes_reach(a, b)


# --- through the router -------------------------------------------------------------------------


async def test_post_route_decides_by_rule_then_by_intent(site: Site) -> None:
    # the offline tiers only after the rules: no semantic guess, no LLM
    quiet = {"tiers": {"semantic": {"enabled": False}, "llm": {"enabled": False}}}
    put = await site.client.put("/api/routing/config", json=quiet, headers=site.headers("alice"))
    assert put.status_code == 200, put.text
    made = [
        await site.create({"name": "refunds", "agent_id": "billing", "priority": 5, "keywords": ["refund"]}),
        await site.create({"name": "vocabulary", "agent_id": "support", "intent_keywords": ["crashes", "errors"]}),
    ]
    assert [m.status_code for m in made] == [201, 201]
    headers = site.headers("mia")
    routed = await site.client.post("/api/route", json={"message": "I want a REFUND now"}, headers=headers)
    assert routed.status_code == 200, routed.text
    body = routed.json()
    assert (body["tier"], body["agent_id"], body["confidence"]) == ("rules", site.ids["billing"], 0.9)
    # no rule's condition holds; the intent tier finds two of support's words (0.67 >= 0.5)
    message = {"message": "the app crashes with errors"}
    by_intent = (await site.client.post("/api/route", json=message, headers=headers)).json()
    assert (by_intent["tier"], by_intent["agent_id"]) == ("intent", site.ids["support"]), by_intent
    outcomes = {step["tier"]: step["outcome"] for step in by_intent["explanation"]}
    assert outcomes["intent"] == "decided" and outcomes["rules"] != "decided", outcomes
    for response in made:
        await site.client.delete(f"{RULES}/{response.json()['id']}", headers=site.headers("alice"))
