"""The floor: a bare Litestar app with the same ``GET /health`` as Automatos and nothing else.

Serve: ``.venv/bin/python -m uvicorn --app-dir bench apps.bare:app``
"""

from __future__ import annotations

from litestar import Litestar, get

__all__ = ["app", "health"]


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[health], debug=False)
