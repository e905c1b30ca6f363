"""A workspace's tools served over MCP: the ``/mcp`` endpoint's server, on the official ``mcp`` SDK.

:class:`ToolServer` is one low-level :class:`mcp.server.lowlevel.Server` with two handlers that
read the caller's workspace at call time — nothing is registered per workspace — and a
:class:`~mcp.server.streamable_http_manager.StreamableHTTPSessionManager` that speaks the
Streamable HTTP transport. The API mounts it (``automatos/api/mcp_mount.py``); that mount has
already authenticated the request with the app's own auth methods (an API key:
``Authorization: Bearer atk_…`` or ``X-API-Key``) and resolved its workspace (the key's own, or
``X-Workspace-ID`` as in the REST API), and hands the :class:`~automatos.kernel.types.RequestContext`
to :meth:`ToolServer.handle`, which puts it in the ASGI scope's state where the handlers find it.

The rules:

- **Sessionless.** ``stateless=True``: every POST is answered on its own, no ``Mcp-Session-Id`` is
  issued and nothing is kept between requests, so any API process answers any request (behind a
  load balancer too). JSON responses (``json_response=True``): a tool call is one request, one
  answer. Both protocol eras are served: the ``initialize`` handshake (2025 versions) and the
  per-request envelope of 2026-07-28 (``server/discover``).
- **The same rules as the REST API**, because the handlers call the same service
  (:class:`~automatos.tools.service.ToolService`): ``tools/list`` lists what ``GET /api/tools``
  lists, in the same order, paged (the cursor is the offset of the next page); ``tools/call`` is
  ``ToolService.invoke`` — ``tools.use``, the tool of *this* workspace, the arguments checked
  against its schema, the call contained, one ``tool.invoke`` audit entry.
- **Listing** needs ``agents.read`` (as ``GET /api/tools``) *or* ``tools.use``: an MCP client lists
  before it calls — the SDK's ``ClientSession.call_tool`` lists the tools after a call it has not
  seen listed, to check the result — so a key narrowed to ``tools.use`` must be able to list
  what it may call, or it could call nothing.
- **Outcomes, never a 500.** A tool that answered is a ``CallToolResult``: its JSON result as text
  (and as ``structuredContent`` when it is an object). Everything a caller can act on is a result
  with ``isError: true`` whose text says what is wrong and whose ``structuredContent.error`` is the
  REST API's problem body (``status``, ``detail``, ``field``…): the tool failed (``kind``,
  ``message``), no such tool in this workspace (404), arguments that do not fit the schema (422
  naming ``arguments.<name>``), ``tools.use`` missing (403), the sandbox or the audit log unavailable
  (503). ``tools/list`` without either permission is a JSON-RPC error (code :data:`FORBIDDEN`), as is
  a malformed cursor (``INVALID_PARAMS``). An unexpected exception is logged with the request id
  and answered as an error naming that id; its text never reaches the caller.
- **Annotations**: a tool's ``intent`` becomes ``readOnlyHint`` (``read``) and ``destructiveHint``
  (``destructive``); both are hints for the client, the permissions above decide.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import msgspec
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
)

import automatos
from automatos.kernel.errors import AutomatosError
from automatos.kernel.http import holds
from automatos.kernel.permissions import Permission
from automatos.kernel.types import RequestContext, ToolSpec

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from starlette.types import Receive, Scope, Send

    from automatos.tools.service import ToolInvocation, ToolService

__all__ = ["CONTEXT_STATE", "FORBIDDEN", "MAX_BODY_BYTES", "PAGE_SIZE", "ToolServer"]

log = logging.getLogger("automatos.tools.mcp")

CONTEXT_STATE = "automatos.mcp.context"
"""Key of the caller's :class:`RequestContext` in the ASGI scope's ``state`` (set by :meth:`ToolServer.handle`)."""
FORBIDDEN = -32003
"""JSON-RPC error code (the implementation-defined server range) of a request the caller may not make."""
PAGE_SIZE = 100
"""Tools per ``tools/list`` page (the REST API's default page)."""
MAX_BODY_BYTES = 1_048_576
"""Largest request body (413 beyond), as ``POST /api/tools/{name}/invoke``."""


class ToolServer:
    """The MCP server over :class:`ToolService`; ``tools`` gives the ready service (the container's)."""

    def __init__(self, tools: Callable[[], ToolService], *, page_size: int = PAGE_SIZE) -> None:
        self.tools = tools
        self.page_size = page_size
        self.server: Server[Any] = Server(
            "automatos",
            version=automatos.__version__,
            instructions="The tools of your Automatos workspace: the API key's, or the one X-Workspace-ID names.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            # 2026-07-28 checks a call's Mcp-Param-* headers against the tool's schema; unset, the SDK
            # would run a whole tools/list before every call to find it. Nothing here reads those
            # headers (the body's arguments are what is checked and run), so there is nothing to check.
            get_tool_input_schema=_no_header_schema,
        )
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Serve while inside (the app's lifespan): a fresh session manager each time, as the SDK requires."""
        # sessionless, the SDK's transport logs "Terminating session: None" at INFO after every request
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
        manager = StreamableHTTPSessionManager(
            self.server,
            json_response=True,
            stateless=True,
            # No DNS-rebinding Host/Origin allow-list here: the app's middleware answers CORS, and a
            # request needs its API key in a header, which a page of another origin cannot send
            # unless CORS_ALLOW_ORIGINS lets it (no cookies are ever read): without one it is a 401.
            security_settings=None,
            max_request_body_size=MAX_BODY_BYTES,
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, ctx: RequestContext) -> None:
        """Answer one HTTP request of an authenticated caller (``ctx``: its principal and workspace)."""
        manager = self._manager
        if manager is None:
            raise RuntimeError("the MCP server is not running (ToolServer.run is entered by the app's lifespan)")
        state = {**(scope.get("state") or {}), CONTEXT_STATE: ctx}
        await manager.handle_request({**scope, "state": state}, receive, send)

    # --- handlers ----------------------------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        caller = _caller(ctx)
        workspace = caller.workspace
        if workspace is None or not (holds(caller, Permission.AGENTS_READ) or holds(caller, Permission.TOOLS_USE)):
            detail = "permission agents.read or tools.use is required to list the tools"
            raise MCPError(FORBIDDEN, detail, {"status": 403, "detail": detail, "field": "permission"})
        offset = _offset(params.cursor if params is not None else None)
        page = await self.tools().list(workspace, offset=offset, limit=self.page_size)
        after = offset + len(page.items)
        return ListToolsResult(
            tools=[_tool(spec) for spec in page.items],
            next_cursor=str(after) if page.items and after < page.total else None,
        )

    async def _call_tool(self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        caller = _caller(ctx)
        arguments: Mapping[str, Any] = params.arguments or {}
        try:
            outcome = await self.tools().invoke(caller, params.name, arguments)
        except AutomatosError as exc:  # refused (403), not here (404), bad arguments (422), unavailable (503)…
            return _refused(exc)
        except Exception:
            log.exception("mcp: tools/call %s failed (request %s)", params.name, caller.request_id)
            message = f"the call failed on the server; quote request id {caller.request_id} to its operators"
            return CallToolResult(content=[TextContent(text=message)], is_error=True)
        return _answer(outcome)


def _no_header_schema(name: str) -> None:
    return None


def _caller(ctx: ServerRequestContext[Any, Any]) -> RequestContext:
    """The context the mount resolved, from the scope of the HTTP request that carried this message."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, Mapping) else None
    found = state.get(CONTEXT_STATE) if isinstance(state, Mapping) else None
    if not isinstance(found, RequestContext):  # only reachable when served outside ToolServer.handle
        raise MCPError(INTERNAL_ERROR, "this request did not come through the authenticated /mcp endpoint")
    return found


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
        raise MCPError(INVALID_PARAMS, "cursor: not a cursor this server gave (use nextCursor as it came)")
    return int(cursor)


def _tool(spec: ToolSpec) -> Tool:
    schema = dict(spec.parameters)
    schema.setdefault("type", "object")  # MCP requires an object schema at the root; ours are objects
    return Tool(
        name=spec.name,
        description=spec.description,
        input_schema=schema,
        annotations=ToolAnnotations(
            read_only_hint=spec.intent == "read",
            destructive_hint=spec.intent == "destructive",
        ),
    )


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _answer(outcome: ToolInvocation) -> CallToolResult:
    """What the tool did: its result (text, and structured when an object), or its error."""
    if outcome.ok:
        structured = outcome.result if isinstance(outcome.result, dict) else None
        return CallToolResult(content=[TextContent(text=_json(outcome.result))], structured_content=structured)
    error = msgspec.to_builtins(outcome.error) if outcome.error is not None else {"kind": "error", "message": ""}
    kind, message = error.get("kind"), error.get("message") or "the tool failed without saying why"
    text = f"tool {outcome.tool} failed ({kind}): {message}"
    return CallToolResult(
        content=[TextContent(text=text)], structured_content={"tool": outcome.tool, "error": error}, is_error=True
    )


def _problem(exc: AutomatosError) -> dict[str, Any]:
    """The REST API's problem+json body of ``exc`` (``status``, ``title``, ``detail``, ``field``…)."""
    body: dict[str, Any] = {"status": exc.status_code, "title": exc.title, "detail": exc.detail}
    if exc.field is not None:
        body["field"] = exc.field
    body.update({k: v for k, v in exc.extra.items() if k not in body})
    return body


def _refused(exc: AutomatosError) -> CallToolResult:
    problem = _problem(exc)
    text = f"{exc.title} ({exc.status_code}): {exc.detail}"
    if exc.field is not None and exc.field not in exc.detail:
        text += f" [field {exc.field}]"
    return CallToolResult(content=[TextContent(text=text)], structured_content={"error": problem}, is_error=True)
