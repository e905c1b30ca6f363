"""Fake plugin proxies for the tools tests: what a marketplace plugin's proxy is to the kernel.

A :class:`FakePlugin` is a tool provider, a content provider and :class:`~automatos.kernel.types.Assignable`
(``assignments``: agent id → position), joined to one workspace's hook view through
``kernel.views.add_extras`` (:class:`Plugins`), exactly as the marketplace runtime joins its proxies.
Its tools behave by name; ``sandbox`` tools run a real snippet through the app's ``SandboxService``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from automatos.kernel.core import Kernel
from automatos.kernel.types import ContentItem, ToolResult, ToolSpec
from automatos.sandbox.limits import RunLimits
from automatos.sandbox.service import SandboxService, SandboxUnavailableError

__all__ = ["URL_SCHEMA", "FakeApp", "FakePlugin", "Plugins"]

URL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "minLength": 1},
        "options": {
            "type": "object",
            "properties": {"depth": {"type": "integer", "minimum": 0}},
            "additionalProperties": False,
        },
    },
    "required": ["url"],
    "additionalProperties": False,
}


class FakePlugin:
    """``plugin:<slug>`` with tools ``<slug>__<tool>``; see the module docstring."""

    def __init__(
        self,
        slug: str,
        tools: Sequence[str] = ("card",),
        *,
        content: Sequence[ContentItem] = (),
        assignments: Mapping[str, int] | None = None,
        schemas: Mapping[str, dict[str, Any]] | None = None,
        sandbox: SandboxService | None = None,
        fail_content: bool = False,
        fail_listing: bool = False,
    ) -> None:
        self.slug = slug
        self.name = f"plugin:{slug}"
        self.tool_names = list(tools)
        self.items = list(content)
        self.assignments: Mapping[str, int] = dict(assignments or {})
        self.schemas = dict(schemas or {})
        self.sandbox = sandbox
        self.fail_content = fail_content
        self.fail_listing = fail_listing
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        if self.fail_listing:
            raise RuntimeError("declarations are broken")
        return [
            ToolSpec(
                name=f"{self.slug}__{tool}",
                description=f"{tool} of {self.slug}",
                parameters=self.schemas.get(tool, URL_SCHEMA),
                provider=self.name,
                source="plugin",
            )
            for tool in self.tool_names
        ]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        self.calls.append((workspace_id, tool, dict(arguments)))
        short = tool.split("__", 1)[1]
        if short == "down":
            raise SandboxUnavailableError("the sandbox is not running on this node")
        if short == "boom":
            raise RuntimeError("a bug in the proxy, with a secret: hunter2")
        if short == "busy":
            busy = {"kind": "worker", "stage": "queue", "message": "no free worker in time"}
            return ToolResult(ok=False, error=busy)
        if short in ("spin", "snippet") and self.sandbox is not None:
            code = "while True:\n    pass" if short == "spin" else "result = {'card': inputs['url'].upper()}"
            limits = RunLimits(cpu_seconds=0.3, wall_seconds=5) if short == "spin" else None
            run = await self.sandbox.run(code, dict(arguments), workspace_id=workspace_id, actor_id=None, limits=limits)
            failure: dict[str, Any] | None = None
            if run.error is not None:
                fields = {"limit": run.error.limit, "value": run.error.value}
                failure = {"kind": run.error.kind, "message": run.error.message}
                failure.update({k: v for k, v in fields.items() if v is not None})
            usage = {"cpu_ms": run.usage.cpu_ms, "wall_ms": run.usage.wall_ms, "total_ms": run.usage.total_ms}
            return ToolResult(ok=run.ok, result=run.result, error=failure, logs=run.logs, usage=usage)
        return ToolResult(ok=True, result={"tool": tool, "workspace": workspace_id, "arguments": dict(arguments)})

    async def content(self, workspace_id: str) -> list[ContentItem]:
        if self.fail_content:
            raise RuntimeError("the blob store is down")
        return list(self.items)


class FakeApp:
    """A source's app that is not a plugin (an MCP server's or a Composio toolkit's shape): tools
    ``<app>__<tool>`` of the given intents, served to agents through ``agent_app_assignments``."""

    def __init__(self, app: str, tools: Mapping[str, str], *, source: str = "mcp") -> None:
        self.app, self.source = app, source
        self.name = f"{source}:{app}"
        self.tools = dict(tools)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tools(self, workspace_id: str) -> list[ToolSpec]:
        return [
            ToolSpec(
                name=f"{self.app}__{tool}",
                description=f"{tool.replace('_', ' ')} files in {self.app}",
                parameters={"type": "object", "properties": {"path": {"type": "string"}}},
                provider=self.name,
                source=self.source,
                app=self.app,
                intent=intent,
            )
            for tool, intent in self.tools.items()
        ]

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        self.calls.append((workspace_id, tool, dict(arguments)))
        return ToolResult(ok=True, result={"did": tool, "path": arguments.get("path")})


class Plugins:
    """The proxies each workspace has: joined to the kernel's views like the marketplace runtime's."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.by_workspace: dict[str, list[FakePlugin | FakeApp]] = {}
        kernel.views.add_extras(self._load)

    async def _load(self, workspace_id: str) -> list[object]:
        return list(self.by_workspace.get(workspace_id, []))

    async def set(self, workspace_id: str, *plugins: FakePlugin | FakeApp) -> None:
        """Make ``plugins`` the workspace's, and rebuild its view (what a version bump does)."""
        self.by_workspace[workspace_id] = list(plugins)
        task = self.kernel.views.invalidate(workspace_id)  # None: not cached, built on first use
        if task is not None:
            await task
