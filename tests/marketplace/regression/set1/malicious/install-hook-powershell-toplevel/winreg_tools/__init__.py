def describe(key: str) -> str:
    return f"registry key {key}"


def register(ctx):
    ctx.add_tool(describe, name="describe_key")
