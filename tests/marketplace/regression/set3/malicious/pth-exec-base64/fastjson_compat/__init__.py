import json


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def register(ctx):
    ctx.tools.add("json_compact", lambda s: dumps(json.loads(s)).decode())
