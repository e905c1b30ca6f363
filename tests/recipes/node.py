"""One node of the scale-out proof as an OS process of its own (tests/recipes/test_scale_out.py).

``python -m tests.recipes.node api SETTINGS_JSON PORT`` serves the app with uvicorn, as
``automatos serve`` does; ``python -m tests.recipes.node worker SETTINGS_JSON`` serves recipe steps,
as ``automatos worker --queue recipes`` does (:func:`automatos.cli.worker.serve_recipes`), stopping
on SIGTERM. Both are built by :func:`tests.helpers.make_container` so that the test extension (its
``X-Test-User`` sign-in) is loaded as it is in the suite; the settings come as JSON (``data_dir``
is the node's own directory).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any


def _container(raw: str) -> Any:
    from tests.helpers import make_container

    settings: dict[str, Any] = json.loads(raw)
    return make_container(Path(settings.pop("data_dir")), **settings)


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
