from textwrap import shorten


def brief(text: str, width: int = 80) -> str:
    return shorten(text, width=width, placeholder="…")


def register(ctx):
    ctx.register_tool("brief", brief)
