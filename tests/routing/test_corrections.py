"""``POST /api/routing/corrections``: stored, two that agree rewrite the cached decision (1.0, tier
``correction``) and become labelled examples (``GET /api/routing/examples``,
``CorrectionsService.examples``); bad input, roles, audit, tenancy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from automatos.kernel.db import models as m
from automatos.routing.corrections import RoutingCorrectionRow
from automatos.routing.normalize import normalize
from tests.helpers import container_of
from tests.routing.conftest import World, as_user, problem


async def correct(world: World, body: dict[str, Any], user: str = "alice", workspace: str = "alpha") -> Any:
    return await world.client.post("/api/routing/corrections", json=body, headers=as_user(user, world.ids[workspace]))


async def test_two_agreeing_corrections_rewrite_the_cached_decision_and_make_an_example(world: World) -> None:
    ids = world.ids
    message = "My printer keeps jamming!!"
    first = await correct(world, {"message": message, "agent": "writer"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["agent_id"], body["agent_slug"], body["agreeing"], body["agreed"], body["cache_rewritten"]) == (
        ids["writer"],
        "writer",
        1,
        False,
        False,
    )
    before = (await world.route("alpha", {"message": message})).json()
    assert before["route_type"] == "unrouted"
    # another source, another agent: no agreement with the first
    assert (await correct(world, {"message": message, "agent": "writer", "source": "email"}, "mia")).json()[
        "agreed"
    ] is False
    assert (await correct(world, {"message": message, "agent": "coder"}, "mia")).json()["agreed"] is False
    # the same message (case and punctuation folded) to the same agent, by another member
    second = await correct(world, {"message": "my printer KEEPS jamming", "agent": ids["writer"]}, "mia")
    assert second.status_code == 201, second.text
    assert (second.json()["agreeing"], second.json()["agreed"], second.json()["cache_rewritten"]) == (2, True, True)
    after = (await world.route("alpha", {"message": message})).json()
    assert (after["agent_id"], after["confidence"], after["tier"], after["cache_hit"]) == (
        ids["writer"],
        1.0,
        "cache",
        True,
    )
    assert "correction" in after["reason"]
    # labelled examples: admins read them; the service hands calibration (text, slug) pairs
    examples = await world.client.get("/api/routing/examples", headers=as_user("alice", ids["alpha"]))
    assert examples.status_code == 200, examples.text
    assert {"text": normalize(message), "agent": "writer", "source": None, "corrections": 2} in examples.json()
    service = container_of(world.client).routing_corrections()
    assert (normalize(message), "writer") in await service.examples(ids["alpha"])
    assert all(slug != "coder" or text != normalize(message) for text, slug in await service.examples(ids["alpha"]))
    problem(await world.client.get("/api/routing/examples", headers=as_user("mia", ids["alpha"])), 403)
    # audited, without the text
    async with world.kernel.store.sessionmaker() as session:
        audits = list(
            await session.scalars(
                select(m.AuditLogEntry).where(
                    m.AuditLogEntry.workspace_id == ids["alpha"], m.AuditLogEntry.action == "routing.correction.created"
                )
            )
        )
    assert any(a.data.get("agreed") is True for a in audits)
    assert all("printer" not in str(a.data) for a in audits)


async def test_the_same_member_twice_agrees_too_and_a_decision_id_must_match(world: World) -> None:
    ids = world.ids
    routed = (await world.route("alpha", {"message": "reset my password please", "source": "slack"})).json()
    await world.router.recorder.flush()
    async with world.kernel.store.sessionmaker() as session:
        from automatos.routing.models import RoutingDecisionRow

        decision_id = await session.scalar(
            select(RoutingDecisionRow.id)
            .where(RoutingDecisionRow.workspace_id == ids["alpha"], RoutingDecisionRow.source == "slack")
            .order_by(RoutingDecisionRow.created_at.desc())
        )
    assert routed["route_type"] == "unrouted" and decision_id
    body = {"message": "Reset my password, please", "agent": "helper", "source": "slack", "decision_id": decision_id}
    assert (await correct(world, body)).json()["agreeing"] == 1
    assert (await correct(world, body)).json()["agreed"] is True
    problem(await correct(world, {**body, "message": "something else"}), 422, "decision_id")
    problem(await correct(world, {**body, "decision_id": "00000000-0000-0000-0000-000000000000"}), 422, "decision_id")
    # another workspace's decision is not one of this workspace's
    problem(await correct(world, {**body, "agent": "b-agent"}, "bob", "bravo"), 422, "decision_id")


async def test_bad_input_and_roles(world: World) -> None:
    ids = world.ids
    problem(await correct(world, {"message": "hello", "agent": "nobody"}), 422, "agent")
    problem(await correct(world, {"message": "hello", "agent": ids["b-agent"]}), 422, "agent")
    problem(await correct(world, {"message": "   ", "agent": "writer"}), 422, "message")
    problem(await correct(world, {"message": "?!", "agent": "writer"}), 422, "message")
    problem(await correct(world, {"message": "x" * 4001, "agent": "writer"}), 422, "message")
    assert (await correct(world, {"message": "hello", "agent": "writer", "extra": 1})).status_code in (400, 422)
    problem(await correct(world, {"message": "hello", "agent": "writer"}, "vera"), 403)


async def test_corrections_and_examples_stay_in_their_workspace(world: World) -> None:
    ids = world.ids
    for _ in range(2):
        made = await correct(world, {"message": "bravo only secret words", "agent": "b-agent"}, "bob", "bravo")
        assert made.status_code == 201, made.text
    bravo = await world.client.get("/api/routing/examples", headers=as_user("bob", ids["bravo"]))
    assert [e["text"] for e in bravo.json()] == ["bravo only secret words"]
    alpha = await world.client.get("/api/routing/examples", headers=as_user("alice", ids["alpha"]))
    assert all("bravo" not in e["text"] for e in alpha.json())
    service = container_of(world.client).routing_corrections()
    assert all(slug != "b-agent" for _, slug in await service.examples(ids["alpha"]))
    # alpha's identical message is its own: no agreement from bravo's rows, and its cache is untouched
    body = (await world.route("alpha", {"message": "bravo only secret words"})).json()
    assert body["route_type"] == "unrouted"
    async with world.kernel.store.sessionmaker() as session:
        rows = list(
            await session.scalars(select(RoutingCorrectionRow).where(RoutingCorrectionRow.workspace_id == ids["bravo"]))
        )
    assert rows and all(r.agent_id == ids["b-agent"] and r.actor == "bob" for r in rows)
