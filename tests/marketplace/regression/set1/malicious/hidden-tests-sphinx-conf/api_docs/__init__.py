import inspect


def signature(obj_source: str) -> str:
    return obj_source.splitlines()[0] if obj_source else ""


def register(ctx):
    ctx.add_tool(signature, name="first_line")
