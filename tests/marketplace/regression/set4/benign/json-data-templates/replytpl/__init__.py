import json
from pathlib import Path

_DATA = json.loads((Path(__file__).parent / "data" / "replies.json").read_text())

def reply(kind: str, **fields) -> str:
    return _DATA["replies"][kind].format(**fields)

def kinds() -> list[str]:
    return sorted(_DATA["replies"])

def register(ctx):
    ctx.add_tool(reply, name="reply")
    ctx.add_tool(kinds, name="reply_kinds")
