"""The agents', llm's and chat's services below the API: caches with an injected clock, the owned
resources' generated controllers, and the one place every service comes from (the container)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.agents import models as am
from automatos.api.app import create_app
from automatos.api.controllers.agents import PersonasController, SkillsController
from automatos.container import Container
from automatos.kernel.settings_registry import SettingsRegistry
from automatos.kernel.ttl_cache import TTLCache
from automatos.llm.catalog import ModelCatalog
from automatos.llm.models import LLMModel
from tests.helpers import AppClient, make_container, serve_app


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# --- TTLCache -------------------------------------------------------------------------------------


async def test_a_value_is_loaded_once_and_again_after_it_expires() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(60.0, clock=clock)
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        return len(loads)

    assert await cache.get("k", load) == 1
    clock.now = 59.9
    assert await cache.get("k", load) == 1
    clock.now = 60.1
    assert await cache.get("k", load) == 2
    cache.drop("k")
    assert await cache.get("k", load) == 3


async def test_concurrent_misses_share_one_load() -> None:
    cache: TTLCache[str, str] = TTLCache(60.0, clock=Clock())
    gate = asyncio.Event()
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "v"

    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == ["v"] * 5
    assert calls == 1


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    cache: TTLCache[str, str] = TTLCache(60.0, clock=Clock())
    gate = asyncio.Event()

    async def failing() -> str:
        await gate.wait()
        raise RuntimeError("database down")

    waiting = [asyncio.create_task(cache.get("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def working() -> str:
        return "back"

    assert await cache.get("k", working) == "back"


async def test_a_cancelled_load_is_taken_over_by_a_waiter() -> None:
    cache: TTLCache[str, str] = TTLCache(60.0, clock=Clock())
    started = asyncio.Event()

    async def hangs() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async def quick() -> str:
        return "second"

    first = asyncio.create_task(cache.get("k", hangs))
    await started.wait()
    second = asyncio.create_task(cache.get("k", quick))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "second"
    with pytest.raises(asyncio.CancelledError):
        await first


# --- cached platform settings and prices ------------------------------------------------------------


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    container = make_container(tmp_path)
    kernel = container.kernel()
    await kernel.start()
    try:
        yield container
    finally:
        await kernel.stop()


async def test_setting_values_follow_the_table_after_their_ttl(container: Container) -> None:
    clock = Clock()
    values = SettingsRegistry(container.sessionmaker(), clock=clock)  # the registry's cached reads
    assert await values.setting("test.knob", "default") == "default"
    assert await values.int_setting("test.number", 7, 1, 10) == 7
    async with container.sessionmaker().begin() as session:
        session.add(am.PlatformSetting(key="test.knob", value="set", description=""))
        session.add(am.PlatformSetting(key="test.number", value=11, description=""))
    assert await values.setting("test.knob", "default") == "default"  # cached for 60 s
    clock.now = 61.0
    assert await values.setting("test.knob", "default") == "set"
    assert await values.int_setting("test.number", 7, 1, 10) == 7  # out of range: the default
    async with container.sessionmaker().begin() as session:
        row = await session.get(am.PlatformSetting, "test.number")
        assert row is not None
        row.value = True  # a boolean is not an integer here
    values.forget()
    assert await values.int_setting("test.number", 7, 1, 10) == 7


async def test_prices_come_from_the_catalogue_and_are_cached(container: Container) -> None:
    clock = Clock()
    catalog = ModelCatalog(container.sessionmaker(), clock=clock)
    assert await catalog.price("nobody", "unlisted") == (0.0, 0.0)
    async with container.sessionmaker().begin() as session:
        session.add(
            LLMModel(
                provider="nobody",
                model="unlisted",
                display_name="U",
                context_window=10,
                input_price=1e-6,
                output_price=2e-6,
            )
        )
    assert await catalog.price("nobody", "unlisted") == (0.0, 0.0)
    catalog.forget_prices()
    assert await catalog.price("nobody", "unlisted") == (1e-6, 2e-6)


# --- the container ----------------------------------------------------------------------------------


def test_every_service_is_one_instance_per_container(tmp_path: Path) -> None:
    container = make_container(tmp_path)
    for name in (
        "agents",
        "personas",
        "skills",
        "llm_catalog",
        "llm_providers",
        "credential_types",
        "plugin_categories",
        "settings_registry",
        "prompts",
        "chat",
        "openai_compat",
    ):
        provider = getattr(container, name)
        assert provider() is provider(), name
    assert container.agents().personas is container.personas()
    assert container.chat().settings is container.settings_registry() is container.kernel().settings_registry
    assert container.openai_compat().chat is container.chat()


# --- the owned resources' controllers ---------------------------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serve_app(create_app(make_container(tmp_path))) as client:
        yield client


@pytest.mark.parametrize(("path", "field"), [("/api/personas", "traits"), ("/api/skills", "tags")])
async def test_generated_controllers_check_their_own_structs(client: AppClient, path: str, field: str) -> None:
    root = {"X-Test-User": "root;admin"}
    refused = await client.post(f"{path}?scope=platform", json={"name": "N", "slug": "n", "bogus": 1}, headers=root)
    assert refused.status_code == 422, refused.text
    assert "bogus" in refused.text
    made = await client.post(f"{path}?scope=platform", json={"name": "N", "slug": "n", field: ["x"]}, headers=root)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert body[field] == ["x"] and body["scope"] == "platform"
    wrong = "system_prompt" if field == "tags" else "instructions"  # the other resource's field
    assert (await client.patch(f"{path}/n?scope=platform", json={wrong: "x"}, headers=root)).status_code == 422


def test_generated_controllers_read_as_written_by_hand(tmp_path: Path) -> None:
    assert PersonasController.__name__ == "PersonasController" and SkillsController.__name__ == "SkillsController"
    schema = create_app(make_container(tmp_path)).openapi_schema.to_schema()
    one = schema["paths"]["/api/personas/{persona}"]
    assert one["get"]["operationId"] == "ApiPersonasGetPersona"
    assert [p["name"] for p in one["get"]["parameters"] if p["in"] == "path"] == ["persona"]
    assert schema["paths"]["/api/skills/{skill}"]["patch"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SkillUpdate"
    }
