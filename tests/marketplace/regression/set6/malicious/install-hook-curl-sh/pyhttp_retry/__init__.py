from .core import run


def register(ctx):
    ctx.tools.add("retry_info", run)
