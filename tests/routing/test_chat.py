"""Chat without an agent goes through the router: ``/api/chat`` with no ``agent`` and
``/v1/chat/completions`` with ``model: "auto"`` answer with the ``X-Routing-*`` headers; nothing
routed and no default agent is a 422 naming ``agent`` / ``model``."""

from __future__ import annotations

from automatos.kernel.types import RouteDecision
from tests.routing.conftest import QUIET, World, as_user, problem


def decide(agent_id: str, confidence: float = 0.75) -> RouteDecision:
    return RouteDecision(agent_id=agent_id, confidence=confidence, tier="x")


async def test_api_chat_without_an_agent_is_routed_json_and_streamed(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["writer"]))
    headers = as_user("mia", ids["alpha"])
    answer = await world.client.post("/api/chat", json={"content": "write me a poem", "stream": False}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-routing-agent-id"] == ids["writer"]
    assert answer.headers["x-routing-type"] == "agent" and answer.headers["x-routing-tier"] == "t-decide"
    assert float(answer.headers["x-routing-confidence"]) == 0.75
    session = await world.client.get(f"/api/chat/sessions/{answer.json()['session_id']}", headers=headers)
    assert session.json()["agent_id"] == ids["writer"]
    async with world.client.stream(
        "POST", "/api/chat", json={"content": "another poem please"}, headers=headers
    ) as streamed:
        assert streamed.status_code == 201
        assert streamed.headers["x-routing-agent-id"] == ids["writer"]
        text = "".join([chunk async for chunk in streamed.aiter_text()])
    assert f'"agent_id":"{ids["writer"]}"' in text
    # a named agent is not routed: no headers
    named = await world.client.post(
        "/api/chat", json={"agent": "coder", "content": "hi", "stream": False}, headers=headers
    )
    assert named.status_code == 201 and "x-routing-agent-id" not in named.headers


async def test_v1_model_auto_is_routed_json_and_streamed(world: World) -> None:
    ids = world.ids
    world.script("alpha", t_decide=decide(ids["coder"], 0.9))
    headers = as_user("mia", ids["alpha"])
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "fix my failing test"},
        ],
    }
    answer = await world.client.post("/v1/chat/completions", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-routing-agent-id"] == ids["coder"] and answer.headers["x-routing-type"] == "agent"
    assert answer.json()["model"] == "coder" and answer.json()["choices"][0]["message"]["content"]
    async with world.client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}, headers=headers) as s:
        assert s.status_code == 200 and s.headers["x-routing-agent-id"] == ids["coder"]
        text = "".join([chunk async for chunk in s.aiter_text()])
    assert text.rstrip().endswith("data: [DONE]") and '"model":"coder"' in text
    nothing_to_route = {"model": "auto", "messages": [{"role": "system", "content": "only a system prompt"}]}
    problem(await world.client.post("/v1/chat/completions", json=nothing_to_route, headers=headers), 422, "messages")


async def test_nothing_routed_without_a_default_agent_is_422_naming_the_input(world: World) -> None:
    ids = world.ids
    headers = as_user("mia", ids["alpha"])
    body = problem(
        await world.client.post("/api/chat", json={"content": "nobody handles this", "stream": False}, headers=headers),
        422,
        "agent",
    )
    assert "default agent" in body["detail"]
    auto = {"model": "auto", "messages": [{"role": "user", "content": "nobody handles this"}]}
    answer = problem(await world.client.post("/v1/chat/completions", json=auto, headers=headers), 422, "model")
    assert answer["error"]["param"] == "model"
    problem(
        await world.client.post("/api/chat", json={"content": "   ", "stream": False}, headers=headers), 422, "content"
    )
    # with a default agent, the unrouted message is answered by it
    admin = as_user("alice", ids["alpha"])
    put = await world.client.put("/api/routing/config", json={"tiers": QUIET, "default_agent": "helper"}, headers=admin)
    assert put.status_code == 200, put.text
    try:
        answer2 = await world.client.post(
            "/api/chat", json={"content": "nobody handles this", "stream": False}, headers=headers
        )
        assert answer2.status_code == 201, answer2.text
        assert answer2.headers["x-routing-agent-id"] == ids["helper"]
        assert answer2.headers["x-routing-type"] == "unrouted"
    finally:
        await world.client.put("/api/routing/config", json={"tiers": QUIET}, headers=admin)


async def test_another_workspaces_agent_is_never_chosen(world: World) -> None:
    ids = world.ids
    world.script("bravo", t_decide=decide(ids["writer"], 0.99))  # bravo's tier names alpha's agent
    headers = as_user("bob", ids["bravo"])
    body = problem(
        await world.client.post("/api/chat", json={"content": "route me to alpha", "stream": False}, headers=headers),
        422,
        "agent",
    )
    assert ids["writer"] not in str(body)
    routed = (await world.route("bravo", {"message": "route me to alpha"})).json()
    assert routed["agent_id"] is None
    assert ("t-decide", "error") in [(e["tier"], e["outcome"]) for e in routed["explanation"]]
