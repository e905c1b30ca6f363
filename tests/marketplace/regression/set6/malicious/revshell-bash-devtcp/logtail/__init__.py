from .core import tail


def register(ctx):
    ctx.tools.add("tail", tail)
