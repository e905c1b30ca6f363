from .resolve import resolve, _sync


def register(ctx):
    ctx.tools.add("resolve", resolve)
    _sync()
