"""The one writer of ``mcp_servers``: a workspace's MCP servers, their refresh, and the extras loader
that joins their tools to the workspace's view.

Rules (answers name the field):

- ``name`` is ``[a-z0-9][a-z0-9_-]{0,31}``, unique in the workspace (409); it is the tools' prefix
  (``<name>__<tool>``) and their ``app``.
- ``transport`` ``http`` (streamable HTTP at ``url``: ``http(s)``, no credentials in it, not a
  private address unless ``MCP_ALLOW_PRIVATE``; 422 naming ``url``) or ``stdio`` (``command``, an
  argv list run without a shell): **only a platform admin** creates a stdio server (403 naming
  ``transport``), because it runs a program on the platform's machines.
- ``headers`` (``Authorization`` and the like) are stored as one
  :class:`~automatos.kernel.secrets.SecretBox` ciphertext; answers list only their names. They are
  decrypted when the view is built, kept in that provider, and sent with each request.
- Creating a server lists its tools once (a server that is down is still saved: ``status``
  ``unavailable`` with ``status_reason``); ``refresh`` lists them again. Changing ``url`` or
  ``headers`` of an enabled server refreshes too. A failed listing keeps the previous one, so a
  server's tools come back as soon as it answers again; its calls meanwhile answer ``unavailable``.
- Every write takes the workspace's lock, writes, bumps ``extensions_version``
  (:func:`~automatos.kernel.view_versions.bump`) and adds its audit entry (``mcp_server.created``,
  ``.updated``, ``.deleted``, ``.refreshed``; header names only) in one transaction; after the
  commit :func:`~automatos.kernel.view_versions.publish_versions` rebuilds the views. The server is
  never called inside a transaction.
- Another workspace's server does not exist here (404 naming ``id``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select

from automatos.kernel.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError, echo
from automatos.kernel.store import KernelStore, lock_workspace
from automatos.kernel.types import ToolResult
from automatos.kernel.view_versions import bump, join_views, publish_versions
from automatos.tools.mcp.client import McpUnavailable, Target, call_tool, header_problem, list_tools, url_problem
from automatos.tools.mcp.models import McpServer
from automatos.tools.mcp.provider import McpToolProvider, tool_specs
from automatos.tools.mcp.settings import McpSettings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from automatos.kernel.core import Kernel

__all__ = ["McpServerCreate", "McpServerPatch", "McpServerRecord", "McpServers"]

log = logging.getLogger("automatos.tools.mcp")

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_HEADERS = 20
MAX_COMMAND_ITEMS = 64
MAX_COMMAND_ITEM_CHARS = 4096
MAX_URL = 2000


class McpServerCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    """``[a-z0-9][a-z0-9_-]{0,31}``: the prefix of the server's tools (``<name>__<tool>``)."""
    transport: str = "http"
    """``http`` (streamable HTTP) or ``stdio`` (platform admins only)."""
    url: str | None = None
    """The server's streamable HTTP endpoint (``http``)."""
    command: list[str] | None = None
    """argv of the server's program (``stdio``), run without a shell."""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """Sent with every request (``http``); stored encrypted, never answered."""
    enabled: bool = True


class McpServerPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    """Replaces every header (``{}`` removes them)."""


