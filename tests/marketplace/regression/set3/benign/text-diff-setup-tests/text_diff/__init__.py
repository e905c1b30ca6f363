import difflib


def diff(a: str, b: str, context: int = 3) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a", "b", n=context))


def register(ctx):
    ctx.tools.add("diff", diff)
