""":class:`McpToolProvider`: one MCP server of one workspace as a tool provider of its view.

Built by the extras loader (:meth:`McpServers.providers <automatos.tools.mcp.servers.McpServers.providers>`)
from the server's row when the workspace's view is built; the view is rebuilt whenever a row
changes (every write bumps the workspace's ``extensions_version``).

- **Listing reads no network**: the tools are the row's last listing (``POST …/refresh``), turned
  into :class:`~automatos.kernel.types.ToolSpec` once, here. Tool names are ``<server>__<tool>``;
  a character outside ``[a-zA-Z0-9_-]`` in the server's tool name becomes ``_``, and a name that is
  then longer than 64 characters, empty, or the same as another's is left out with a warning.
  ``source`` is ``mcp``, ``app`` the server's name, ``intent`` from the tool's MCP annotations
  (``readOnlyHint`` → ``read``, ``destructiveHint`` → ``destructive``, else ``write``).
- **A call reaches the server** (:func:`~automatos.tools.mcp.client.call_tool`): a server that is
  down or too slow is ``ok: false`` with ``kind: unavailable`` and the reason; never an exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from automatos.kernel.types import ToolResult, ToolSpec

__all__ = ["TOOL_NAME", "McpToolProvider", "tool_specs"]

log = logging.getLogger("automatos.tools.mcp")

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")

Caller = Callable[[str, Mapping[str, Any]], Awaitable[ToolResult]]
"""``call(tool, arguments)``: the server's tool (its own name) called with the arguments."""


def tool_specs(server: str, listed: Sequence[Mapping[str, Any]]) -> tuple[list[ToolSpec], dict[str, str]]:
    """The registry's specs of a server's stored listing, and registry name → the server's tool name."""
    provider = f"mcp:{server}"
    specs: list[ToolSpec] = []
    names: dict[str, str] = {}
    for entry in listed:
        own = str(entry.get("name") or "")
        name = f"{server}__{_UNSAFE.sub('_', own)}"
        if not own or not TOOL_NAME.fullmatch(name) or name in names:
            log.warning("MCP server %s: tool %r left out: %r is not a safe, unique tool name", server, own[:100], name)
            continue
        schema = entry.get("input_schema")
        parameters = dict(schema) if isinstance(schema, Mapping) else {}
        parameters.setdefault("type", "object")
        intent = str(entry.get("intent") or "write")
        names[name] = own
        specs.append(
            ToolSpec(
                name=name,
                description=str(entry.get("description") or ""),
                parameters=parameters,
                provider=provider,
                source="mcp",
                app=server,
                intent=intent if intent in ("read", "write", "destructive") else "write",
            )
        )
    return specs, names


class McpToolProvider:
    """A workspace's MCP server in its view; see the module docstring."""

    def __init__(
        self, *, workspace_id: str, server_id: str, server: str, listed: Sequence[Mapping[str, Any]], call: Caller
    ) -> None:
        self.workspace_id = workspace_id
        self.server_id = server_id
        self.server = server
        self.name = f"mcp:{server}"
        self._call = call
        self._specs, self._names = tool_specs(server, listed)

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]:
        if workspace_id != self.workspace_id:  # joined to one workspace's view only; never another's
            return []
        return self._specs

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        own = self._names.get(tool)
        if workspace_id != self.workspace_id or own is None:
            return ToolResult(
                ok=False,
                error={"kind": "unknown-tool", "message": f"MCP server {self.server} has no tool {tool[:100]!r}"},
            )
        try:
            return await self._call(own, arguments)
        except Exception as exc:  # the caller never raises; this is the last wall
            log.exception("MCP server %s: calling %s failed", self.server, own[:100])
            return ToolResult(ok=False, error={"kind": "provider", "message": type(exc).__name__})
