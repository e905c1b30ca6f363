"""Every list pages the same way: one default page size and one maximum (``automatos.api.pagination``).

Checked on the OpenAPI schema the app serves, so a new list route that picks its own default (as
``/api/workspaces`` once did with 50 while the others said 100) fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tests.helpers import AppClient, make_container, serve_app

ROOT = {"X-Test-User": "root;admin"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app = create_app(make_container(tmp_path))
    async with serve_app(app) as test_client:
        yield test_client


async def test_every_list_has_the_same_default_and_maximum_page_size(client: AppClient) -> None:
    schema: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    seen: dict[str, tuple[Any, Any]] = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "limit" and parameter.get("in") == "query":
                    found = parameter["schema"]
                    if "oneOf" in found:  # an optional parameter is documented as one of (integer, null)
                        found = next(s for s in found["oneOf"] if s.get("type") == "integer")
                    seen[f"{method.upper()} {path}"] = (found.get("default"), found.get("maximum"))
    assert len(seen) >= 10  # the lists are found at all
    assert {route: v for route, v in seen.items() if v != (DEFAULT_LIMIT, MAX_LIMIT)} == {}


async def test_runtime_settings_are_a_page(client: AppClient) -> None:
    page = (await client.get("/api/settings?limit=2&offset=1", headers=ROOT)).json()
    assert set(page) == {"items", "total", "offset", "limit"}
    assert page["offset"] == 1 and page["limit"] == 2 and len(page["items"]) == 2 and page["total"] > 3
    everything = (await client.get("/api/settings", headers=ROOT)).json()
    assert [s["key"] for s in everything["items"][1:3]] == [s["key"] for s in page["items"]]
    one = (await client.get("/api/settings/LLM_MODEL", headers=ROOT)).json()
    assert one["key"] == "LLM_MODEL" and one["source"] == "environment"
    missing = await client.get("/api/settings/NOPE", headers=ROOT)
    assert missing.status_code == 404 and missing.json()["field"] == "key"
