"""Talking to one MCP server: list its tools, call one, each within a deadline.

Rules:

- One connection per operation (``mcp``'s :class:`~mcp.Client`, protocol negotiated by the SDK):
  nothing is held open between calls, so a server that restarts is simply reached again, and a
  server that is down costs one failed connection, never a stuck pool.
- Streamable HTTP (``http``): the workspace's headers (decrypted by the caller) go with every
  request; the HTTP client trusts nothing from the environment (no proxy variables, no ``.netrc``),
  follows no redirect off the server's origin (the SDK's rule), and — unless ``MCP_ALLOW_PRIVATE`` —
  connects only to public addresses, to the address it checked (:class:`~automatos.kernel.addresses.PublicOnlyBackend`).
- ``stdio``: ``command`` is run (argv, no shell) with the SDK's minimal environment: the platform's
  secrets in its environment are not handed to it. Only a platform admin configures one.
- Everything the server or the network does wrong becomes :class:`McpUnavailable` with a reason a
  workspace admin can act on (the header values redacted from it), or for a call a
  :class:`~automatos.kernel.types.ToolResult` with ``ok`` false: ``unavailable`` (cannot reach it,
  too slow), ``provider`` (it answered with a protocol error), ``runtime`` (the tool reported an
  error). Never an exception to the caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpcore2
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Tool

from automatos.kernel.addresses import PublicOnlyBackend
from automatos.kernel.outbound import outbound_url_problem
from automatos.kernel.types import ToolResult

__all__ = [
    "MAX_TOOLS",
    "McpUnavailable",
    "Target",
    "call_tool",
    "header_problem",
    "list_tools",
    "listed_tool",
    "url_problem",
]

MAX_TOOLS = 500
"""Most tools kept from one server's listing (the rest are left out, with the reason logged)."""
MAX_PAGES = 50
"""Most pages of a listing read: a server whose cursor never ends cannot hold a refresh."""
MAX_DESCRIPTION = 4000
MAX_SCHEMA_CHARS = 65_536
"""A tool whose input schema is larger (as JSON) is left out: it would be offered to every model."""
MAX_REASON = 500
REDACTED = "[redacted]"

T = TypeVar("T")


