"""The tools tests' shared world: an app with user ``alice``, workspace ``alpha`` and its agent
``writer`` (a skill, instructions; the offline model), a recording provider in front of the offline
one, and fake plugin proxies (:mod:`tests.tools.fakes`) to assign to the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from automatos.api.app import create_app
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.types import Workspace
from tests.helpers import AppClient, make_container, running_kernel, serve_app
from tests.tools.fakes import Plugins
from tests.tools.prompts import Recorder, record_prompts
from tests.workspaces.helpers import new_workspace

HEADERS = {"X-Test-User": "alice"}


class World:
    def __init__(self, client: AppClient, kernel: Kernel, plugins: Plugins, recorder: Recorder) -> None:
        self.client, self.kernel, self.plugins, self.recorder = client, kernel, plugins, recorder
        self.ids: dict[str, str] = {}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    container = make_container(tmp_path, feature_sandbox=False)
    async with serve_app(create_app(container)) as client:
        kernel: Kernel = client.app.state["kernel"]
        async with kernel.store.sessionmaker.begin() as session:
            session.add(m.User(id="alice", email="alice@example.test", display_name="alice"))
        made = await client.post("/api/workspaces", json={"slug": "alpha", "name": "Alpha"}, headers=HEADERS)
        assert made.status_code == 201, made.text
        alpha = made.json()["id"]
        recorder = await record_prompts(client, alpha)
        world = World(client, kernel, Plugins(kernel), recorder)
        world.ids["alpha"] = alpha
        in_alpha = {**HEADERS, "X-Workspace-ID": alpha}
        skill = await client.post(
            "/api/skills", json={"name": "Brief", "slug": "brief", "instructions": "Answer briefly."}, headers=in_alpha
        )
        assert skill.status_code == 201, skill.text
        agent = await client.post(
            "/api/agents",
            json={"name": "Writer", "slug": "writer", "instructions": "Sign as Writer.", "skill_ids": ["brief"]},
            headers=in_alpha,
        )
        assert agent.status_code == 201, agent.text
        world.ids["writer"] = agent.json()["id"]
        yield world


class Kernelled:
    """A running kernel with fake plugin proxies and two workspaces, ``one`` and ``two``."""

    def __init__(self, kernel: Kernel, plugins: Plugins, one: Workspace, two: Workspace) -> None:
        self.kernel, self.plugins, self.one, self.two = kernel, plugins, one, two


@pytest.fixture
async def kernelled(tmp_path: Path) -> AsyncIterator[Kernelled]:
    async with running_kernel(tmp_path) as kernel:
        plugins = Plugins(kernel)
        one = await new_workspace(kernel, "one", "One")
        two = await new_workspace(kernel, "two", "Two")
        yield Kernelled(kernel, plugins, one, two)
