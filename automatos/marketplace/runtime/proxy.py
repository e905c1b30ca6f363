"""A plugin enabled in one workspace, as that workspace's hook view holds it.

:class:`PluginProxy` is a kernel-side stand-in for code that runs elsewhere: a
:class:`~automatos.kernel.types.ToolProvider` (its tools from the version's cached declarations,
named ``<slug>__<tool>``; a call goes to a sandbox worker through the host), a
:class:`~automatos.kernel.types.ContentProvider` (the version's skills and prompts) and an
:class:`~automatos.kernel.types.Assignable` (agent id → position). It is built with the view
(:mod:`automatos.marketplace.runtime.host`), holds what it needs for the view's lifetime — the
decrypted values of the environment names it was granted included — and answers nothing for
another workspace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from automatos.kernel.types import ContentItem, ToolResult, ToolSpec

if TYPE_CHECKING:
    from automatos.marketplace.runtime.declarations import VersionRef
    from automatos.marketplace.runtime.host import PluginHost

__all__ = ["PluginProxy"]


class PluginProxy:
    """One enabled plugin in one workspace's view; see the module docstring."""

    def __init__(
        self,
        host: PluginHost,
        *,
        workspace_id: str,
        plugin_id: str,
        ref: VersionRef,
        declarations: Mapping[str, Any],
        env: Mapping[str, str],
        assignments: Mapping[str, int],
    ) -> None:
        self.host = host
        self.workspace_id = workspace_id
        self.plugin_id = plugin_id
        self.ref = ref
        self.slug = ref.slug
        self.name = f"plugin:{ref.slug}"
        self.declarations = declarations
        self.env = dict(env)
        self.assignments: Mapping[str, int] = dict(assignments)
        self.handlers: dict[str, str] = {}
        self.tools: list[ToolSpec] = []
        for tool in declarations.get("tools") or []:
            full = f"{self.slug}__{tool['name']}"
            self.handlers[full] = str(tool["handler"])
            self.tools.append(
                ToolSpec(
                    name=full,
                    description=str(tool.get("description") or ""),
                    parameters=dict(tool.get("parameters") or {}),
                    provider=self.name,
                    source="plugin",
                )
            )

    def __repr__(self) -> str:
        return f"PluginProxy({self.name}@{self.ref.version}, workspace={self.workspace_id})"

    def handler(self, tool: str) -> tuple[str, str] | None:
        """``(full tool name, handler)`` of ``tool`` (``<slug>__<tool>`` or the bare tool name)."""
        full = tool if tool.startswith(f"{self.slug}__") else f"{self.slug}__{tool}"
        handler = self.handlers.get(full)
        return None if handler is None else (full, handler)

    def content_paths(self) -> list[tuple[str, str]]:
        """``(kind, path)``: the manifest's ``provides.skills`` and ``provides.prompts``, then the
        skills and prompts ``register`` declared, each once, in that order."""
        provides = self.ref.manifest.get("provides") or {}
        ordered: list[tuple[str, str]] = []
        for kind, paths in (
            ("skill", provides.get("skills") if isinstance(provides, Mapping) else None),
            ("prompt", provides.get("prompts") if isinstance(provides, Mapping) else None),
            ("skill", self.declarations.get("skills")),
            ("prompt", self.declarations.get("prompts")),
        ):
            for path in paths or []:
                if isinstance(path, str) and (kind, path) not in ordered:
                    ordered.append((kind, path))
        return ordered

    # --- ToolProvider ------------------------------------------------------------------------------

    async def list_tools(self, workspace_id: str) -> Sequence[ToolSpec]:
        return list(self.tools) if workspace_id == self.workspace_id else []

    async def execute(self, workspace_id: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        if workspace_id != self.workspace_id:
            return ToolResult(ok=False, error={"kind": "unknown-tool", "message": f"no tool {tool[:100]!r} here"})
        return await self.host.call(self, tool, arguments)

    # --- ContentProvider ---------------------------------------------------------------------------

    async def content(self, workspace_id: str) -> Sequence[ContentItem]:
        if workspace_id != self.workspace_id:
            return []
        return await self.host.content(self)