class McpUnavailable(Exception):
    """The server cannot be used now; ``reason`` says why (safe to show a workspace admin)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Where one server is and how to reach it: ``http`` (``url``, ``headers``) or ``stdio`` (``command``)."""

    transport: str
    url: str | None = None
    command: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why a workspace's MCP server may not be at ``url`` (``None``: it may).

    The kernel's rules for a URL a workspace gives (:func:`~automatos.kernel.outbound.outbound_url_problem`):
    credentials belong in ``headers``, and ``MCP_ALLOW_PRIVATE`` lifts the private-address rule.
    """
    return outbound_url_problem(
        url, allow_private=allow_private, switch="MCP_ALLOW_PRIVATE", credentials_hint="send them in headers"
    )


def _refused(host: str) -> Exception:
    return httpcore2.ConnectError(f"{host!r} resolves to a private or reserved address (MCP_ALLOW_PRIVATE is off)")


class _Attempt:
    """What one operation saw: whether the connection was made, the last HTTP error status."""

    def __init__(self) -> None:
        self.connected = False
        self.status: int | None = None

    async def response(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.status = response.status_code


def _http_client(target: Target, timeout: float, allow_private: bool, attempt: _Attempt) -> httpx2.AsyncClient:
    transport = httpx2.AsyncHTTPTransport(trust_env=False)
    if not allow_private:
        pool = transport._pool  # httpcore2's pool: its network backend is where connections are made
        pool._network_backend = PublicOnlyBackend(  # type: ignore[assignment] # httpcore2's interface, duck-typed
            pool._network_backend, connect_error=httpcore2.ConnectError, refused=_refused
        )
    return httpx2.AsyncClient(
        headers=dict(target.headers),
        timeout=httpx2.Timeout(timeout),
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        event_hooks={"response": [attempt.response]},
    )


@asynccontextmanager
async def _connected(target: Target, seconds: float, allow_private: bool, attempt: _Attempt) -> AsyncIterator[Client]:
    if target.transport == "stdio":
        if not target.command:
            raise McpUnavailable("the server has no command")
        params = StdioServerParameters(command=target.command[0], args=list(target.command[1:]))
        async with Client(params, read_timeout_seconds=seconds, cache=None) as client:
            attempt.connected = True
            yield client
        return
    if not target.url:
        raise McpUnavailable("the server has no url")
    async with _http_client(target, seconds, allow_private, attempt) as http:
        transport = streamable_http_client(target.url, http_client=http)
        async with Client(transport, read_timeout_seconds=seconds, cache=None) as client:
            attempt.connected = True
            attempt.status = None
            yield client


def _leaf(exc: BaseException) -> BaseException:
    """The first real failure inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` without any of ``secrets`` (the header values) of four characters or more."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text


def describe(exc: BaseException, target: Target, status: int | None = None) -> str:
    """Why an operation failed, for a workspace admin: what went wrong, never a header value."""
    leaf = _leaf(exc)
    if isinstance(leaf, McpUnavailable):
        text = leaf.reason
    elif status is not None:
        text = f"the server answered HTTP {status}" + (" (check the headers)" if status in (401, 403) else "")
    elif isinstance(leaf, httpx2.ConnectError | httpcore2.ConnectError):
        text = f"cannot connect to the server: {leaf or type(leaf).__name__}"
    elif isinstance(leaf, MCPError):
        text = f"the server answered an error: {leaf.error.message}"
    elif isinstance(leaf, OSError) and target.transport == "stdio":
        text = f"the command cannot be started: {leaf.strerror or type(leaf).__name__}"
    else:
        detail = str(leaf).strip()
        text = f"{type(leaf).__name__}: {detail}" if detail else type(leaf).__name__
    return redact(text, list(target.headers.values()))[:MAX_REASON]


async def _run(
    target: Target, operation: Callable[[Client], Awaitable[T]], *, seconds: float, allow_private: bool
) -> T:
    """``operation`` on a fresh connection, all of it within ``seconds``. Failures are
    :class:`McpUnavailable`, except a protocol error answered once connected (:class:`MCPError`),
    passed on for a call to judge."""
    attempt = _Attempt()
    try:
        with anyio.fail_after(seconds):
            async with _connected(target, seconds, allow_private, attempt) as client:
                return await operation(client)
    except TimeoutError:
        raise McpUnavailable(f"the server did not answer within {seconds:g} s") from None
    except McpUnavailable:
        raise
    except Exception as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, MCPError) and attempt.connected and attempt.status is None:
            raise leaf from None
        if isinstance(leaf, TimeoutError):
            raise McpUnavailable(f"the server did not answer within {seconds:g} s") from None
        raise McpUnavailable(describe(exc, target, attempt.status)) from None


def intent_of(tool: Tool) -> str:
    """``read`` for ``readOnlyHint``, ``destructive`` for ``destructiveHint``, else ``write``."""
    hints = tool.annotations
    if hints is not None and hints.read_only_hint:
        return "read"
    if hints is not None and hints.destructive_hint:
        return "destructive"
    return "write"


def listed_tool(tool: Tool) -> dict[str, Any] | None:
    """What is stored of one listed tool: its name, description, input schema and intent (``None``:
    its schema is too large to offer)."""
    schema = dict(tool.input_schema or {})
    if len(json.dumps(schema, default=str)) > MAX_SCHEMA_CHARS:
        return None
    description = tool.description or tool.title or ""
    return {
        "name": tool.name,
        "description": description[:MAX_DESCRIPTION],
        "input_schema": schema,
        "intent": intent_of(tool),
    }


async def list_tools(target: Target, *, seconds: float, allow_private: bool) -> list[dict[str, Any]]:
    """The server's tools (:func:`listed_tool` form, at most :data:`MAX_TOOLS`); :class:`McpUnavailable`."""

    async def listing(client: Client) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                kept = listed_tool(tool)
                if kept is not None and len(found) < MAX_TOOLS:
                    found.append(kept)
            cursor = page.next_cursor
            if cursor is None or len(found) >= MAX_TOOLS:
                break
        return found

    try:
        return await _run(target, listing, seconds=seconds, allow_private=allow_private)
    except MCPError as exc:
        raise McpUnavailable(describe(exc, target)) from None


def _as_result(got: CallToolResult) -> ToolResult:
    blocks = [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in got.content]
    texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
    if got.is_error:
        message = "\n".join(texts).strip() or "the tool reported an error"
        return ToolResult(ok=False, error={"kind": "runtime", "message": message[:2000]})
    if got.structured_content is not None:
        return ToolResult(ok=True, result=got.structured_content)
    if blocks and len(texts) == len(blocks):
        return ToolResult(ok=True, result="\n".join(texts))
    return ToolResult(ok=True, result=blocks)


async def call_tool(
    target: Target, tool: str, arguments: Mapping[str, Any], *, seconds: float, allow_private: bool
) -> ToolResult:
    """Call ``tool`` (the server's own name) with ``arguments``; never raises (see the module)."""

    async def call(client: Client) -> CallToolResult:
        return await client.call_tool(tool, dict(arguments))

    try:
        got = await _run(target, call, seconds=seconds, allow_private=allow_private)
    except McpUnavailable as exc:
        return ToolResult(ok=False, error={"kind": "unavailable", "message": exc.reason})
    except MCPError as exc:
        return ToolResult(ok=False, error={"kind": "provider", "message": describe(exc, target)})
    try:
        return _as_result(got)
    except Exception as exc:  # a result the SDK accepted but we cannot turn into JSON
        return ToolResult(ok=False, error={"kind": "provider", "message": describe(exc, target)})


def header_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent to a server (``None``: it can)."""
    if not _HEADER_NAME.fullmatch(name):
        return "is not a valid header name"
    if name.lower() in REFUSED_HEADERS:
        return "is set by the client itself"
    if any(c in value for c in "\r\n\0") or len(value.encode("utf-8", "surrogatepass")) > MAX_HEADER_BYTES:
        return f"must be one line of at most {MAX_HEADER_BYTES} bytes"
    return None


MAX_HEADER_BYTES = 8192
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
REFUSED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "accept",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "proxy-authorization",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    }
)
