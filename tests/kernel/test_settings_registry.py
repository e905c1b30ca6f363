"""The one settings registry: declarations from every owner, one implementation behind
``/api/settings`` (run-time environment settings) and ``/api/platform-settings`` (declared platform
settings), workspace-scoped reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from automatos.agents.platform_settings import SEEDED_DECLARED
from automatos.extensions.auth.api_keys.settings import MAX_LIFETIME_DAYS, MAX_PER_WORKSPACE, MAX_REQUESTS_PER_MINUTE
from automatos.kernel.errors import NotFoundError, ValidationError
from automatos.kernel.settings_registry import Declared, SettingsRegistry, check_value
from automatos.sandbox.settings import SANDBOX_DECLARED
from tests.helpers import make_container, running_kernel
from tests.plugins.everything import GREETING_LIMIT

HOSTS = Declared(
    key="test.hosts", scope="workspace", kind="string_list", default=[], description="Hosts a test may reach."
)
COLOUR = Declared(
    key="test.colour", scope="platform", kind="string", default="red", description="A colour.", choices=("red", "blue")
)


def test_values_are_checked_against_their_declaration() -> None:
    assert check_value(COLOUR, "blue") == "blue"
    assert check_value(HOSTS, ["a.example", "b.example"]) == ["a.example", "b.example"]
    assert check_value(MAX_PER_WORKSPACE, 5) == 5
    for spec, bad, words in (
        (COLOUR, "green", "test.colour must be one of red, blue"),
        (HOSTS, "a.example", "test.hosts must be a list of strings"),
        (HOSTS, ["a", 1], "test.hosts must be a string"),
        (MAX_PER_WORKSPACE, True, "must be an integer"),
        (MAX_PER_WORKSPACE, 0, "must be from 1 to 1000000"),
    ):
        with pytest.raises(ValidationError) as info:
            check_value(spec, bad)
        assert info.value.field == "value" and words in info.value.detail


def test_owners_declarations_agree_with_the_seed() -> None:
    """The sandbox and the API-key extension declare the settings they read; the seed seeds the same."""
    seeded = {d.key: d for d in SEEDED_DECLARED}
    owners = (*SANDBOX_DECLARED, MAX_LIFETIME_DAYS, MAX_REQUESTS_PER_MINUTE, MAX_PER_WORKSPACE)
    for own in (d for d in owners if d.scope == "platform"):  # workspace ones are not seeded
        assert seeded[own.key] == own, own.key


def test_the_kernel_registry_holds_every_owners_declarations(tmp_path: Path) -> None:
    registry = make_container(tmp_path).kernel().settings_registry
    keys = {d.key for d in registry.declarations("platform")}
    assert {"chat.history_limit", "sandbox.memory_mb", "api_keys.max_per_workspace"} <= keys  # packages, extension
    assert registry.declared[GREETING_LIMIT.key] is GREETING_LIMIT  # a third party's, through register_settings
    with pytest.raises(NotFoundError) as unknown:
        registry.check_platform("chat.histroy_limit", 3)
    assert unknown.value.field == "key" and "chat.history_limit" in unknown.value.detail


def test_a_key_declared_twice_differently_keeps_the_first(caplog: pytest.LogCaptureFixture) -> None:
    other = Declared(key=COLOUR.key, scope="platform", kind="string", default="blue", description="Another.")
    registry = SettingsRegistry(None, declared=(COLOUR, COLOUR, other))  # type: ignore[arg-type]
    assert registry.declared[COLOUR.key] is COLOUR
    assert "declared twice, differently" in caplog.text


def test_workspace_values_fall_back_to_the_declared_default(caplog: pytest.LogCaptureFixture) -> None:
    registry = SettingsRegistry(None, declared=(HOSTS,))  # type: ignore[arg-type]
    assert registry.workspace_value({}, HOSTS.key) == []
    assert registry.workspace_value({HOSTS.key: ["a.example"]}, HOSTS.key) == ["a.example"]
    assert registry.workspace_value({HOSTS.key: "a.example"}, HOSTS.key) == []  # not a list: the default
    assert "does not fit its declaration" in caplog.text


async def test_one_registry_serves_runtime_and_platform_settings(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        registry = kernel.settings_registry
        # run-time environment settings (/api/settings)
        assert registry.runtime_setting("LLM_MODEL").source == "environment"
        changed = await registry.set_runtime("LLM_MODEL", "gpt-test", actor_id="admin")
        assert (changed.value, changed.source) == ("gpt-test", "system_settings")
        with pytest.raises(NotFoundError):
            registry.runtime_setting("DATABASE_URL")
        # declared platform settings (/api/platform-settings), read by code through the same object
        assert await registry.value(MAX_PER_WORKSPACE.key) == 1000
        record = await registry.set_platform(MAX_PER_WORKSPACE.key, 7, actor_id="admin")
        assert (record.value, record.kind, record.minimum) == (7, "integer", 1)
        assert await registry.value(MAX_PER_WORKSPACE.key) == 7  # this node reads its own write at once
        with pytest.raises(ValidationError):
            await registry.set_platform(MAX_PER_WORKSPACE.key, 0, actor_id="admin")
