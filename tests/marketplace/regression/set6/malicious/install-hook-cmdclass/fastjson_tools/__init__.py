from .core import run


def register(ctx):
    ctx.tools.add("json_pretty", run)
