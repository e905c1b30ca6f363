"""``GET /api/routing/stats``: counts by route type and tier, cache hit rate, latencies from the
explanations, the window (default the last 24 h by the router's clock), its checks, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from automatos.kernel.types import RouteDecision, RoutingContext, RoutingRequest
from tests.routing.conftest import World, as_user, problem


async def stats(world: World, workspace: str = "alpha", user: str = "alice", **params: str) -> Any:
    return await world.client.get("/api/routing/stats", params=params, headers=as_user(user, world.ids[workspace]))


async def test_stats_count_the_windows_decisions_per_tier(world: World) -> None:
    ids = world.ids
    world.clock.advance(40 * 86400)  # a window of its own: earlier tests' decisions are 40 days old

    async def decide(request: RoutingRequest, context: RoutingContext) -> RouteDecision | None:
        if "nothing" in request.text:
            return None
        if "orchestrate" in request.text:
            return RouteDecision(agent_id=None, confidence=0.4, tier="x", route_type="orchestrate")
        return RouteDecision(agent_id=ids["writer"], confidence=0.8, tier="x")

    world.script("alpha", t_decide=decide)
    for message in ("stats one", "stats one", "stats orchestrate", "stats nothing"):
        assert (await world.route("alpha", {"message": message})).status_code == 200
    response = await stats(world)  # pending decisions are flushed first
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["agent"], body["orchestrate"], body["unrouted"]) == (4, 2, 1, 1)
    assert (body["cache_hits"], body["cache_hit_rate"]) == (1, 0.25)
    tiers = {t["tier"]: t for t in body["tiers"]}
    assert (tiers["t-decide"]["decided"], tiers["t-decide"]["share"]) == (2, 0.5)
    assert (tiers["cache"]["decided"], tiers["cache"]["share"]) == (1, 0.25)
    assert tiers["override"]["decided"] == 0 and tiers["override"]["runs"] == 4
    assert tiers["t-decide"]["runs"] == 3 and tiers["t-decide"]["median_ms"] >= 0
    assert body["sample"] == 4 and body["median_ms"] >= 0 and body["p95_ms"] >= body["median_ms"]
    now = datetime.fromtimestamp(world.clock(), UTC)
    assert datetime.fromisoformat(body["until"]) == now
    assert datetime.fromisoformat(body["since"]) == now - timedelta(hours=24)
    # an explicit window, naive = UTC
    later = await stats(
        world,
        since=(now + timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
        until=(now + timedelta(minutes=2)).isoformat(),
    )
    assert later.status_code == 200, later.text
    assert later.json()["total"] == 0
    earlier = await stats(
        world, since=(now - timedelta(hours=1)).isoformat(), until=(now + timedelta(seconds=1)).isoformat()
    )
    assert earlier.json()["total"] == 4
    # bravo sees only its own
    bravo = (await stats(world, "bravo", "bob")).json()
    assert bravo["total"] == 0 and bravo["tiers"] == []
    assert (await world.route("bravo", {"message": "stats bravo"})).status_code == 200
    assert (await stats(world, "bravo", "bob")).json()["total"] == 1
    assert (await stats(world)).json()["total"] == 4


async def test_a_bad_or_too_long_window_is_a_422_naming_the_field(world: World) -> None:
    now = datetime.fromtimestamp(world.clock(), UTC)
    problem(await stats(world, since="yesterday"), 422, "since")
    problem(await stats(world, until="2027-13-45"), 422, "until")
    problem(await stats(world, since=now.isoformat(), until=(now - timedelta(hours=1)).isoformat()), 422, "since")
    problem(await stats(world, since=(now - timedelta(days=100)).isoformat()), 422, "since")
    too_long = await stats(world, since="x" * 65)
    assert too_long.status_code in (400, 422) and too_long.headers["content-type"].startswith(
        "application/problem+json"
    )
    response = await stats(world, user="vera")  # viewers read stats
    assert response.status_code == 200, response.text
