"""The current request's :class:`RequestContext`, for code that is not handed it (hooks, backends).

Set by the API once the caller and the workspace are resolved; background tasks started during the
request (``kernel.spawn``, events) inherit it, as asyncio copies context variables into new tasks.
Outside a request it is ``None``.
"""

from __future__ import annotations

from contextvars import ContextVar

from automatos.kernel.types import RequestContext

__all__ = ["CURRENT_CONTEXT", "current_context"]

CURRENT_CONTEXT: ContextVar[RequestContext | None] = ContextVar("automatos_request_context", default=None)


def current_context() -> RequestContext | None:
    """The context of the request this code runs for, or ``None`` outside a request."""
    return CURRENT_CONTEXT.get()
