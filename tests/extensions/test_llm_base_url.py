"""A workspace's LLM ``base_url`` cannot be turned against the platform's own network (issue 9 probe).

A workspace admin chooses ``base_url``; every member's chat then makes the server POST there. So,
unless the operator sets ``LLM_ALLOW_PRIVATE_BASE_URL``: credentials in the URL and literal
non-public addresses are refused when the config is written (422 naming ``config.base_url``) and
when a connection is resolved, a host *name* resolving to a non-public address is refused when
connecting, and what such an endpoint answers in an error is logged, never shown to the member.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automatos.extensions.llm import openai as openai_ext
from automatos.extensions.llm._common import base_url_problem
from automatos.extensions.llm.openai import OpenAIProvider
from automatos.kernel.errors import ProviderError
from automatos.kernel.settings import load_settings
from tests.api.test_api_keys_api import ADMIN, app_with_keys, problem
from tests.extensions.test_llm_providers import CONVERSATION, KEY, FakeOpenAI, LocalServer
from tests.helpers import make_container, serve_app

REFUSED = [
    "http://127.0.0.1:8080/v1",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/v1",
    "http://192.168.0.1/v1",
    "http://100.64.0.1/v1",
    "http://[::1]:9000/v1",
    "http://[fd00::1]/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[64:ff9b::a9fe:a9fe]/v1",
    "http://2130706433/v1",
    "http://0x7f.1/v1",
    "http://localhost:11434/v1",
    "http://api.localhost/v1",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_hosts_are_refused_unless_the_operator_allows_them(url: str) -> None:
    assert base_url_problem(url, allow_private=False) is not None
    assert base_url_problem(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url", ["http://user:pw@api.example.com/v1", "https://k@api.example.com", "http://a.example\n"]
)
def test_credentials_and_control_characters_are_always_refused(url: str) -> None:
    assert base_url_problem(url, allow_private=True) is not None


def test_public_endpoints_are_accepted() -> None:
    for url in ("https://api.openai.com/v1", "http://8.8.8.8/v1", "https://llm.example.com:8443/openai/v1?x=1"):
        assert base_url_problem(url, allow_private=False) is None, url


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/v1", "http://169.254.169.254/", "http://user:pw@api.example.com/v1", "http://a.example\n"],
)
async def test_writing_such_a_base_url_is_a_422_naming_it(tmp_path: Path, url: str) -> None:
    async with serve_app(app_with_keys(make_container(tmp_path))) as client:
        response = await client.put(
            "/api/workspaces/default/extensions/automatos.llm.openai",
            json={"enabled": True, "config": {"api_key": "sk-x", "base_url": url}},
            headers=ADMIN,
        )
        assert problem(response, 422)["field"] == "config.base_url"


async def test_the_kernel_setting_allows_writing_a_private_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write-time check follows the kernel's settings, not a variable read from the environment."""
    monkeypatch.delenv("LLM_ALLOW_PRIVATE_BASE_URL", raising=False)
    container = make_container(tmp_path, llm_allow_private_base_url=True)
    async with serve_app(app_with_keys(container)) as client:
        allowed = await client.put(
            "/api/workspaces/default/extensions/automatos.llm.openai",
            json={"enabled": True, "config": {"api_key": "sk-x", "base_url": "http://127.0.0.1:9/v1"}},
            headers=ADMIN,
        )
        assert allowed.status_code == 200, allowed.text
        # credentials in the URL stay refused whatever the switch says
        refused = await client.put(
            "/api/workspaces/default/extensions/automatos.llm.openai",
            json={"enabled": True, "config": {"api_key": "sk-x", "base_url": "http://u:p@127.0.0.1:9/v1"}},
            headers=ADMIN,
        )
        assert problem(refused, 422)["field"] == "config.base_url"


async def test_the_environment_alone_does_not_allow_it_when_the_settings_say_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_ALLOW_PRIVATE_BASE_URL", "true")  # not what this kernel was given
    async with serve_app(app_with_keys(make_container(tmp_path))) as client:
        response = await client.put(
            "/api/workspaces/default/extensions/automatos.llm.openai",
            json={"enabled": True, "config": {"api_key": "sk-x", "base_url": "http://127.0.0.1:9/v1"}},
            headers=ADMIN,
        )
        assert problem(response, 422)["field"] == "config.base_url"


def test_a_stored_private_base_url_gives_no_connection() -> None:
    with pytest.raises(ValueError, match="base_url"):
        openai_ext.resolve_connection(load_settings({}), {"api_key": KEY, "base_url": "http://127.0.0.1:1/v1"})
    allowed = load_settings({}, llm_allow_private_base_url=True)
    assert openai_ext.resolve_connection(allowed, {"api_key": KEY, "base_url": "http://127.0.0.1:1/v1"}) is not None


@pytest.fixture
def fake_openai() -> Iterator[tuple[FakeOpenAI, int]]:
    app = FakeOpenAI()
    with LocalServer(app) as server:
        yield app, int(server.url.rsplit(":", 1)[1])


@pytest.fixture
def internal_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A host name that resolves to loopback (what an attacker's DNS would answer)."""
    name = "llm.internal.test"
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == name else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return name


async def test_a_name_resolving_to_a_private_address_is_refused_when_connecting(
    fake_openai: tuple[FakeOpenAI, int], internal_name: str
) -> None:
    api, port = fake_openai
    config = {"api_key": KEY, "base_url": f"http://{internal_name}:{port}/v1", "max_retries": 0}
    connection = openai_ext.resolve_connection(load_settings({}), config)
    assert connection is not None  # a name passes the write-time check: it is checked when connecting
    with pytest.raises(ProviderError) as caught:
        await OpenAIProvider(connection).complete(CONVERSATION, model="echo-private")
    assert caught.value.kind == "unavailable"
    assert api.seen("echo-private") == []  # nothing reached the server
    # the operator's switch uses the ordinary pool (whose resolver this test does not patch)
    config["base_url"] = f"http://127.0.0.1:{port}/v1"
    allowed = openai_ext.resolve_connection(load_settings({}, llm_allow_private_base_url=True), config)
    assert allowed is not None
    assert (await OpenAIProvider(allowed).complete(CONVERSATION, model="echo-private")).finish_reason == "stop"


async def test_an_error_body_of_a_workspace_endpoint_is_not_shown(
    fake_openai: tuple[FakeOpenAI, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = fake_openai
    config = {"api_key": KEY, "base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0}
    connection = openai_ext.resolve_connection(load_settings({}, llm_allow_private_base_url=True), config)
    assert connection is not None
    with pytest.raises(ProviderError) as caught:
        await OpenAIProvider(connection).complete(CONVERSATION, model="fail-400")
    assert caught.value.kind == "bad_request" and "HTTP 400" in caught.value.detail
    assert "temperature" not in caught.value.detail  # the body's message: in the log only
    assert any("temperature" in r.getMessage() for r in caplog.records if r.name == "automatos.llm")
