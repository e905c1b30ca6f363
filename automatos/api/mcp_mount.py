"""``/mcp``: the workspace's tools over MCP (Streamable HTTP), mounted in the Litestar app.

Thin, like a controller: it resolves the caller exactly as every route does and leaves MCP to
:class:`automatos.tools.mcp.server.ToolServer` (docs/tools.md, "Serving tools over MCP").

- The request has passed the app's request middleware like any other (request id, CORS, the
  caller authenticated once — an unknown or revoked API key is its 401 —, rate limits, the body
  read timeout). A body over 1 MiB is a 413 (problem+json when ``Content-Length`` says so up
  front; the MCP transport counts a chunked body itself and answers its own 413).
- The caller must have credentials: none is a 401 problem+json with ``WWW-Authenticate`` before
  the MCP app sees the request. The workspace is the request's (``X-Workspace-ID``, else the API
  key's own, else the principal's default): an unknown one is a 404, one the caller is not a
  member of a 403, none at all a 422 naming ``X-Workspace-ID`` — all problem+json, as on
  ``/api/tools``.
- It is an ASGI route (the MCP app reads the body itself) at ``/mcp`` exactly; its statistics and
  a ``RATE_LIMIT_ROUTES`` entry are keyed ``POST /mcp`` like any route's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.handlers import ASGIRouteHandler, asgi

from automatos.api.dependencies import kernel_of, provide_context
from automatos.kernel.errors import AuthenticationError, ValidationError
from automatos.tools.mcp.server import MAX_BODY_BYTES

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

    from automatos.tools.mcp.server import ToolServer

__all__ = ["MCP_PATH", "mcp_route"]

MCP_PATH = "/mcp"


def mcp_route(server: ToolServer) -> ASGIRouteHandler:
    """The route handler that serves ``server`` at :data:`MCP_PATH` (one per app: the plugin's server)."""

    # A plain ASGI route, not a mount: Litestar matches a mount as a bare prefix (``/mcpx`` too) and
    # gives it no route template, so the middleware could neither count it as ``/mcp`` nor apply a
    # ``RATE_LIMIT_ROUTES`` entry ``POST /mcp``. The MCP transport does not read the path.
    @asgi(MCP_PATH, copy_scope=True, name="mcp")
    async def mcp(scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:  # said up front: problem+json, as on /api
            raise HTTPException(status_code=413, detail=f"the request body is larger than {MAX_BODY_BYTES} bytes")
        ctx = await provide_context(request, kernel_of(request))
        if ctx.principal is None:
            raise AuthenticationError(
                "an API key is required: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'", field="Authorization"
            )
        if ctx.workspace is None:
            raise ValidationError("name the workspace with the X-Workspace-ID header", field="X-Workspace-ID")
        # one ASGI protocol, typed by Litestar here and by Starlette in the SDK
        await server.handle(cast("Any", scope), cast("Any", receive), cast("Any", send), ctx)

    return mcp
