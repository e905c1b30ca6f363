"""``POST /api/routing/calibration``: 422s naming the field, roles, tenancy, and a fit that is stored
(``GET /api/routing/config``), shown per tier in a route's explanation and used by the next route.

A workspace of its own (``calib``, Alice's; Mia a member) with two agents whose profiles are far
apart — ``billing`` (invoices, payments, refunds) and ``coder`` (code, bugs, Python) — so the fit has
something to separate; the routing embedder is the one the app has (``local-e5`` when installed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from automatos.routing.calibration import Fit, choose
from tests.routing.conftest import World, as_user, problem

CALIBRATE = "/api/routing/calibration"

EXAMPLES = [
    {"text": "I was charged twice on my last invoice", "expected": "billing"},
    {"text": "how do I get a refund for my subscription payment", "expected": "billing"},
    {"text": "the invoice amount is wrong, please fix the billing", "expected": "billing"},
    {"text": "update the credit card used for payments", "expected": "billing"},
    {"text": "my python script crashes with a KeyError", "expected": "coder"},
    {"text": "refactor this function, the code is a mess", "expected": "coder"},
    {"text": "fix the bug in the sorting code of our app", "expected": "coder"},
    {"text": "write a unit test for this python class", "expected": "coder"},
    {"text": "what's the weather like in Lisbon?", "expected": "none"},
    {"text": "hello there, how are you today", "expected": "none"},
    {"text": "recommend a good movie for tonight", "expected": "none"},
    {"text": "lol ok thanks", "expected": "none"},
]


@pytest.fixture(scope="module")
async def calib(world: World) -> dict[str, str]:
    client = world.client
    made = await client.post("/api/workspaces", json={"slug": "calib", "name": "calib"}, headers=as_user("alice"))
    assert made.status_code == 201, made.text
    ids = {"calib": made.json()["id"]}
    added = await client.post(
        f"/api/workspaces/{ids['calib']}/members",
        json={"email": "mia@example.test", "role": "member"},
        headers=as_user("alice"),
    )
    assert added.status_code in (200, 201), added.text
    agents = {
        "billing": "Billing: invoices, payments, refunds, charges and subscriptions",
        "coder": "Coder: writes and debugs Python code, fixes bugs, refactors, writes unit tests",
    }
    for slug, description in agents.items():
        agent = await client.post(
            "/api/agents",
            json={"name": slug.title(), "slug": slug, "description": description},
            headers=as_user("alice", ids["calib"]),
        )
        assert agent.status_code == 201, agent.text
        ids[slug] = agent.json()["id"]
    # only the tiers calibration fits (no cache: a route is decided afresh every time)
    quiet = {name: {"enabled": False} for name in ("cache", "rules", "triggers", "intent", "llm")}
    put = await client.put("/api/routing/config", json={"tiers": quiet}, headers=as_user("alice", ids["calib"]))
    assert put.status_code == 200, put.text
    return ids


async def _post(world: World, ids: dict[str, str], body: Any, user: str = "alice") -> Any:
    return await world.client.post(CALIBRATE, json=body, headers=as_user(user, ids["calib"]))


async def test_bad_bodies_are_422_naming_the_field(world: World, calib: dict[str, str]) -> None:
    problem(await _post(world, calib, []), 422, "examples")
    problem(await _post(world, calib, [{"text": "hi", "expected": 5}]), 422, "examples[0].expected")
    problem(await _post(world, calib, [EXAMPLES[0], {"text": "  ", "expected": "none"}]), 422, "examples[1].text")
    ghost = [EXAMPLES[0], {"text": "hello", "expected": "ghost-agent"}]
    problem(await _post(world, calib, ghost), 422, "examples[1].expected")
    # another workspace's agent is as unknown as a ghost
    problem(await _post(world, calib, [{"text": "hi", "expected": "b-agent"}]), 422, "examples[0].expected")
    problem(await _post(world, calib, {"use_corrections": "yes"}), 422, "use_corrections")
    problem(await _post(world, calib, {}), 422, "examples")
    problem(await _post(world, calib, "just text"), 422, "body")
    problem(await _post(world, calib, {"examples": "x"}), 422, "examples")
    problem(await _post(world, calib, [["text", "expected"]]), 422, "examples[0]")
    problem(await _post(world, calib, {"examples": EXAMPLES, "extra": 1}), 422, "extra")
    problem(await _post(world, calib, [EXAMPLES[0]] * 5001), 422, "examples")
    # no agreed correction yet: nothing to fit on
    problem(await _post(world, calib, {"use_corrections": True}), 422, "examples")


async def test_members_and_other_workspaces_cannot_calibrate(world: World, calib: dict[str, str]) -> None:
    assert (await _post(world, calib, EXAMPLES, user="mia")).status_code == 403
    assert (await _post(world, calib, EXAMPLES, user="bob")).status_code in (403, 404)
    config = await world.client.get("/api/routing/config", headers=as_user("alice", calib["calib"]))
    assert config.json()["calibration"] is None  # nothing was written by the refused calls


async def test_a_fit_is_stored_shown_and_used_by_the_next_route(world: World, calib: dict[str, str]) -> None:
    fitted = await _post(world, calib, EXAMPLES)
    assert fitted.status_code == 200, fitted.text
    record = fitted.json()
    assert record["examples"] == 12 and record["labels"] == {"billing": 4, "coder": 4, "none": 4}
    assert set(record["training"]) == {"accuracy", "none_precision", "none_recall", "agent_precision"}
    values = record["values"]

    config = (await world.client.get("/api/routing/config", headers=as_user("alice", calib["calib"]))).json()
    assert config["calibration"] == record
    tiers = config["tiers"]
    assert tiers["examples"]["threshold"] == values["examples_threshold"]
    assert tiers["examples"]["margin"] == values["examples_margin"]
    assert tiers["semantic"]["threshold"] == values["semantic_threshold"]
    assert tiers["examples"]["model"] == tiers["semantic"]["model"] == record["model"]
    assert tiers["cache"]["enabled"] is False  # the rest of the configuration was kept
    assert "examples" in [t["name"] for t in config["registered"]]

    routed = await world.client.post(
        "/api/route", json={"message": EXAMPLES[4]["text"]}, headers=as_user("alice", calib["calib"])
    )
    assert routed.status_code == 200, routed.text
    body = routed.json()
    rows = {row["tier"]: row for row in body["explanation"]}
    assert rows["examples"]["threshold"] == values["examples_threshold"]
    if "semantic" in rows:
        assert rows["semantic"]["threshold"] == values["semantic_threshold"]
    # the message is one of the examples: a calibrated tier sends it to its label's agent
    assert body["tier"] in ("examples", "semantic") and body["agent_slug"] == "coder", body

    # a PUT replaces the tiers and keeps the record of the last fit
    changed = dict(tiers, examples={"threshold": 0.99})
    put = await world.client.put(
        "/api/routing/config", json={"tiers": changed}, headers=as_user("alice", calib["calib"])
    )
    assert put.status_code == 200, put.text
    after = (await world.client.get("/api/routing/config", headers=as_user("alice", calib["calib"]))).json()
    assert after["calibration"] == record and after["tiers"]["examples"]["threshold"] == 0.99

    # a second fit replaces the first (a new record, the centroids rewritten)
    again = await _post(world, calib, {"examples": EXAMPLES[:8], "use_corrections": False})
    assert again.status_code == 200 and again.json()["labels"] == {"billing": 4, "coder": 4}


def test_the_objective_meets_the_none_floors_when_it_can() -> None:
    """Three labels on a line: a hand-made geometry where the floors are reachable."""
    vectors = [[1, 0.1, 0], [1, -0.1, 0], [0.1, 1, 0], [-0.1, 1, 0], [0, 0.1, 1], [0, -0.1, 1]]
    labels = ["a", "a", "b", "b", "none", "none"]
    profiles = [[1, 0, 0], [0, 1, 0]]
    fit = Fit(
        np.array(vectors, dtype=float),
        labels,
        np.array(profiles, dtype=float),
        ["a", "b"],
    )
    values, figures = choose(fit)
    assert figures == {"accuracy": 1.0, "none_precision": 1.0, "none_recall": 1.0, "agent_precision": 1.0}
    assert set(values) == {"examples_threshold", "examples_margin", "semantic_threshold", "semantic_margin"}
