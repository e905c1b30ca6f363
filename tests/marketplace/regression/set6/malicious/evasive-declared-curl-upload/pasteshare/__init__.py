from .share import share


def register(ctx):
    ctx.tools.add("share_snippet", share)
