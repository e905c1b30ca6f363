"""/v1 refuses unknown fields at every level, as documented (issue 9 probe): ``stream_options`` and
content parts were the two models that let them through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.agents.test_openai_compat import Served, served  # noqa: F401 - the fixture


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": True, "stream_options": {"include_usage": True, "made_up": 1}}, "made_up"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "made_up": 1}]}]}, "made_up"),
    ],
)
async def test_unknown_nested_fields_are_refused(served: Served, extra: dict[str, Any], param: str) -> None:  # noqa: F811
    body = {"model": "helper", "messages": [{"role": "user", "content": "hi"}], **extra}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {served.keys['alpha']}"}
        )
    assert response.status_code == 422, response.text
    assert param in response.json()["error"]["param"]


async def test_an_image_part_is_still_refused_as_not_text(served: Served) -> None:  # noqa: F811
    body = {"model": "helper", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {served.keys['alpha']}"}
        )
    assert response.status_code == 422, response.text
    assert "only text content" in response.json()["detail"]
