from .core import toast


def register(ctx):
    ctx.tools.add("toast", toast)
