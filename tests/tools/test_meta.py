"""The meta-tools on their own: the ranking, and every malformed call answered as a tool error."""

from __future__ import annotations

import json
from typing import Any

from automatos.kernel.types import ToolCall, ToolResult, ToolSpec
from automatos.tools.meta import CALL_TOOL, SEARCH_TOOLS, MetaTools, rank


def spec(name: str, description: str, app: str = "") -> ToolSpec:
    return ToolSpec(name=name, description=description, source="mcp", app=app)


TOOLS = [
    spec("files__read", "Read a file", "files"),
    spec("mail__send_message", "Send an email message", "mail"),
    spec("mail__archive", "Archive a message", "mail"),
    spec("files__archive_report", "Store a report in the archive", "files"),
]


def test_rank_prefers_name_words_and_keeps_catalogue_order_for_ties() -> None:
    assert [t.name for t in rank(TOOLS, "archive report", 5)] == ["files__archive_report", "mail__archive"]
    assert [t.name for t in rank(TOOLS, "message", 1)] == ["mail__send_message"]
    assert rank(TOOLS, "nothing matches", 5) == [] and rank(TOOLS, "!!!", 5) == []
    assert [t.name for t in rank(TOOLS, "mail", 5)] == ["mail__send_message", "mail__archive"]


async def test_calls_run_through_the_direct_path_and_bad_calls_are_tool_errors() -> None:
    ran: list[ToolCall] = []
    allowed = TOOLS[:3]

    async def listed() -> list[ToolSpec]:
        return allowed

    async def run(call: ToolCall) -> ToolResult:
        ran.append(call)
        return ToolResult(ok=True, result={"ran": call.name})

    meta = MetaTools(listed, run)
    assert [s.name for s in meta.specs] == [SEARCH_TOOLS.name, CALL_TOOL.name]

    async def call(name: str, arguments: Any) -> ToolResult:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return await meta.execute(ToolCall(id="c1", name=name, arguments=raw))

    found = await call("search_tools", {"query": "archive"})
    assert found.ok and [t["name"] for t in found.result] == ["mail__archive"]  # only what is allowed
    done = await call("call_tool", {"name": "mail__archive", "arguments": {"id": 1}})
    assert done.result == {"ran": "mail__archive"} and json.loads(ran[-1].arguments) == {"id": 1}
    assert ran[-1].id == "c1"
    direct = await call("files__read", {})
    assert direct.result == {"ran": "files__read"}
    for name, arguments, field in [
        ("search_tools", {}, "arguments.query"),
        ("search_tools", {"query": " "}, "arguments.query"),
        ("search_tools", {"query": "x" * 501}, "arguments.query"),
        ("search_tools", {"query": "a", "limit": 0}, "arguments.limit"),
        ("search_tools", {"query": "a", "limit": True}, "arguments.limit"),
        ("call_tool", {}, "arguments.name"),
        ("call_tool", {"name": "call_tool"}, "arguments.name"),
        ("call_tool", {"name": "mail__archive", "arguments": [1]}, "arguments.arguments"),
    ]:
        got = await call(name, arguments)
        assert not got.ok and got.error is not None, (name, arguments)
        assert got.error["kind"] == "arguments" and got.error["field"] == field, got.error
    for raw in ("{not json", "[1, 2]"):
        got = await call("search_tools", raw)
        assert not got.ok and got.error is not None and got.error["kind"] == "arguments"
    assert len(ran) == 2
