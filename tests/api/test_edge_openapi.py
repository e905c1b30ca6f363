"""The OpenAPI document says what the API does: security, workspace headers, problem+json errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.api.openapi import PUBLIC_PREFIXES
from tests.helpers import make_container, serve_app

METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_REF = "#/components/schemas/Problem"
ADMIN = {"X-Test-User": "root;admin"}


@pytest.fixture
async def schema(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with serve_app(create_app(make_container(tmp_path))) as client:
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        yield response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, item in schema["paths"].items() for m, op in item.items() if m in METHODS]


def test_security_schemes_let_the_docs_authorize(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"]["type"] == "apiKey" and schemes["apiKeyHeader"]["name"] == "X-API-Key"
    assert schemes["apiKeyHeader"]["in"] == "header"
    assert schemes["jwt"]["scheme"] == "bearer" and schemes["jwt"]["bearerFormat"] == "JWT"


def test_every_operation_has_security_except_the_public_ones(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    assert len(ops) > 40
    for path, method, op in ops:
        if path.startswith(PUBLIC_PREFIXES):
            assert op.get("security") in (None, []), (method, path)
        else:
            assert op.get("security") == [{"apiKey": []}, {"apiKeyHeader": []}, {"jwt": []}], (method, path)


def test_every_documented_error_is_problem_json_and_none_is_litestars_default(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    seen: set[str] = set()
    for path, method, op in operations(schema):
        for code, response in op["responses"].items():
            content = response.get("content", {})
            if code.startswith(("4", "5")):
                seen.add(code)
                assert list(content) == ["application/problem+json"], (method, path, code)
                assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}
            for media in content.values():  # Litestar's ValidationException shape, which the API never sends
                properties = media.get("schema", {}).get("properties", {})
                assert not {"status_code", "extra"} <= set(properties), (method, path, code)
        if not path.startswith("/health") and not path.startswith(PUBLIC_PREFIXES):
            assert {"401", "403", "429", "503"} <= set(op["responses"]), (method, path)
        if "requestBody" in op:
            assert {"400", "422"} <= set(op["responses"]), (method, path)
    assert seen >= {"400", "401", "403", "404", "408", "409", "422", "429", "503"}
    limited = schema["paths"]["/api/agents"]["get"]["responses"]["429"]
    assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(limited["headers"])


def test_workspace_headers_are_documented_where_they_apply(schema: dict[str, Any]) -> None:
    def headers(path: str, method: str) -> set[str]:
        op = schema["paths"][path][method]
        return {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}

    for path, method in (("/api/agents", "post"), ("/api/chat/sessions", "get"), ("/v1/chat/completions", "post")):
        assert {"X-Workspace-ID", "X-Admin-Override"} <= headers(path, method), (method, path)
    # a workspace named in the path: the override applies, the header does not
    assert headers("/api/workspaces/{workspace_id}", "get") == {"X-Admin-Override"}
    assert "X-Workspace-ID" not in headers("/api/workspaces", "post")


async def test_the_documented_shapes_are_what_the_api_sends(tmp_path: Path) -> None:
    """A documented 422 and 401 are problem+json as the Problem schema says (what /schema promises)."""
    async with serve_app(create_app(make_container(tmp_path))) as client:
        invalid = await client.post("/api/workspaces", json={"name": 5}, headers=ADMIN)
        assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= set(invalid.json())
        missing = await client.get("/api/agents", headers={"Authorization": "Bearer atk_not_a_key"})
        assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
