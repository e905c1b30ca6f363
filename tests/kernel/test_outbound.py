"""The kernel's check of a URL a workspace gives: one set of rules for MCP servers and LLM endpoints.

No network: only the URL as written is judged (a host *name* is left to the connection).
"""

from __future__ import annotations

import pytest

from automatos.extensions.llm._common import base_url_problem
from automatos.kernel.outbound import outbound_url_problem
from automatos.tools.mcp.client import url_problem

__all__: list[str] = []


def _problem(url: str, *, allow_private: bool = False) -> str | None:
    return outbound_url_problem(
        url, allow_private=allow_private, switch="SWITCH", credentials_hint="put them elsewhere"
    )


PRIVATE = [
    "http://127.0.0.1:8080/v1",
    "http://127.1/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:9000/",
    "http://[fd00::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://2130706433/",
    "http://2852039166/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.0.0.1%25x/",
    "http://127.0.0.1./",
    "http://localhost:11434/",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://api.localhost/",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_hosts_are_refused_unless_allowed(url: str) -> None:
    problem = _problem(url)
    assert problem is not None and "an operator may allow it with SWITCH" in problem, problem
    assert _problem(url, allow_private=True) is None


def test_a_legacy_form_is_named_with_the_address_it_is() -> None:
    assert "(2852039166, that is 169.254.169.254)" in (_problem("http://2852039166/") or "")
    assert "(127.0.0.1)" in (_problem("http://127.0.0.1/") or "")
    assert "(localhost)" in (_problem("http://localhost/") or "")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "http://8.8.8.8/v1",
        "http://[2001:4860:4860::8888]/",
        "https://llm.example.com:8443/openai/v1?x=1",
        "https://example.com./",
        "https://cafe.example/",
        "https://localhost.example.com/",
    ],
)
def test_public_hosts_and_names_are_accepted(url: str) -> None:
    assert _problem(url) is None


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "example.com"])
def test_only_http_and_https(url: str) -> None:
    assert _problem(url, allow_private=True) == "must be an http(s) URL with a host"


@pytest.mark.parametrize("url", ["http:///path", "https://"])
def test_a_host_is_needed(url: str) -> None:
    assert _problem(url, allow_private=True) == "must be an http(s) URL with a host"


def test_a_malformed_port_is_refused() -> None:
    assert _problem("http://example.com:99999/", allow_private=True) == "must be an http(s) URL"


@pytest.mark.parametrize(
    "url", ["http://user:pw@example.com/", "https://k@example.com", "http://user:pw@127.0.0.1/", "http://@example.com/"]
)
def test_credentials_are_always_refused(url: str) -> None:
    expected = "must not carry credentials (user:password@); put them elsewhere"
    assert _problem(url) == expected
    assert _problem(url, allow_private=True) == expected


@pytest.mark.parametrize(
    "url", ["http://a.example\n", "http://a.example/ x", "http://a.\texample/", " http://a.example/", "http://a\x00.b/"]
)
def test_whitespace_and_control_characters_are_always_refused(url: str) -> None:
    assert _problem(url, allow_private=True) == "must not contain whitespace or control characters"


def test_each_caller_names_its_own_switch_and_where_credentials_go() -> None:
    assert "MCP_ALLOW_PRIVATE" in (url_problem("http://127.0.0.1/", allow_private=False) or "")
    assert "LLM_ALLOW_PRIVATE_BASE_URL" in (base_url_problem("http://127.0.0.1/", allow_private=False) or "")
    assert (url_problem("http://u:p@example.com/", allow_private=True) or "").endswith("send them in headers")
    assert (base_url_problem("http://u:p@example.com/", allow_private=True) or "").endswith("the key goes in api_key")
    # the stricter reading now holds for both: a legacy IPv4 form and a zone suffix
    for url in ("http://2130706433/", "http://127.0.0.1%25x/"):
        assert url_problem(url, allow_private=False) is not None, url
        assert base_url_problem(url, allow_private=False) is not None, url
