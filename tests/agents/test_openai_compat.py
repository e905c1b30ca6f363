"""The OpenAI-compatible endpoint, driven by the official ``openai`` client pointed at a served app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from automatos.api.app import create_app
from automatos.chat import models as cm
from automatos.kernel.core import Kernel
from tests.agents.test_chat import add_agent, build_world
from tests.helpers import make_container, serve_http


class Served:
    def __init__(self, url: str, kernel: Kernel, ids: dict[str, str], keys: dict[str, str]) -> None:
        self.url, self.kernel, self.ids, self.keys = url, kernel, ids, keys

    def client(self, key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    app = create_app(make_container(tmp_path))
    async with serve_http(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        kernel: Kernel = app.state["kernel"]
        world = await build_world(http, kernel)  # type: ignore[arg-type]
        keys = {}
        for user, slug in (("alice", "alpha"), ("bob", "bravo")):
            made = await http.post(
                "/api/api-keys",
                json={"name": "sdk"},
                headers={"X-Test-User": user, "X-Workspace-ID": world.ids[slug]},
            )
            assert made.status_code == 201, made.text
            keys[slug] = made.json()["key"]
        yield Served(url, kernel, world.ids, keys)


async def usage_rows(kernel: Kernel, workspace_id: str) -> list[cm.LLMUsage]:
    async with kernel.store.sessionmaker() as session:
        query = select(cm.LLMUsage).where(cm.LLMUsage.workspace_id == workspace_id)
        return list((await session.execute(query)).scalars().all())


async def test_models_are_the_workspaces_agents(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        models = await client.models.list()
    assert [m.id for m in models.data] == ["helper"]
    assert models.data[0].owned_by == "alpha"
    async with served.client(served.keys["bravo"]) as client:
        assert [m.id for m in (await client.models.list()).data] == ["b-secret-agent"]


async def test_completion_and_stream_through_the_sdk(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        done = await client.chat.completions.create(
            model="helper", messages=[{"role": "user", "content": "hello sdk"}], temperature=0.2, max_tokens=50
        )
        assert done.choices[0].message.content == "[offline] hello sdk"
        assert done.choices[0].finish_reason == "stop" and done.model == "helper"
        assert done.usage is not None and done.usage.completion_tokens == 3
        assert done.usage.total_tokens == done.usage.prompt_tokens + 3

        stream = await client.chat.completions.create(
            model="helper",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "streamed "}, {"type": "text", "text": "words"}]},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces, finish, usage = [], None, None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage
        assert "".join(pieces) == "[offline] streamed words"
        assert finish == "stop" and usage is not None and usage.completion_tokens == 3

        cut = await client.chat.completions.create(
            model="helper", messages=[{"role": "user", "content": "one two three four"}], max_completion_tokens=2
        )
        assert cut.choices[0].finish_reason == "length" and cut.choices[0].message.content == "[offline] one"
    recorded = await usage_rows(served.kernel, served.ids["alpha"])
    assert len(recorded) == 3 and {r.agent_id for r in recorded} == {served.ids["helper"]}
    assert all(r.session_id is None and r.provider == "offline" for r in recorded)


async def test_errors_reach_the_sdk_with_their_reason(served: Served) -> None:
    await add_agent(served.kernel, served.ids["alpha"], "gpt", model_settings={"provider": "openai", "model": "x"})
    async with served.client(served.keys["alpha"]) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="nobody", messages=[{"role": "user", "content": "hi"}])
        assert "nobody" in str(missing.value) and missing.value.body["param"] == "model"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError):  # another workspace's agent is not there at all
            await client.chat.completions.create(model="b-secret-agent", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.UnprocessableEntityError) as bad:
            await client.chat.completions.create(
                model="helper", messages=[{"role": "user", "content": "hi"}], temperature=5
            )
        assert "temperature" in str(bad.value)
        with pytest.raises(openai.UnprocessableEntityError) as image:
            await client.chat.completions.create(
                model="helper",
                messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}],
            )
        assert "messages[0].content" in str(image.value)
        # the workspace has not configured openai: its admins' to fix (409 naming model), not a 5xx
        with pytest.raises(openai.ConflictError) as off:
            await client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}])
        assert off.value.status_code == 409 and "openai" in str(off.value)
        assert off.value.body["param"] == "model" and off.value.body["code"] == "not_enabled"  # type: ignore[index]
        assert off.value.response.headers["x-should-retry"] == "false"  # the SDK must not retry it
        with pytest.raises(openai.ConflictError):
            await client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True)
    async with served.client("atk_not_a_real_key_at_all") as client:
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()
    statuses = sorted(r.status for r in await usage_rows(served.kernel, served.ids["alpha"]))
    assert statuses == ["error", "error"]  # the provider failures are accounted too


async def test_raw_error_body_is_problem_json_with_an_openai_error(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={"model": "helper", "messages": []},
            headers={"Authorization": f"Bearer {served.keys['alpha']}"},
        )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["field"] == "messages" and body["error"]["param"] == "messages"
    assert body["error"]["type"] == "invalid_request_error"


# -- honesty: what is not honoured is refused, not dropped ---------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("response_format", {"type": "json_object"}),
        ("stop", ["\n"]),
        ("logprobs", True),
        ("seed", 7),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 1.0),
        ("n", 2),
        ("top_p", 0.5),
        ("logit_bias", {"50256": -100}),
        ("parallel_tool_calls", False),
        ("modalities", ["text", "audio"]),
    ],
)
async def test_unhonoured_parameters_are_refused_by_name(served: Served, param: str, value: Any) -> None:
    async with served.client(served.keys["alpha"]) as client:
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            await client.chat.completions.create(
                model="helper", messages=[{"role": "user", "content": "hi"}], **{param: value}
            )
    assert refused.value.body["param"] == param  # type: ignore[index]
    assert param in refused.value.body["message"]  # type: ignore[index]


async def test_defaults_of_unhonoured_parameters_and_user_are_accepted(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        done = await client.chat.completions.create(
            model="helper",
            messages=[{"role": "user", "content": "plain"}],
            n=1,
            top_p=1,
            presence_penalty=0,
            frequency_penalty=0,
            user="someone",
            response_format={"type": "text"},
        )
    assert done.choices[0].message.content == "[offline] plain"


async def test_unknown_fields_and_malformed_tool_messages_are_refused(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        with pytest.raises(openai.UnprocessableEntityError) as unknown:
            await client.chat.completions.create(
                model="helper", messages=[{"role": "user", "content": "hi"}], extra_body={"made_up": 1}
            )
        assert unknown.value.body["param"] == "made_up"  # type: ignore[index]
        refused: list[tuple[list[Any], str]] = [
            ([{"role": "tool", "content": "42"}], "messages[1].tool_call_id"),  # which call it answers
            ([{"role": "user", "content": "x", "tool_call_id": "c1"}], "messages[1].tool_call_id"),
            (
                [
                    {
                        "role": "user",
                        "content": "x",
                        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                    }
                ],
                "messages[1].tool_calls",
            ),
            ([{"role": "function", "name": "f", "content": "42"}], "messages[1].role"),
        ]
        for extra, param in refused:
            with pytest.raises(openai.UnprocessableEntityError) as bad:
                await client.chat.completions.create(
                    model="helper", messages=[{"role": "user", "content": "hi"}, *extra]
                )
            assert bad.value.body["param"] == param, (extra, bad.value.body)  # type: ignore[index]


async def test_completions_answer_200_streamed_or_not(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.keys['alpha']}"}
    body = {"model": "helper", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        plain = await http.post("/v1/chat/completions", json=body, headers=headers)
        assert plain.status_code == 200, plain.text
        async with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}, headers=headers) as s:
            assert s.status_code == 200
            text = "".join([chunk async for chunk in s.aiter_text()])
    assert text.rstrip().endswith("data: [DONE]")


async def test_retrieve_a_model(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        card = await client.models.retrieve("helper")
        assert card.id == "helper" and card.owned_by == "alpha"
        with pytest.raises(openai.NotFoundError) as missing:
            await client.models.retrieve("b-secret-agent")  # bravo's agent
        assert missing.value.body["param"] == "model"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("nobody")


async def test_paused_agents_are_not_models(served: Served) -> None:
    await add_agent(served.kernel, served.ids["alpha"], "napper", status="paused")
    async with served.client(served.keys["alpha"]) as client:
        assert "napper" not in [m.id for m in (await client.models.list()).data]
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("napper")


async def test_embeddings_through_the_sdk(served: Served) -> None:
    async with served.client(served.keys["alpha"]) as client:
        default = await client.embeddings.create(model="offline-hashed-bow-256", input=["cats purr", "dogs bark"])
        assert [d.index for d in default.data] == [0, 1] and len(default.data[0].embedding) == 256
        assert default.model == "offline-hashed-bow-256"
        assert default.usage.prompt_tokens > 0 and default.usage.total_tokens == default.usage.prompt_tokens
        floats = await client.embeddings.create(model="offline", input="cats purr", encoding_format="float")
        assert floats.data[0].embedding == pytest.approx(default.data[0].embedding, abs=1e-6)
        norm = sum(x * x for x in floats.data[0].embedding)
        assert norm == pytest.approx(1.0, abs=1e-6)
        with pytest.raises(openai.NotFoundError) as unknown:
            await client.embeddings.create(model="text-embedding-3-small", input="x")
        assert unknown.value.body["param"] == "model"  # type: ignore[index]
        assert "offline-hashed-bow-256" in unknown.value.body["message"]  # type: ignore[index]
        with pytest.raises(openai.UnprocessableEntityError) as tokens:
            await client.embeddings.create(model="offline", input=[[1, 2, 3]])
        assert tokens.value.body["param"] == "input"  # type: ignore[index]
        with pytest.raises(openai.UnprocessableEntityError) as long:
            await client.embeddings.create(model="offline", input=["ok", "x" * 40_000])
        assert long.value.body["param"] == "input[1]"  # type: ignore[index]
        with pytest.raises(openai.UnprocessableEntityError) as many:
            await client.embeddings.create(model="offline", input=["x"] * 2049)
        assert many.value.body["param"] == "input"  # type: ignore[index]
        with pytest.raises(openai.UnprocessableEntityError) as dims:
            await client.embeddings.create(model="offline", input="x", dimensions=64)
        assert dims.value.body["param"] == "dimensions"  # type: ignore[index]
    recorded = [r for r in await usage_rows(served.kernel, served.ids["alpha"]) if r.model.startswith("offline-hashed")]
    assert len(recorded) == 2 and all(r.agent_id is None and r.prompt_tokens > 0 for r in recorded)


async def test_a_wrong_key_on_v1_has_an_openai_error(served: Served) -> None:
    async with served.client("atk_AAAAAAAAAAAA_not-a-real-secret-at-all-0000000000000") as client:
        with pytest.raises(openai.AuthenticationError) as denied:
            await client.models.list()
    assert denied.value.status_code == 401
    assert denied.value.body["type"] == "authentication_error" and denied.value.body["message"]  # type: ignore[index]
