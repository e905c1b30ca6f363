"""The catalogue (approved, active plugins: search, category, pages) and agents' ordered plugins."""

from __future__ import annotations

from typing import Any

from automatos.marketplace.runtime.proxy import PluginProxy
from tests.helpers import AppClient
from tests.marketplace.test_runtime_enable import approved, client, enable, view_proxies, workspaces
from tests.marketplace.test_submissions import ALICE, BOB, ROOT, problem

__all__ = ["client"]

CATALOGUE = "/api/marketplace/plugins"


async def _names(client: AppClient, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    answer = await client.get(CATALOGUE, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [item["slug"] for item in body["items"]], body["total"]


async def test_catalogue_search_category_pages(client: AppClient) -> None:
    await approved(client, "Hello Tools", extra='category = "analytics"\n')
    await approved(client, "Hello Tools", "1.1.0", extra='category = "analytics"\n')
    await approved(client, "Weather Helper", extra='category = "content"\n')
    await approved(client, "Zeta Tools")
    a, _ = await workspaces(client)
    headers = {**ALICE, "X-Workspace-ID": a}
    assert await _names(client, headers) == (["hello-tools", "weather-helper", "zeta-tools"], 3)
    assert await _names(client, headers, category="analytics") == (["hello-tools"], 1)
    assert await _names(client, headers, q="WEATHER") == (["weather-helper"], 1)
    assert await _names(client, headers, q="a test plugin") == (["hello-tools", "weather-helper", "zeta-tools"], 3)
    assert await _names(client, headers, q="100%_") == ([], 0)  # LIKE wildcards are searched as text
    assert await _names(client, headers, offset=1, limit=1) == (["weather-helper"], 3)
    one = (await client.get(f"{CATALOGUE}/hello-tools", headers=headers)).json()
    assert one["latest_version"] == "1.1.0" and [v["version"] for v in one["versions"]] == ["1.1.0", "1.0.0"]
    assert one["permissions"]["network"] == ["api.example.com"] and one["category"] == "analytics"
    assert one["versions"][0]["granted_permissions"]["env"] == ["EXAMPLE_TOKEN"]
    assert problem(await client.get(f"{CATALOGUE}/nope", headers=headers), 404)["field"] == "slug"
    # a deactivated plugin leaves the catalogue
    off = await client.post("/api/admin/plugins/zeta-tools/deactivate", json={"reason": "broken"}, headers=ROOT)
    assert off.status_code == 200, off.text
    assert await _names(client, headers) == (["hello-tools", "weather-helper"], 2)
    assert problem(await client.get(f"{CATALOGUE}/zeta-tools", headers=headers), 404)
    assert problem(await client.get(CATALOGUE, params={"limit": 0}, headers=headers), 422)


async def test_agent_plugins_are_ordered_validated_and_scoped(client: AppClient) -> None:
    await approved(client, "Hello Tools")
    await approved(client, "Weather Helper")
    await approved(client, "Zeta Tools")
    a, b = await workspaces(client)
    in_a, in_b = {**ALICE, "X-Workspace-ID": a}, {**BOB, "X-Workspace-ID": b}
    for slug in ("hello-tools", "weather-helper"):
        assert (await enable(client, a, ALICE, slug=slug)).status_code == 201
    body = {"name": "Helper", "slug": "helper", "instructions": "help"}
    agent = await client.post("/api/agents", json=body, headers=in_a)
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    url = "/api/agents/helper/plugins"
    assert (await client.get(url, headers=in_a)).json() == {"agent_id": agent_id, "plugins": []}
    put = await client.put(url, json={"plugins": ["weather-helper", "hello-tools"]}, headers=in_a)
    assert put.status_code == 200 and put.json()["plugins"] == ["weather-helper", "hello-tools"], put.text
    assert (await client.get(f"/api/agents/{agent_id}/plugins", headers=in_a)).json()["plugins"] == [
        "weather-helper",
        "hello-tools",
    ]
    proxies: dict[str, PluginProxy] = await view_proxies(client, a)
    assert proxies["plugin:weather-helper"].assignments == {agent_id: 0}
    assert proxies["plugin:hello-tools"].assignments == {agent_id: 1}
    twice = problem(await client.put(url, json={"plugins": ["hello-tools", "hello-tools"]}, headers=in_a), 422)
    assert twice["field"] == "plugins[1]"
    not_enabled = problem(await client.put(url, json={"plugins": ["hello-tools", "zeta-tools"]}, headers=in_a), 422)
    assert not_enabled["field"] == "plugins[1]" and "not enabled" in not_enabled["detail"]
    assert (await client.get(url, headers=in_a)).json()["plugins"] == ["weather-helper", "hello-tools"]  # unchanged
    # another workspace's agent is not found; B cannot see or set A's agent's plugins
    assert problem(await client.get(url, headers=in_b), 404)["field"] == "agent"
    assert problem(await client.put(url, json={"plugins": []}, headers=in_b), 404)["field"] == "agent"
    # disabling a plugin drops it from the agent
    assert (await client.delete(f"/api/workspaces/{a}/plugins/weather-helper", headers=ALICE)).status_code == 204
    assert (await client.get(url, headers=in_a)).json()["plugins"] == ["hello-tools"]
    assert (await view_proxies(client, a))["plugin:hello-tools"].assignments == {agent_id: 1}
