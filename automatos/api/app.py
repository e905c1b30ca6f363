"""The Litestar app factory: a few lines, the rest is :class:`KernelPlugin`.

``uvicorn --factory --no-proxy-headers automatos.api.app:create_app`` (what ``automatos serve``
runs) builds a fresh container from the environment. Keep ``--no-proxy-headers``: the app judges
``X-Forwarded-For`` itself against ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin

import automatos
from automatos.api.openapi import install as document_openapi
from automatos.api.plugin import KernelPlugin
from automatos.container import Container
from automatos.kernel.logging import configure_logging, stop_logging

__all__ = ["create_app"]


def create_app(container: Container | None = None) -> Litestar:
    container = container or Container()
    kernel = container.kernel()
    configure_logging(kernel.settings)
    app = Litestar(
        plugins=[KernelPlugin(container)],
        logging_config=None,  # ours (configure_logging); Litestar's default would replace the root handler
        # uvicorn re-raises SIGTERM after shutdown (no atexit): drain the log queue, write the last lines directly
        on_shutdown=[stop_logging],
        openapi_config=OpenAPIConfig(
            title="Automatos",
            version=automatos.__version__,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), JsonRenderPlugin()],
        ),
        debug=False,
    )
    document_openapi(app)  # security schemes, workspace headers, problem+json errors (api/openapi.py)
    return app
