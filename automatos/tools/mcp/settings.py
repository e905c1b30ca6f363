"""The MCP client's settings: how long a server may take, and whether it may live on a private network.

:class:`McpSettings` is read from the environment like every settings struct (a malformed variable
stops start-up naming it) and handed to the kernel by the composition root (``automatos/container.py``,
``package_parts``), so the README's settings table lists it. Read it with
``kernel.current_settings.group(McpSettings)``.
"""

from __future__ import annotations

from typing import ClassVar

from automatos.kernel.settings import FieldDoc, SettingsGroup, setting

__all__ = ["McpSettings"]


class McpSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "tools package (MCP)"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("MCP_ALLOW_PRIVATE", "mcp_allow_private", "true|false"),
        setting(
            "MCP_TIMEOUT_SECONDS", "mcp_timeout_seconds", "number 1-600", runtime=True, valid=lambda v: 1 <= v <= 600
        ),
    )

    mcp_allow_private: bool = False
    """Whether a workspace's MCP servers may be on loopback, private, link-local and other non-public
    addresses (for a deployment whose MCP servers live on its own network). Off, a workspace admin
    cannot point the platform at its own network or a cloud metadata endpoint: such a URL is refused
    when written, and a host name that resolves to such an address is refused when connecting."""
    mcp_timeout_seconds: float = 30.0
    """Longest a workspace's MCP server may take to connect and answer one listing or one tool call;
    beyond it the call is ``unavailable`` (the chat goes on)."""
