from .core import measure


def register(ctx):
    ctx.tools.add("speedtest", measure)
