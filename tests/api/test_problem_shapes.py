"""What a client sees for a body that does not fit: a problem naming the whole path, or the body.

A nested unknown field names its path (``model_settings.bogus``, not ``bogus``); no body at all is
"a JSON body is required" on ``body``; a body that is not JSON (malformed, truncated, a lone
surrogate escape) is a 400 ``malformed-body`` naming ``body`` with the decoder's words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from tests.helpers import AppClient, make_container, serve_app

HEADERS = {
    "X-Test-User": "root;admin",
    "X-Admin-Override": "true",
    "X-Workspace-ID": "default",
    "content-type": "application/json",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async with serve_app(create_app(make_container(tmp_path))) as test_client:
        yield test_client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"] and body["title"]
    return body


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/agents", b'{"name":"A","slug":"a","model_settings":{"bogus":1}}', "model_settings.bogus"),
        (
            "/v1/chat/completions",
            b'{"model":"m","messages":[{"role":"user","content":"hi","bogus":1}]}',
            "messages[0].bogus",
        ),
        ("/api/agents", b'{"name":"A","slug":"a","bogus":1}', "bogus"),  # top level: the name alone
        ("/api/agents", b'{"slug":"a"}', "name"),
    ],
)
async def test_an_unknown_or_missing_field_is_named_by_its_full_path(
    client: AppClient, url: str, body: bytes, field: str
) -> None:
    answer = problem(await client.post(url, content=body, headers=HEADERS), 422)
    assert answer["field"] == field
    assert answer["detail"].startswith(f"{field}: ")
    assert answer["errors"][0]["field"] == field


@pytest.mark.parametrize("url", ["/api/agents", "/v1/chat/completions", "/api/api-keys"])
async def test_no_body_says_a_json_body_is_required(client: AppClient, url: str) -> None:
    answer = problem(await client.post(url, content=b"", headers=HEADERS), 422)
    assert answer["field"] == "body"
    assert answer["detail"] == "body: a JSON body is required"
    assert "'data'" not in answer["detail"]


@pytest.mark.parametrize(
    ("body", "decoder_says"),
    [
        (b'{"name":', "truncated"),
        (b"{nope}", "malformed"),
        (b'{"name":"\\ud800","slug":"a"}', "surrogate"),
        (b'"\\ud800"', "truncated"),
    ],
)
async def test_a_body_that_is_not_json_is_a_malformed_body_problem(
    client: AppClient, body: bytes, decoder_says: str
) -> None:
    answer = problem(await client.post("/api/agents", content=body, headers=HEADERS), 400)
    assert answer["type"].endswith("/malformed-body")
    assert answer["title"] == "Malformed JSON body"
    assert answer["field"] == "body"
    assert decoder_says in answer["detail"]


async def test_the_openai_surface_names_the_param_too(client: AppClient) -> None:
    response = await client.post("/v1/chat/completions", content=b"", headers=HEADERS)
    assert problem(response, 422)["error"]["param"] == "body"
