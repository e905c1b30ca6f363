"""A tiny MCP server over stdio for tests/tools/test_mcp_client.py: one read-only tool, ``shout``.

Run as ``python tests/tools/mcp_stdio_server.py`` (argv of a stdio MCP server a platform admin adds).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("stdio-test", log_level="ERROR")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


if __name__ == "__main__":
    server.run("stdio")
