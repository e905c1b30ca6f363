"""One app for the routing tests: workspaces alpha (Alice owns it, Mia is a member, Vera a viewer) and
bravo (Bob's), agents in each, the scriptable tiers of :mod:`tests.routing.tiers`, the router's clock
injected. The built-in tiers other than override and cache are switched off in both workspaces'
routing configuration, so what decides is what a test scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.faults import FailOpen
from automatos.routing.service import RouterService
from tests.helpers import (
    EVERYTHING,
    AppClient,
    as_user,
    candidate,
    container_of,
    make_container,
    serve_app,
    two_workspaces,
)
from tests.routing import tiers

ROUTING_TIERS = candidate("tests.routing.tiers", "tests.routing-tiers")
QUIET = {name: {"enabled": False} for name in ("rules", "triggers", "examples", "semantic", "intent", "llm")}


class Clock:
    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


class World:
    def __init__(self, client: AppClient, kernel: Kernel, ids: dict[str, str], clock: Clock) -> None:
        self.client, self.kernel, self.ids, self.clock = client, kernel, ids, clock

    @property
    def router(self) -> RouterService:
        return container_of(self.client).router()

    async def route(self, workspace: str, body: dict[str, Any], user: str | None = None) -> httpx.Response:
        who = user or ("alice" if workspace == "alpha" else "bob")
        return await self.client.post("/api/route", json=body, headers=as_user(who, self.ids[workspace]))

    def script(self, workspace: str, **actions: Any) -> None:
        tiers.SCRIPT[self.ids[workspace]] = {k.replace("_", "-"): v for k, v in actions.items()}


@pytest.fixture(scope="package")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    container = make_container(
        tmp_path_factory.mktemp("routing"), plugins=(EVERYTHING, ROUTING_TIERS), rate_limit_default="100000/minute"
    )
    clock = Clock()
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        router = container_of(client).router()
        router.clock = clock
        ids = await two_workspaces(client)
        agents = (("helper", "alpha"), ("writer", "alpha"), ("coder", "alpha"), ("b-agent", "bravo"))
        for slug, workspace in agents:
            owner = "alice" if workspace == "alpha" else "bob"
            made = await client.post(
                "/api/agents",
                json={"name": slug.title(), "slug": slug, "description": f"the {slug}"},
                headers=as_user(owner, ids[workspace]),
            )
            assert made.status_code == 201, made.text
            ids[slug] = made.json()["id"]
        for workspace, owner in (("alpha", "alice"), ("bravo", "bob")):
            put = await client.put("/api/routing/config", json={"tiers": QUIET}, headers=as_user(owner, ids[workspace]))
            assert put.status_code == 200, put.text
        yield World(client, kernel, ids, clock)


@pytest.fixture(autouse=True)
def fresh(request: pytest.FixtureRequest) -> Iterator[None]:
    """No script and a healthy cache guard before each test."""
    tiers.SCRIPT.clear()
    if "world" in request.fixturenames:
        world: World = request.getfixturevalue("world")
        router = world.router
        router.kv_guard = FailOpen("the routing decision cache", router.kv_guard.log, retry_seconds=5.0)
        router._kv = None
    yield
    tiers.SCRIPT.clear()
