"""One node of the scale-out proof as an OS process of its own (tests/recipes/test_scale_out.py).

``python -m tests.recipes.node api SETTINGS_JSON PORT`` serves the app with uvicorn, as
``automatos serve`` does; ``python -m tests.recipes.node worker SETTINGS_JSON`` serves recipe steps,
as ``automatos worker --queue recipes`` does (:func:`automatos.cli.worker.serve_recipes`), stopping
on SIGTERM. Both are built by :func:`tests.helpers.make_container` so that the test extension (its
``X-Test-User`` sign-in) is loaded as it is in the suite; the settings come as JSON (``data_dir``
is the node's own directory).

With ``AUTOMATOS_NODE_TALLY=<file>`` in its environment a node also loads :func:`tally` (a tool
``tally`` that does nothing but append the step's idempotency key and its process id to that file):
bench/recipes_workers.py counts the executions, and which worker ran each, from the tool's side.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from automatos import ToolSpec, hookimpl
from automatos.kernel.types import IDEMPOTENCY_KEY

TALLY_ENV = "AUTOMATOS_NODE_TALLY"


class TallyTools:
    """``tally``: returns its arguments; with a file, appends ``<idempotency key> <pid>`` to it first."""

    name = "node-tally"

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.fd: int | None = None

    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        return [ToolSpec(name="tally", description="does nothing; counts its calls", provider=self.name)]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> Any:
        if self.path:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(self.fd, f"{IDEMPOTENCY_KEY.get()} {os.getpid()}\n".encode())
        return dict(arguments)


class TallyExtension:
    def __init__(self) -> None:
        self.tools = TallyTools(os.environ.get(TALLY_ENV))

    @hookimpl
    def register_tool_providers(self, register: Callable[[Any], None]) -> None:
        register(self.tools)


def tally() -> Any:
    """The extension's candidate (the API process that defines recipes using ``tally`` loads it too)."""
    from tests.helpers import candidate

    return candidate("tests.recipes.node", "tests.node-tally", loader=TallyExtension)


def _container(raw: str) -> Any:
    from tests.helpers import EVERYTHING, make_container

    settings: dict[str, Any] = json.loads(raw)
    plugins = (EVERYTHING, tally()) if os.environ.get(TALLY_ENV) else (EVERYTHING,)
    return make_container(Path(settings.pop("data_dir")), plugins=plugins, **settings)


async def _worker(raw: str) -> None:
    from automatos.cli.worker import serve_recipes
    from automatos.jobs.backend import queue_backend

    container = _container(raw)
    settings = container.settings()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    backend = await queue_backend(container.hooks(), settings)
    await serve_recipes(settings, backend, stop, 1.0, container=container)


def main() -> None:
    role, raw = sys.argv[1], sys.argv[2]
    if role == "api":
        import uvicorn

        from automatos.api.app import create_app

        app = create_app(_container(raw))
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_config=None, proxy_headers=False)
    else:
        asyncio.run(_worker(raw))


if __name__ == "__main__":
    main()
