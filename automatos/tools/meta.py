"""Meta-tools: large catalogues are searched and called, not pasted into the prompt.

When an agent may call more tools than ``chat.tool_meta_threshold`` (20 by default), its model is
offered two tools instead of all of them:

- ``search_tools`` ``{"query": "...", "limit": 5}``: the tools the agent may call **now** that best
  match the query (name, app and description words; ties in catalogue order), each with its
  ``name``, ``description``, ``intent`` and the JSON Schema of its arguments (``parameters``) — at
  most ``limit`` (1-20, 5 by default);
- ``call_tool`` ``{"name": "...", "arguments": {...}}``: calls one of them, exactly as if the model
  had called it directly (:meth:`ToolService.run_for_agent
  <automatos.tools.service.ToolService.run_for_agent>`: permissions checked again, arguments
  checked against the schema, audited). A tool outside what the agent may call is refused like a
  direct call; a search never shows one.

Both run through :class:`MetaTools.execute`, which the tool loop calls like any tool; each counts
as one call of the turn's limit. The ranking is a plain word-overlap score (no model, no index):
a catalogue of thousands is scored in well under a millisecond per hundred tools
(``bench/tool_prompt.py``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from automatos.kernel.types import ToolCall, ToolResult, ToolSpec
from automatos.tools.permissions import app_of

__all__ = ["CALL_TOOL", "META_NAMES", "SEARCH_TOOLS", "MetaTools", "rank"]

SEARCH_TOOLS = ToolSpec(
    name="search_tools",
    description=(
        "Search the tools you may use. Returns the best matches for the query with their names,"
        " descriptions and argument schemas; then call one with call_tool."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 500, "description": "What the tool should do."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    provider="automatos",
    source="builtin",
    app="automatos",
    intent="read",
)
CALL_TOOL = ToolSpec(
    name="call_tool",
    description="Call a tool found with search_tools, by its exact name, with arguments that fit its schema.",
    parameters={
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "arguments": {"type": "object"},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    provider="automatos",
    source="builtin",
    app="automatos",
    intent="write",
)
META_NAMES = frozenset({SEARCH_TOOLS.name, CALL_TOOL.name})

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold().replace("_", " ")))


def rank(tools: Sequence[ToolSpec], query: str, limit: int) -> list[ToolSpec]:
    """The ``limit`` tools whose name, app and description share the most words with ``query``
    (a word of the name counts twice); tools sharing none are left out; ties keep catalogue order."""
    wanted = _words(query)
    if not wanted:
        return []
    scored: list[tuple[int, int, ToolSpec]] = []
    for index, spec in enumerate(tools):
        name_words = _words(spec.name) | _words(app_of(spec))
        score = 2 * len(wanted & name_words) + len(wanted & _words(spec.description))
        if score:
            scored.append((-score, index, spec))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [spec for _, _, spec in scored[:limit]]


class MetaTools:
    """``search_tools`` and ``call_tool`` over what an agent may call, re-read at every call."""

    def __init__(
        self,
        allowed: Callable[[], Awaitable[list[ToolSpec]]],
        run: Callable[[ToolCall], Awaitable[ToolResult]],
    ) -> None:
        self.allowed = allowed
        """The tools the agent may call now (its permissions read again)."""
        self.run = run
        """A direct call's execution (:meth:`ToolService.run_for_agent`)."""

    specs = (SEARCH_TOOLS, CALL_TOOL)

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run a meta-tool call; a call of any other name is run directly (the model may know one)."""
        if call.name not in META_NAMES:
            return await self.run(call)
        try:
            arguments: Any = msgspec.json.decode(call.arguments or "{}")
        except msgspec.DecodeError as exc:
            return ToolResult(ok=False, error={"kind": "arguments", "message": f"the arguments are not JSON: {exc}"})
        if not isinstance(arguments, dict):
            return ToolResult(ok=False, error={"kind": "arguments", "message": "the arguments must be a JSON object"})
        if call.name == SEARCH_TOOLS.name:
            return await self._search(arguments)
        return await self._call(call, arguments)

    async def _search(self, arguments: dict[str, Any]) -> ToolResult:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip() or len(query) > 500:
            message = "arguments.query: a string of 1-500 characters"
            return ToolResult(ok=False, error={"kind": "arguments", "message": message, "field": "arguments.query"})
        limit = arguments.get("limit", 5)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20:
            message = "arguments.limit: an integer from 1 to 20"
            return ToolResult(ok=False, error={"kind": "arguments", "message": message, "field": "arguments.limit"})
        found = rank([t for t in await self.allowed() if t.name not in META_NAMES], query, limit)
        result = [
            {"name": t.name, "description": t.description, "intent": t.intent, "parameters": t.parameters}
            for t in found
        ]
        return ToolResult(ok=True, result=result)

    async def _call(self, call: ToolCall, arguments: dict[str, Any]) -> ToolResult:
        name = arguments.get("name")
        if not isinstance(name, str) or not name:
            message = "arguments.name: the name of a tool search_tools found"
            return ToolResult(ok=False, error={"kind": "arguments", "message": message, "field": "arguments.name"})
        if name in META_NAMES:
            message = "arguments.name: call_tool calls a found tool, not a meta-tool"
            return ToolResult(ok=False, error={"kind": "arguments", "message": message, "field": "arguments.name"})
        inner = arguments.get("arguments", {})
        if not isinstance(inner, dict):
            message = "arguments.arguments: the tool's arguments, a JSON object"
            return ToolResult(ok=False, error={"kind": "arguments", "message": message, "field": "arguments.arguments"})
        return await self.run(ToolCall(id=call.id, name=name, arguments=msgspec.json.encode(inner).decode()))
