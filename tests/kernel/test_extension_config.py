"""``extension_config_schema``: collected at load, checked at write time and when a view is built."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from automatos import hookimpl
from automatos.extensions.llm.anthropic import AnthropicConfig
from automatos.extensions.llm.offline import OfflineConfig
from automatos.extensions.llm.openai import OpenAIConfig
from automatos.kernel.extension_config import config_problem
from automatos.kernel.registry import Registry
from automatos.kernel.types import ExtensionState
from tests.helpers import EVERYTHING, candidate, running_kernel
from tests.plugins.everything import EverythingConfig

OFFLINE = "automatos.llm.offline"


class WebhookConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    webhook_url: Annotated[str, msgspec.Meta(pattern=r"^https://")]
    timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 10.0


class Webhooks:
    @hookimpl
    def extension_config_schema(self) -> type[WebhookConfig]:
        return WebhookConfig


class NotAType:
    @hookimpl
    def extension_config_schema(self) -> Any:
        return {"webhook_url": str}


class Raises:
    @hookimpl
    def extension_config_schema(self) -> Any:
        raise RuntimeError("no schema today")


class Async:
    @hookimpl
    async def extension_config_schema(self) -> Any:
        return WebhookConfig


def _load(*objects: tuple[str, Any]) -> Registry:
    registry = Registry()
    extra = [candidate("tests.x", n, loader=lambda o=o: o) for n, o in objects]
    registry.load([*registry.discover(), EVERYTHING, *extra])
    return registry


def test_schemas_are_collected_once_at_load_and_bad_ones_quarantine() -> None:
    registry = _load(("webhooks", Webhooks()), ("not-a-type", NotAType()), ("raises", Raises()), ("async", Async()))
    assert registry.config_schemas["webhooks"] is WebhookConfig
    assert registry.config_schemas["tests.everything"] is EverythingConfig
    assert registry.config_schemas["automatos.llm.offline"] is OfflineConfig
    assert registry.config_schemas["automatos.llm.openai"] is OpenAIConfig
    assert registry.config_schemas["automatos.llm.anthropic"] is AnthropicConfig
    assert "automatos.storage.local" not in registry.config_schemas  # no schema: any object goes
    refused = [("not-a-type", "must return a type"), ("raises", "no schema today"), ("async", "plain function")]
    for name, words in refused:
        info = registry.extensions[name]
        assert info.state is ExtensionState.QUARANTINED and words in (info.reason or ""), (name, info.reason)
        assert registry.pm.get_plugin(name) is None and name not in registry.config_schemas
    problem = registry.config_problem("webhooks", {"webhook_url": "http://plain"})
    assert problem is not None and problem.field == "config.webhook_url"
    assert registry.config_problem("webhooks", {"webhook_url": "https://hooks.example"}) is None
    assert registry.config_problem("automatos.storage.local", {"anything": object()}) is None


@pytest.mark.parametrize(
    ("schema", "config", "field"),
    [
        (OfflineConfig, {"delay": 5}, "config.delay"),
        (OfflineConfig, {"delay": -0.1}, "config.delay"),
        (OfflineConfig, {"delay": "slow"}, "config.delay"),
        (OfflineConfig, {"dimensions": 4}, "config.dimensions"),
        (OfflineConfig, {"dimensions": True}, "config.dimensions"),
        (OfflineConfig, {"speed": 1}, "config.speed"),
        (OpenAIConfig, {"timeout": "soon"}, "config.timeout"),
        (OpenAIConfig, {"timeout": 0}, "config.timeout"),
        (OpenAIConfig, {"timeout": 601}, "config.timeout"),
        (OpenAIConfig, {"api_key": ""}, "config.api_key"),
        (OpenAIConfig, {"api_key": "   "}, "config.api_key"),
        (OpenAIConfig, {"api_key": 42}, "config.api_key"),
        (OpenAIConfig, {"api_key": "sk-x", "base_url": "ftp://files"}, "config.base_url"),
        (OpenAIConfig, {"base_url": "https://llm.example/v1"}, "config.base_url"),  # the platform key stays home
        (OpenAIConfig, {"max_retries": 11}, "config.max_retries"),
        (OpenAIConfig, {"max_tokens_param": "tokens"}, "config.max_tokens_param"),
        (OpenAIConfig, {"embedding_batch_size": 0}, "config.embedding_batch_size"),
        (AnthropicConfig, {"max_tokens": 0}, "config.max_tokens"),
        (AnthropicConfig, {"timeout": "soon"}, "config.timeout"),
        (AnthropicConfig, {"max_tokens_param": "max_tokens"}, "config.max_tokens_param"),  # openai's, not ours
    ],
)
def test_provider_schemas_name_the_field(schema: type, config: dict[str, Any], field: str) -> None:
    problem = config_problem(schema, config)
    assert problem is not None and problem.field == field, problem
    assert problem.message


@pytest.mark.parametrize(
    ("schema", "config"),
    [
        (OfflineConfig, {}),
        (OfflineConfig, {"delay": 0.02, "dimensions": 64}),
        (OfflineConfig, {"delay": 1}),
        (OpenAIConfig, {"api_key": "sk-x", "base_url": "http://llm.example:8080/v1", "timeout": 5, "max_retries": 0}),
        (OpenAIConfig, {"embedding_model": "custom", "embedding_dimensions": 8, "max_tokens_param": "max_tokens"}),
        (AnthropicConfig, {"api_key": "k", "timeout": 0.5, "max_tokens": 4096}),
    ],
)
def test_provider_schemas_accept_what_the_providers_accept(schema: type, config: dict[str, Any]) -> None:
    assert config_problem(schema, config) is None


async def test_a_stored_configuration_that_does_not_fit_leaves_the_extension_out(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        ws = await kernel.store.get_workspace("default")
        assert ws is not None
        # written around the API check, as a row stored before the schema existed would be
        await kernel.store.set_extension(ws.id, OFFLINE, enabled=True, config={"delay": 5}, actor_id=None)
        await kernel.store.set_extension(ws.id, "tests.everything", enabled=True, config={"prefix": 7}, actor_id=None)
        view = await kernel.views.build(ws.id)
        assert set(view.problems) == {"automatos.llm.offline", "tests.everything"}
        assert "config.delay" in view.problems["automatos.llm.offline"]
        assert "config.prefix" in view.problems["tests.everything"]
        assert "automatos.llm.offline" in view.hidden
        assert "automatos.llm.offline" not in view.plugins("register_llm_providers")
        providers = await kernel.hooks.llm_providers(view, ws)
        assert "offline" not in providers.items and providers.errors == []  # left out, not failing
        await kernel.store.set_extension(ws.id, OFFLINE, enabled=True, config={"delay": 0}, actor_id=None)
        fixed = await kernel.views.build(ws.id)
        assert "automatos.llm.offline" not in fixed.problems
        assert "offline" in (await kernel.hooks.llm_providers(fixed, ws)).items
