"""Composio through the real ``composio`` SDK against a local server speaking its wire format
(:mod:`tests.tools.composio_fake`): the catalogue synced into the cache and read with no external
call, connections through the OAuth flow with tokens encrypted at rest, execution with the
workspace's own connected account only, Composio's errors as tool errors, and trigger events routed
by the router's trigger tier."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from automatos.api.app import create_app
from automatos.container import Container
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.routing.models import RoutingDecisionRow
from automatos.tools.composio.provider import tool_intent, tool_name
from automatos.tools.composio.triggers import trigger_source
from tests.helpers import (
    AppClient,
    as_user,
    container_of,
    database_settings,
    make_container,
    serve_app,
    two_workspaces,
)
from tests.tools.composio_fake import API_KEY, FakeComposio, sign_webhook

SECRET = "whsec_test_secret"
ROOT = {"X-Test-User": "root;admin"}
QUIET = {name: {"enabled": False} for name in ("rules", "examples", "semantic", "intent", "llm")}


class World:
    def __init__(self, client: AppClient, fake: FakeComposio, ids: dict[str, str]) -> None:
        self.client, self.fake, self.ids = client, fake, ids
        self.container: Container = container_of(client)
        self.kernel: Kernel = client.app.state["kernel"]

    def alice(self) -> dict[str, str]:
        return as_user("alice", self.ids["alpha"])

    def bob(self) -> dict[str, str]:
        return as_user("bob", self.ids["bravo"])

    async def sync(self) -> dict[str, Any]:
        started = await self.client.post("/api/composio/sync", headers=ROOT)
        assert started.status_code == 202, started.text
        await self.container.composio_catalogue().wait()
        run = await self.client.get(f"/api/composio/sync/{started.json()['id']}", headers=ROOT)
        assert run.status_code == 200, run.text
        return dict(run.json())

    async def connect(self, headers: dict[str, str], app: str) -> dict[str, Any]:
        """Initiate, let the user finish the OAuth flow at the fake, come back through the callback."""
        made = await self.client.post("/api/tools/connections", json={"app": app}, headers=headers)
        assert made.status_code == 201, made.text
        connection = made.json()["connection"]
        self.fake.complete(connection["account_id"])
        back = await self.client.get("/api/composio/callback", params={"connection": connection["id"]})
        assert back.json() == {"id": connection["id"], "status": "active"}, back.text
        return dict(connection)

    async def invoke(self, headers: dict[str, str], tool: str, **arguments: Any) -> Any:
        return await self.client.post(f"/api/tools/{tool}/invoke", json={"arguments": arguments}, headers=headers)

    async def composio_tools(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        got = await self.client.get("/api/tools", params={"source": "composio", "limit": 500}, headers=headers)
        assert got.status_code == 200, got.text
        return list(got.json()["items"])


@pytest.fixture
def fake() -> Iterator[FakeComposio]:
    server = FakeComposio(toolkits={"github": 250, "slack": 4, "gmail": 3})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _world(tmp_path: Path, fake: FakeComposio, **settings: Any) -> AsyncIterator[World]:
    container = make_container(tmp_path, feature_sandbox=False, **settings)
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="root", email="root@example.test", display_name="root", is_platform_admin=True))
        ids = await two_workspaces(client)
        yield World(client, fake, ids)


@pytest.fixture
async def world(tmp_path: Path, fake: FakeComposio) -> AsyncIterator[World]:
    async for got in _world(
        tmp_path,
        fake,
        composio_api_key=API_KEY,
        composio_base_url=fake.url,
        composio_max_retries=0,
        composio_timeout_seconds=5,
        composio_webhook_secret=SECRET,
        composio_callback_url="https://automatos.example/api/composio/callback",
    ):
        yield got


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeComposio) -> AsyncIterator[World]:
    async with database_settings(request) as settings:
        async for got in _world(
            tmp_path, fake, composio_api_key=API_KEY, composio_base_url=fake.url, composio_max_retries=0, **settings
        ):
            yield got


def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from composio.core.models import base

    pushed: list[Any] = []
    monkeypatch.setattr(base, "push_event", lambda event: pushed.append(event))
    return pushed


# --- the catalogue -------------------------------------------------------------------------------------


async def test_sync_fills_the_cache_page_by_page_with_progress(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pushed = _no_telemetry(monkeypatch)
    run = await world.sync()
    assert (run["status"], run["stage"], run["error"], run["started_by"]) == ("succeeded", "triggers", None, "root")
    assert (run["done"], run["total"]) == (6, 6)  # the last stage's count: 3 toolkits x 2 triggers
    assert run["finished_at"] is not None
    tool_pages = [r for r in world.fake.requests if r.path == "/api/v3.1/tools"]
    assert [r.query.get("cursor") for r in tool_pages] == [None, ["200"]]  # 257 actions: two pages of 200
    assert pushed == []  # telemetry off, whichever task calls the SDK

    apps = (await world.client.get("/api/composio/apps", headers=world.alice())).json()
    assert [a["slug"] for a in apps["items"]] == ["github", "gmail", "slack"]
    assert apps["items"][0]["actions_count"] == 250 and apps["items"][0]["categories"] == ["Developer tools"]
    page = (
        await world.client.get("/api/composio/apps/github/actions?limit=100&offset=200", headers=world.alice())
    ).json()
    assert (page["total"], len(page["items"])) == (250, 50)
    assert page["items"][0]["slug"] == "GITHUB_ACTION_0200"
    assert page["items"][0]["parameters"]["required"] == ["title"]
    found = (await world.client.get("/api/composio/apps/github/actions?q=action_024", headers=world.alice())).json()
    assert [a["slug"] for a in found["items"]] == [f"GITHUB_ACTION_024{n}" for n in range(10)]
    triggers = (await world.client.get("/api/composio/triggers?app=slack", headers=world.alice())).json()
    assert [t["slug"] for t in triggers["items"]] == ["SLACK_EVENT_0", "SLACK_EVENT_1"]

    # a second sync replaces the cache: an action gone upstream is gone here too
    world.fake.toolkits["slack"] = 2
    assert (await world.sync())["status"] == "succeeded"
    slack = (await world.client.get("/api/composio/apps/slack/actions", headers=world.alice())).json()
    assert [a["slug"] for a in slack["items"]] == ["SLACK_ACTION_0000", "SLACK_ACTION_0001"]


async def test_one_sync_at_a_time_and_admins_only(world: World) -> None:
    world.fake.hold = threading.Event()  # the fake answers nothing until released: the run stays running
    try:
        first = await world.client.post("/api/composio/sync", headers=ROOT)
        assert first.status_code == 202, first.text
        second = await world.client.post("/api/composio/sync", headers=ROOT)
        assert second.status_code == 409, second.text
        assert second.json()["field"] == "sync"
        running = (await world.client.get(f"/api/composio/sync/{first.json()['id']}", headers=ROOT)).json()
        assert running["status"] == "running"
    finally:
        world.fake.hold.set()
    await world.container.composio_catalogue().wait()
    assert (await world.client.post("/api/composio/sync", headers=world.alice())).status_code == 403
    assert (await world.client.get("/api/composio/sync/nope", headers=ROOT)).status_code == 404


async def test_a_failed_sync_says_why(world: World) -> None:
    world.fake.fail["/api/v3.1/tools"] = 500
    run = await world.sync()
    assert run["status"] == "failed"
    assert run["stage"] == "actions"
    assert "Composio answered 500" in run["error"] and API_KEY not in run["error"]


async def test_a_catalogue_page_makes_no_external_call(world: World) -> None:
    await world.sync()
    world.fake.stop()  # nothing answers any more
    before = world.fake.external_calls()
    for path in (
        "/api/composio/apps?q=git",
        "/api/composio/apps/github/actions?limit=100",
        "/api/composio/apps/github/actions?limit=500",
        "/api/composio/triggers",
    ):
        got = await world.client.get(path, headers=world.alice())
        assert got.status_code == 200, (path, got.text)
    assert world.fake.external_calls() == before
    missing = await world.client.get("/api/composio/apps/nope/actions", headers=world.alice())
    assert (missing.status_code, missing.json()["field"]) == (404, "slug")
    assert (await world.client.get("/api/composio/apps")).status_code == 401


async def test_without_an_api_key_composio_is_absent(tmp_path: Path, fake: FakeComposio) -> None:
    async for world in _world(tmp_path, fake):
        assert (await world.client.get("/api/composio/apps", headers=world.alice())).json()["total"] == 0
        sync = await world.client.post("/api/composio/sync", headers=ROOT)
        assert sync.status_code == 409 and "COMPOSIO_API_KEY" in sync.json()["detail"], sync.text
        connect = await world.client.post("/api/tools/connections", json={"app": "github"}, headers=world.alice())
        assert connect.status_code == 409 and "COMPOSIO_API_KEY" in connect.json()["detail"]
        assert await world.composio_tools(world.alice()) == []
    assert fake.external_calls() == 0


# --- connections, execution, tenancy ------------------------------------------------------------------


async def test_connect_execute_and_tenancy(world: World) -> None:
    await world.sync()
    bravo_slack = await world.connect(world.bob(), "slack")
    # alpha has no connection: no Composio tools, and bravo's tool does not exist here
    assert await world.composio_tools(world.alice()) == []
    assert (await world.client.get("/api/tools/slack__ACTION_0000", headers=world.alice())).status_code == 404
    assert (await world.invoke(world.alice(), "slack__ACTION_0000", title="x")).status_code == 404
    assert (
        await world.client.get(f"/api/tools/connections/{bravo_slack['id']}", headers=world.alice())
    ).status_code == 404

    made = await world.client.post("/api/tools/connections", json={"app": "github"}, headers=world.alice())
    assert made.status_code == 201, made.text
    alpha = made.json()
    assert alpha["redirect_url"].startswith("https://connect.composio.example/link/")
    account = world.fake.accounts[alpha["connection"]["account_id"]]
    assert account["user_id"] == world.ids["alpha"]  # the workspace is Composio's user
    assert account["callback_url"].endswith(f"?connection={alpha['connection']['id']}")
    assert alpha["connection"]["status"] == "initiated"
    assert await world.composio_tools(world.alice()) == []  # not active yet
    world.fake.complete(alpha["connection"]["account_id"])
    back = await world.client.get("/api/composio/callback", params={"connection": alpha["connection"]["id"]})
    assert back.json()["status"] == "active"

    tools = await world.composio_tools(world.alice())
    assert len(tools) == 250
    first = tools[0]
    assert (first["name"], first["source"], first["provider"]) == ("github__ACTION_0000", "composio", "composio")
    done = await world.invoke(world.alice(), "github__ACTION_0001", title="hello", count=2)
    assert done.status_code == 200, done.text
    assert done.json()["ok"] is True
    assert done.json()["result"] == {"echo": {"title": "hello", "count": 2}, "account": account["id"]}
    call = world.fake.executions[-1]
    assert (call["slug"], call["account"], call["user_id"]) == ("GITHUB_ACTION_0001", account["id"], world.ids["alpha"])

    # bravo's own github connection: each workspace's calls use its own account, never the other's
    bravo_github = await world.connect(world.bob(), "github")
    assert (await world.invoke(world.bob(), "github__ACTION_0002", title="b")).json()["result"]["account"] == (
        bravo_github["account_id"]
    )
    assert (await world.invoke(world.alice(), "github__ACTION_0002", title="a")).json()["result"]["account"] == (
        account["id"]
    )
    assert {c["account"] for c in world.fake.executions if c["user_id"] == world.ids["alpha"]} == {account["id"]}
    bad = await world.invoke(world.alice(), "github__ACTION_0002", count=1)  # the cached schema is enforced
    assert (bad.status_code, bad.json()["field"]) == (422, "arguments.title")

    listed = (await world.client.get("/api/tools/connections", headers=world.alice())).json()
    assert [c["app"] for c in listed["items"]] == ["github"]
    twice = await world.client.post("/api/tools/connections", json={"app": "github"}, headers=world.alice())
    assert (twice.status_code, twice.json()["field"]) == (409, "app")
    unknown = await world.client.post("/api/tools/connections", json={"app": "nope"}, headers=world.alice())
    assert (unknown.status_code, unknown.json()["field"]) == (422, "app")


async def test_tokens_are_ciphertext_at_rest_and_never_answered(world: World) -> None:
    await world.sync()
    connection = await world.connect(world.alice(), "github")
    async with world.kernel.store.sessionmaker() as session:
        raw = (await session.execute(text("SELECT tokens FROM entity_connections"))).scalars().all()
    assert len(raw) == 1 and raw[0]
    assert "gho_plaintext" not in raw[0] and "ghr_plaintext" not in raw[0]
    opened = json.loads(world.kernel.secret_box.decrypt(raw[0]))
    assert opened["access_token"] == "gho_plaintext_access_token"
    got = await world.client.get(f"/api/tools/connections/{connection['id']}", headers=world.alice())
    assert got.json()["has_tokens"] is True and "plaintext" not in got.text
    assert got.json()["expires_at"] is not None
    listed = await world.client.get("/api/tools/connections", headers=world.alice())
    assert "plaintext" not in listed.text


async def test_refresh_reads_composio_and_revoke_removes_the_tools(world: World) -> None:
    await world.sync()
    made = await world.client.post("/api/tools/connections", json={"app": "gmail"}, headers=world.alice())
    connection = made.json()["connection"]
    world.fake.complete(connection["account_id"])
    refreshed = await world.client.post(f"/api/tools/connections/{connection['id']}/refresh", headers=world.alice())
    assert refreshed.json()["status"] == "active", refreshed.text
    assert len(await world.composio_tools(world.alice())) == 3
    # bob cannot revoke alpha's connection
    assert (
        await world.client.delete(f"/api/tools/connections/{connection['id']}", headers=world.bob())
    ).status_code == 404
    revoked = await world.client.delete(f"/api/tools/connections/{connection['id']}", headers=world.alice())
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["has_tokens"]) == ("revoked", False)
    assert connection["account_id"] not in world.fake.accounts  # deleted at Composio
    assert await world.composio_tools(world.alice()) == []
    assert (await world.invoke(world.alice(), "gmail__ACTION_0000", title="x")).status_code == 404
    audit = await world.client.get(
        f"/api/workspaces/{world.ids['alpha']}/audit",
        params={"action": "composio.connection.revoked"},
        headers=world.alice(),
    )
    assert audit.json()["total"] == 1


async def test_composio_errors_are_tool_errors_never_500(world: World) -> None:
    await world.sync()
    await world.connect(world.alice(), "github")
    world.fake.fail["/api/v3.1/tools"] = 500  # the tool's schema and its execution alike
    failed = await world.invoke(world.alice(), "github__ACTION_0003", title="x")
    assert failed.status_code == 200, failed.text
    assert failed.json()["ok"] is False
    assert failed.json()["error"]["kind"] == "provider" and "500" in failed.json()["error"]["message"]
    world.fake.fail.clear()
    world.fake.fail["/api/v3.1/connected_accounts/link"] = 400
    refused = await world.client.post("/api/tools/connections", json={"app": "slack"}, headers=world.alice())
    assert refused.status_code == 502 and refused.json()["field"] == "app", refused.text
    world.fake.stop()  # Composio unreachable: the tools API's "source cannot run it now" (503, not a 500)
    gone = await world.invoke(world.alice(), "github__ACTION_0004", title="x")
    assert gone.status_code == 503, gone.text
    assert gone.json()["detail"] == "tool github__ACTION_0004: Composio could not be reached"
    direct = await world.container.tool_registry().execute(
        await world.kernel.directory.workspace(world.ids["alpha"]),  # type: ignore[arg-type]
        "github__ACTION_0004",
        {"title": "x"},
    )
    assert (direct.ok, direct.error) == (False, {"kind": "unavailable", "message": "Composio could not be reached"})


def test_names_and_intents() -> None:
    assert tool_name("github", "GITHUB_CREATE_ISSUE") == "github__CREATE_ISSUE"
    assert tool_name("google-drive", "OTHER.SLUG with space") == "google-drive__OTHER_SLUG_with_space"
    long = tool_name("github", "GITHUB_" + "X" * 80)
    assert len(long) == 64 and long != tool_name("github", "GITHUB_" + "X" * 81)
    assert tool_intent("github", "GITHUB_LIST_REPOS", []) == "read"
    assert tool_intent("github", "GITHUB_DELETE_REPO", []) == "destructive"
    assert tool_intent("github", "GITHUB_CREATE_ISSUE", []) == "write"
    assert tool_intent("github", "GITHUB_CREATE_ISSUE", ["readOnlyHint"]) == "read"
    assert trigger_source("github", "GITHUB_COMMIT_EVENT") == "trigger:github/commit_event"


# --- triggers -------------------------------------------------------------------------------------------


def _event(trigger_id: str, *, user_id: str) -> str:
    return json.dumps(
        {
            "id": "msg_1",
            "timestamp": "2026-12-06T10:00:00Z",
            "type": "composio.trigger.message",
            "metadata": {
                "log_id": "log_1",
                "trigger_slug": "GITHUB_EVENT_0",
                "trigger_id": trigger_id,
                "connected_account_id": "ca_forged",
                "auth_config_id": "ac_1",
                "user_id": user_id,
            },
            "data": {"commit": "abc123", "message": "fix the build"},
        }
    )


async def test_trigger_events_are_routed_to_the_mapped_agent(world: World) -> None:
    await world.sync()
    connection = await world.connect(world.alice(), "github")
    agent = await world.client.post(
        "/api/agents",
        json={"name": "Triage", "slug": "triage", "instructions": "Triage events."},
        headers=world.alice(),
    )
    assert agent.status_code == 201, agent.text
    routes = {"github/event_0": "triage"}
    config = {"tiers": {**QUIET, "triggers": {"enabled": True, "routes": routes}}}
    assert (await world.client.put("/api/routing/config", json=config, headers=world.alice())).status_code == 200

    subscribed = await world.client.post(
        "/api/tools/triggers",
        json={"connection_id": connection["id"], "trigger": "GITHUB_EVENT_0", "config": {"repo": "a/b"}},
        headers=world.alice(),
    )
    assert subscribed.status_code == 201, subscribed.text
    trigger_id = subscribed.json()["trigger_id"]
    assert world.fake.trigger_instances[trigger_id]["account"] == connection["account_id"]
    wrong_app = await world.client.post(
        "/api/tools/triggers",
        json={"connection_id": connection["id"], "trigger": "SLACK_EVENT_0"},
        headers=world.alice(),
    )
    assert (wrong_app.status_code, wrong_app.json()["field"]) == (422, "trigger")
    assert (await world.client.get("/api/tools/triggers", headers=world.bob())).json()["total"] == 0

    body = _event(trigger_id, user_id=world.ids["bravo"])  # the payload's user is never believed
    routed = await world.client.post("/api/composio/webhook", content=body, headers=sign_webhook(SECRET, body))
    assert routed.status_code == 200, routed.text
    outcome = routed.json()
    assert outcome["routed"] is True
    assert (outcome["source"], outcome["agent_slug"], outcome["tier"]) == (
        "trigger:github/event_0",
        "triage",
        "triggers",
    )
    assert outcome["runs"] == []  # no recipe lists the event yet
    await world.container.router().recorder.flush()
    async with world.kernel.store.sessionmaker() as session:
        decisions = (
            await session.scalars(
                select(RoutingDecisionRow).where(RoutingDecisionRow.source == "trigger:github/event_0")
            )
        ).all()
    assert [(d.workspace_id, d.agent_id, d.tier) for d in decisions] == [
        (world.ids["alpha"], agent.json()["id"], "triggers")
    ]

    forged = await world.client.post(
        "/api/composio/webhook", content=body, headers=sign_webhook("not-the-secret", body)
    )
    assert forged.status_code == 401, forged.text
    tampered = body.replace("fix the build", "rm -rf")
    again = await world.client.post("/api/composio/webhook", content=tampered, headers=sign_webhook(SECRET, body))
    assert again.status_code == 401
    stale = await world.client.post(
        "/api/composio/webhook", content=body, headers=sign_webhook(SECRET, body, timestamp=int(time.time()) - 3600)
    )
    assert stale.status_code == 401
    unknown = _event("ti_unknown", user_id=world.ids["alpha"])
    ignored = await world.client.post("/api/composio/webhook", content=unknown, headers=sign_webhook(SECRET, unknown))
    assert ignored.json()["routed"] is False

    removed = await world.client.delete(f"/api/tools/triggers/{subscribed.json()['id']}", headers=world.alice())
    assert removed.status_code == 204
    assert trigger_id not in world.fake.trigger_instances
    after = await world.client.post("/api/composio/webhook", content=body, headers=sign_webhook(SECRET, body))
    assert after.json()["routed"] is False


async def test_sync_connect_and_revoke_on_each_database(any_db: World) -> None:
    """The upserts, searches, token column and view bumps on SQLite and PostgreSQL alike."""
    world = any_db
    assert (await world.sync())["status"] == "succeeded"
    assert (await world.sync())["status"] == "succeeded"  # the second run updates every row in place
    found = await world.client.get("/api/composio/apps/github/actions?q=ACTION_01_%", headers=world.alice())
    assert found.json()["total"] == 0  # % and _ are literal in q
    found = await world.client.get("/api/composio/apps/github/actions?q=action_012", headers=world.alice())
    assert found.json()["total"] == 10
    connection = await world.connect(world.alice(), "gmail")
    async with world.kernel.store.sessionmaker() as session:
        raw = (await session.execute(text("SELECT tokens FROM entity_connections"))).scalar_one()
    assert "plaintext" not in raw
    assert [t["name"] for t in await world.composio_tools(world.alice())] == [f"gmail__ACTION_000{n}" for n in range(3)]
    assert await world.composio_tools(world.bob()) == []
    revoked = await world.client.delete(f"/api/tools/connections/{connection['id']}", headers=world.alice())
    assert revoked.json()["status"] == "revoked"
    assert await world.composio_tools(world.alice()) == []


async def test_a_trigger_event_starts_the_recipes_that_list_it(world: World) -> None:
    await world.sync()
    connection = await world.connect(world.alice(), "github")
    subscribed = await world.client.post(
        "/api/tools/triggers",
        json={"connection_id": connection["id"], "trigger": "GITHUB_EVENT_0", "config": {"repo": "a/b"}},
        headers=world.alice(),
    )
    trigger_id = subscribed.json()["trigger_id"]
    for slug, triggers in (("on-event", ["github/event_0"]), ("on-any", ["github/*"]), ("other", ["slack/*"])):
        definition = {"triggers": triggers, "steps": [{"id": "look", "approval": "Look at {{ inputs.trigger }}?"}]}
        made = await world.client.post(
            "/api/recipes", json={"slug": slug, "name": slug, "definition": definition}, headers=world.alice()
        )
        assert made.status_code == 201, made.text
    bad = await world.client.post(
        "/api/recipes",
        json={
            "slug": "bad",
            "name": "b",
            "definition": {"triggers": ["no slash"], "steps": [{"id": "a", "approval": "?"}]},
        },
        headers=world.alice(),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "definition.triggers[0]", bad.text
    body = _event(trigger_id, user_id=world.ids["alpha"])
    routed = await world.client.post("/api/composio/webhook", content=body, headers=sign_webhook(SECRET, body))
    runs = routed.json()["runs"]
    assert len(runs) == 2, routed.text
    for run_id in runs:
        run = (await world.client.get(f"/api/recipes/runs/{run_id}", headers=world.alice())).json()
        assert run["origin"] == "trigger" and run["inputs"]["trigger"] == "github/event_0", run
        assert isinstance(run["inputs"]["payload"], dict)
    assert (await world.client.get("/api/recipes/runs", headers=world.bob())).json()["total"] == 0
