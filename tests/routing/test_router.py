"""The cascade through ``POST /api/route``: order, first decision wins, shortlists, a tier that raises,
the cache (hit, miss, source, TTL by the injected clock, KV down), override, unrouted with and
without the default agent, the decision recorded, bad input, tenancy."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from automatos.kernel.backends import KVBackend
from automatos.kernel.types import RouteDecision, RouteShortlist, RoutingContext, RoutingRequest
from automatos.routing.context import GuardedKV
from automatos.routing.models import RoutingDecisionRow
from automatos.routing.normalize import normalize, text_digest
from tests.routing import tiers
from tests.routing.conftest import QUIET, World, as_user, problem


def decide(agent_id: str | None, confidence: float = 0.8, route_type: str = "agent") -> RouteDecision:
    return RouteDecision(agent_id=agent_id, confidence=confidence, tier="x", reason="scripted", route_type=route_type)


def outcomes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["tier"], e["outcome"]) for e in body["explanation"]]


async def test_first_decision_wins_a_raising_tier_is_recorded_and_a_shortlist_narrows(world: World) -> None:
    ids = world.ids
    seen: list[tuple[str, ...]] = []

    async def boom(request: RoutingRequest, context: RoutingContext) -> None:
        raise RuntimeError("tier bug")

    async def chooser(request: RoutingRequest, context: RoutingContext) -> RouteDecision:
        seen.append(request.shortlist)
        return decide(request.shortlist[-1], 0.7)

    world.script(
        "alpha",
        t_raise=boom,
        t_short=RouteShortlist(agent_ids=(ids["writer"], "coder", ids["b-agent"]), scores=(0.4, 0.3, 0.9)),
        t_decide=chooser,
        t_after=decide(ids["helper"]),
    )
    before = tiers.CALLS[ids["alpha"], "t-after"]
    response = await world.route("alpha", {"message": "Please draft the quarterly letter"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent_id"], body["agent_slug"], body["route_type"], body["tier"]) == (
        ids["coder"],
        "coder",
        "agent",
        "t-decide",
    )
    assert body["confidence"] == 0.7 and body["cache_hit"] is False
    # another workspace's agent never enters the shortlist; slugs become ids
    assert seen == [(ids["writer"], ids["coder"])]
    assert outcomes(body) == [
        ("override", "pass"),
        ("test-keyword", "pass"),
        ("cache", "pass"),
        ("t-raise", "error"),
        ("t-short", "shortlist"),
        ("t-decide", "decided"),
    ]
    assert body["explanation"][4]["score"] == 0.9 and all(e["ms"] >= 0 for e in body["explanation"])
    assert tiers.CALLS[ids["alpha"], "t-after"] == before  # never asked: the first decision won


async def test_the_configuration_reorders_and_switches_tiers_off(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["writer"]), t_after=decide(ids["helper"], 0.6))
    put = await world.client.put(
        "/api/routing/config",
        json={"tiers": {**QUIET, "t-after": {"order": 1}, "t-decide": {"enabled": False}}},
        headers=as_user("alice", ids["alpha"]),
    )
    assert put.status_code == 200, put.text
    assert [t["name"] for t in put.json()["registered"]][:3] == ["override", "t-after", "test-keyword"]
    try:
        body = (await world.route("alpha", {"message": "reordered tiers here"})).json()
        assert body["tier"] == "t-after" and body["agent_id"] == ids["helper"]
        assert outcomes(body) == [("override", "pass"), ("t-after", "decided")]
    finally:
        put = await world.client.put(
            "/api/routing/config", json={"tiers": QUIET}, headers=as_user("alice", ids["alpha"])
        )
        assert put.status_code == 200


async def test_a_decision_for_an_agent_that_is_not_active_here_is_no_decision(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["b-agent"], 0.99), t_after=decide("no-such-agent"))
    body = (await world.route("alpha", {"message": "send it to bravo's agent"})).json()
    assert body["route_type"] == "unrouted" and body["agent_id"] is None and body["tier"] is None
    assert ("t-decide", "error") in outcomes(body) and ("t-after", "error") in outcomes(body)
    assert ids["b-agent"] not in str(body)


async def test_the_cache_answers_the_same_normalised_message_from_the_same_source(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["writer"], 0.83))
    first = (await world.route("alpha", {"message": "Turn on dark mode", "source": "slack"})).json()
    assert first["tier"] == "t-decide" and first["cache_hit"] is False
    calls = tiers.CALLS[ids["alpha"], "t-decide"]
    again = (await world.route("alpha", {"message": "  turn ON dark-mode!!", "source": "slack"})).json()
    assert (again["tier"], again["agent_id"], again["confidence"], again["cache_hit"]) == (
        "cache",
        ids["writer"],
        0.83,
        True,
    )
    assert outcomes(again) == [("override", "pass"), ("test-keyword", "pass"), ("cache", "decided")]
    assert tiers.CALLS[ids["alpha"], "t-decide"] == calls  # not asked again
    # not a similarity cache; another source is another key; another workspace never shares it
    world.script("alpha", t_decide=decide(ids["coder"], 0.5))
    off = (await world.route("alpha", {"message": "Turn off dark mode", "source": "slack"})).json()
    assert off["tier"] == "t-decide" and off["agent_id"] == ids["coder"]
    elsewhere = (await world.route("alpha", {"message": "Turn on dark mode", "source": "email"})).json()
    assert elsewhere["tier"] == "t-decide"
    bravo = (await world.route("bravo", {"message": "Turn on dark mode", "source": "slack"})).json()
    assert bravo["route_type"] == "unrouted" and bravo["agent_id"] is None


async def test_a_cached_decision_expires_after_the_ttl_by_the_routers_clock(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["helper"], 0.9))
    assert (await world.route("alpha", {"message": "ttl check message"})).json()["tier"] == "t-decide"
    world.clock.advance(23 * 3600)
    assert (await world.route("alpha", {"message": "ttl check message"})).json()["tier"] == "cache"
    world.clock.advance(2 * 3600)  # 25 h: ROUTING_CACHE_TTL_HOURS is 24
    assert (await world.route("alpha", {"message": "ttl check message"})).json()["tier"] == "t-decide"


class BrokenKV(KVBackend):
    async def get(self, key: str) -> bytes | None:
        raise ConnectionError("redis is down")

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        raise ConnectionError("redis is down")

    async def delete(self, key: str) -> bool:
        raise ConnectionError("redis is down")

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        raise ConnectionError("redis is down")

    async def ttl(self, key: str) -> float | None:
        raise ConnectionError("redis is down")

    def with_namespace(self, namespace: str) -> KVBackend:
        return self


async def test_the_cache_is_skipped_not_failed_when_the_kv_backend_is_down(world: World) -> None:
    ids = world.ids
    router = world.router
    world.script("alpha", t_decide=decide(ids["writer"], 0.8))
    router._kv = (world.kernel.backends.kv, GuardedKV(BrokenKV(), router.kv_guard))
    body = (await world.route("alpha", {"message": "cache down right now"})).json()
    assert body["tier"] == "t-decide" and ("cache", "skipped") in outcomes(body)
    assert router.kv_guard.down
    # while it is down the tier is not even asked: skipped at once, the route still decided
    body = (await world.route("alpha", {"message": "cache down right now"})).json()
    assert body["tier"] == "t-decide" and ("cache", "skipped") in outcomes(body)


async def test_override_names_an_active_agent_and_unknown_ones_are_422(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["writer"]))
    body = (await world.route("alpha", {"message": "anything at all", "agent": "coder"})).json()
    decided = (body["agent_id"], body["confidence"], body["tier"], body["route_type"])
    assert decided == (ids["coder"], 1.0, "override", "agent")
    assert outcomes(body) == [("override", "decided")]
    by_id = (await world.route("alpha", {"message": "anything at all", "agent": ids["helper"]})).json()
    assert by_id["agent_id"] == ids["helper"]
    problem(await world.route("alpha", {"message": "hi there", "agent": "nobody"}), 422, "agent")
    body422 = problem(await world.route("alpha", {"message": "hi there", "agent": "b-agent"}), 422, "agent")
    assert ids["b-agent"] not in body422["detail"]
    problem(await world.route("alpha", {"message": "hi there", "agent": ids["b-agent"]}), 422, "agent")


async def test_unrouted_is_recorded_and_the_default_agent_answers_when_set(world: World) -> None:
    ids = world.ids
    text = "Something nobody covers, with a secret-ish bit 1234"
    body = (await world.route("alpha", {"message": text, "channel": "general"})).json()
    assert (body["route_type"], body["agent_id"], body["tier"], body["confidence"]) == ("unrouted", None, None, 0.0)
    put = await world.client.put(
        "/api/routing/config",
        json={"tiers": QUIET, "default_agent": "helper"},
        headers=as_user("alice", ids["alpha"]),
    )
    assert put.status_code == 200 and put.json()["default_agent"] == ids["helper"], put.text
    try:
        body = (await world.route("alpha", {"message": text})).json()
        assert (body["route_type"], body["agent_id"], body["agent_slug"]) == ("unrouted", ids["helper"], "helper")
    finally:
        await world.client.put("/api/routing/config", json={"tiers": QUIET}, headers=as_user("alice", ids["alpha"]))
    listed = await world.client.get("/api/routing/unrouted", headers=as_user("alice", ids["alpha"]))
    assert listed.status_code == 200, listed.text
    items = [e for e in listed.json()["items"] if e["text_sha256"] == text_digest(normalize(text))]
    assert len(items) == 2 and items[0]["excerpt"] == text
    assert {e["agent_id"] for e in items} == {ids["helper"], None}
    assert items[1]["channel"] == "general" or items[0]["channel"] == "general"
    # a member may route but not read what others sent; bravo sees none of alpha's events
    problem(await world.client.get("/api/routing/unrouted", headers=as_user("mia", ids["alpha"])), 403)
    theirs = (await world.client.get("/api/routing/unrouted", headers=as_user("bob", ids["bravo"]))).json()
    assert all(e["text_sha256"] != text_digest(normalize(text)) for e in theirs["items"])


async def test_every_decision_is_recorded_with_its_explanation_and_never_the_text(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["coder"], 0.66))
    text = "Record me: my password is hunter2"
    await world.route("alpha", {"message": text, "source": "email", "channel": "inbox"})
    await world.router.recorder.flush()
    async with world.kernel.store.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(RoutingDecisionRow).where(
                    RoutingDecisionRow.workspace_id == ids["alpha"],
                    RoutingDecisionRow.text_sha256 == text_digest(normalize(text)),
                )
            )
        )
    assert len(rows) == 1
    row = rows[0]
    assert (row.tier, row.agent_id, row.confidence, row.route_type, row.source, row.channel) == (
        "t-decide",
        ids["coder"],
        0.66,
        "agent",
        "email",
        "inbox",
    )
    assert row.excerpt is None and row.cache_hit is False and row.total_ms >= 0
    assert str(uuid.UUID(row.id)) == row.id  # drawn when the batch is written, not per request
    assert [e["tier"] for e in row.explanation][-1] == "t-decide" and row.explanation[-1]["outcome"] == "decided"
    assert "hunter2" not in str(row.explanation) + row.reason


async def test_bad_input_is_422_naming_the_field(world: World) -> None:
    for body, field in (
        ({"message": ""}, "message"),
        ({"message": "   \n\t "}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"message": "ok", "source": ""}, None),
        ({"message": "ok", "unknown": 1}, None),
        ({}, None),
    ):
        problem(await world.route("alpha", body), 422, field)
    assert (await world.route("alpha", {"message": "x" * 4000})).status_code == 200
    headers = as_user("alice", world.ids["alpha"])
    for config, field in (
        ({"tiers": {"semantic": {"threshold": 2}}}, "tiers.semantic.threshold"),
        ({"tiers": {"semantic": {"enabled": "yes"}}}, "tiers.semantic.enabled"),
        ({"tiers": {"cache": {"order": 10**6}}}, "tiers.cache.order"),
        ({"tiers": {"Bad Name!": {}}}, None),
        ({"tiers": {"default_agent": {}}}, "tiers.default_agent"),
        ({"default_agent": "nobody"}, "default_agent"),
        ({"default_agent": "b-agent"}, "default_agent"),
        ({"tiers": []}, None),
    ):
        problem(await world.client.put("/api/routing/config", json=config, headers=headers), 422, field)
    # only workspace admins configure; viewers read
    problem(await world.client.put("/api/routing/config", json={}, headers=as_user("mia", world.ids["alpha"])), 403)
    got = await world.client.get("/api/routing/config", headers=as_user("vera", world.ids["alpha"]))
    assert got.status_code == 200 and got.json()["tiers"]["cache"]["order"] == 10
    problem(await world.route("alpha", {"message": "hello"}, user="vera"), 403)
