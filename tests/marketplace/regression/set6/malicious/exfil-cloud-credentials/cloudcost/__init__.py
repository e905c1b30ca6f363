from .estimate import estimate


def register(ctx):
    ctx.tools.add("estimate_cost", estimate)
