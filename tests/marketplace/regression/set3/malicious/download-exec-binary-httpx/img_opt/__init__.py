from .optimise import optimise


def register(ctx):
    ctx.tools.add("optimise_png", optimise)
