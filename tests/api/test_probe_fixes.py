"""Defects an adversarial tester found by probing a running server (issue 9), each pinned here.

- Rate-limit strings have one strict grammar (:mod:`automatos.kernel.rate_limit_syntax`): API keys and the
  run-time settings refuse anything else with a 422 naming the field, a key stored before the
  grammar existed is ignored (not a 500), the in-process counter never divides by zero, and one
  limit Redis cannot count does not switch limiting off for every client.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from limits import RateLimitItemPerDay
from sqlalchemy import update

from automatos.extensions.auth.api_keys import create_key
from automatos.extensions.auth.api_keys.models import ApiKey
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.memory_limiter import SlidingWindowCounter
from automatos.kernel.rate_limit_syntax import MAX_WINDOW_SECONDS, parse_rate_limit, per_second
from automatos.workspaces.service import WorkspaceService
from tests.api.test_api_keys_api import ADMIN, URL, app_with_keys, as_key, new_key, problem
from tests.helpers import AppClient, container_of, database_settings, make_container, serve_app

BAD_RATES = [
    "0/minute",
    "1/999999999999999 day",
    "60/minute\n",
    " 60/minute",
    "60 per minute",
    "1/0 minute",
    "1/367 day",
    "-1/minute",
    "01/minute",
    "1/second;2/minute;",
    "1/second; 2/minute",
    "1/Minute",
    "1/fortnight",
    "1000000001/minute",
    "",
    ";".join(["1000000/9 day"] * 5),  # each item fine, 69 characters: more than the column holds
]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def client(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[AppClient]:
    settings: dict[str, Any] = {}
    if request.param == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
    async with AsyncExitStack() as stack:
        yield await stack.enter_async_context(serve_app(app_with_keys(make_container(tmp_path, **settings))))


def kernel_of(client: AppClient) -> Kernel:
    kernel: Kernel = client.app.state["kernel"]
    return kernel


# -- 1. rate-limit strings ------------------------------------------------------------------------


@pytest.mark.parametrize("text", BAD_RATES)
def test_the_grammar_refuses_what_cannot_be_served(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|at most|window"):
        parse_rate_limit(text)


def test_the_grammar_accepts_windows_up_to_a_year() -> None:
    assert (parse_rate_limit("60/minute").amount, parse_rate_limit("60/minute").get_expiry()) == (60, 60)
    assert parse_rate_limit("10/5 minute").get_expiry() == 300
    assert parse_rate_limit("1/366 day").get_expiry() == MAX_WINDOW_SECONDS
    assert parse_rate_limit("1000000000/minute").amount == 1_000_000_000
    assert per_second("120/2 minute") == 1.0
    assert per_second("1/second;600/minute") == 10.0  # a list: the cap check uses its fastest item
    assert str(parse_rate_limit("1/second;600/minute")) == str(parse_rate_limit("1/second"))


def test_the_in_process_counter_refuses_a_zero_limit_instead_of_dividing_by_zero() -> None:
    counter = SlidingWindowCounter(clock=lambda: 0.0)
    assert counter.take("k", 0, 60.0) == (False, 0, 60)
    assert counter.take("k", 1, 60.0)[0] is True


@pytest.mark.parametrize("text", ["0/minute", "1/999999999999999 day", "60/minute\n", "60 per minute", "1/0 minute"])
async def test_a_key_with_an_unservable_rate_limit_is_refused(client: AppClient, text: str) -> None:
    response = await client.post(
        URL, json={"name": "k", "rate_limit": text}, headers={"X-Workspace-ID": "default", **ADMIN}
    )
    assert problem(response, 422)["field"] == "rate_limit"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("RATE_LIMIT_ROUTES", "GET /api/usage=0/minute"),
        ("RATE_LIMIT_ROUTES", "GET /api/usage=60 per minute"),
        ("RATE_LIMIT_DEFAULT", "0/minute"),
        ("RATE_LIMIT_DEFAULT", "1/999999999999999 day"),
        ("ROUTING_CACHE_TTL_HOURS", "inf"),
        ("ROUTING_CACHE_TTL_HOURS", "1e309"),
        ("ROUTING_CACHE_TTL_HOURS", "nan"),
    ],
)
async def test_settings_refuse_unservable_values(client: AppClient, key: str, value: str) -> None:
    response = await client.put(f"/api/settings/{key}", json={"value": value}, headers=ADMIN)
    assert problem(response, 422)["field"] == "value"
    assert (await client.get("/api/me", headers=ADMIN)).status_code == 200  # and nothing broke


@pytest.mark.parametrize("stored", ["0/minute", "1/999999999999999 day", "60 per minute"])
async def test_a_stored_unservable_key_limit_is_ignored_not_a_500(client: AppClient, stored: str) -> None:
    created = await new_key(client, role="member")
    async with kernel_of(client).store.sessionmaker.begin() as session:  # written before the grammar existed
        await session.execute(update(ApiKey).where(ApiKey.id == created["id"]).values(rate_limit=stored))
    for _ in range(3):
        response = await client.get("/api/me", headers=as_key(created))
        assert response.status_code == 200, response.text
        assert response.headers["ratelimit-limit"] == "60"  # RATE_LIMIT_DEFAULT applies instead


@pytest.mark.redis
async def test_one_limit_redis_cannot_count_leaves_every_other_client_limited(tmp_path: Path, redis_url: str) -> None:
    async with serve_app(app_with_keys(make_container(tmp_path, redis_url=redis_url))) as client:
        pipeline = container_of(client).pipeline()
        # a window Redis refuses as an expiry ("value is not an integer or out of range")
        assert await pipeline.take(RateLimitItemPerDay(1, 10**15), "ip:bad-item") is None
        one = parse_rate_limit("1/minute")
        client_id = f"ip:{tmp_path.name}"
        first = await pipeline.take(one, client_id)
        second = await pipeline.take(one, client_id)
        assert first is not None and first[0] is True
        assert second is not None and second[0] is False  # still counted: the storage was not marked down


# -- 2. /api/me describes the key that authenticated ----------------------------------------------


async def test_me_shows_the_authenticating_key_not_one_named_by_another_header(client: AppClient) -> None:
    kernel = kernel_of(client)
    async with kernel.store.sessionmaker.begin() as session:
        owner = m.User(email="olga@example.com", display_name="olga")
        session.add(owner)
        await session.flush()
        owner_id = owner.id
    await WorkspaceService.of(kernel).create("other", "Other", owner_id=owner_id)
    mine = await new_key(client, name="mine", role="member")
    theirs = await new_key(client, name="theirs", role="owner", workspace="other")
    forged = f"atk_{theirs['prefix']}_{'x' * 40}"
    response = await client.get("/api/me", headers={"X-API-Key": mine["key"], "Authorization": f"Bearer {forged}"})
    if response.status_code == 200:  # however the two headers are arbitrated, nothing of theirs shows
        assert response.json()["key"]["id"] == mine["id"]
        assert theirs["id"] not in response.text and "theirs" not in response.text
    else:
        assert problem(response, 401)
    alone = await client.get("/api/me", headers={"X-API-Key": mine["key"]})
    assert alone.status_code == 200, alone.text
    key = alone.json()["key"]
    assert (key["id"], key["name"], key["prefix"], key["role"]) == (mine["id"], "mine", mine["prefix"], "member")


# -- 4. bounded names and e-mails ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_client(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[AppClient]:
    async with AsyncExitStack() as stack:
        settings = await stack.enter_async_context(database_settings(request))
        yield await stack.enter_async_context(serve_app(app_with_keys(make_container(tmp_path, **settings))))


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/api/workspaces/default", {"name": "x" * 256}, "name"),
        ("PATCH", "/api/workspaces/default", {"name": "x" * 5_000_000}, "name"),
        ("PATCH", "/api/workspaces/default", {"name": "evil\u202etxt.exe"}, "name"),
        ("PATCH", "/api/workspaces/default", {"name": "nul\x00"}, "name"),
        ("POST", "/api/workspaces", {"slug": "longname", "name": "y" * 300}, "name"),
        ("POST", "/api/workspaces", {"slug": "s" * 101, "name": "ok"}, "slug"),
        ("POST", "/api/workspaces/default/members", {"email": "a" * 400 + "@example.com"}, "email"),
        ("POST", "/api/workspaces/default/members", {"email": "a\u2066b@example.com"}, "email"),
    ],
)
async def test_names_and_emails_are_bounded_and_plain(
    db_client: AppClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await db_client.request(method, path, json=body, headers=ADMIN)
    assert problem(response, 422)["field"] == field


async def test_a_name_at_the_column_bound_is_stored(db_client: AppClient) -> None:
    response = await db_client.patch("/api/workspaces/default", json={"name": "n" * 255}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "n" * 255


# -- 5. extension configuration is bounded --------------------------------------------------------


async def test_an_extension_configuration_is_bounded_like_a_setting(client: AppClient) -> None:
    url = "/api/workspaces/default/extensions/automatos.llm.offline"
    limit = kernel_of(client).current_settings.settings_value_max_bytes
    big = {"enabled": True, "config": {"greeting": "x" * limit}}
    assert problem(await client.put(url, json=big, headers=ADMIN), 422)["field"] == "config"
    small = await client.put(url, json={"enabled": True, "config": {"delay": 0}}, headers=ADMIN)
    assert small.status_code == 200, small.text


# -- 9. the agent slug "auto" is reserved ----------------------------------------------------------


async def test_the_agent_slug_auto_is_reserved(tmp_path: Path) -> None:
    headers = {"X-Workspace-ID": "default", **ADMIN}
    async with serve_app(app_with_keys(make_container(tmp_path))) as client:
        for slug in ("auto", "AUTO"):
            made = await client.post("/api/agents", json={"name": "Auto", "slug": slug}, headers=headers)
            assert problem(made, 422)["field"] == "slug"
        plain = await client.post("/api/agents", json={"name": "Plain", "slug": "plain"}, headers=headers)
        assert plain.status_code == 201, plain.text
        renamed = await client.patch("/api/agents/plain", json={"slug": "auto"}, headers=headers)
        assert problem(renamed, 422)["field"] == "slug"


# -- 8. a refused key does not say whether its prefix exists ---------------------------------------


async def test_an_unknown_prefix_and_a_wrong_secret_read_the_same(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = await new_key(client, role="member")
    wrong = created["key"][:-3] + ("abc" if not created["key"].endswith("abc") else "xyz")
    unknown = "atk_" + "q" * 12 + "_" + "z" * 43
    with caplog.at_level(logging.INFO, logger="automatos.auth.api_keys"):
        bodies = []
        for key in (unknown, wrong, unknown, wrong):  # cold, then from the caches
            body = problem(await client.get("/api/me", headers={"X-API-Key": key}), 401)
            bodies.append({k: v for k, v in body.items() if k != "instance"})
    assert all(body == bodies[0] for body in bodies) and bodies[0]["detail"] == "invalid API key"
    assert created["prefix"] not in str(bodies)
    reasons = " ".join(r.getMessage() for r in caplog.records if r.name == "automatos.auth.api_keys")
    assert "no key has this prefix" in reasons and "secret does not match" in reasons  # the operator's log


# -- 10. a workspace reference is echoed cut short -------------------------------------------------


async def test_an_unknown_workspace_reference_is_echoed_cut_short(tmp_path: Path) -> None:
    async with serve_app(app_with_keys(make_container(tmp_path))) as client:
        long_ref = "x" * 60_000
        for response in (
            await client.get("/api/agents", headers={"X-Workspace-ID": long_ref, **ADMIN}),
            await client.get(f"/api/workspaces/{'y' * 5000}/extensions", headers=ADMIN),
        ):
            body = problem(response, 404)
            assert len(body["detail"]) < 200 and "…" in body["detail"]


# -- 7. the audit log hides keys ranked above the caller, like /api/api-keys ------------------------


async def test_the_audit_log_hides_keys_ranked_above_a_workspace_admin(tmp_path: Path) -> None:
    async with serve_app(app_with_keys(make_container(tmp_path))) as client:
        kernel = kernel_of(client)
        workspace = await kernel.store.get_workspace("default")
        assert workspace is not None
        users: dict[str, str] = {}
        async with kernel.store.sessionmaker.begin() as session:
            for name, role, admin in (("root", "owner", True), ("olga", "owner", False), ("adam", "admin", False)):
                user = m.User(email=f"{name}@example.com", display_name=name, is_platform_admin=admin)
                session.add(user)
                await session.flush()
                session.add(m.WorkspaceMember(workspace_id=workspace.id, user_id=user.id, role=role))
                users[name] = user.id
        made = {}
        wanted = (("root-key", "root", "owner"), ("olga-key", "olga", "owner"), ("adam-key", "adam", "admin"))
        for key_name, holder, key_role in wanted:
            made[key_name], _ = await create_key(
                kernel, workspace.id, key_name, key_role, user_id=users[holder], created_by=users[holder]
            )
        url = "/api/workspaces/default/audit?action=key.*"
        as_admin = await client.get(url, headers={"X-Test-User": users["adam"], "X-Workspace-ID": "default"})
        assert as_admin.status_code == 200, as_admin.text
        seen = {e["target_id"]: e for e in as_admin.json()["items"] if e["action"] == "key.created"}
        assert set(seen) == {r.id for r in made.values()}  # every event is listed…
        assert seen[made["adam-key"].id]["data"]["prefix"] == made["adam-key"].prefix
        for name in ("root-key", "olga-key"):  # …but not what /api/api-keys hides from an admin
            assert made[name].prefix not in str(seen[made[name].id]) and name not in str(seen[made[name].id])
        as_owner = await client.get(url, headers={"X-Test-User": users["olga"], "X-Workspace-ID": "default"})
        owners_view = {e["target_id"]: e for e in as_owner.json()["items"] if e["action"] == "key.created"}
        assert owners_view[made["root-key"].id]["data"]["prefix"] == made["root-key"].prefix
