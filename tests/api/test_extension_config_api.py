"""Extension configuration through the API: refused when it does not fit, and the real reason shown
to the workspace's admins when an extension does not work there.

Before: offline ``{"delay": 5}`` was stored and every chat then failed with a 502; openai
``{"timeout": "soon"}`` was stored and the provider silently disappeared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from automatos import hookimpl
from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from tests.helpers import EVERYTHING, AppClient, candidate, container_of, make_container, serve_app
from tests.workspaces.helpers import new_workspace

OFFLINE = "automatos.llm.offline"
OPENAI = "automatos.llm.openai"
FLAKY = "tests.flaky"


class Flaky:
    """Registers nothing and raises in one workspace's view: what a misconfigured provider does."""

    @hookimpl
    def register_llm_providers(self, register: Callable[[Any], None], config: Any) -> None:
        raise ValueError(f"region {config.get('region')!r} has no endpoint")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    plugins = (EVERYTHING, candidate("tests.flaky", FLAKY, loader=Flaky))
    app = create_app(make_container(tmp_path, plugins=plugins))
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            for user in ("alice", "bob"):
                session.add(m.User(id=user, email=f"{user}@example.com", display_name=user))
        yield test_client


async def _workspace(client: AppClient) -> str:
    created = await client.post("/api/workspaces", json={"slug": "acme", "name": "Acme"}, headers=_as("alice"))
    assert created.status_code == 201, created.text
    workspace_id: str = created.json()["id"]
    added = await client.post(
        f"/api/workspaces/{workspace_id}/members", json={"email": "bob@example.com"}, headers=_as("alice")
    )
    assert added.status_code == 201, added.text
    return workspace_id


def _as(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


async def _listed(client: AppClient, workspace_id: str, user: str) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/api/workspaces/{workspace_id}/extensions", headers=_as(user))
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


@pytest.mark.parametrize(
    ("name", "config", "field"),
    [
        (OFFLINE, {"delay": 5}, "config.delay"),
        (OFFLINE, {"dimensions": "many"}, "config.dimensions"),
        (OPENAI, {"timeout": "soon"}, "config.timeout"),
        (OPENAI, {"api_key": "sk-test", "base_url": "not a url"}, "config.base_url"),
        (OPENAI, {"base_url": "https://elsewhere.example/v1"}, "config.base_url"),
        (OPENAI, {"tiemout": 5}, "config.tiemout"),
    ],
)
async def test_a_configuration_that_does_not_fit_is_refused_naming_the_field(
    client: AppClient, name: str, config: dict[str, Any], field: str
) -> None:
    workspace_id = await _workspace(client)
    url = f"/api/workspaces/{workspace_id}/extensions/{name}"
    response = await client.put(url, json={"enabled": True, "config": config}, headers=_as("alice"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field and name in body["detail"], body
    assert (await _listed(client, workspace_id, "alice"))[name]["configured"] is False  # nothing stored
    fine = {"delay": 0.5} if name == OFFLINE else {"timeout": 30}
    response = await client.put(url, json={"enabled": True, "config": fine}, headers=_as("alice"))
    assert response.status_code == 200, response.text
    assert response.json()["configured"] is True and response.json()["error"] is None


async def test_admins_see_why_a_stored_configuration_keeps_an_extension_out(client: AppClient) -> None:
    workspace_id = await _workspace(client)
    kernel: Kernel = client.app.state["kernel"]
    # a row written before schemas existed (or by hand): the API would refuse it now
    await kernel.store.set_extension(workspace_id, OFFLINE, enabled=True, config={"delay": 5}, actor_id=None)
    await kernel.views.build(workspace_id)
    seen = (await _listed(client, workspace_id, "alice"))[OFFLINE]
    assert seen["enabled"] is True
    assert "config.delay" in seen["error"] and "does not fit" in seen["error"]
    as_member = (await _listed(client, workspace_id, "bob"))[OFFLINE]
    assert as_member["enabled"] is True and as_member["error"] is None  # members are not told the internals
    ws = await kernel.store.get_workspace(workspace_id)
    assert ws is not None
    assert "offline" not in (await container_of(client).llm_providers().llm_providers(ws)).items
    # fixing it through the API clears the error
    url = f"/api/workspaces/{workspace_id}/extensions/{OFFLINE}"
    fixed = await client.put(url, json={"enabled": True, "config": {"delay": 0}}, headers=_as("alice"))
    assert fixed.status_code == 200 and fixed.json()["error"] is None
    assert "offline" in (await container_of(client).llm_providers().llm_providers(ws)).items


async def test_admins_see_the_failure_of_an_extensions_code_in_their_workspace(client: AppClient) -> None:
    workspace_id = await _workspace(client)
    kernel: Kernel = client.app.state["kernel"]
    url = f"/api/workspaces/{workspace_id}/extensions/{FLAKY}"
    response = await client.put(url, json={"enabled": True, "config": {"region": "mars"}}, headers=_as("alice"))
    assert response.status_code == 200, response.text
    ws = await kernel.store.get_workspace(workspace_id)
    assert ws is not None
    await container_of(client).llm_providers().llm_providers(ws)  # what a chat does first
    error = (await _listed(client, workspace_id, "alice"))[FLAKY]["error"]
    assert error == "register_llm_providers: ValueError: region 'mars' has no endpoint"
    assert (await _listed(client, workspace_id, "bob"))[FLAKY]["error"] is None
    other = await new_workspace(kernel, "other", "Other")
    providers = container_of(client).llm_providers()
    await providers.llm_providers(other)  # the same code fails there too, but that is theirs to see
    assert (await _listed(client, workspace_id, "alice"))[FLAKY]["error"] == error
    response = await client.put(url, json={"enabled": True, "config": {}}, headers=_as("alice"))
    assert response.json()["error"] is None  # a rebuilt view starts clean
