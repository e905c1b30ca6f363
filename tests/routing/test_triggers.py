"""The triggers tier (``source`` = ``trigger:<provider>/<trigger>`` → the workspace's trigger routes,
0.95), the configuration's checks of the routes, and an agent write dropping the router's copy of
the agents at once (a paused agent is never chosen right after the pause)."""

from __future__ import annotations

from typing import Any

from tests.routing.conftest import QUIET, World, as_user, problem

ROUTES_OFF = {**QUIET, "triggers": {"enabled": True}}


async def put_config(world: World, tiers: dict[str, Any], user: str = "alice", workspace: str = "alpha") -> Any:
    return await world.client.put(
        "/api/routing/config", json={"tiers": tiers}, headers=as_user(user, world.ids[workspace])
    )


async def test_trigger_events_route_to_the_mapped_agent(world: World) -> None:
    ids = world.ids
    routes = {"github/issue_opened": "writer", "github/*": ids["coder"]}
    put = await put_config(world, {**ROUTES_OFF, "triggers": {"enabled": True, "routes": routes}})
    try:
        assert put.status_code == 200, put.text
        # stored by id
        assert put.json()["tiers"]["triggers"]["routes"] == {
            "github/issue_opened": ids["writer"],
            "github/*": ids["coder"],
        }
        body = (
            await world.route("alpha", {"message": "Issue #12 opened", "source": "trigger:github/issue_opened"})
        ).json()
        assert (body["agent_id"], body["confidence"], body["tier"]) == (ids["writer"], 0.95, "triggers")
        assert "github/issue_opened" in body["reason"]
        body = (await world.route("alpha", {"message": "pushed to main", "source": "trigger:github/push"})).json()
        assert (body["agent_slug"], body["tier"]) == ("coder", "triggers")
        for source in ("trigger:jira/issue_created", "github/issue_opened", "trigger:github", "trigger:/x"):
            body = (await world.route("alpha", {"message": f"event from {source}", "source": source})).json()
            assert body["route_type"] == "unrouted", (source, body)
            assert ("triggers", "pass") in [(e["tier"], e["outcome"]) for e in body["explanation"]]
        # another workspace's routes are its own
        body = (
            await world.route("bravo", {"message": "Issue #12 opened", "source": "trigger:github/issue_opened"})
        ).json()
        assert body["route_type"] == "unrouted"
    finally:
        assert (await put_config(world, QUIET)).status_code == 200


async def test_trigger_routes_are_checked(world: World) -> None:
    ids = world.ids
    cases = [
        ({"github/issue_opened": "nobody"}, "tiers.triggers.routes.github/issue_opened"),
        ({"github/issue_opened": ids["b-agent"]}, "tiers.triggers.routes.github/issue_opened"),
        ({"no-slash": "writer"}, "tiers.triggers.routes.no-slash"),
        ({"/x": "writer"}, "tiers.triggers.routes./x"),
        ({"git hub/x": "writer"}, "tiers.triggers.routes.git hub/x"),
        ({"github/x": 3}, "tiers.triggers.routes.github/x"),
        ({"github/x": ""}, "tiers.triggers.routes.github/x"),
    ]
    for routes, field in cases:
        response = await put_config(world, {**QUIET, "triggers": {"routes": routes}})
        problem(response, 422, field)
    problem(await put_config(world, {**QUIET, "triggers": {"routes": ["github/x"]}}), 422, "tiers.triggers.routes")


async def test_a_paused_agent_is_never_chosen_right_after_the_pause(world: World) -> None:
    ids = world.ids
    alice = as_user("alice", ids["alpha"])
    put = await put_config(world, {**ROUTES_OFF, "triggers": {"enabled": True, "routes": {"ci/failed": "coder"}}})
    assert put.status_code == 200, put.text
    event = {"message": "build 42 failed", "source": "trigger:ci/failed"}
    try:
        body = (await world.route("alpha", event)).json()
        assert body["agent_slug"] == "coder"  # the router now holds the workspace's agents (its clock stands still)
        paused = await world.client.patch(f"/api/agents/{ids['coder']}", json={"status": "paused"}, headers=alice)
        assert paused.status_code == 200, paused.text
        body = (await world.route("alpha", event)).json()
        assert body["agent_id"] is None and body["route_type"] == "unrouted", body
        assert ("triggers", "error") in [(e["tier"], e["outcome"]) for e in body["explanation"]]
        resumed = await world.client.patch(f"/api/agents/{ids['coder']}", json={"status": "active"}, headers=alice)
        assert resumed.status_code == 200, resumed.text
        body = (await world.route("alpha", event)).json()
        assert body["agent_slug"] == "coder"
    finally:
        await world.client.patch(f"/api/agents/{ids['coder']}", json={"status": "active"}, headers=alice)
        assert (await put_config(world, QUIET)).status_code == 200
