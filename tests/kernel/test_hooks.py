"""The typed async facade: ordering, sync+async, containment, per-plugin config, collectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from automatos import Event, Workspace, hookimpl
from automatos.kernel.hooks import Hooks, HookView
from automatos.kernel.registry import Registry
from automatos.kernel.settings import load_settings
from tests.helpers import candidate

WS = Workspace(id="ws-1", slug="one", name="One")


class SyncEvents:
    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    @hookimpl
    def on_event(self, event: Event) -> str:
        self.seen.append("sync")
        return "sync"


class AsyncEvents:
    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    @hookimpl
    async def on_event(self, event: Event, config: dict[str, Any]) -> str:
        self.seen.append(f"async:{config.get('tag', '-')}")
        return "async"


class Broken:
    @hookimpl
    def on_event(self, event: Event) -> None:
        raise RuntimeError("boom")


def _registry(*plugins: tuple[str, object]) -> Registry:
    registry = Registry()
    registry.load([candidate(f"tests.kernel.{name}", name, loader=lambda p=p: p) for name, p in plugins])
    return registry


async def test_sync_and_async_implementations_are_awaited_in_pluggy_order() -> None:
    seen: list[str] = []
    registry = _registry(("a_sync", SyncEvents(seen)), ("b_async", AsyncEvents(seen)))
    hooks = Hooks(registry, load_settings({}))
    result = await hooks.on_event(hooks.global_view(), Event(name="x"), None)
    # pluggy calls the last registered first
    assert seen == ["async:-", "sync"]
    assert result.results == ["async", "sync"]
    assert result.errors == []


async def test_first_stops_at_first_non_none() -> None:
    seen: list[str] = []
    registry = _registry(("a_sync", SyncEvents(seen)), ("b_async", AsyncEvents(seen)))
    hooks = Hooks(registry, load_settings({}))
    assert await hooks.first(hooks.global_view(), "on_event", {"event": Event(name="x"), "workspace": None}) == "async"
    assert seen == ["async:-"]


async def test_a_raising_implementation_is_contained_and_counted() -> None:
    seen: list[str] = []
    registry = _registry(("a_sync", SyncEvents(seen)), ("broken", Broken()))
    hooks = Hooks(registry, load_settings({}))
    for _ in range(2):
        result = await hooks.on_event(hooks.global_view(), Event(name="x"), None)
        assert result.results == ["sync"]  # the healthy plugin still ran
    assert [(e.plugin, e.hook) for e in result.errors] == [("broken", "on_event")]
    assert "RuntimeError: boom" in result.errors[0].error
    assert hooks.errors.total("broken") == 2
    assert hooks.errors.for_plugin("broken")[0]["count"] == 2


async def test_config_is_per_plugin_and_views_hide_plugins() -> None:
    seen: list[str] = []
    registry = _registry(("a_sync", SyncEvents(seen)), ("b_async", AsyncEvents(seen)))
    hooks = Hooks(registry, load_settings({}))
    view = HookView(registry.pm, hidden={"a_sync"}, configs={"b_async": {"tag": "ws1"}}, workspace_id="ws-1")
    result = await hooks.on_event(view, Event(name="x"), WS)
    assert seen == ["async:ws1"]
    assert result.results == ["async"]
    assert view.plugins("on_event") == ["b_async"]


class TwoProviders:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def register_llm_providers(self, register: Callable[[Any], None]) -> None:
        from tests.plugins.everything import EchoLLM

        provider = EchoLLM(prefix=self.name)
        provider.name = "shared-name"
        register(provider)


class BadRegistration:
    @hookimpl
    def register_llm_providers(self, register: Callable[[Any], None]) -> None:
        register(object())


async def test_collector_deduplicates_stamps_source_and_rejects_bad_items() -> None:
    registry = _registry(
        ("first", TwoProviders("first")), ("second", TwoProviders("second")), ("bad", BadRegistration())
    )
    hooks = Hooks(registry, load_settings({}))
    got = await hooks.llm_providers(hooks.global_view(), WS)
    # call order is last-registered first: "bad" fails, "second" wins the name, "first" is a duplicate
    assert list(got.items) == ["shared-name"]
    assert got.sources["shared-name"] == "second"
    errors = {(e.plugin, e.hook): e.error for e in got.errors}
    assert "already registered by second" in errors[("first", "register_llm_providers")]
    assert "is not a LLMProvider" in errors[("bad", "register_llm_providers")]


async def test_every_typed_collector_through_the_test_extension(tmp_path: Any) -> None:
    from tests.helpers import EVERYTHING

    registry = Registry()
    registry.load([*registry.discover(), EVERYTHING])
    # the test extension implements every hook; each is exercised below through its typed facade method
    assert set(registry.extensions["tests.everything"].hooks) == {
        "register_auth_methods",  # auth_methods()
        "register_blob_backends",  # backend_factories("blob"), and so on for kv, pubsub, vector
        "register_kv_backends",
        "register_pubsub_backends",
        "register_vector_backends",
        "register_queue_backends",
        "register_llm_providers",  # llm_providers()
        "register_embedding_providers",  # embedding_providers()
        "register_routing_tiers",  # routing_tiers()
        "register_tool_providers",  # tool_providers()
        "register_scan_rules",  # collected by the registry: test_registry.py
        "register_routes",  # routes()
        "startup",  # test_workspace_views.py: test_lifecycle_hooks_run
        "shutdown",
        "on_event",  # on_event(), and events from the kernel in test_workspace_views.py
        "extension_config_schema",  # collected by the registry: test_extension_config.py
        "register_settings",  # settings_declarations(); the kernel's use: test_settings.py
        "register_migrations",  # migration_sources(); the runner's use: test_migrations.py
    }
    hooks = Hooks(registry, load_settings({}, data_dir=tmp_path))
    view = HookView(registry.pm, configs={"tests.everything": {"prefix": ">"}}, workspace_id=WS.id)
    llms = await hooks.llm_providers(view, WS)
    assert (await llms.items["test-echo"].complete([_msg("hi")], model="m")).text == ">hi"
    embedders = await hooks.embedding_providers(view, WS)
    assert await embedders.items["test-embed"].embed(["abc"]) == [[3.0, 1.0]]
    tiers = await hooks.routing_tiers(view, WS)
    from automatos import RouteDecision, RoutingRequest

    keyword = next(t for t in tiers if t.name == "test-keyword")  # the built-in tiers are there too
    decision = await keyword.route(RoutingRequest(workspace_id=WS.id, text="a billing question"), None)  # type: ignore[arg-type]
    assert isinstance(decision, RouteDecision) and decision.agent_id == "billing-agent"
    tools = await hooks.tool_providers(view, WS)
    assert [t.name for t in await tools.items["test-tools"].list_tools(WS.id)] == ["echo"]
    auth = await hooks.auth_methods(kernel=None)  # type: ignore[arg-type]
    assert [m.name for m in auth.items.values()] == ["test-header"]
    assert auth.sources == {"test-header": "tests.everything"}
    assert {"local", "s3", "everything"} <= set((await hooks.backend_factories("blob")).items)
    for family in ("kv", "pubsub", "vector", "queue"):
        assert "everything" in (await hooks.backend_factories(family)).items
    routes = hooks.routes()  # the everything extension's handler, and the API-key extension's controller
    assert [r.paths for r in routes if hasattr(r, "paths")] == [{"/api/test-everything/ping"}]
    assert [r.path for r in routes if not hasattr(r, "paths")] == ["/api/api-keys"]
    from tests.plugins.everything import GREETING_LIMIT, MIGRATIONS, EverythingSettings

    declared = hooks.settings_declarations()
    assert declared.items["tests.plugins.everything.EverythingSettings"] is EverythingSettings
    assert declared.items["everything.greeting_limit"] is GREETING_LIMIT
    assert hooks.migration_sources().items["tests.everything"] is MIGRATIONS


def _msg(text: str) -> Any:
    from automatos import ChatMessage

    return ChatMessage(role="user", content=text)


@pytest.mark.parametrize("args", [("x",), (lambda ctx: None,), ("x", 42)])
async def test_backend_registration_must_be_name_and_callable(args: tuple[Any, ...]) -> None:
    class BadBackend:
        @hookimpl
        def register_kv_backends(self, register: Callable[..., None]) -> None:
            register(*args)

    registry = _registry(("badkv", BadBackend()))
    hooks = Hooks(registry, load_settings({}))
    got = await hooks.backend_factories("kv")
    assert "x" not in got.items
    assert got.errors and got.errors[0].plugin == "badkv"