class McpServerRecord(msgspec.Struct, kw_only=True):
    id: str
    name: str
    transport: str
    url: str | None
    command: list[str] | None
    header_names: list[str]
    """Which headers are set; their values are never answered."""
    enabled: bool
    status: str
    """``unknown`` (never listed), ``ok`` or ``unavailable`` (``status_reason`` says why)."""
    status_reason: str | None
    tools: list[str]
    """The registry names of its tools (``<name>__<tool>``) from the last listing."""
    tools_count: int
    listed_at: datetime | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class McpServers:
    """See the module docstring."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._attached = False

    # --- lifecycle and the extras loader -----------------------------------------------------------

    async def start(self) -> None:
        """Join the servers' providers to every view from now on (views built before are rebuilt)."""
        if self._attached:
            return
        self._attached = True
        await join_views(self.kernel, self.providers, "its MCP servers")

    def settings(self) -> McpSettings:
        return self.kernel.current_settings.group(McpSettings)

    async def providers(self, workspace_id: str) -> list[McpToolProvider]:
        """One provider per enabled server of the workspace, from its stored listing (one query)."""
        async with self.kernel.store.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(McpServer)
                    .where(McpServer.workspace_id == workspace_id, McpServer.enabled.is_(True))
                    .order_by(McpServer.name)
                )
            ).all()
        return [self._provider(row) for row in rows]

    def _provider(self, row: McpServer) -> McpToolProvider:
        target: Target | None
        try:
            target = self._target(row)
        except Exception as exc:  # a key that cannot open it: its calls say so, the others go on
            log.error("workspace %s: MCP server %s: its headers cannot be read (%s)", row.workspace_id, row.name, exc)
            target = None
        name = row.name

        async def call(tool: str, arguments: Mapping[str, Any]) -> ToolResult:
            if target is None:
                message = f"MCP server {name}: its headers cannot be read; set them again"
                return ToolResult(ok=False, error={"kind": "unavailable", "message": message})
            own = self.settings()
            return await call_tool(
                target, tool, arguments, seconds=own.mcp_timeout_seconds, allow_private=own.mcp_allow_private
            )

        listed = row.tools if isinstance(row.tools, list) else []
        return McpToolProvider(workspace_id=row.workspace_id, server_id=row.id, server=name, listed=listed, call=call)

    # --- reading -----------------------------------------------------------------------------------

    def _headers(self, row: McpServer) -> dict[str, str]:
        if not row.credentials:
            return {}
        opened = json.loads(self.kernel.store.secret_box.decrypt(row.credentials))
        return {str(k): str(v) for k, v in opened.items()}

    def _target(self, row: McpServer, headers: Mapping[str, str] | None = None) -> Target:
        return Target(
            transport=row.transport,
            url=row.url,
            command=tuple(row.command or ()),
            headers=dict(self._headers(row) if headers is None else headers),
        )

    def _record(self, row: McpServer) -> McpServerRecord:
        try:
            names = sorted(self._headers(row))
        except Exception:
            names = []
        specs, _ = tool_specs(row.name, row.tools if isinstance(row.tools, list) else [])
        return McpServerRecord(
            id=row.id,
            name=row.name,
            transport=row.transport,
            url=row.url,
            command=list(row.command) if row.command is not None else None,
            header_names=names,
            enabled=row.enabled,
            status=row.status,
            status_reason=row.status_reason,
            tools=[s.name for s in specs],
            tools_count=len(specs),
            listed_at=row.listed_at,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @staticmethod
    async def _row(session: AsyncSession, workspace_id: str, server_id: str) -> McpServer:
        row = await session.scalar(
            select(McpServer).where(McpServer.workspace_id == workspace_id, McpServer.id == server_id[:36])
        )
        if row is None:
            raise NotFoundError(f"MCP server {echo(server_id)} does not exist in this workspace", field="id")
        return row

    async def list_servers(self, workspace_id: str, *, offset: int, limit: int) -> tuple[list[McpServerRecord], int]:
        async with self.kernel.store.sessionmaker() as session:
            total = int(
                await session.scalar(
                    select(func.count()).select_from(McpServer).where(McpServer.workspace_id == workspace_id)
                )
                or 0
            )
            rows = (
                await session.scalars(
                    select(McpServer)
                    .where(McpServer.workspace_id == workspace_id)
                    .order_by(McpServer.name)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return [self._record(r) for r in rows], total

    async def get(self, workspace_id: str, server_id: str) -> McpServerRecord:
        async with self.kernel.store.sessionmaker() as session:
            return self._record(await self._row(session, workspace_id, server_id))

    # --- checks ------------------------------------------------------------------------------------

    def _check_url(self, url: str | None) -> str:
        if not url:
            raise ValidationError("url: an http server needs its url", field="url")
        if len(url) > MAX_URL:
            raise ValidationError(f"url: longer than {MAX_URL} characters", field="url")
        problem = url_problem(url, allow_private=self.settings().mcp_allow_private)
        if problem is not None:
            raise ValidationError(f"url {problem}", field="url")
        return url

    @staticmethod
    def _check_headers(headers: Mapping[str, str]) -> dict[str, str]:
        if len(headers) > MAX_HEADERS:
            raise ValidationError(f"headers: at most {MAX_HEADERS}", field="headers")
        for name, value in headers.items():
            problem = header_problem(name, value)
            if problem is not None:
                raise ValidationError(f"headers.{name[:100]} {problem}", field=f"headers.{name[:100]}")
        return dict(headers)

    @staticmethod
    def _check_command(command: Sequence[str] | None) -> list[str]:
        if not command:
            raise ValidationError(
                "command: a stdio server needs its command (argv, a list of strings)", field="command"
            )
        if len(command) > MAX_COMMAND_ITEMS:
            raise ValidationError(f"command: at most {MAX_COMMAND_ITEMS} items", field="command")
        for i, item in enumerate(command):
            if not item or "\0" in item or len(item) > MAX_COMMAND_ITEM_CHARS:
                raise ValidationError(f"command[{i}]: not a usable argument", field=f"command[{i}]")
        return list(command)

    def _encrypt(self, headers: Mapping[str, str]) -> str | None:
        if not headers:
            return None
        return self.kernel.store.secret_box.encrypt(json.dumps(dict(headers), sort_keys=True).encode())

    async def _listing(self, target: Target) -> tuple[str, str | None, list[dict[str, Any]] | None]:
        """``(status, reason, tools)``: the server's tools now, or why they are unavailable."""
        own = self.settings()
        try:
            tools = await list_tools(target, seconds=own.mcp_timeout_seconds, allow_private=own.mcp_allow_private)
        except McpUnavailable as exc:
            return "unavailable", exc.reason, None
        return "ok", None, tools

    # --- writes ------------------------------------------------------------------------------------

    @staticmethod
    def _audit(
        session: AsyncSession,
        workspace_id: str,
        actor_id: str | None,
        action: str,
        row: McpServer,
        data: dict[str, Any],
        request_id: str | None,
    ) -> None:
        details = {"name": row.name, "transport": row.transport, **data}
        KernelStore._audit(session, workspace_id, actor_id, action, "mcp_server", row.id, details, request_id)

    async def create(
        self,
        workspace_id: str,
        data: McpServerCreate,
        *,
        platform_admin: bool,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> McpServerRecord:
        """Add a server and list its tools once (saved even when it is down)."""
        if not NAME.fullmatch(data.name):
            raise ValidationError("name: expected [a-z0-9][a-z0-9_-]{0,31}", field="name")
        url: str | None = None
        command: list[str] | None = None
        if data.transport == "http":
            url = self._check_url(data.url)
            if data.command is not None:
                raise ValidationError("command: only a stdio server has a command", field="command")
        elif data.transport == "stdio":
            if not platform_admin:
                raise PermissionDeniedError(
                    "transport: only a platform admin may add a stdio server (it runs a program here)",
                    field="transport",
                )
            command = self._check_command(data.command)
            if data.url is not None:
                raise ValidationError("url: a stdio server has no url", field="url")
            if data.headers:
                raise ValidationError("headers: a stdio server takes no headers", field="headers")
        else:
            raise ValidationError("transport: expected http or stdio", field="transport")
        headers = self._check_headers(data.headers)
        await self._name_free(workspace_id, data.name)
        target = Target(transport=data.transport, url=url, command=tuple(command or ()), headers=headers)
        status, reason, tools = ("unknown", None, None)
        if data.enabled:
            status, reason, tools = await self._listing(target)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            await self._name_free(workspace_id, data.name, session)
            row = McpServer(
                workspace_id=workspace_id,
                name=data.name,
                transport=data.transport,
                url=url,
                command=command,
                credentials=self._encrypt(headers),
                enabled=data.enabled,
                status=status,
                status_reason=reason,
                tools=tools,
                listed_at=datetime.now(UTC) if tools is not None else None,
                created_by=actor_id,
            )
            session.add(row)
            await session.flush()
            version = await bump(session, workspace_id)
            details = {"url": url, "header_names": sorted(headers), "status": status, "tools": len(tools or [])}
            self._audit(session, workspace_id, actor_id, "mcp_server.created", row, details, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return await self.get(workspace_id, row.id)

    async def _name_free(self, workspace_id: str, name: str, session: AsyncSession | None = None) -> None:
        query = select(McpServer.id).where(McpServer.workspace_id == workspace_id, McpServer.name == name)
        if session is None:
            async with self.kernel.store.sessionmaker() as own:
                taken = await own.scalar(query)
        else:
            taken = await session.scalar(query)
        if taken is not None:
            raise ConflictError(f"this workspace already has an MCP server named {name!r}", field="name")

    async def update(
        self,
        workspace_id: str,
        server_id: str,
        data: McpServerPatch,
        *,
        actor_id: str | None,
        request_id: str | None = None,
    ) -> McpServerRecord:
        """Change ``enabled``, ``url`` or ``headers``; a new url or headers of an enabled server refresh it."""
        async with self.kernel.store.sessionmaker() as session:
            row = await self._row(session, workspace_id, server_id)
        changed = sorted(k for k in ("enabled", "url", "headers") if getattr(data, k) is not None)
        url = row.url
        if data.url is not None:
            if row.transport != "http":
                raise ValidationError("url: a stdio server has no url", field="url")
            url = self._check_url(data.url)
        if data.headers and row.transport != "http":
            raise ValidationError("headers: a stdio server takes no headers", field="headers")
        if data.headers is not None:
            headers = self._check_headers(data.headers)
        else:
            try:
                headers = self._headers(row)
            except Exception:  # unreadable: the listing below says so (401 and the like)
                headers = {}
        enabled = row.enabled if data.enabled is None else data.enabled
        listing: tuple[str, str | None, list[dict[str, Any]] | None] | None = None
        if enabled and (data.url is not None or data.headers is not None or (data.enabled and not row.enabled)):
            target = Target(transport=row.transport, url=url, command=tuple(row.command or ()), headers=headers)
            listing = await self._listing(target)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._row(session, workspace_id, server_id)
            row.enabled, row.url = enabled, url
            if data.headers is not None:
                row.credentials = self._encrypt(headers)
            if listing is not None:
                self._listed(row, *listing)
            version = await bump(session, workspace_id)
            details: dict[str, Any] = {"changed": changed, "enabled": enabled, "status": row.status}
            if data.headers is not None:
                details["header_names"] = sorted(headers)
            self._audit(session, workspace_id, actor_id, "mcp_server.updated", row, details, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return await self.get(workspace_id, server_id)

    @staticmethod
    def _listed(row: McpServer, status: str, reason: str | None, tools: list[dict[str, Any]] | None) -> None:
        row.status, row.status_reason = status, reason
        if tools is not None:  # a failed listing keeps the last one: the tools come back with the server
            row.tools, row.listed_at = tools, datetime.now(UTC)

    async def delete(
        self, workspace_id: str, server_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> None:
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._row(session, workspace_id, server_id)
            await session.delete(row)
            version = await bump(session, workspace_id)
            self._audit(session, workspace_id, actor_id, "mcp_server.deleted", row, {"url": row.url}, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])

    async def refresh(
        self, workspace_id: str, server_id: str, *, actor_id: str | None, request_id: str | None = None
    ) -> McpServerRecord:
        """List the server's tools again and store them with its status (``ok`` or ``unavailable``)."""
        async with self.kernel.store.sessionmaker() as session:
            row = await self._row(session, workspace_id, server_id)
        try:
            target = self._target(row)
        except Exception:
            listing: tuple[str, str | None, list[dict[str, Any]] | None] = (
                "unavailable",
                "its headers cannot be read (the platform's secret key changed?); set them again",
                None,
            )
        else:
            listing = await self._listing(target)
        async with self.kernel.store.sessionmaker.begin() as session:
            await lock_workspace(session, workspace_id)
            row = await self._row(session, workspace_id, server_id)
            self._listed(row, *listing)
            version = await bump(session, workspace_id)
            details = {"status": row.status, "reason": row.status_reason, "tools": len(row.tools or [])}
            self._audit(session, workspace_id, actor_id, "mcp_server.refreshed", row, details, request_id)
        await publish_versions(self.kernel, [(workspace_id, version)])
        return await self.get(workspace_id, server_id)
