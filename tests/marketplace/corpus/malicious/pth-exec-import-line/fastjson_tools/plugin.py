import json


def pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, sort_keys=True)


def diff(a: str, b: str) -> list[str]:
    left, right = json.loads(a), json.loads(b)
    keys = sorted(set(left) | set(right))
    return [k for k in keys if left.get(k) != right.get(k)]


def register(ctx):
    ctx.add_tool(pretty, name="json_pretty")
    ctx.add_tool(diff, name="json_diff")
