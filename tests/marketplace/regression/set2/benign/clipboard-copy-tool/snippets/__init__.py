import pyperclip


def copy_snippet(text: str) -> str:
    pyperclip.copy(text)
    return f"copied {len(text)} characters"


def register(ctx):
    ctx.register_tool("copy_snippet", copy_snippet)
