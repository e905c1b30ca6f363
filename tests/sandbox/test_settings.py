"""SandboxSettings: the sandbox's own variables, read like every settings struct, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import load_settings
from automatos.sandbox.settings import SandboxSettings
from tests.helpers import make_container


def test_the_same_variables_as_ever() -> None:
    env = {
        "SANDBOX_MODE": "queue",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SANDBOX_POOL_SIZE": "3",
        "SANDBOX_QUEUE_NAME": "runs",
        "SANDBOX_WORKSPACE_MAX_SHARE": "0.25",
        "SANDBOX_HTTP_ALLOW_PRIVATE": "true",
    }
    own = load_settings(env).group(SandboxSettings)
    assert (own.sandbox_mode, own.sandbox_pool_size, own.sandbox_queue_name) == ("queue", 3, "runs")
    assert own.sandbox_workspace_max_share == 0.25 and own.sandbox_http_allow_private is True
    # keyword overrides by field name keep working (what tests and the CLI use)
    assert load_settings({}, sandbox_pool_size=1).group(SandboxSettings).sandbox_pool_size == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SANDBOX_POOL_SIZE": "0"}, "SANDBOX_POOL_SIZE"),
        ({"SANDBOX_MODE": "cloud"}, "SANDBOX_MODE"),
        ({"SANDBOX_WORKSPACE_MAX_SHARE": "1.5"}, "SANDBOX_WORKSPACE_MAX_SHARE"),
        ({"SANDBOX_MODE": "queue"}, "REDIS_URL"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env).group(SandboxSettings)


def test_the_kernel_checks_them_when_it_is_built(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SANDBOX_MODE=queue needs REDIS_URL"):
        make_container(tmp_path, sandbox_mode="queue").kernel()
