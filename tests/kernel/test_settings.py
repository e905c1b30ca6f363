"""Settings from the environment (seed names included), the structs of packages and extensions, and
run-time overrides from system_settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from dependency_injector import providers

from automatos.extensions.llm._common import LLMEndpointSettings
from automatos.extensions.llm.anthropic import AnthropicSettings
from automatos.extensions.llm.openai import OpenAISettings
from automatos.kernel.errors import SettingsError, ValidationError
from automatos.kernel.settings import Secret, Settings, SettingsGroup, check_settings, load_settings, setting
from automatos.llm.settings import LLMSettings
from automatos.routing.settings import RoutingSettings
from tests.helpers import make_container, running_kernel
from tests.plugins.everything import EverythingSettings


def test_embedded_defaults_need_nothing() -> None:
    s = load_settings({})
    assert s.resolved_database_url == "sqlite+aiosqlite:///automatos-data/automatos.db"
    assert [s.pick(f) for f in ("blob", "kv", "pubsub", "vector")] == ["local", "memory", "memory", "exact"]


def test_seed_names_compose_urls() -> None:
    s = load_settings(
        {
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "5433",
            "POSTGRES_DB": "auto",
            "POSTGRES_USER": "app",
            "POSTGRES_PASSWORD": "p@ss",
            "REDIS_HOST": "cache",
            "REDIS_PASSWORD": "r",
            "S3_BUCKET": "bundles",
            "OPENAI_API_KEY": "sk-secret",
            "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example",
            "ROUTING_LLM_CONFIDENCE_THRESHOLD": "0.8",
            "FEATURE_SANDBOX": "off",
        }
    )
    assert s.database_url == "postgresql+asyncpg://app:p%40ss@db:5433/auto"
    assert s.redis_url == "redis://:r@cache:6379/0"
    assert [s.pick(f) for f in ("blob", "kv", "pubsub", "vector")] == ["s3", "redis", "redis", "pgvector"]
    assert s.cors_allow_origins == ("https://a.example", "https://b.example")
    assert s.group(RoutingSettings).routing_llm_confidence_threshold == 0.8 and s.feature_sandbox is False
    key = s.group(OpenAISettings).openai_api_key
    assert isinstance(key, Secret) and key.reveal() == "sk-secret"
    assert "sk-secret" not in repr(s) and "sk-secret" not in repr(s.group(OpenAISettings))


def test_plain_postgres_url_gets_the_async_driver() -> None:
    assert load_settings({"DATABASE_URL": "postgres://u@h/d"}).database_url == "postgresql+asyncpg://u@h/d"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTOMATOS_PORT": "eighty"}, "AUTOMATOS_PORT='eighty' is malformed: expected integer 1-65535"),
        ({"AUTOMATOS_PORT": "70000"}, "AUTOMATOS_PORT=70000 is out of range"),
        ({"FEATURE_SANDBOX": "maybe"}, "FEATURE_SANDBOX='maybe' is malformed: expected true|false"),
        ({"ROUTING_LLM_CONFIDENCE_THRESHOLD": "2"}, "ROUTING_LLM_CONFIDENCE_THRESHOLD=2.0 is out of range"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL=mysql://… is not supported"),
        ({"POSTGRES_HOST": "h", "POSTGRES_PORT": "x"}, "POSTGRES_PORT='x' is malformed"),
    ],
)
def test_malformed_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        check_settings(load_settings(env), (LLMSettings, RoutingSettings, OpenAISettings))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENAI_BASE_URL": "ftp://proxy"}, "OPENAI_BASE_URL='ftp://proxy' is out of range: expected http(s) URL"),
        ({"ANTHROPIC_BASE_URL": "x"}, "ANTHROPIC_BASE_URL='x' is out of range: expected http(s) URL"),
        ({"LLM_ALLOW_PRIVATE_BASE_URL": "perhaps"}, "LLM_ALLOW_PRIVATE_BASE_URL='perhaps' is malformed"),
        ({"JWKS_CACHE_SECONDS": "0"}, "JWKS_CACHE_SECONDS=0.0 is out of range: expected number > 0"),
        ({"API_KEY_CACHE_SECONDS": "soon"}, "API_KEY_CACHE_SECONDS='soon' is malformed: expected number > 0"),
        ({"ROUTING_CACHE_TTL_HOURS": "-1"}, "ROUTING_CACHE_TTL_HOURS=-1.0 is out of range"),
    ],
)
def test_a_malformed_variable_of_any_struct_stops_the_kernel_from_being_built(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    from automatos.kernel.settings import Environ

    settings = load_settings({}, data_dir=tmp_path)
    bad = msgspec.structs.replace(settings, environ=Environ(env))
    container = make_container(tmp_path)
    container.settings.override(providers.Object(bad))
    with pytest.raises(SettingsError) as info:
        container.kernel()
    assert message in str(info.value)


def test_an_extension_struct_is_read_from_the_kernel_settings_environment() -> None:
    s = load_settings({"OPENAI_BASE_URL": "http://proxy:8080/v1", "EVERYTHING_GREETING": "hi"})
    assert s.group(OpenAISettings).openai_base_url == "http://proxy:8080/v1"
    assert s.group(OpenAISettings) is s.group(OpenAISettings)  # cached per settings object
    assert s.group(EverythingSettings).everything_greeting == "hi"
    assert s.group(AnthropicSettings).anthropic_base_url is None
    assert s.group(Settings) is s
    # keyword overrides (what tests and the CLI pass) reach the struct that declares the field
    t = load_settings({"OPENAI_BASE_URL": "http://env"}, openai_base_url="http://kw", llm_model="m")
    assert t.group(OpenAISettings).openai_base_url == "http://kw" and t.group(LLMSettings).llm_model == "m"


def test_a_keyword_override_nobody_declares_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        check_settings(load_settings({}, openai_bse_url="http://typo"), (OpenAISettings,))
    assert "unknown setting 'openai_bse_url'" in str(info.value)


def test_two_structs_cannot_declare_one_variable() -> None:
    class Clash(SettingsGroup, frozen=True, kw_only=True):
        FIELDS = (setting("OPENAI_BASE_URL", "clash_url", "URL"),)
        clash_url: str = ""

    with pytest.raises(SettingsError) as info:
        check_settings(load_settings({}), (OpenAISettings, Clash))
    assert "OPENAI_BASE_URL is declared by both OpenAISettings and Clash" in str(info.value)


def test_an_extension_struct_secret_is_masked_in_logs_once_read() -> None:
    from automatos.kernel.logging import redact

    s = load_settings({"ANTHROPIC_API_KEY": "sk-ant-the-platform-key"})
    s.group(AnthropicSettings)
    assert "sk-ant-the-platform-key" not in redact("sent sk-ant-the-platform-key upstream")


def test_the_kernel_lists_every_struct_once(tmp_path: Path) -> None:
    """Packages' structs come from the composition root, extensions' from register_settings."""
    kernel = make_container(tmp_path).kernel()
    groups = kernel.overrides.groups
    assert groups[:3] == (Settings, LLMSettings, RoutingSettings)  # the kernel's, then the packages'
    assert EverythingSettings in groups and OpenAISettings in groups and AnthropicSettings in groups
    assert groups.count(LLMEndpointSettings) == 1  # registered by both LLM extensions, listed once
    assert kernel.hooks.errors.total("automatos.llm.anthropic") == 0


def test_every_setting_is_in_the_readme_table(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    groups = make_container(tmp_path, plugins=()).kernel().overrides.groups
    missing = [f.env for group in groups for f in group.FIELDS if f"| `{f.env}` |" not in readme]
    assert missing == []  # scripts/settings_table.py --write brings the table up to date


def test_every_seeded_platform_setting_is_in_the_readme_table() -> None:
    from automatos.agents.seed_data import PLATFORM_SETTINGS

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [seed.key for seed in PLATFORM_SETTINGS if f"| `{seed.key}` |" not in readme]
    assert missing == []  # scripts/settings_table.py --write brings the table up to date


async def test_runtime_override_applies_without_restart(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        assert kernel.current_settings.group(LLMSettings).llm_model == "offline-echo"
        await kernel.set_setting("LLM_MODEL", "gpt-test", actor_id="admin")
        assert kernel.current_settings.group(LLMSettings).llm_model == "gpt-test"
        rows = {r["key"]: r for r in kernel.overrides.describe()}
        assert rows["LLM_MODEL"]["source"] == "system_settings" and rows["LLM_MODEL"]["value"] == "gpt-test"
        await kernel.set_setting("LLM_MODEL", None)
        assert kernel.current_settings.group(LLMSettings).llm_model == "offline-echo"


async def test_a_runtime_override_wins_over_a_keyword_override(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, llm_model="from-test") as kernel:
        assert kernel.current_settings.group(LLMSettings).llm_model == "from-test"
        await kernel.set_setting("LLM_MODEL", "from-admin")
        assert kernel.current_settings.group(LLMSettings).llm_model == "from-admin"
        await kernel.set_setting("LLM_MODEL", None)
        assert kernel.current_settings.group(LLMSettings).llm_model == "from-test"


async def test_override_is_validated_like_the_environment(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        with pytest.raises(ValidationError) as bad_value:
            await kernel.set_setting("ROUTING_CACHE_TTL_HOURS", "soon")
        assert bad_value.value.field == "value" and "ROUTING_CACHE_TTL_HOURS" in bad_value.value.detail
        with pytest.raises(ValidationError) as not_runtime:
            await kernel.set_setting("DATABASE_URL", "sqlite:///x")
        assert not_runtime.value.field == "key"
        with pytest.raises(ValidationError) as out_of_range:
            await kernel.set_setting("ROUTING_LLM_CONFIDENCE_THRESHOLD", "2")
        assert out_of_range.value.field == "value" and "expected number 0-1" in out_of_range.value.detail
        assert kernel.current_settings.group(RoutingSettings).routing_cache_ttl_hours == 24.0


async def test_override_reaches_another_node(tmp_path: Path, redis_url: str) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with (
        running_kernel(tmp_path / "a", database_url=db, redis_url=redis_url) as a,
        running_kernel(tmp_path / "b", database_url=db, redis_url=redis_url) as b,
    ):
        await a.set_setting("FEATURE_MARKETPLACE", "false")
        for _ in range(500):
            if b.current_settings.feature_marketplace is False:
                break
            await asyncio.sleep(0.01)
        assert b.current_settings.feature_marketplace is False


async def test_backends_are_chosen_by_name_including_extension_ones(tmp_path: Path) -> None:
    async with running_kernel(tmp_path, kv_backend="everything") as kernel:
        from automatos.extensions.cache.memory import MemoryKV

        assert type(kernel.backends.kv) is MemoryKV and kernel.current_settings.kv_backend == "everything"


async def test_unknown_backend_stops_startup_and_releases_what_was_opened(tmp_path: Path) -> None:
    from automatos.kernel.core import Kernel
    from tests.helpers import make_container

    kernel: Kernel = make_container(tmp_path, kv_backend="memcached").kernel()
    with pytest.raises(SettingsError) as info:
        await kernel.start()
    assert "KV_BACKEND='memcached': no loaded extension registers a kv backend of that name" in str(info.value)
    assert "available: everything, memory, redis" in str(info.value)
    assert kernel.started is False and kernel._opened == []  # the blob backend opened first was closed
    assert kernel.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool's


async def test_overrides_reach_the_settings_hooks_receive(tmp_path: Path) -> None:
    import logging

    async with running_kernel(tmp_path) as kernel:
        await kernel.set_setting("LLM_PROVIDER", "test-echo")
        await kernel.set_setting("LOG_LEVEL", "warning")
        assert kernel.hooks.settings.group(LLMSettings).llm_provider == "test-echo"
        assert logging.getLogger("automatos").level == logging.WARNING
        await kernel.set_setting("LOG_LEVEL", None)
