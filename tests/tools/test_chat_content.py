"""An agent's assigned plugins' content in its system prompt: ``/api/chat`` (JSON and SSE) and
``/v1/chat/completions``, in assignment order, between the agent's own skills and its instructions.

What the model received is read from a recording provider put in front of the offline one.
"""

from __future__ import annotations

import pytest

from automatos.kernel.core import Kernel
from automatos.kernel.types import ContentItem, Workspace
from tests.helpers import container_of
from tests.tools.conftest import HEADERS, World
from tests.tools.fakes import FakePlugin


async def _workspace(kernel: Kernel, ref: str) -> Workspace:
    workspace = await kernel.directory.workspace(ref)
    assert workspace is not None
    return workspace


def item(kind: str, name: str, text: str) -> ContentItem:
    return ContentItem(kind=kind, name=name, text=text)


async def assign(world: World, *, failing: bool = False) -> None:
    writer = world.ids["writer"]
    plugins = [
        FakePlugin("second", content=[item("skill", "Cards", "Make cards.")], assignments={writer: 2}),
        FakePlugin(
            "first",
            content=[item("prompt", "Tone", "Be kind."), item("skill", "Links", "Check links.")],
            assignments={writer: 1},
        ),
        FakePlugin("other", content=[item("skill", "Elsewhere", "Not for the writer.")], assignments={"x": 0}),
    ]
    if failing:
        plugins.append(
            FakePlugin("broken", content=[item("skill", "X", "never")], assignments={writer: 0}, fail_content=True)
        )
    await world.plugins.set(world.ids["alpha"], *plugins)


EXPECTED_TAIL = (
    "## Skill: Brief\nAnswer briefly.\n\n"
    "## Prompt: Tone\nBe kind.\n\n"
    "## Skill: Links\nCheck links.\n\n"
    "## Skill: Cards\nMake cards.\n\n"
    "Sign as Writer."
)


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_carries_the_assigned_content_in_order(world: World, stream: bool) -> None:
    await assign(world)
    response = await world.client.post(
        "/api/chat",
        json={"agent": "writer", "content": "hello", "stream": stream},
        headers={**HEADERS, "X-Workspace-ID": world.ids["alpha"]},
    )
    assert response.status_code in (200, 201), response.text
    system = world.recorder.system()
    assert system.endswith(EXPECTED_TAIL), system
    assert "Not for the writer" not in system


async def test_openai_compatible_completions_carry_it_too(world: World) -> None:
    await assign(world)
    response = await world.client.post(
        "/v1/chat/completions",
        json={"model": "writer", "messages": [{"role": "user", "content": "hi"}]},
        headers={**HEADERS, "X-Workspace-ID": world.ids["alpha"]},
    )
    assert response.status_code == 200, response.text
    assert world.recorder.system().endswith(EXPECTED_TAIL)


async def test_a_failing_content_provider_never_fails_the_chat(world: World) -> None:
    await assign(world, failing=True)
    response = await world.client.post(
        "/api/chat",
        json={"agent": "writer", "content": "still there?", "stream": False},
        headers={**HEADERS, "X-Workspace-ID": world.ids["alpha"]},
    )
    assert response.status_code == 201, response.text
    system = world.recorder.system()
    assert system.endswith(EXPECTED_TAIL) and "never" not in system


async def test_without_plugins_the_prompt_is_unchanged(world: World) -> None:
    service = container_of(world.client).chat()
    workspace = await _workspace(world.kernel, world.ids["alpha"])
    chat = await service.create_session(world.ids["alpha"], "writer", "", actor_id="alice")
    turn = await service.start_turn(workspace, chat.id, "q", actor_id="alice", request_id=None)
    await turn.complete()
    assert turn.messages[0].content.endswith("## Skill: Brief\nAnswer briefly.\n\nSign as Writer.")
    await assign(world)
    turn = await service.start_turn(workspace, chat.id, "q", actor_id="alice", request_id=None)
    await turn.complete()
    assert turn.messages[0].content.endswith(EXPECTED_TAIL)
