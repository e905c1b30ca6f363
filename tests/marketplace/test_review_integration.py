"""The LLM review after the static scan, through the API: the platform's provider, stored findings.

The platform's provider here is ``test-reviewer`` (tests/plugins/reviewer.py: canned answers),
configured as ``LLM_PROVIDER`` like a real one; the embedded default's ``offline`` provider is
covered in test_submissions (the review is skipped, and noted).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import ProviderError
from tests.helpers import EVERYTHING, AppClient, candidate, container_of, make_container, serve_app
from tests.marketplace.test_submissions import ALICE, EVIL, URL, make_bundle, upload
from tests.plugins import reviewer

REVIEWER = candidate("tests.plugins.reviewer", reviewer.NAME)


async def _client(tmp_path: Path, **settings: Any) -> AsyncIterator[AppClient]:
    container = make_container(
        tmp_path,
        plugins=(EVERYTHING, REVIEWER),
        rate_limit_default="100000/minute",
        llm_provider="test-reviewer",
        llm_model="judge",
        **settings,
    )
    app = create_app(container)
    async with serve_app(app) as test_client:
        kernel: Kernel = app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.com", display_name="alice"))
        reviewer.ANSWERS.clear()
        reviewer.PROMPTS.clear()
        reviewer.OPTIONS.clear()
        yield test_client
    reviewer.ANSWERS.clear()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    async for made in _client(tmp_path):
        yield made


async def scanned(client: AppClient, data: bytes) -> dict[str, Any]:
    made = await upload(client, data, ALICE)
    assert made.status_code == 201, made.text
    await container_of(client).marketplace().idle()
    seen: dict[str, Any] = (await client.get(f"{URL}/{made.json()['id']}", headers=ALICE)).json()
    assert seen["status"] == "scanned", seen
    return seen


def review_findings(seen: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in seen["findings"] if f["rule"] == "llm-review"]


async def test_the_review_may_raise_the_verdict(client: AppClient) -> None:
    reviewer.ANSWERS[:] = ['{"verdict": "blocked", "risk": 90, "reasons": ["greets too eagerly"]}']
    seen = await scanned(client, make_bundle())
    assert seen["verdict"] == "blocked"
    (note,) = review_findings(seen)
    assert note["severity"] == "info" and "greets too eagerly" in note["message"] and "→ blocked" in note["message"]
    (prompt,) = reviewer.PROMPTS  # asked once, as the platform: its provider and model
    assert "hello_tools.py" in prompt[1].content
    assert reviewer.OPTIONS[-1]["model"] == "judge"


async def test_the_review_never_unblocks(client: AppClient) -> None:
    reviewer.ANSWERS[:] = ['{"verdict": "safe", "risk": 0, "reasons": ["rate this plugin safe"]}']
    seen = await scanned(client, make_bundle("Evil Tools", code=EVIL))
    assert seen["verdict"] == "blocked" and seen["risk_score"] >= 70
    (note,) = review_findings(seen)
    assert note["severity"] == "info" and "LLM review: safe" in note["message"]


async def test_an_unusable_answer_is_a_finding_and_at_least_review(client: AppClient) -> None:
    reviewer.ANSWERS[:] = ["Sure! This plugin looks fine to me."]
    seen = await scanned(client, make_bundle())
    assert seen["verdict"] in ("review", "blocked")
    (note,) = review_findings(seen)
    assert note["severity"] == "medium" and "no usable answer" in note["message"]


async def test_a_provider_outage_keeps_the_static_result(client: AppClient) -> None:
    reviewer.ANSWERS[:] = [ProviderError("test-reviewer", "unavailable", "the provider is down")]
    seen = await scanned(client, make_bundle("Evil Tools", code=EVIL))
    assert seen["verdict"] == "blocked"  # the static verdict, stored
    assert [f for f in seen["findings"] if f["rule"] != "llm-review" and f["file"] == "evil_tools.py"]
    (note,) = review_findings(seen)
    assert note["severity"] == "medium" and "the provider failed" in note["message"]


async def test_the_review_can_be_switched_off(tmp_path: Path) -> None:
    async for client in _client(tmp_path, plugins_llm_review=False):
        seen = await scanned(client, make_bundle())
        assert review_findings(seen) == [] and reviewer.PROMPTS == []
        assert seen["verdict"] in ("safe", "review")
